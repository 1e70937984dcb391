//! Reading copies back from a destination (restore, the destination's index) and writing
//! Fanout's own small files there.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::{explain, job_result, StorageError, StorageManager};
use crate::rclone::{CopyOptions, RcloneError};

impl StorageManager {
    /// Copies `local_dir/name` to `path` under the destination's root.
    pub async fn upload_file(&self, key: &str, local_dir: &Path, name: &str, path: &str) -> Result<(), StorageError> {
        let dest = self.usable(key)?;
        let local = local_dir.display().to_string();
        job_result(dest, self.daemon.copy_file((&local, name), (&dest.fs, path), None).await)
    }

    /// Copies the object at `path` into `local_dir/name`; `None` when there is no such object.
    pub async fn download_if_present(
        &self,
        key: &str,
        path: &str,
        local_dir: &Path,
        name: &str,
    ) -> Result<Option<PathBuf>, StorageError> {
        let dest = self.usable(key)?;
        let local = local_dir.display().to_string();
        match self.daemon.copy_file((&dest.fs, path), (&local, name), None).await {
            Ok(()) => Ok(Some(local_dir.join(name))),
            Err(RcloneError::Failed(msg)) if is_not_found(&msg) => Ok(None),
            Err(RcloneError::Failed(msg)) => Err(StorageError::Destination(explain(&dest.config, &msg))),
            Err(e) => Err(e.into()),
        }
    }

    /// Copies the objects at `paths` (under the root, or in the provider's versions view when
    /// `provider_versions`) into `local_dir`, laid out as their paths, in one job.
    pub async fn download_batch(
        &self,
        key: &str,
        paths: &[String],
        provider_versions: bool,
        local_dir: &Path,
        group: &str,
        cancel: &CancellationToken,
    ) -> Result<(), StorageError> {
        let dest = self.usable(key)?;
        let fs = if provider_versions { self.versions_view(key)? } else { dest.fs.clone() };
        let local = local_dir.display().to_string();
        if let [one] = paths {
            return job_result(dest, self.daemon.copy_file((&fs, one), (&local, one), Some((group, cancel))).await);
        }
        let list_path = local_dir.with_extension("files-from");
        let mut list = paths.join("\n");
        list.push('\n');
        tokio::fs::write(&list_path, list)
            .await
            .map_err(|e| StorageError::Destination(format!("cannot write the transfer list: {e}")))?;
        let options = CopyOptions { transfers: self.transfers };
        let result = self.daemon.copy_listed_files(&fs, &local, &list_path, options, group, cancel).await;
        let _ = tokio::fs::remove_file(&list_path).await;
        job_result(dest, result)
    }

    /// The hash `key` states now for each of `paths` that it lists, by folder, when its listing
    /// states hashes without reading the objects (see `listing_states_hashes`); else nothing.
    pub async fn stated_hashes(&self, key: &str, paths: &[String]) -> Result<HashMap<String, String>, StorageError> {
        if !self.destination(key)?.config.provider.listing_states_hashes {
            return Ok(HashMap::new());
        }
        let mut folders: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
        for path in paths {
            let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
            folders.entry(folder).or_default().insert(name);
        }
        let mut stated = HashMap::new();
        for (folder, names) in folders {
            for (name, info) in self.list_objects(key, folder).await? {
                if let (true, Some(hash)) = (names.contains(name.as_str()), info.hash.filter(|h| !h.is_empty())) {
                    let path = if folder.is_empty() { name } else { format!("{folder}/{name}") };
                    stated.insert(path, hash);
                }
            }
        }
        Ok(stated)
    }

    /// Whether objects at `key` sit in a storage class that must be thawed before they can be
    /// read (S3 Glacier Flexible Retrieval, Deep Archive).
    pub fn needs_thaw(&self, key: &str) -> bool {
        self.destination(key)
            .ok()
            .and_then(|d| d.config.storage_class.as_deref())
            .is_some_and(|class| matches!(class.to_ascii_uppercase().as_str(), "GLACIER" | "DEEP_ARCHIVE"))
    }
}

fn is_not_found(msg: &str) -> bool {
    let lower = msg.to_lowercase();
    ["object not found", "no such key", "file not found", "directory not found"].iter().any(|m| lower.contains(m))
}
