//! Keeping the copy that new bytes replace, before they replace it.
//!
//! Where the destination keeps versions itself (B2; an S3 bucket with versioning on), the
//! upload goes ahead and the provider's older version is found afterwards. Everywhere else the
//! previous copy is first copied into Fanout's versions area and checked there (size and
//! hash); only then do the new bytes go over it. A crash at any point leaves the old copy at
//! its old place, at its new one, or both, never neither: the next run finds the kept copy
//! again (its name depends only on the old copy) and records it.

use std::collections::HashMap;

use crate::db::{PairUpdate, Replaced, SyncStatus};
use crate::drive::Downloaded;
use crate::storage::check::check_object;
use crate::storage::providers::HashKind;
use crate::storage::versions::{is_version_of, kept_path};
use crate::storage::StorageManager;

use super::plan::{PlannedFile, PreviousCopy};
use super::transfer::Transfer;

/// What keeping did, per batch index: where each replaced copy lives now, and the files that
/// must not be sent because their previous copy could not be kept.
#[derive(Default)]
pub(super) struct Kept {
    pub replaced: HashMap<usize, Replaced>,
    pub refused: HashMap<usize, String>,
}

/// The hash a previous copy is checked by at a destination of `kind`.
fn expected_hash(previous: &PreviousCopy, kind: HashKind) -> Option<&str> {
    previous.remote_hash.as_deref().or(previous.md5.as_deref().filter(|_| kind == HashKind::Md5))
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

impl Transfer<'_> {
    /// Copies each previous copy this batch replaces into the versions area and checks it.
    pub(super) async fn keep_previous_copies(
        &self,
        dest: &str,
        indices: &[usize],
        batch: &[(PlannedFile, Downloaded)],
    ) -> Kept {
        let mut kept = Kept::default();
        let replacing: Vec<(usize, &PlannedFile, &PreviousCopy)> =
            indices.iter().filter_map(|&i| batch[i].0.previous.get(dest).map(|p| (i, &batch[i].0, p))).collect();
        if replacing.is_empty() {
            return kept;
        }
        let kind = self.storage.hash_kind(dest).unwrap_or(HashKind::Md5);
        let root = self.storage.root_path(dest).unwrap_or_default();
        let current = self.list_folders(dest, replacing.iter().map(|(_, f, _)| split(&f.remote_path).0)).await;
        let mut copied = Vec::new();
        for (i, file, previous) in &replacing {
            let target = kept_path(
                &file.remote_path,
                previous.copied_at.as_deref().unwrap_or(&self.started_at),
                previous.md5.as_deref(),
            );
            let (dir, name) = split(&file.remote_path);
            let present = match current.get(dir) {
                Some(Ok(objects)) => objects.get(name),
                Some(Err(e)) => {
                    kept.refused.insert(*i, format!("cannot check the previous copy before replacing it: {e}"));
                    continue;
                }
                None => None,
            };
            let intact =
                check_object(present, previous.size.unwrap_or(-1), expected_hash(previous, kind), kind).is_ok();
            if intact {
                let intent = self.record_intent(dest, std::slice::from_ref(&target)).await;
                let result = self.storage.keep_copy(dest, &file.remote_path, &target).await;
                if let Some(id) = intent {
                    let _ = self.db.clear_upload_intent(id).await;
                }
                if let Err(e) = result {
                    kept.refused.insert(*i, format!("could not keep the previous copy before replacing it: {e}"));
                    continue;
                }
            }
            copied.push((*i, target, *previous, intact));
        }
        // Each kept copy is checked where it now is, before anything goes over the original.
        let folders = self.list_folders(dest, copied.iter().map(|(_, t, _, _)| split(t).0)).await;
        for (i, target, previous, intact) in copied {
            let (dir, name) = split(&target);
            let found = folders.get(dir).and_then(|l| l.as_ref().ok()).and_then(|objects| objects.get(name));
            match check_object(found, previous.size.unwrap_or(-1), expected_hash(previous, kind), kind) {
                Ok(_) => {
                    kept.replaced.insert(i, Replaced::KeptAt(format!("{root}/{target}")));
                }
                Err(mismatch) if intact => {
                    kept.refused.insert(i, format!("could not keep the previous copy before replacing it: {mismatch}"));
                }
                // Nothing intact to keep (and no copy kept by an earlier, interrupted run).
                Err(_) => {
                    kept.replaced.insert(
                        i,
                        Replaced::NotKept("the previous copy was no longer intact at the destination".into()),
                    );
                }
            }
        }
        kept
    }

    /// For each synced pair that replaced a copy, the provider's older version holding it.
    pub(super) async fn find_provider_versions(
        &self,
        dest: &str,
        judged: &[(usize, PairUpdate)],
        batch: &[(PlannedFile, Downloaded)],
    ) -> HashMap<usize, Replaced> {
        let kind = self.storage.hash_kind(dest).unwrap_or(HashKind::Md5);
        let mut listings: HashMap<String, Vec<crate::rclone::ListedFile>> = HashMap::new();
        let mut found = HashMap::new();
        for (i, _) in judged.iter().filter(|(_, u)| u.status == SyncStatus::Synced) {
            let file = &batch[*i].0;
            let Some(previous) = file.previous.get(dest) else { continue };
            let (dir, name) = split(&file.remote_path);
            if !listings.contains_key(dir) {
                let listed = self.storage.list_with_versions(dest, dir).await.unwrap_or_default();
                listings.insert(dir.to_string(), listed);
            }
            let older = listings[dir]
                .iter()
                .filter(|f| is_version_of(&f.name, name))
                .filter(|f| {
                    let object = StorageManager::find(std::slice::from_ref(f), &f.name);
                    check_object(object.as_ref(), previous.size.unwrap_or(-1), expected_hash(previous, kind), kind)
                        .is_ok()
                })
                .map(|f| f.name.clone())
                .max();
            let replaced = match older {
                Some(version) => {
                    Replaced::ProviderVersion(if dir.is_empty() { version } else { format!("{dir}/{version}") })
                }
                None => Replaced::NotKept("the provider listed no earlier version of it".into()),
            };
            found.insert(*i, replaced);
        }
        found
    }
}
