//! The small commands: destinations, policies, status and files.

use std::process::ExitCode;

use fanout_core::Engine;
use fanout_core::{FileQuery, SyncStatus};
use serde_json::json;

use crate::{DestinationsAction, DestinationsArgs, FilesArgs, PolicyCommand, StatusFilter, VerifyAgainst};

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub async fn destinations(engine: &Engine, args: DestinationsArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        None => {
            let list = engine.destinations();
            if args.json {
                print_json(&list)?;
            } else {
                for d in list {
                    let state = match (d.enabled, d.configured) {
                        (false, _) => "disabled",
                        (true, true) => "ready",
                        (true, false) => "needs keys",
                    };
                    println!("{:<16} {:<14} {:<11} {}", d.key, d.name, state, d.location);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(DestinationsAction::Test { key, create }) => {
            let keys: Vec<String> = match key {
                Some(k) => vec![k],
                None => engine.config.enabled_destinations().map(|d| d.key.clone()).collect(),
            };
            let mut all_ok = true;
            for key in keys {
                match engine.test_destination(&key, create).await {
                    Ok(keeper) => {
                        let label = engine.config.destination(&key).map(|d| d.provider.label).unwrap_or("it");
                        println!("{key}: ok; {}", keeper.describe(label));
                    }
                    Err(e) => {
                        all_ok = false;
                        eprintln!("{}", crate::error_line(&e));
                    }
                }
            }
            // Each failure is said once, on stderr, as every error is; the exit status tells scripts.
            Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

pub async fn policy(engine: &Engine, command: PolicyCommand) -> anyhow::Result<ExitCode> {
    let (verb, policy) = match command {
        PolicyCommand::List(flag) => {
            let policies = engine.policies().await?;
            if flag.json {
                print_json(&policies)?;
            } else if policies.is_empty() {
                println!("No folder policies yet: `fanout policy add FOLDER --to DESTINATION`.");
            } else {
                for p in policies {
                    let mut flags = Vec::new();
                    if !p.recursive {
                        flags.push("direct children only");
                    }
                    if !p.enabled {
                        flags.push("disabled: excluded");
                    }
                    let flags = if flags.is_empty() { String::new() } else { format!(" ({})", flags.join(", ")) };
                    println!("{} → {}{flags}   [{}]", p.folder_path, p.destinations.join(", "), p.folder_id);
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        PolicyCommand::Add { folder, mut to, no_recursive } => {
            to.retain(|key| !key.trim().is_empty());
            ("added", engine.add_policy(&folder, &to, !no_recursive).await?)
        }
        PolicyCommand::Update { folder, mut to, recursive, no_recursive } => {
            if let Some(to) = to.as_mut() {
                to.retain(|key| !key.trim().is_empty());
            }
            let recursion = if recursive {
                Some(true)
            } else if no_recursive {
                Some(false)
            } else {
                None
            };
            ("updated", engine.update_policy(&folder, to.as_deref(), recursion).await?)
        }
        PolicyCommand::Remove { folder } => ("removed", engine.remove_policy(&folder).await?),
        PolicyCommand::Enable { folder } => ("enabled", engine.set_policy_enabled(&folder, true).await?),
        PolicyCommand::Disable { folder } => ("disabled", engine.set_policy_enabled(&folder, false).await?),
    };
    println!("Policy {verb}: {} → {}", policy.folder_path, policy.destinations.join(", "));
    Ok(ExitCode::SUCCESS)
}

pub async fn status(engine: &Engine, as_json: bool) -> anyhow::Result<ExitCode> {
    let stats = engine.stats().await?;
    let runs = engine.recent_runs(5).await?;
    let overdue = engine.overdue(chrono::Utc::now()).await?;
    let next_due = engine.next_scheduled_sync(None).await?.map(|due| due.max(chrono::Utc::now()));
    let folders = engine.policy_estimates().await?;
    if as_json {
        let next_due = next_due.map(|due| due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        print_json(&json!({
            "destinations": stats, "folders": folders, "recent_runs": runs, "overdue": overdue, "next_due": next_due
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(overdue) = &overdue {
        let problem = overdue.problem.as_deref().map(|p| format!(" Last problem: {p}")).unwrap_or_default();
        println!("Backups are overdue: no backup has completed since {}.{problem}", overdue.since);
    }
    if let Some(due) = next_due {
        println!("Next scheduled sync: {}", due.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M"));
    }
    if stats.is_empty() {
        println!("Nothing backed up yet.");
    }
    for s in &stats {
        println!(
            "{:<16} synced {:>6}  pending {:>5}  failed {:>5}  {:>10}  {:>16}  last sync {}  last verified {}",
            s.destination,
            s.synced,
            s.pending,
            s.failed,
            crate::progress::human_bytes((s.synced_bytes + s.kept_bytes).max(0) as u64),
            s.monthly_cost.as_ref().map(per_month).unwrap_or_default(),
            s.last_sync.as_deref().unwrap_or("never"),
            s.last_verified.as_deref().unwrap_or("never")
        );
    }
    for f in &folders {
        let costs: Vec<String> =
            f.monthly_costs.iter().map(|(key, cost)| format!("{key} {}", per_month(cost))).collect();
        println!(
            "folder {}: {} files, {}  {}",
            f.folder_path,
            f.files,
            crate::progress::human_bytes(f.bytes),
            costs.join(", ")
        );
    }
    for r in &runs {
        println!(
            "run {:>4}  {}  {:<10} {} pairs copied, {} failed",
            r.id, r.started_at, r.status, r.pairs_synced, r.pairs_failed
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `~0.23 USD/month`: an estimate, at the price table's prices.
fn per_month(cost: &fanout_core::cost::MonthlyCost) -> String {
    format!("~{:.2} {}/month", cost.amount, cost.currency)
}

pub async fn files(engine: &Engine, args: FilesArgs) -> anyhow::Result<ExitCode> {
    let status = args.status.map(|s| match s {
        StatusFilter::Synced => SyncStatus::Synced,
        StatusFilter::Failed => SyncStatus::Failed,
        StatusFilter::Pending => SyncStatus::Pending,
    });
    let page = engine
        .files(&FileQuery {
            destination: args.destination,
            status,
            search: args.search,
            offset: args.offset,
            limit: args.limit,
        })
        .await?;
    if args.json {
        print_json(&page)?;
        return Ok(ExitCode::SUCCESS);
    }
    for row in &page.rows {
        let badges: Vec<String> = row.destinations.iter().map(|d| format!("{}:{}", d.destination, d.status)).collect();
        println!("{}  [{}]", row.drive_path, badges.join(" "));
        for d in row.destinations.iter().filter(|d| d.status == SyncStatus::Failed) {
            println!("    {} failed: {}", d.destination, d.error_message.as_deref().unwrap_or("unknown error"));
        }
    }
    println!("{} of {} files", page.rows.len(), page.total);
    Ok(ExitCode::SUCCESS)
}

pub async fn plan(engine: &Engine, args: crate::PlanArgs) -> anyhow::Result<ExitCode> {
    let as_json = args.json;
    let plan = match &args.only_failed {
        Some(only) => engine.plan_failed(&crate::retry_scope(only)).await?,
        None => engine.plan().await?,
    };
    if as_json {
        print_json(&plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    for file in &plan.files {
        println!("{}  → {}", file.drive_path, file.destinations.join(", "));
    }
    println!(
        "{} files ({}) to copy, {} pairs; {} files skipped by policy.",
        plan.files.len(),
        crate::progress::human_bytes(plan.bytes()),
        plan.pair_count(),
        plan.skipped
    );
    for dest in &plan.unavailable_destinations {
        println!("warning: a policy names `{dest}`, which is disabled or missing in config.yaml");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn verify(
    engine: &Engine,
    destination: Option<&str>,
    download: u8,
    against: VerifyAgainst,
    versions: bool,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let report = match against {
        VerifyAgainst::Ledger => engine.verify_with(destination, download, versions).await?,
        VerifyAgainst::Drive => engine.verify_against_drive(destination).await?,
    };
    if as_json {
        print_json(&report)?;
    } else {
        for (key, c) in &report.destinations {
            println!(
                "{key:<16} {} checked: {} intact, {} missing, {} corrupt ({} read back)",
                c.checked, c.intact, c.missing, c.corrupt, c.downloaded
            );
            for problem in &c.problems {
                println!("    {problem}");
            }
            if c.size_only > 0 {
                println!(
                    "    {} of them could be checked by size only (no hash to compare); \
                     `fanout verify {key} --download 100` proves their bytes.",
                    c.size_only
                );
            }
        }
        for (key, v) in &report.versions {
            println!("{key:<16} {} earlier versions checked: {} intact, {} missing", v.checked, v.intact, v.missing);
            for problem in &v.problems {
                println!("    {problem}");
            }
        }
        if !report.all_intact {
            println!("The next `fanout sync` copies what is missing or damaged again.");
        }
    }
    Ok(if report.all_intact { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

pub async fn history(engine: &Engine, file: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let history = engine.history(file).await?;
    if as_json {
        print_json(&history)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", history.drive_path);
    if history.destinations.is_empty() {
        println!("  no copy made yet");
    }
    for (key, versions) in &history.destinations {
        println!("  {key}");
        for v in versions {
            let md5 = v.md5.as_deref().unwrap_or("-");
            let size = crate::progress::human_bytes(v.size.unwrap_or(0).max(0) as u64);
            let state = match v.state {
                fanout_core::db::VersionState::Current => "current".to_string(),
                fanout_core::db::VersionState::Kept => format!("kept at {}", v.location()),
                fanout_core::db::VersionState::Pruned => "pruned".to_string(),
                fanout_core::db::VersionState::Missing => {
                    format!("missing: {}", v.note.as_deref().unwrap_or("not found at the destination"))
                }
            };
            println!("    {}  md5 {md5}  {size}  {state}", v.copied_at);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn prune(
    engine: &Engine,
    destination: Option<&str>,
    dry_run: bool,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let report = engine.prune(destination, dry_run).await?;
    if as_json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for (key, counts) in &report.destinations {
        if counts.retention.keeps_everything() {
            println!("{key}: keeps every version (no keep_versions set); nothing to prune");
            continue;
        }
        println!(
            "{key}: {verb} {} earlier versions ({})",
            counts.removed.len(),
            crate::progress::human_bytes(counts.bytes_removed.max(0) as u64)
        );
        for v in &counts.removed {
            println!("    {}  copied {}  {}", v.drive_path, v.copied_at, v.location);
        }
        for v in &counts.skipped {
            println!("    kept: {}  copied {}: {}", v.drive_path, v.copied_at, v.skipped.as_deref().unwrap_or(""));
        }
    }
    Ok(ExitCode::SUCCESS)
}
