//! Earlier versions after they are kept: checking them (`verify --versions`) and removing the
//! old ones a person's retention lets go (`prune`).
//!
//! Prune removes only versions the ledger knows Fanout made, that are no longer current, and
//! that are beyond the destination's `keep_versions`; never a version under an Object Lock
//! retention date. A copy left at an old path by a rename is never pruned (another file may
//! have that path now). Every removal is recorded in the ledger.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, Retention};
use crate::db::{Database, VersionRecord, VersionState};
use crate::rclone::ListedFile;
use crate::storage::check::{check_object, Mismatch};
use crate::storage::providers::HashKind;
use crate::storage::{ObjectInfo, StorageManager};

use super::SyncError;

/// One version a prune removes (or, in a dry run, would remove), or skips.
#[derive(Debug, Clone, Serialize)]
pub struct PrunedVersion {
    pub file_id: String,
    pub drive_path: String,
    pub copied_at: String,
    pub md5: Option<String>,
    pub bytes: i64,
    /// Where it is (its path in the versions area, or the provider's version name).
    pub location: String,
    /// Why it stays, for a version that was due but could not go.
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneCounts {
    pub retention: Retention,
    pub removed: Vec<PrunedVersion>,
    pub skipped: Vec<PrunedVersion>,
    pub bytes_removed: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    pub destinations: BTreeMap<String, PruneCounts>,
}

/// Which of one pair's versions (newest first, the current one included) the retention lets
/// go: beyond the `count` newest, and copied more than `days` ago, when those are given.
fn due(versions: &[&VersionRecord], retention: Retention, now: chrono::DateTime<chrono::Utc>) -> Vec<usize> {
    versions
        .iter()
        .enumerate()
        .filter(|(_, v)| v.state == VersionState::Kept && (v.kept_path.is_some() || v.provider_version.is_some()))
        .filter(|(i, _)| retention.count.is_none_or(|count| *i >= count as usize))
        .filter(|(_, v)| {
            retention.days.is_none_or(|days| {
                let copied = chrono::DateTime::parse_from_rfc3339(&v.copied_at).map(|t| t.with_timezone(&chrono::Utc));
                copied.is_ok_and(|t| now - t > chrono::Duration::days(i64::from(days)))
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// The path of a kept version relative to the destination's root.
fn relative<'a>(path: &'a str, root: &str) -> &'a str {
    path.strip_prefix(root).map(|p| p.trim_start_matches('/')).unwrap_or(path)
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Prunes (or, with `dry_run`, lists) the versions each destination's retention lets go.
pub async fn prune(
    config: &Config,
    db: &Database,
    storage: &StorageManager,
    destinations: &[String],
    dry_run: bool,
) -> Result<PruneReport, SyncError> {
    let mut report = PruneReport { dry_run, ..Default::default() };
    let now = chrono::Utc::now();
    for dest in destinations {
        let Some(dest_config) = config.destination(dest) else { continue };
        let retention = dest_config.keep_versions;
        let mut counts = PruneCounts { retention, ..Default::default() };
        if retention.keeps_everything() {
            report.destinations.insert(dest.clone(), counts);
            continue;
        }
        let root = dest_config.root_path();
        let versions = db.versions_at(dest, &[VersionState::Current, VersionState::Kept]).await?;
        let mut by_file: BTreeMap<&str, Vec<&VersionRecord>> = BTreeMap::new();
        for v in &versions {
            by_file.entry(v.file_id.as_str()).or_default().push(v);
        }
        for (file_id, pair) in by_file {
            let drive_path = db.get_file(file_id).await?.map(|f| f.drive_path).unwrap_or_default();
            for i in due(&pair, retention, now) {
                let v = pair[i];
                let mut entry = PrunedVersion {
                    file_id: file_id.to_string(),
                    drive_path: drive_path.clone(),
                    copied_at: v.copied_at.clone(),
                    md5: v.md5.clone(),
                    bytes: v.size.unwrap_or(0),
                    location: v.location().to_string(),
                    skipped: None,
                };
                if let Some(why) = remove(storage, dest, v, &root, dry_run, now).await {
                    entry.skipped = Some(why);
                    counts.skipped.push(entry);
                    continue;
                }
                if !dry_run {
                    db.set_version_state(v.id, VersionState::Pruned, Some("removed by fanout prune")).await?;
                }
                counts.bytes_removed += entry.bytes;
                counts.removed.push(entry);
            }
        }
        report.destinations.insert(dest.clone(), counts);
    }
    Ok(report)
}

/// Removes one version unless Object Lock holds it; says why when it stays.
async fn remove(
    storage: &StorageManager,
    dest: &str,
    v: &VersionRecord,
    root: &str,
    dry_run: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let (path, provider) = match (&v.kept_path, &v.provider_version) {
        (Some(kept), _) => (relative(kept, root).to_string(), false),
        (None, Some(name)) => (name.clone(), true),
        (None, None) => return Some("left at an old path; never pruned".into()),
    };
    if provider {
        if let Some(why) = provider_version_stays(storage, dest, v, &path, now).await {
            return Some(why);
        }
    }
    if dry_run {
        return None;
    }
    match storage.delete_version(dest, &path, provider).await {
        Ok(()) => None,
        Err(e) => Some(format!("could not be removed: {e}")),
    }
}

/// Why a provider's version must stay, if it must: the name does not reach the recorded
/// version (another written within the same second shares it, and a delete by that name
/// would remove that one), or Object Lock holds it (never removed, nor tried; only the
/// provider's versions can be locked, as a bucket with Object Lock always keeps versions).
async fn provider_version_stays(
    storage: &StorageManager,
    dest: &str,
    v: &VersionRecord,
    path: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let reached = match storage.provider_version(dest, path).await {
        Ok(Some(found)) => found,
        Ok(None) => return Some("is no longer at the destination".into()),
        Err(e) => return Some(format!("could not be looked up: {e}")),
    };
    let kind = storage.hash_kind(dest).unwrap_or(HashKind::Md5);
    let object = ObjectInfo { size: reached.size, hash: reached.hash.clone() };
    if check_object(Some(&object), v.size.unwrap_or(-1), expected_hash(v, kind), kind).is_err() {
        return Some(format!(
            "shares its name `{path}` with another version written within the same second, and only that \
             one can be reached by name; it stays until that one goes"
        ));
    }
    let until = reached.locked_until?;
    let later = chrono::DateTime::parse_from_rfc3339(&until).map(|t| t.with_timezone(&chrono::Utc) > now);
    later.unwrap_or(true).then(|| format!("locked by Object Lock until {until}"))
}

/// The hash recorded for a version, in the destination's kind.
fn expected_hash(v: &VersionRecord, kind: HashKind) -> Option<&str> {
    v.remote_hash.as_deref().or(v.md5.as_deref().filter(|_| kind == HashKind::Md5))
}

/// What `verify --versions` found of the kept versions at one destination.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VersionCheck {
    pub checked: u64,
    pub intact: u64,
    pub missing: u64,
    pub problems: Vec<String>,
}

/// Checks every kept version at `dest` where it lives; a missing or changed one is recorded
/// as missing (and reported), never dropped silently.
pub async fn check_kept(
    config: &Config,
    db: &Database,
    storage: &StorageManager,
    dest: &str,
) -> Result<VersionCheck, SyncError> {
    let mut check = VersionCheck::default();
    let Some(dest_config) = config.destination(dest) else { return Ok(check) };
    let root = dest_config.root_path();
    let kind = storage.hash_kind(dest)?;
    let mut listings: BTreeMap<(String, bool), Vec<ListedFile>> = BTreeMap::new();
    for v in db.kept_versions(dest).await? {
        let (path, provider) = match (&v.kept_path, &v.provider_version) {
            (Some(kept), _) => (relative(kept, &root).to_string(), false),
            (None, Some(name)) => (name.clone(), true),
            (None, None) => (relative(&v.remote_path, &root).to_string(), false),
        };
        let (dir, name) = split(&path);
        let key = (dir.to_string(), provider);
        if !listings.contains_key(&key) {
            let files = if provider {
                storage.list_with_versions(dest, dir).await?
            } else {
                let listed = storage.list_objects(dest, dir).await?;
                listed
                    .into_iter()
                    .map(|(n, o)| ListedFile { name: n, size: o.size, hash: o.hash, locked_until: None })
                    .collect()
            };
            listings.insert(key.clone(), files);
        }
        check.checked += 1;
        match check_named(&listings[&key], name, v.size.unwrap_or(-1), expected_hash(&v, kind), kind) {
            Ok(_) => {
                check.intact += 1;
                db.set_version_state(v.id, VersionState::Kept, None).await?;
            }
            Err(mismatch) => {
                check.missing += 1;
                let note = format!("verify: the kept version at {path}: {mismatch}");
                if check.problems.len() < 20 {
                    check.problems.push(note.clone());
                }
                db.set_version_state(v.id, VersionState::Missing, Some(&note)).await?;
            }
        }
    }
    Ok(check)
}

/// Whether one of the listed files named `name` is the expected copy. A provider's versions
/// written within the same second share a name: any of them may be the one recorded.
fn check_named(
    files: &[ListedFile],
    name: &str,
    size: i64,
    expected: Option<&str>,
    kind: HashKind,
) -> Result<(), Mismatch> {
    let mut mismatch = Mismatch::Missing;
    for file in files.iter().filter(|f| f.name == name) {
        let object = ObjectInfo { size: file.size, hash: file.hash.clone() };
        match check_object(Some(&object), size, expected, kind) {
            Ok(_) => return Ok(()),
            Err(found) if mismatch.is_missing() => mismatch = found,
            Err(_) => {}
        }
    }
    Err(mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: i64, state: VersionState, copied_at: &str) -> VersionRecord {
        VersionRecord {
            id,
            file_id: "f".into(),
            destination: "d".into(),
            md5: None,
            size: Some(1),
            drive_version: None,
            modified_time: None,
            remote_path: "r".into(),
            kept_path: (state == VersionState::Kept).then(|| format!("r/.fanout/versions/{id}")),
            provider_version: None,
            remote_hash: None,
            verified_by: None,
            copied_at: copied_at.into(),
            replaced_at: None,
            last_verified: None,
            state,
            note: None,
        }
    }

    #[test]
    fn a_count_keeps_the_newest_versions_and_the_current_one_is_never_due() {
        let vs = [
            version(4, VersionState::Current, "2026-12-04T00:00:00Z"),
            version(3, VersionState::Kept, "2026-12-03T00:00:00Z"),
            version(2, VersionState::Kept, "2026-12-02T00:00:00Z"),
            version(1, VersionState::Kept, "2026-12-01T00:00:00Z"),
        ];
        let refs: Vec<&VersionRecord> = vs.iter().collect();
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-05T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(due(&refs, Retention { count: Some(2), days: None }, now), vec![2, 3], "the two oldest");
        assert_eq!(due(&refs, Retention { count: Some(1), days: None }, now), vec![1, 2, 3]);
        assert_eq!(due(&refs, Retention { count: None, days: Some(3) }, now), vec![3], "older than 3 days");
        assert_eq!(due(&refs, Retention { count: Some(2), days: Some(3) }, now), vec![3], "both limits must allow it");
        assert!(due(&refs[..1], Retention { count: Some(1), days: Some(0) }, now).is_empty());
    }
}
