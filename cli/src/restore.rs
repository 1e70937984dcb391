//! `fanout restore` and `fanout rebuild`.

use std::io::IsTerminal;
use std::process::ExitCode;

use fanout_core::restore::time::parse_moment_now;
use fanout_core::{Engine, RestoreOptions, RestoreReport, RestoreRequest};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::progress::human_bytes;

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// Drive folders or files to restore (paths like Work/Reports, or IDs).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub sources: Vec<String>,
    /// Everything that was backed up.
    #[arg(long)]
    pub all: bool,
    /// The folder to restore into (made if missing); the Drive tree is rebuilt under it.
    #[arg(long, value_name = "DIR", required_unless_present = "to_drive", conflicts_with = "to_drive")]
    pub to: Option<std::path::PathBuf>,
    /// Restore into Google Drive instead, as a new folder in My Drive (default:
    /// "Restored by Fanout <date>"); nothing already in Drive is touched.
    #[arg(long, value_name = "FOLDER", num_args = 0..=1, default_missing_value = "")]
    pub to_drive: Option<String>,
    /// With --to-drive: turn exported Google Docs, Sheets and Slides back into Google files
    /// (Drive converts them; formatting may change, so the exports stay the default).
    #[arg(long, requires = "to_drive")]
    pub convert: bool,
    /// Each file as it was at this time: 2026-12-01T09:30:00Z, 2026-12-01 (its end), or "3 days ago".
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Read only from this destination (default: each file from its best copy).
    #[arg(long, value_name = "KEY")]
    pub from: Option<String>,
    /// Show what would be restored, from where, and the download per destination; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace existing files that differ (default: write the restored one beside them).
    #[arg(long)]
    pub overwrite: bool,
    /// Files deleted or trashed in Drive since too.
    #[arg(long)]
    pub include_deleted: bool,
    #[arg(long)]
    pub json: bool,
}

pub async fn restore(engine: &Engine, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let at = match &args.at {
        Some(text) => Some(parse_moment_now(text).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let request = RestoreRequest {
        sources: args.sources,
        all: args.all,
        to: match &args.to {
            Some(dir) => std::path::absolute(dir)?,
            None => std::path::PathBuf::new(),
        },
        at,
        from: args.from,
        dry_run: args.dry_run,
        overwrite: args.overwrite,
        include_deleted: args.include_deleted,
    };
    let to_drive = args.to_drive.as_deref().map(|folder| (folder, args.convert));
    let report = run_with_progress(engine, &request, to_drive, args.json).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.all_success { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

async fn run_with_progress(
    engine: &Engine,
    request: &RestoreRequest,
    to_drive: Option<(&str, bool)>,
    quiet: bool,
) -> anyhow::Result<RestoreReport> {
    let cancel = CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<fanout_core::RestoreProgress>();
    let bar = (!quiet && !request.dry_run && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} restoring [{bar:30}] {pos}/{len} files  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let bar_task = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                if let Some(bar) = &bar {
                    bar.set_length(p.files_total);
                    bar.set_position(p.files_done);
                    bar.set_message(format!("{} of {}", human_bytes(p.bytes_done), human_bytes(p.bytes_total)));
                }
            }
        })
    };
    let options = RestoreOptions { cancel, progress: Some(tx) };
    let result = match to_drive {
        Some((folder, convert)) => engine.restore_to_drive(request, Some(folder), convert, &options).await,
        None => engine.restore(request, &options).await,
    };
    drop(options); // the progress channel closes, so the bar's task ends
    let _ = bar_task.await;
    ctrl_c.abort();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result?)
}

fn print_report(report: &RestoreReport) {
    let when = report.at.as_deref().map(|at| format!(" as of {at}")).unwrap_or_default();
    if report.dry_run {
        println!(
            "Would restore {} files ({}){when} into {}; {} already there.",
            report.files,
            human_bytes(report.bytes),
            report.to,
            report.already_restored
        );
        for (key, egress) in &report.egress {
            println!("  from {key:<16} {} files, {} to download", egress.files, human_bytes(egress.bytes));
        }
    } else {
        for file in &report.restored {
            println!("  {}  from {} ({}, {} checked)", file.path, file.from, human_bytes(file.bytes), file.checked_by);
        }
        let restored: u64 = report.restored.len() as u64;
        println!(
            "Restored {restored} of {} files{when} into {} ({} already there, {} failed).",
            report.files,
            report.to,
            report.already_restored,
            report.failures.len()
        );
    }
    if let Some(drive) = &report.drive {
        println!(
            "Into Google Drive, folder `{}`: {} uploaded, {} already there, {} failed.",
            drive.folder_name,
            drive.uploaded.len(),
            drive.already_in_drive,
            drive.failures.len()
        );
        if !drive.converted.is_empty() {
            println!("  {} exports converted back into Google files.", drive.converted.len());
        }
        for f in &drive.failures {
            println!("  not uploaded: {}: {}", f.drive_path, f.reason);
        }
        if let Some(why) = &drive.stopped {
            println!("  stopped: {why}");
        }
    }
    for c in &report.conflicts {
        println!("  {} exists with other bytes: restored as {}", c.path, c.written_as);
    }
    for r in &report.renamed {
        println!("  Drive name {:?} could not be a file name: restored as {}", r.drive_name, r.path);
    }
    if !report.needs_thaw.is_empty() {
        println!(
            "  {} files are only in archive storage; thaw them first (S3 console, or `rclone backend restore`):",
            report.needs_thaw.len()
        );
        for t in &report.needs_thaw {
            println!("    {} at {}: {}", t.drive_path, t.destination, t.object);
        }
    }
    for f in &report.failures {
        println!("  failed: {}: {}", f.drive_path, f.reason);
    }
    for reason in &report.unreadable {
        println!("  not read: {reason}");
    }
    if report.cancelled {
        println!("Cancelled; run the same command again to continue.");
    }
}

pub async fn rebuild(engine: &Engine, from: Option<&str>, as_json: bool) -> anyhow::Result<ExitCode> {
    let report = engine.rebuild(from).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (key, copies) in &report.destinations {
        println!("{key}: {copies} copies taken into the ledger from its index");
    }
    for key in &report.without_index {
        println!("{key}: no index there (written by an older Fanout); `fanout restore --from {key}` still works from its files");
    }
    for path in &report.policies_added {
        println!("policy taken up: {path}");
    }
    Ok(ExitCode::SUCCESS)
}
