//! `verify`: re-checks copies against the destinations themselves.
//!
//! Against the ledger (the default): what the ledger calls synced is looked for at each
//! destination, one listing per folder with sizes and hashes; a rotating sample can also be
//! read back and hashed. Against Drive (`--against drive`): Drive's current listing under the
//! policies is compared with each destination's own listing, whatever the ledger says, like
//! `rclone check`. Either way a copy that is missing or differs and has a ledger row goes back
//! to `pending` with the reason, so the next sync repairs it; an intact one gets its
//! `last_verified` time.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use md5::{Digest, Md5};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::config::Config;
use crate::db::{Database, PairRecord};
use crate::storage::check::{check_object, Mismatch, VerifiedBy};
use crate::storage::providers::HashKind;
use crate::storage::{ObjectInfo, StorageManager};

use super::plan::SyncPlan;
use super::SyncError;

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyCounts {
    pub checked: u64,
    pub intact: u64,
    pub missing: u64,
    pub corrupt: u64,
    /// Copies read back in full and hashed.
    pub downloaded: u64,
    /// Copies only their size could be checked for (the destination lists no hash, or Drive
    /// gives none for an exported Google Doc); `--download` proves their bytes.
    pub size_only: u64,
    /// A sample of what was found, for the person reading the result.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub destinations: BTreeMap<String, VerifyCounts>,
    /// The kept earlier versions, when they were checked too (`--versions`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, super::versions::VersionCheck>,
    /// Every copy checked was intact.
    pub all_intact: bool,
}

impl VerifyCounts {
    fn count(&mut self, path: &str, problem: &Option<Problem>) {
        self.checked += 1;
        match problem {
            None => self.intact += 1,
            Some(p) if p.missing => self.missing += 1,
            Some(_) => self.corrupt += 1,
        }
        if let Some(p) = problem {
            if self.problems.len() < 20 {
                self.problems.push(format!("{path}: {}", p.reason));
            }
        }
    }
}

/// What is wrong with one copy.
pub(super) struct Problem {
    pub(super) missing: bool,
    pub(super) reason: String,
}

impl Problem {
    fn from_mismatch(mismatch: &Mismatch) -> Self {
        Problem { missing: mismatch.is_missing(), reason: format!("verify: {mismatch}") }
    }
}

/// Which of `total` copies to read back this time: `percent` of them (rounded up), starting
/// where the last run stopped, so repeated runs read every copy in turn (like restic's
/// `--read-data-subset`). Returns the chosen indices and where the next run starts.
pub fn rotating_sample(total: usize, percent: u8, start: usize) -> (Vec<usize>, usize) {
    if total == 0 || percent == 0 {
        return (Vec::new(), start);
    }
    let take = (total * usize::from(percent.min(100))).div_ceil(100);
    let start = start % total;
    ((0..take).map(|j| (start + j) % total).collect(), (start + take) % total)
}

/// Verifies what the ledger calls synced at the given destinations; `download_percent` of each
/// is read back in full, a different part each run.
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
        let cursor_key = format!("verify_read_back_from:{dest}");
        let start = db.get_state(&cursor_key).await?.and_then(|s| s.parse().ok()).unwrap_or(0);
        let (sample, next) = rotating_sample(pairs.len(), download_percent, start);
        let sample: std::collections::HashSet<usize> = sample.into_iter().collect();
        let kind = storage.hash_kind(dest)?;
        let mut counts = VerifyCounts::default();
        let mut listings: HashMap<String, HashMap<String, ObjectInfo>> = HashMap::new();
        for (i, (file_id, pair)) in pairs.iter().enumerate() {
            let recorded = pair.remote_path.as_deref().unwrap_or_default();
            let problem = match recorded.strip_prefix(&root) {
                None => Some(Problem {
                    missing: true,
                    reason: format!("verify: recorded at {recorded}, outside the destination's current folder"),
                }),
                Some(path) => {
                    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                    if !listings.contains_key(dir) {
                        listings.insert(dir.to_string(), storage.list_objects(dest, dir).await?);
                    }
                    let object = listings.get(dir).and_then(|l| l.get(name));
                    match check_recorded(pair, object, kind) {
                        Some(p) => Some(p),
                        None if sample.contains(&i) => {
                            counts.downloaded += 1;
                            read_back(storage, dest, path, pair, scratch).await
                        }
                        None => {
                            if pair.verified_by == Some(VerifiedBy::Size) {
                                counts.size_only += 1;
                            }
                            None
                        }
                    }
                }
            };
            counts.count(recorded, &problem);
            db.record_verification(file_id, dest, problem.as_ref().map(|p| p.reason.as_str())).await?;
        }
        db.set_state(&cursor_key, &next.to_string()).await?;
        report.destinations.insert(dest.clone(), counts);
    }
    report.all_intact = report.destinations.values().all(|c| c.missing == 0 && c.corrupt == 0);
    Ok(report)
}

