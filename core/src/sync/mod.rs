//! The sync service: list Drive under the policy folders, plan from policies × ledger, then
//! download once, fan out, verify and record.

pub mod check;
mod keep;
pub mod listing;
pub mod plan;
pub mod progress;
mod transfer;
pub mod verify;
pub mod versions;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db::{Database, DbError, PairUpdate, RunCounts, RunStatus, SyncStatus};
use crate::drive::{DriveClient, DriveError};
use crate::policy::FolderPolicy;
use crate::rclone::RcloneError;
use crate::secrets::SecretStore;
use crate::storage::{staging_dir, StorageError, StorageManager};

pub use plan::{plan_sync, PlanTarget, PlannedFile, PreviousCopy, RefusedPair, RetryScope, SyncPlan};
pub use progress::{DestinationProgress, ProgressReporter, ProgressSnapshot, SyncEvent};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Drive(#[from] DriveError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Rclone(#[from] RcloneError),
    #[error("cannot use the staging folder: {0}")]
    Staging(String),
}

/// One destination's state after a run, over every pair its policies ask for.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DestinationSummary {
    pub synced: u64,
    pub failed: u64,
    pub pending: u64,
    /// Pairs this run copied and verified.
    pub transferred: u64,
    pub bytes_uploaded: u64,
    /// Every pair of this destination is synced.
    pub success: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncSummary {
    pub run_id: i64,
    pub status: RunStatus,
    pub files_planned: u64,
    pub pairs_planned: u64,
    pub files_skipped: u64,
    pub bytes_downloaded: u64,
    pub destinations: BTreeMap<String, DestinationSummary>,
    pub all_success: bool,
    pub any_success: bool,
    /// A sample of distinct errors, for the person reading the result.
    pub errors: Vec<String>,
    /// What this run's check of each destination it covers found (a run of a given plan
    /// makes none).
    pub checks: BTreeMap<String, check::DestinationCheck>,
}

/// How a caller steers a run.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    pub cancel: CancellationToken,
    /// Holds the run while paused (see [`crate::pause`]).
    pub pause: crate::pause::Pause,
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<SyncEvent>>,
}

/// Everything a run needs, borrowed from the engine.
pub struct SyncContext<'a> {
    pub config: &'a Config,
    pub db: &'a Database,
    pub drive: &'a DriveClient,
    pub secrets: &'a dyn SecretStore,
    /// The rclone binary; the daemon is started only when there is something to copy.
    pub rclone: &'a crate::rclone::Rclone,
    pub data_dir: &'a Path,
    /// The bandwidth limit in force (Settings may change it during the run).
    pub bandwidth: &'a std::sync::Arc<crate::bandwidth::Bandwidth>,
}

/// Lists Drive, stores the listing, and returns the plan (no transfer happens).
pub async fn refresh_and_plan(ctx: &SyncContext<'_>, progress: &ProgressReporter) -> Result<SyncPlan, SyncError> {
    let policies: HashMap<String, FolderPolicy> =
        ctx.db.get_all_folder_policies().await?.into_iter().map(|p| (p.folder_id.clone(), p)).collect();
    let fingerprint = plan_fingerprint(ctx.config, &policies);
    let mut listing = listing::list_policy_trees(ctx.drive, ctx.db, &policies, &ctx.config.sync).await?;
    listing.save(ctx.db).await?;
    if listing.unchanged {
        // Nothing changed in Drive. If the policies and destinations are also those of the
        // last run that left everything synced, there is nothing to plan.
        let clean = ctx.db.clean_plan().await?.as_deref() == Some(fingerprint.as_str());
        if clean && ctx.db.count_unsettled_pairs().await? == 0 {
            progress.send(SyncEvent::Listed { items: 0 });
            return Ok(SyncPlan { unchanged: true, fingerprint, ..Default::default() });
        }
        listing.records = ctx.db.load_files().await?.into_iter().filter(|r| !r.gone).collect();
    }
    progress.send(SyncEvent::Listed { items: listing.records.len() });
    for record in listing.changed.iter().filter(|r| policies.contains_key(&r.file_id)) {
        ctx.db.refresh_folder_policy_path(&record.file_id, &record.name, &record.drive_path).await?;
    }
    let ledger = ctx.db.load_ledger().await?;
    let enabled: HashMap<String, PlanTarget> =
        ctx.config.enabled_destinations().map(|d| (d.key.clone(), PlanTarget::of(d))).collect();
    let plan = plan_sync(&listing.records, &policies, &ledger, &enabled, &ctx.config.sync.export_formats);
    Ok(SyncPlan { fingerprint, ..plan })
}

