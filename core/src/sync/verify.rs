//! `verify`: re-checks what the ledger calls synced against the destinations themselves.
//!
//! Each destination folder is listed once with sizes and hashes; a sample can also be read
//! back and hashed. A copy that is missing or differs goes back to `pending` with the reason,
//! so the next sync repairs it; an intact one gets its `last_verified` time.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use md5::{Digest, Md5};
use serde::Serialize;

use crate::config::Config;
use crate::db::{Database, PairRecord};
use crate::storage::{ObjectInfo, StorageManager};

use super::SyncError;

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyCounts {
    pub checked: u64,
    pub intact: u64,
    pub missing: u64,
    pub corrupt: u64,
    /// Copies read back in full and hashed.
    pub downloaded: u64,
    /// A sample of what was found, for the person reading the result.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub destinations: BTreeMap<String, VerifyCounts>,
    /// Every copy checked was intact.
    pub all_intact: bool,
}

/// Verifies the given destinations; `download_percent` of each is read back in full.
pub async fn verify(
    config: &Config,
    db: &Database,
    storage: &StorageManager,
    destinations: &[String],
    download_percent: u8,
    scratch: &Path,
) -> Result<VerifyReport, SyncError> {
    let mut report = VerifyReport::default();
    for dest in destinations {
        let Some(dest_config) = config.destination(dest) else { continue };
        let root = format!("{}/", dest_config.root_path());
        let pairs = db.synced_pairs(dest).await?;
        let every = match download_percent {
            0 => usize::MAX,
            p => (100 / usize::from(p.min(100))).max(1),
        };
        let mut counts = VerifyCounts::default();
        let mut listings: HashMap<String, HashMap<String, ObjectInfo>> = HashMap::new();
        for (i, (file_id, pair)) in pairs.iter().enumerate() {
            counts.checked += 1;
            let recorded = pair.remote_path.as_deref().unwrap_or_default();
            let problem = match recorded.strip_prefix(&root) {
                None => Some((
                    "missing",
                    format!("verify: recorded at {recorded}, outside the destination's current folder"),
                )),
                Some(path) => {
                    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                    if !listings.contains_key(dir) {
                        let listing = storage.list_objects(dest, dir).await?;
                        listings.insert(dir.to_string(), listing);
                    }
                    let object = listings.get(dir).and_then(|l| l.get(name));
                    match check(pair, object) {
                        Some(p) => Some(p),
                        None if download_percent > 0 && i % every == 0 => {
                            counts.downloaded += 1;
                            read_back(storage, dest, path, pair, scratch).await
                        }
                        None => None,
                    }
                }
            };
            match &problem {
                None => counts.intact += 1,
                Some(("missing", _)) => counts.missing += 1,
                Some(_) => counts.corrupt += 1,
            }
            if let Some((_, reason)) = &problem {
                if counts.problems.len() < 20 {
                    counts.problems.push(format!("{recorded}: {reason}"));
                }
            }
            db.record_verification(file_id, dest, problem.as_ref().map(|(_, r)| r.as_str())).await?;
        }
        report.destinations.insert(dest.clone(), counts);
    }
    report.all_intact = report.destinations.values().all(|c| c.missing == 0 && c.corrupt == 0);
    Ok(report)
}

/// Compares what the destination lists with what the ledger recorded.
fn check(pair: &PairRecord, object: Option<&ObjectInfo>) -> Option<(&'static str, String)> {
    let Some(object) = object else {
        return Some(("missing", "verify: the copy is missing at the destination".to_string()));
    };
    if Some(object.size) != pair.size {
        return Some((
            "corrupt",
            format!("verify: the copy has {} bytes, expected {}", object.size, pair.size.unwrap_or(-1)),
        ));
    }
    let expected =
        pair.remote_hash.as_ref().or(pair.md5.as_ref().filter(|_| pair.verified_by.as_deref() == Some("md5")));
    match (expected, &object.hash) {
        (Some(expected), Some(actual)) if expected != actual => {
            Some(("corrupt", format!("verify: the copy's hash is {actual}, expected {expected}")))
        }
        _ => None,
    }
}

/// Reads one copy back and compares its md5 with the one recorded.
async fn read_back(
    storage: &StorageManager,
    dest: &str,
    path: &str,
    pair: &PairRecord,
    scratch: &Path,
) -> Option<(&'static str, String)> {
    let local = match storage.download_to(dest, path, scratch).await {
        Ok(local) => local,
        // rclone checks the provider's own hash while reading; a mismatch there is damage.
        Err(e) if e.to_string().contains("corrupted on transfer") => {
            return Some(("corrupt", format!("verify: the copy read back does not match its stored hash: {e}")))
        }
        Err(e) => return Some(("missing", format!("verify: the copy cannot be read back: {e}"))),
    };
    let bytes = match tokio::fs::read(&local).await {
        Ok(bytes) => bytes,
        Err(e) => return Some(("missing", format!("verify: the copy cannot be read back: {e}"))),
    };
    let _ = tokio::fs::remove_file(&local).await;
    let md5 = hex::encode(Md5::digest(&bytes));
    match &pair.md5 {
        Some(expected) if *expected != md5 => {
            Some(("corrupt", format!("verify: the copy read back has md5 {md5}, expected {expected}")))
        }
        _ => None,
    }
}