/// Compares what the destination lists with what the ledger recorded for the copy.
pub(super) fn check_recorded(pair: &PairRecord, object: Option<&ObjectInfo>, kind: HashKind) -> Option<Problem> {
    let expected_hash =
        pair.remote_hash.as_deref().or(pair.md5.as_deref().filter(|_| pair.verified_by == Some(VerifiedBy::Md5)));
    check_object(object, pair.size.unwrap_or(-1), expected_hash, kind).err().map(|m| Problem::from_mismatch(&m))
}

/// Reads one copy back and compares its md5 with the one recorded, streaming.
async fn read_back(
    storage: &StorageManager,
    dest: &str,
    path: &str,
    pair: &PairRecord,
    scratch: &Path,
) -> Option<Problem> {
    let unreadable =
        |e: String| Problem { missing: true, reason: format!("verify: the copy cannot be read back: {e}") };
    let local = match storage.download_to(dest, path, scratch).await {
        Ok(local) => local,
        Err(e @ crate::storage::StorageError::ReadBackCorrupt(_)) => {
            return Some(Problem { missing: false, reason: format!("verify: {e}") })
        }
        Err(e) => return Some(unreadable(e.to_string())),
    };
    let md5 = md5_of_file(&local).await;
    let _ = tokio::fs::remove_file(&local).await;
    let md5 = match md5 {
        Ok(md5) => md5,
        Err(e) => return Some(unreadable(e.to_string())),
    };
    match &pair.md5 {
        Some(expected) if *expected != md5 => Some(Problem {
            missing: false,
            reason: format!("verify: the copy read back has md5 {md5}, expected {expected}"),
        }),
        _ => None,
    }
}

async fn md5_of_file(path: &Path) -> std::io::Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}

/// Compares Drive's listing under the policies (as `plan`, made against an empty ledger, lays
/// it out: every file with every destination its policy names) with each destination's own
/// recursive listing. Copies with a ledger row that turn out missing or different go back to
/// pending; files the ledger has no row for are reported too (the next sync copies them).
pub async fn verify_against_drive(
    db: &Database,
    storage: &StorageManager,
    expected: &SyncPlan,
    destinations: &[String],
) -> Result<VerifyReport, SyncError> {
    let mut report = VerifyReport::default();
    for dest in destinations {
        let objects = storage.list_objects_recursively(dest, super::listing::REMOTE_ROOT).await?;
        let kind = storage.hash_kind(dest)?;
        let mut counts = VerifyCounts::default();
        for file in expected.files.iter().filter(|f| f.destinations.contains(dest)) {
            let relative = file.remote_path.strip_prefix(&format!("{}/", super::listing::REMOTE_ROOT));
            let object = relative.and_then(|r| objects.get(r));
            let problem = match (file.size, object) {
                // An exported Google Doc has no size or md5 in Drive: being there is the check.
                (None, Some(_)) => {
                    counts.size_only += 1;
                    None
                }
                (None, None) => Some(Problem::from_mismatch(&Mismatch::Missing)),
                (Some(size), object) => {
                    let md5 = file.md5.as_deref().filter(|_| kind == HashKind::Md5);
                    if md5.is_none() && object.is_some() {
                        counts.size_only += 1;
                    }
                    check_object(object, size, md5, kind).err().map(|m| Problem::from_mismatch(&m))
                }
            };
            counts.count(&file.drive_path, &problem);
            if let Some(p) = &problem {
                db.record_verification(&file.file_id, dest, Some(&p.reason)).await?;
            }
        }
        report.destinations.insert(dest.clone(), counts);
    }
    report.all_intact = report.destinations.values().all(|c| c.missing == 0 && c.corrupt == 0);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_the_asked_share_and_rotates_over_every_copy() {
        let (first, next) = rotating_sample(10, 51, 0);
        assert_eq!(first.len(), 6, "51% of 10 is 6 copies, not all of them");
        let (second, _) = rotating_sample(10, 51, next);
        let mut seen: Vec<usize> = first.iter().chain(&second).copied().collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, (0..10).collect::<Vec<_>>(), "two runs of 51% read every copy");
        assert_eq!(rotating_sample(10, 100, 3).0.len(), 10);
        assert_eq!(rotating_sample(3, 1, 0).0, vec![0], "a small share still reads one");
        assert!(rotating_sample(0, 50, 0).0.is_empty());
        assert!(rotating_sample(10, 0, 0).0.is_empty());
    }
}
