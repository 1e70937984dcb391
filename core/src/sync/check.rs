//! The check every sync makes of each destination it covers, whether or not Drive changed:
//! the destination answers and accepts its keys, and a share of its copies is looked for by
//! listing, the least recently seen first, folder by folder. At least [`SAMPLE`] copies are
//! looked at per run, and every copy not seen within [`FULL_CHECK_EVERY`] is looked at too, so
//! every copy is checked at least weekly. A copy missing or different goes back to pending and
//! the same run copies it again; what the check found is stored for the window and `status`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::db::Database;
use crate::storage::StorageManager;

use super::verify::check_recorded;
use super::SyncError;

/// Copies looked for at each destination per run, at least.
pub const SAMPLE: usize = 300;
/// Every copy is looked for at least this often.
pub const FULL_CHECK_EVERY: chrono::Duration = chrono::Duration::days(7);

/// What the last sync's check of one destination found.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DestinationCheck {
    /// When the check was made (RFC 3339).
    pub at: String,
    /// Why the destination cannot be used (unreachable, keys refused, folder gone), in one
    /// sentence; none when it answered.
    pub problem: Option<String>,
    /// Copies looked for this time.
    pub checked: u64,
    /// Of those, missing or different at the destination (back to pending, copied again).
    pub missing: u64,
    /// Copies the destination holds by the ledger, after the check.
    pub copies: u64,
    /// Every one of `copies` was seen intact at or after this time.
    pub all_seen_since: Option<String>,
}

fn state_key(destination: &str) -> String {
    format!("destination_check:{destination}")
}

/// The check the last sync made of `destination`, if any.
pub async fn last_check(db: &Database, destination: &str) -> Result<Option<DestinationCheck>, SyncError> {
    let stored = db.get_state(&state_key(destination)).await?;
    Ok(stored.and_then(|text| serde_json::from_str(&text).ok()))
}

/// [`check_destination`], given up (and said so) when the destination does not answer within
/// the stall time.
pub async fn check_bounded(
    ctx: &super::SyncContext<'_>,
    storage: &StorageManager,
    destination: &str,
) -> Result<DestinationCheck, SyncError> {
    match tokio::time::timeout(storage.stall_after(), check_destination(ctx.config, ctx.db, storage, destination)).await
    {
        Ok(check) => check,
        Err(_) => {
            tracing::warn!(destination, "the destination did not answer its check");
            let problem = Some(storage.not_responding(destination));
            finish(ctx.db, destination, DestinationCheck { at: crate::db::now(), problem, ..Default::default() }).await
        }
    }
}

/// Adds what the ledger now says of the destination's copies, and stores the check.
async fn finish(db: &Database, destination: &str, mut check: DestinationCheck) -> Result<DestinationCheck, SyncError> {
    let (copies, since) = db.copies_seen(destination).await?;
    // The copies found missing were the destination's until now.
    check.copies = copies.max(0) as u64 + check.missing;
    check.all_seen_since = since;
    let text = serde_json::to_string(&check).map_err(|e| SyncError::Staging(e.to_string()))?;
    db.set_state(&state_key(destination), &text).await?;
    Ok(check)
}

/// Checks one destination (see the module's comment) and stores what was found.
pub async fn check_destination(
    config: &Config,
    db: &Database,
    storage: &StorageManager,
    destination: &str,
) -> Result<DestinationCheck, SyncError> {
    let mut check = DestinationCheck { at: crate::db::now(), ..Default::default() };
    let looked = match storage.test_destination(destination, false).await {
        Ok(()) => look_for_copies(config, db, storage, destination, &mut check).await,
        Err(e) => Err(e.to_string()),
    };
    if let Err(problem) = looked {
        tracing::warn!(destination, problem = %problem, "the destination failed its check");
        check.problem = Some(problem);
    }
    tracing::info!(destination, checked = check.checked, missing = check.missing, "checked the destination");
    finish(db, destination, check).await
}

/// Looks for copies folder by folder until [`SAMPLE`] were seen and none is overdue; a
/// destination that stops answering ends the look with its error.
async fn look_for_copies(
    config: &Config,
    db: &Database,
    storage: &StorageManager,
    destination: &str,
    check: &mut DestinationCheck,
) -> Result<(), String> {
    let Some(dest) = config.destination(destination) else { return Ok(()) };
    let root = format!("{}/", dest.root_path());
    let overdue_before = (chrono::Utc::now() - FULL_CHECK_EVERY).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let kind = storage.hash_kind(destination).map_err(|e| e.to_string())?;
    let mut looked_in: HashSet<String> = HashSet::new();
    loop {
        let oldest = db.least_recently_seen(destination, SAMPLE as i64).await.map_err(|e| e.to_string())?;
        let sample_done = check.checked as usize >= SAMPLE;
        let folders: Vec<String> = oldest
            .iter()
            .filter(|(_, seen)| !sample_done || seen.as_deref().is_none_or(|s| s < overdue_before.as_str()))
            .filter_map(|(path, _)| path.rsplit_once('/').map(|(folder, _)| folder.to_string()))
            .filter(|folder| !looked_in.contains(folder))
            .collect();
        if folders.is_empty() {
            return Ok(());
        }
        for folder in folders {
            if looked_in.insert(folder.clone()) {
                check_folder(db, storage, destination, &root, &folder, kind, check).await?;
            }
        }
    }
}

/// Looks for every copy the ledger has directly in `folder` with one listing.
async fn check_folder(
    db: &Database,
    storage: &StorageManager,
    destination: &str,
    root: &str,
    folder: &str,
    kind: crate::storage::providers::HashKind,
    check: &mut DestinationCheck,
) -> Result<(), String> {
    let pairs = db.synced_pairs_in_folder(destination, folder).await.map_err(|e| e.to_string())?;
    // A copy recorded outside the destination's folder (its prefix changed) is missing there.
    let listing = match format!("{folder}/").strip_prefix(root) {
        Some(dir) => {
            Some(storage.list_objects(destination, dir.trim_end_matches('/')).await.map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let mut results = Vec::with_capacity(pairs.len());
    for (file_id, pair) in &pairs {
        let name = pair.remote_path.as_deref().and_then(|p| p.rsplit_once('/')).map_or("", |(_, n)| n);
        let object = listing.as_ref().and_then(|l| l.get(name));
        let problem = check_recorded(pair, object, kind).map(|p| p.reason);
        check.checked += 1;
        if problem.is_some() {
            check.missing += 1;
        }
        results.push((file_id.clone(), problem));
    }
    db.record_verifications(destination, &results).await.map_err(|e| e.to_string())
}
