//! The planner: which (file, destination) pairs need a transfer, from policies × ledger.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::db::{FileRecord, LedgerEntry, SyncStatus};
use crate::drive::{export_mime, tree};
use crate::policy::{get_destinations_for_file, Decision, FolderPolicy};

/// One file to download once and send to `destinations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedFile {
    pub file_id: String,
    /// Whose bytes to fetch (differs from `file_id` for a followed shortcut).
    pub content_id: String,
    pub drive_path: String,
    pub remote_path: String,
    pub size: Option<i64>,
    /// Drive's md5, when the file has bytes of its own (not for Workspace exports).
    pub md5: Option<String>,
    pub version: Option<i64>,
    pub modified_time: Option<String>,
    /// The MIME type to export to, for Google Workspace files.
    pub export_mime: Option<String>,
    pub destinations: Vec<String>,
    /// Per destination, the copy already at `remote_path` that this one replaces: it is kept
    /// (as an older version) before the new bytes go over it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub previous: BTreeMap<String, PreviousCopy>,
}

/// The last verified copy of a file at a destination, as the ledger describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousCopy {
    pub md5: Option<String>,
    pub size: Option<i64>,
    /// The destination's own hash of it (md5 or sha1).
    pub remote_hash: Option<String>,
    pub copied_at: Option<String>,
}

/// Where a planned pair lands: the destination's root, and its object-name limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTarget {
    /// `<bucket>/<prefix>` or `<folder>/<prefix>`, as recorded in the ledger.
    pub root: String,
    /// Bytes the destination adds before `google-drive/...` in an object's name (its prefix).
    pub key_prefix_bytes: usize,
    /// The provider's limit on an object's whole name, if it has one.
    pub max_key_bytes: Option<usize>,
}

impl PlanTarget {
    pub fn of(dest: &crate::config::DestinationConfig) -> Self {
        let key_prefix_bytes = match dest.prefix.as_str() {
            "" => 0,
            prefix => prefix.len() + 1,
        };
        Self { root: dest.root_path(), key_prefix_bytes, max_key_bytes: dest.provider.max_key_bytes }
    }

    /// Why `remote_path` cannot be an object name here, if it cannot.
    fn refuses(&self, remote_path: &str) -> Option<String> {
        let limit = self.max_key_bytes?;
        let length = self.key_prefix_bytes + remote_path.len();
        (length > limit).then(|| {
            format!(
                "the object name would be {length} bytes, over this destination's limit of {limit} bytes; \
                 shorten the Drive folder or file names."
            )
        })
    }
}

/// A pair the plan refuses before any transfer, with why (recorded as failed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefusedPair {
    pub file_id: String,
    pub drive_path: String,
    pub destination: String,
    pub reason: String,
}

/// What a sync would do, before it does it. `fanout plan --json` prints it, and a run given
/// it back copies exactly what it lists.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncPlan {
    pub files: Vec<PlannedFile>,
    /// Every pair the policies ask for (up to date or not), per destination.
    pub pairs_in_scope: BTreeMap<String, Vec<String>>,
    /// Files that go nowhere, with the reason recorded on them.
    pub skipped: usize,
    /// Destinations a policy names but config.yaml has disabled or lacks.
    pub unavailable_destinations: Vec<String>,
    /// Pairs that cannot be copied as they are (an object name over the provider's limit).
    #[serde(default)]
    pub refused: Vec<RefusedPair>,
    /// Nothing changed in Drive or in the policies since a run that left every pair synced,
    /// so nothing was loaded and `pairs_in_scope` is empty.
    pub unchanged: bool,
    /// The policies and destinations this plan was made from (saved after a clean run).
    #[serde(skip)]
    pub fingerprint: String,
}

/// Which of the failed pairs a retry takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryScope {
    /// Only at this destination.
    pub destination: Option<String>,
    /// Only this Drive file.
    pub file_id: Option<String>,
}

impl SyncPlan {
    /// This plan cut down to the pairs the ledger records as failed, within `scope`; the
    /// run's summary then covers the destinations retried.
    pub fn only_failed(mut self, ledger: &HashMap<(String, String), LedgerEntry>, scope: &RetryScope) -> SyncPlan {
        let failed = |file_id: &str, dest: &str| {
            scope.destination.as_deref().is_none_or(|d| d == dest)
                && scope.file_id.as_deref().is_none_or(|f| f == file_id)
                && ledger.get(&(file_id.to_string(), dest.to_string())).is_some_and(|e| e.status == SyncStatus::Failed)
        };
        for file in &mut self.files {
            let id = file.file_id.clone();
            file.destinations.retain(|d| failed(&id, d));
            file.previous.retain(|d, _| failed(&id, d));
        }
        self.files.retain(|f| !f.destinations.is_empty());
        if let Some(dest) = &scope.destination {
            self.pairs_in_scope.retain(|d, _| d == dest);
        }
        self
    }