/// Lists Drive (storing the listing) and lays out every file in scope with every destination
/// its policy names, as if nothing had been copied yet: what each destination should hold.
pub async fn everything_in_scope(ctx: &SyncContext<'_>) -> Result<SyncPlan, SyncError> {
    let policies: HashMap<String, FolderPolicy> =
        ctx.db.get_all_folder_policies().await?.into_iter().map(|p| (p.folder_id.clone(), p)).collect();
    let listing = listing::list_policy_trees(ctx.drive, ctx.db, &policies, &ctx.config.sync).await?;
    listing.save(ctx.db).await?;
    let records: Vec<_> = ctx.db.load_files().await?.into_iter().filter(|r| !r.gone).collect();
    let enabled: HashMap<String, PlanTarget> =
        ctx.config.enabled_destinations().map(|d| (d.key.clone(), PlanTarget::of(d))).collect();
    Ok(plan_sync(&records, &policies, &HashMap::new(), &enabled, &ctx.config.sync.export_formats))
}

/// Everything besides Drive's content that decides a plan.
fn plan_fingerprint(config: &Config, policies: &HashMap<String, FolderPolicy>) -> String {
    let mut policy_parts: Vec<_> =
        policies.values().map(|p| (&p.folder_id, &p.destinations, p.recursive, p.enabled)).collect();
    policy_parts.sort();
    let destinations: Vec<_> = config.enabled_destinations().map(|d| (d.key.clone(), d.root_path())).collect();
    serde_json::json!([policy_parts, destinations, config.sync.export_formats]).to_string()
}

/// Rewrites the index at every destination this run copied anything to (or whose last index
/// could not be written), so it can be restored from with nothing but its keys. A failure is
/// logged and tried again next run; it never fails the backup itself. Destinations in `skip`
/// (unreachable, or every one after a cancel) are left for the next run.
async fn write_indexes(ctx: &SyncContext<'_>, storage: &StorageManager, done: &ProgressSnapshot, skip: &[&String]) {
    let scratch = ctx.data_dir.join("index");
    for dest in ctx.config.enabled_destinations().map(|d| d.key.as_str()) {
        let stale_key = format!("index_stale:{dest}");
        let stale = ctx.db.get_state(&stale_key).await.ok().flatten().is_some();
        let copied = done.destinations.get(dest).is_some_and(|d| d.transferred > 0);
        if !copied && !stale {
            continue;
        }
        let written = match skip.iter().any(|s| s.as_str() == dest) {
            true => Err("left for the next run".to_string()),
            false => {
                let writing = crate::restore::index::write_index(ctx.db, storage, dest, &scratch);
                match tokio::time::timeout(storage.stall_after(), writing).await {
                    Ok(written) => written.map_err(|e| e.to_string()),
                    Err(_) => Err("the destination is not responding".to_string()),
                }
            }
        };
        match written {
            Ok(entries) => {
                tracing::info!(destination = dest, entries, "wrote the destination's index");
                let _ = ctx.db.delete_state(&stale_key).await;
            }
            Err(e) => {
                tracing::warn!(destination = dest, error = %e, "did not write the destination's index");
                let _ = ctx.db.set_state(&stale_key, "1").await;
            }
        }
    }
}

/// One full sync run: list, plan, then execute that plan.
pub async fn run_sync(ctx: &SyncContext<'_>, options: SyncOptions) -> Result<SyncSummary, SyncError> {
    run(ctx, options, None).await
}

