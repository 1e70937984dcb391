//! `fanout sync`: a progress bar on a terminal, JSON with `--json`, Ctrl-C cancels, Ctrl-Z
//! pauses (the process stops as a shell expects; `fg` continues the same run).

use std::io::IsTerminal;
use std::process::ExitCode;

use fanout_core::pause::Pause;
use fanout_core::{Engine, EngineError};
use fanout_core::{SyncEvent, SyncOptions, SyncSummary};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub async fn sync(engine: &Engine, args: crate::SyncArgs) -> anyhow::Result<ExitCode> {
    if args.if_due {
        let Some(due) = engine.next_scheduled_sync(None).await? else {
            anyhow::bail!(
                "--if-due needs a schedule: set sync.schedule in config.yaml (e.g. `every 6h` or `daily at 02:30`)"
            );
        };
        if due > chrono::Utc::now() {
            if args.json {
                let next = due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                println!("{}", serde_json::json!({ "due": false, "next_due": next }));
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let request = match (&args.plan, &args.only_failed) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read the plan {}: {e}", path.display()))?;
            SyncRequest::Plan(serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("{} is not a plan printed by `fanout plan --json`: {e}", path.display())
            })?)
        }
        (None, Some(only)) => SyncRequest::Plan(engine.plan_failed(&crate::retry_scope(only)).await?),
        (None, None) if args.if_due => SyncRequest::IfDue,
        (None, None) => SyncRequest::Now,
    };
    let as_json = args.json;
    let summary = match run_with_progress(engine, as_json, request).await {
        Ok(Some(summary)) => summary,
        // Another timer's sync ran just before this one took the lock.
        Ok(None) => return Ok(ExitCode::SUCCESS),
        // The schedule's sync is the one already running (the app's, or another timer's).
        Err(e) if args.if_due && matches!(e.downcast_ref(), Some(EngineError::AlreadyRunning(_))) => {
            return Ok(ExitCode::SUCCESS)
        }
        Err(e) => return Err(e),
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
        print_key_hints(engine, &summary);
    }
    Ok(if summary.all_success { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

/// Ctrl-Z (SIGTSTP): the run is paused so nothing new starts, then the process stops itself as
/// the shell expects; SIGCONT (`fg`, `bg`, `kill -CONT`) resumes the same run. A copy under way
/// continues from where it was (rclone retries what a long stop cut), and only verified copies
/// are ever recorded, so a stop loses nothing and sends nothing twice that was verified.
async fn stop_on_ctrl_z(pause: Pause, bar: Option<ProgressBar>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut stop), Ok(mut cont)) =
        (signal(SignalKind::from_raw(libc::SIGTSTP)), signal(SignalKind::from_raw(libc::SIGCONT)))
    else {
        return;
    };
    let say = |text: &str| match &bar {
        Some(bar) => bar.println(text),
        None => eprintln!("{text}"),
    };
    while stop.recv().await.is_some() {
        pause.pause();
        say("Sync paused: nothing new starts. Run `fg` to continue it.");
        // SAFETY: raise() only sends a signal to this process; SIGSTOP cannot be caught, so the
        // process stops here until it is continued.
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
        let _ = cont.recv().await;
        pause.resume();
        say("Sync continued.");
    }
}

/// Which sync to run.
pub enum SyncRequest {
    /// A fresh plan, run at once.
    Now,
    /// Exactly this plan.
    Plan(fanout_core::SyncPlan),
    /// A fresh plan, if the schedule says a sync is due (decided under the sync lock).
    IfDue,
}

/// Runs the sync asked for with a progress bar on a terminal; `None` when it was not due.
pub async fn run_with_progress(
    engine: &Engine,
    quiet: bool,
    request: SyncRequest,
) -> anyhow::Result<Option<SyncSummary>> {
    let cancel = CancellationToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} files  {prefix}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message("listing Drive");
        bar
    });
    let bar_task = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(bar) = &bar else { continue };
                match event {
                    SyncEvent::Listed { items } => bar.set_message(format!("{items} Drive items listed")),
                    SyncEvent::Planned { files, .. } => {
                        bar.set_length(files as u64);
                        bar.set_message("backing up");
                    }
                    SyncEvent::Progress(p) => {
                        bar.set_position(p.files_done);
                        let per_dest: Vec<String> = p
                            .destinations
                            .iter()
                            .map(|(k, d)| format!("{k} {}/{}", d.transferred, d.pairs_total))
                            .collect();
                        bar.set_prefix(format!(
                            "{} downloaded  {}",
                            human_bytes(p.bytes_downloaded),
                            per_dest.join("  ")
                        ));
                    }
                    SyncEvent::Started { .. } | SyncEvent::Finished(_) => {}
                }
            }
        })
    };
    let pause = Pause::default();
    let ctrl_z = tokio::spawn(stop_on_ctrl_z(pause.clone(), bar.clone()));
    let options = SyncOptions { cancel, pause, progress: Some(tx) };
    let result = match request {
        SyncRequest::Plan(plan) => engine.execute(plan, options).await.map(Some),
        SyncRequest::Now => engine.sync(options).await.map(Some),
        SyncRequest::IfDue => engine.sync_if_due(chrono::Utc::now(), options).await,
    };
    let _ = bar_task.await;
    ctrl_c.abort();
    ctrl_z.abort();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result?)
}

/// What a destination's check found, in a sentence.
fn check_text(check: &fanout_core::sync::check::DestinationCheck) -> String {
    let looked = format!("checked {} of its {} copies", check.checked, check.copies);
    match check.missing {
        0 => format!("{looked}: all there"),
        1 => format!("{looked}: 1 was missing or different, so this sync copies it again"),
        n => format!("{looked}: {n} were missing or different, so this sync copies them again"),
    }
}

/// For each destination of the run whose keys are missing, the command that stores them.
fn print_key_hints(engine: &Engine, summary: &SyncSummary) {
    for d in engine.destinations() {
        if d.enabled && !d.configured && summary.destinations.contains_key(&d.key) {
            let fields: Vec<_> = d.secret_fields.iter().map(|f| f.field).collect();
            println!("  {}: store its keys with `fanout secret set {} FIELD` ({})", d.key, d.key, fields.join(", "));
        }
    }
}

fn print_summary(summary: &SyncSummary) {
    println!(
        "Sync {} ({} files planned, {} downloaded, {} skipped by policy).",
        summary.status,
        summary.files_planned,
        human_bytes(summary.bytes_downloaded),
        summary.files_skipped
    );
    for (key, d) in &summary.destinations {
        println!(
            "  {key:<16} {} synced ({} copied now), {} failed, {} pending",
            d.synced, d.transferred, d.failed, d.pending
        );
        if let Some(check) = summary.checks.get(key).filter(|c| c.problem.is_none()) {
            println!("  {:<16} {}", "", check_text(check));
        }
    }
    for e in &summary.errors {
        println!("  error: {e}");
    }
}