    pub fn pair_count(&self) -> usize {
        self.files.iter().map(|f| f.destinations.len()).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.files.iter().filter_map(|f| f.size).map(|s| s.max(0) as u64).sum()
    }
}

/// Does a recorded pair still describe the current Drive file, at its current place?
///
/// A file whose path changed (it, or a folder above it, was renamed or moved) is copied to
/// the new path; the copy at the old path stays, as a backup should.
fn up_to_date(entry: Option<&LedgerEntry>, file: &FileRecord, expected_remote_path: &str) -> bool {
    let Some(entry) = entry else { return false };
    if entry.status != SyncStatus::Synced || entry.remote_path.as_deref() != Some(expected_remote_path) {
        return false;
    }
    match &file.md5 {
        Some(md5) => entry.md5.as_deref() == Some(md5.as_str()),
        None => entry.version == file.version,
    }
}

pub fn plan_sync(
    records: &[FileRecord],
    policies: &HashMap<String, FolderPolicy>,
    ledger: &HashMap<(String, String), LedgerEntry>,
    // Enabled destinations, with where their objects land.
    enabled_destinations: &HashMap<String, PlanTarget>,
    export_formats: &BTreeMap<String, String>,
) -> SyncPlan {
    let parents: HashMap<&str, Option<&str>> =
        records.iter().map(|r| (r.file_id.as_str(), r.parent_id.as_deref())).collect();
    let mut plan = SyncPlan::default();
    let mut unavailable = std::collections::BTreeSet::new();
    for file in records.iter().filter(|r| !r.is_folder && !r.gone && !r.trashed) {
        if file.skip_reason.is_some() {
            plan.skipped += 1;
            continue;
        }
        let ancestors = tree::ancestors(file.parent_id.as_deref(), |id| parents.get(id).copied().flatten());
        let Decision::Backup { destinations, .. } = get_destinations_for_file(&ancestors, policies) else {
            plan.skipped += 1;
            continue;
        };
        let mut needed = Vec::new();
        let mut previous = BTreeMap::new();
        for dest in destinations {
            let Some(target) = enabled_destinations.get(&dest) else {
                unavailable.insert(dest);
                continue;
            };
            plan.pairs_in_scope.entry(dest.clone()).or_default().push(file.file_id.clone());
            if let Some(reason) = target.refuses(&file.remote_path) {
                let refused = RefusedPair {
                    file_id: file.file_id.clone(),
                    drive_path: file.drive_path.clone(),
                    destination: dest,
                    reason,
                };
                plan.refused.push(refused);
                continue;
            }
            let expected = format!("{}/{}", target.root, file.remote_path);
            let entry = ledger.get(&(file.file_id.clone(), dest.clone()));
            if !up_to_date(entry, file, &expected) {
                if let Some(copy) = entry.and_then(|e| e.copy_at(&expected)) {
                    previous.insert(dest.clone(), copy);
                }
                needed.push(dest);
            }
        }
        if needed.is_empty() {
            continue;
        }
        let export = file
            .mime_type
            .strip_prefix("application/vnd.google-apps.")
            .and_then(|kind| export_formats.get(kind))
            .and_then(|ext| export_mime(ext))
            .map(str::to_string);
        plan.files.push(PlannedFile {
            file_id: file.file_id.clone(),
            content_id: file.content_id.clone().unwrap_or_else(|| file.file_id.clone()),
            drive_path: file.drive_path.clone(),
            remote_path: file.remote_path.clone(),
            size: file.size.filter(|_| export.is_none()),
            md5: file.md5.clone().filter(|_| export.is_none()),
            version: file.version,
            modified_time: file.modified_time.clone(),
            export_mime: export,
            destinations: needed,
            previous,
        });
    }
    plan.unavailable_destinations = unavailable.into_iter().collect();
    plan.files.sort_by(|a, b| a.remote_path.cmp(&b.remote_path));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, parent: &str, md5: Option<&str>, folder: bool) -> FileRecord {
        FileRecord {
            file_id: id.into(),
            parent_id: Some(parent.into()),
            name: id.into(),
            remote_name: id.into(),
            mime_type: if folder { crate::drive::FOLDER_MIME.into() } else { "text/plain".into() },
            is_folder: folder,
            content_id: None,
            size: Some(5),
            md5: md5.map(Into::into),
            version: Some(1),
            modified_time: None,
            drive_path: id.into(),
            remote_path: format!("google-drive/{id}"),
            trashed: false,
            explicitly_trashed: false,
            drive_trashed: false,
            gone: false,
            skip_reason: None,
        }
    }

    fn policy(id: &str, dests: &[&str]) -> (String, FolderPolicy) {
        (
            id.into(),
            FolderPolicy {
                folder_id: id.into(),
                folder_name: id.into(),
                folder_path: id.into(),
                destinations: dests.iter().map(|d| d.to_string()).collect(),
                recursive: true,
                enabled: true,
                created_at: String::new(),
                updated_at: String::new(),
            },
        )
    }

    fn synced(id: &str, md5: &str) -> LedgerEntry {
        LedgerEntry {
            status: SyncStatus::Synced,
            md5: Some(md5.into()),
            version: Some(1),
            remote_path: Some(format!("bucket/google-drive/{id}")),
            last_sync: Some("2026-12-01T00:00:00Z".into()),
            ..Default::default()
        }
    }

    fn roots(keys: &[&str]) -> HashMap<String, PlanTarget> {
        let target = PlanTarget { root: "bucket".into(), key_prefix_bytes: 0, max_key_bytes: None };
        keys.iter().map(|k| (k.to_string(), target.clone())).collect()
    }

    #[test]
    fn a_name_over_the_providers_limit_is_refused_before_any_transfer() {
        let mut long = record("f", "P", Some("m"), false);
        long.remote_path = format!("google-drive/P/{}", "x".repeat(1100));
        let records = vec![record("P", "root", None, true), long, record("ok", "P", Some("m"), false)];
        let policies: HashMap<_, _> = [policy("P", &["s3", "disk"])].into();
        let mut targets = roots(&["disk"]);
        targets
            .insert("s3".into(), PlanTarget { root: "b/pre".into(), key_prefix_bytes: 4, max_key_bytes: Some(1024) });
        let plan = plan_sync(&records, &policies, &HashMap::new(), &targets, &BTreeMap::new());
        assert_eq!(plan.refused.len(), 1);
        assert_eq!((plan.refused[0].file_id.as_str(), plan.refused[0].destination.as_str()), ("f", "s3"));
        assert!(
            plan.refused[0].reason.contains("1119 bytes, over this destination's limit of 1024"),
            "{:?}",
            plan.refused
        );
        let f = plan.files.iter().find(|f| f.file_id == "f").unwrap();
        assert_eq!(f.destinations, vec!["disk"], "the other destination still gets it");
        assert_eq!(plan.pairs_in_scope["s3"].len(), 2, "the refused pair is in scope (and counts as failed)");
    }

    #[test]
    fn only_missing_changed_or_unsynced_pairs_need_work() {
        let records = vec![
            record("P", "root", None, true),
            record("same", "P", Some("m1"), false),
            record("changed", "P", Some("new"), false),
            record("failed", "P", Some("m3"), false),
            record("new", "P", Some("m4"), false),
        ];
        let policies: HashMap<_, _> = [policy("P", &["a", "b"])].into();
        let mut ledger = HashMap::new();
        for (id, md5) in [("same", "m1"), ("changed", "old"), ("failed", "m3")] {
            for dest in ["a", "b"] {
                ledger.insert((id.to_string(), dest.to_string()), synced(id, md5));
            }
        }
        ledger.insert(
            ("failed".into(), "b".into()),
            LedgerEntry { status: SyncStatus::Failed, ..synced("failed", "m3") },
        );
        let plan = plan_sync(&records, &policies, &ledger, &roots(&["a", "b"]), &BTreeMap::new());
        let got: Vec<(&str, Vec<String>)> =
            plan.files.iter().map(|f| (f.file_id.as_str(), f.destinations.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("changed", vec!["a".to_string(), "b".to_string()]),
                ("failed", vec!["b".to_string()]),
                ("new", vec!["a".to_string(), "b".to_string()]),
            ]
        );
        assert_eq!(plan.pairs_in_scope["a"].len(), 4);
    }

    #[test]
    fn a_file_whose_path_changed_is_copied_to_its_new_path() {
        let mut moved = record("f", "P", Some("m"), false);
        moved.remote_path = "google-drive/Renamed/f".into();
        let records = vec![record("P", "root", None, true), moved];
        let policies: HashMap<_, _> = [policy("P", &["a"])].into();
        let ledger: HashMap<_, _> = [(("f".to_string(), "a".to_string()), synced("f", "m"))].into();
        let plan = plan_sync(&records, &policies, &ledger, &roots(&["a"]), &BTreeMap::new());
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.files[0].remote_path, "google-drive/Renamed/f");
    }

    #[test]
    fn a_disabled_destination_is_reported_not_planned() {
        let records = vec![record("P", "root", None, true), record("f", "P", Some("m"), false)];
        let policies: HashMap<_, _> = [policy("P", &["a", "gone"])].into();
        let plan = plan_sync(&records, &policies, &HashMap::new(), &roots(&["a"]), &BTreeMap::new());
        assert_eq!(plan.files[0].destinations, vec!["a"]);
        assert_eq!(plan.unavailable_destinations, vec!["gone"]);
    }
}