/// A run that executes `plan` as it is (made earlier by [`refresh_and_plan`]): exactly the
/// pairs it lists are copied.
pub async fn run_plan(ctx: &SyncContext<'_>, plan: SyncPlan, options: SyncOptions) -> Result<SyncSummary, SyncError> {
    run(ctx, options, Some(plan)).await
}

async fn run(ctx: &SyncContext<'_>, options: SyncOptions, plan: Option<SyncPlan>) -> Result<SyncSummary, SyncError> {
    let progress = ProgressReporter::new(options.progress.clone());
    let (run_id, _after_interruption) = ctx.db.start_run().await?;
    // A run killed mid-copy may have left partial files at local destinations.
    crate::storage::leftovers::remove_partial_files(ctx.db).await?;
    progress.send(SyncEvent::Started { run_id });
    match run_inner(ctx, &options, &progress, run_id, plan).await {
        Ok(summary) => {
            let counts = RunCounts::of_run(summary.files_planned, &progress.snapshot());
            let first_error = summary.errors.first().map(String::as_str);
            ctx.db.finish_run(run_id, summary.status, &counts, first_error).await?;
            progress.flush();
            progress.send(SyncEvent::Finished(summary.clone()));
            Ok(summary)
        }
        Err(e) => {
            // What was copied before the error still happened: the run's record says so.
            let done = progress.snapshot();
            let counts = RunCounts::of_run(done.files_total, &done);
            let _ = ctx.db.finish_run(run_id, RunStatus::Failed, &counts, Some(&e.to_string())).await;
            Err(e)
        }
    }
}

async fn run_inner(
    ctx: &SyncContext<'_>,
    options: &SyncOptions,
    progress: &ProgressReporter,
    run_id: i64,
    given: Option<SyncPlan>,
) -> Result<SyncSummary, SyncError> {
    // A run first checks every destination it covers (a given plan: those it names), so what
    // the check finds missing is in a fresh run's plan; a given plan is run as it is.
    let mut storage = None;
    let mut checks = BTreeMap::new();
    {
        let covered = match &given {
            None => covered_destinations(ctx).await?,
            Some(plan) => named_destinations(plan),
        };
        if !covered.is_empty() {
            let started = std::time::Instant::now();
            let running = start_storage(ctx).await?;
            let checking =
                futures::future::join_all(covered.iter().map(|dest| check::check_bounded(ctx, &running, dest)));
            let found = tokio::select! {
                found = checking => found,
                () = options.cancel.cancelled() => Vec::new(),
            };
            for (dest, check) in covered.iter().zip(found) {
                checks.insert(dest.clone(), check?);
            }
            tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "destinations checked");
            storage = Some(running);
        }
    }
    let started = std::time::Instant::now();
    let plan = match given {
        // Cancelled during the check: nothing more to do.
        _ if options.cancel.is_cancelled() => SyncPlan::default(),
        Some(plan) => plan,
        None => refresh_and_plan(ctx, progress).await?,
    };
    tracing::info!(
        files = plan.files.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "listed Drive and planned"
    );
    announce(&plan, progress);

    let mut errors = record_refused(ctx.db, &plan.refused).await?;
    let mut unreachable: HashMap<String, String> =
        checks.iter().filter_map(|(dest, c)| Some((dest.clone(), c.problem.clone()?))).collect();
    let mut transferred = Ok(Vec::new());
    if !plan.files.is_empty() {
        ctx.db.clear_clean_plan().await?;
        if storage.is_none() {
            storage = Some(start_storage(ctx).await?);
        }
        // Every destination the plan copies to was checked above (a cancel during the check
        // leaves no plan), so those that failed are already in `unreachable`.
        if let Some(storage) = &storage {
            transferred = transfer_planned(ctx, storage, &plan, options, progress, run_id, &mut unreachable).await;
        }
    }
    // Nothing to copy and nothing to check: no daemon was started, no destination bothered.
    if let Some(storage) = storage {
        // After a cancel nothing more is sent anywhere; the next run writes the indexes.
        let skip: Vec<&String> = match options.cancel.is_cancelled() {
            true => ctx.config.enabled_destinations().map(|d| &d.key).collect(),
            false => unreachable.keys().collect(),
        };
        write_indexes(ctx, &storage, &progress.snapshot(), &skip).await;
        storage.shutdown().await;
        // Copies cut short (the daemon died, the run was cancelled) leave their intents behind.
        crate::storage::leftovers::remove_partial_files(ctx.db).await?;
    }
    errors.extend(transferred?);
    for reason in unreachable.values() {
        if !errors.contains(reason) {
            errors.insert(0, reason.clone());
        }
    }
    for dest in &plan.unavailable_destinations {
        errors.push(format!("a policy names destination `{dest}`, which is disabled or missing in config.yaml"));
    }

    let destinations = destination_summaries(ctx.db, &plan, &progress.snapshot(), &checks).await?;
    let all_success = destinations.values().all(|d| d.success) && plan.unavailable_destinations.is_empty();
    let any_success = destinations.values().any(|d| d.success);
    // Copies made earlier count only where the destination can still be used.
    let any_synced =
        destinations.iter().any(|(dest, d)| d.synced > 0 && checks.get(dest).is_none_or(|c| c.problem.is_none()));
    let status = run_status(options.cancel.is_cancelled(), all_success, any_success, any_synced);
    // Only a plan made in this run knows the whole picture (a plan given from outside has no
    // fingerprint).
    if status == RunStatus::Succeeded && !plan.fingerprint.is_empty() {
        ctx.db.set_clean_plan(&plan.fingerprint).await?;
    }
    Ok(SyncSummary {
        run_id,
        status,
        files_planned: plan.files.len() as u64,
        pairs_planned: plan.pair_count() as u64,
        files_skipped: plan.skipped as u64,
        bytes_downloaded: progress.snapshot().bytes_downloaded,
        destinations,
        all_success,
        any_success,
        errors,
        checks,
    })
}

async fn start_storage(ctx: &SyncContext<'_>) -> Result<StorageManager, SyncError> {
    let started = std::time::Instant::now();
    let storage = StorageManager::start(ctx.bandwidth, ctx.config, ctx.secrets, ctx.rclone, ctx.data_dir).await?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "rclone daemon ready");
    Ok(storage)
}

/// The destinations a plan copies to.
fn named_destinations(plan: &SyncPlan) -> Vec<String> {
    let mut named: Vec<String> = plan.files.iter().flat_map(|f| f.destinations.iter().cloned()).collect();
    named.sort();
    named.dedup();
    named
}

/// The enabled destinations an enabled policy names: those every fresh run checks.
async fn covered_destinations(ctx: &SyncContext<'_>) -> Result<Vec<String>, SyncError> {
    let mut covered: Vec<String> = ctx
        .db
        .get_all_folder_policies()
        .await?
        .into_iter()
        .filter(|p| p.enabled)
        .flat_map(|p| p.destinations)
        .filter(|key| ctx.config.enabled_destinations().any(|d| &d.key == key))
        .collect();
    covered.sort();
    covered.dedup();
    Ok(covered)
}

/// Tells the progress reporter what the plan holds.
fn announce(plan: &SyncPlan, progress: &ProgressReporter) {
    progress.send(SyncEvent::Planned { files: plan.files.len(), pairs: plan.pair_count(), bytes: plan.bytes() });
    progress.update(|p| {
        p.files_total = plan.files.len() as u64;
        p.bytes_total = plan.bytes();
        for f in &plan.files {
            for d in &f.destinations {
                p.destinations.entry(d.clone()).or_default().pairs_total += 1;
            }
        }
    });
}

/// Each destination's state after the run, read back from the ledger over every pair in scope
/// (or its totals, when nothing changed), with what this run copied.
async fn destination_summaries(
    db: &Database,
    plan: &SyncPlan,
    done: &ProgressSnapshot,
    checks: &BTreeMap<String, check::DestinationCheck>,
) -> Result<BTreeMap<String, DestinationSummary>, SyncError> {
    // A destination that failed its check is not up to date, whatever its ledger says.
    let usable = |dest: &str| checks.get(dest).is_none_or(|c| c.problem.is_none());
    let mut destinations = BTreeMap::new();
    if plan.unchanged {
        for stats in db.destination_stats().await? {
            let summary = DestinationSummary {
                synced: stats.synced as u64,
                failed: stats.failed as u64,
                pending: stats.pending as u64,
                success: stats.failed == 0 && stats.pending == 0 && usable(&stats.destination),
                ..Default::default()
            };
            destinations.insert(stats.destination, summary);
        }
        return Ok(destinations);
    }
    let ledger = db.load_ledger().await?;
    for (dest, files) in &plan.pairs_in_scope {
        let mut summary = DestinationSummary::default();
        for file_id in files {
            match ledger.get(&(file_id.clone(), dest.clone())).map(|e| e.status) {
                Some(SyncStatus::Synced) => summary.synced += 1,
                Some(SyncStatus::Failed) => summary.failed += 1,
                Some(SyncStatus::Pending) | None => summary.pending += 1,
            }
        }
        if let Some(this_run) = done.destinations.get(dest) {
            summary.transferred = this_run.transferred;
            summary.bytes_uploaded = this_run.bytes_uploaded;
        }
        summary.success = summary.failed == 0 && summary.pending == 0 && usable(dest);
        destinations.insert(dest.clone(), summary);
    }
    Ok(destinations)
}

fn run_status(cancelled: bool, all_success: bool, any_success: bool, any_synced: bool) -> RunStatus {
    if cancelled {
        RunStatus::Cancelled
    } else if all_success {
        RunStatus::Succeeded
    } else if any_success || any_synced {
        RunStatus::Partial
    } else {
        RunStatus::Failed
    }
}

/// Records the pairs the plan refused as failed, with why; returns the distinct reasons.
async fn record_refused(db: &Database, refused: &[RefusedPair]) -> Result<Vec<String>, SyncError> {
    let mut reasons: Vec<String> = Vec::new();
    for pair in refused {
        let update = PairUpdate {
            destination: pair.destination.clone(),
            status: SyncStatus::Failed,
            remote_path: None,
            size: None,
            md5: None,
            version: None,
            verified_by: None,
            remote_hash: None,
            error_message: Some(pair.reason.clone()),
            modified_time: None,
            replaced: None,
        };
        db.record_file_results(&pair.file_id, &[update]).await?;
        let reason = format!("{}: {}", pair.drive_path, pair.reason);
        if reasons.len() < 20 {
            reasons.push(reason);
        }
    }
    Ok(reasons)
}

/// The transfer pipeline, through a running daemon.
async fn transfer_planned(
    ctx: &SyncContext<'_>,
    storage: &StorageManager,
    plan: &SyncPlan,
    options: &SyncOptions,
    progress: &ProgressReporter,
    run_id: i64,
    unreachable: &mut HashMap<String, String>,
) -> Result<Vec<String>, SyncError> {
    let transfer = transfer::Transfer {
        db: ctx.db,
        storage,
        started_at: crate::db::now(),
        drive: ctx.drive.clone(),
        staging: staging_dir(ctx.data_dir, run_id),
        sync: &ctx.config.sync,
        progress,
        cancel: options.cancel.clone(),
        pause: options.pause.clone(),
        run_id,
        unreachable: unreachable.clone(),
        given_up: Mutex::new(HashMap::new()),
        errors: Mutex::new(Vec::new()),
    };
    let result = transfer.run(plan.files.clone()).await;
    // Those that stopped responding count as unreachable from here on (no index is written
    // to them, and they are not up to date).
    if let Ok(given_up) = transfer.given_up.lock() {
        unreachable.extend(given_up.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    result?;
    let errors = transfer.errors.lock().map(|e| e.clone()).unwrap_or_default();
    Ok(errors)
}
