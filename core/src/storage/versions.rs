//! Earlier versions at a destination: who keeps them (the provider, or Fanout in its versions
//! area), and the operations on them.
//!
//! Fanout's versions area is `<root>/.fanout/versions/<object path>/<copied>-<md5><ext>`: one
//! folder per file, one file per version, named by when that version was copied and its md5
//! (first 8 hex digits), keeping the extension so it opens as what it is. A person can find an
//! old version with the provider's own tools, without Fanout.

use serde::Serialize;

use super::providers::Versioning;
use super::{explain, ObjectInfo, StorageError, StorageManager};
use crate::rclone::{ListOptions, ListedFile, RcloneError};

/// Where Fanout keeps earlier versions, under the destination's root.
pub const VERSIONS_AREA: &str = ".fanout/versions";

/// Who keeps the copy a change replaces, at one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKeeper {
    /// The provider's own versioning (B2 always; an S3 bucket with versioning on).
    Provider,
    /// Fanout, in its versions area at the destination.
    Fanout,
}

impl VersionKeeper {
    pub fn describe(self, label: &str) -> String {
        match self {
            VersionKeeper::Provider => format!("earlier versions are kept by {label} itself (versioning is on)"),
            VersionKeeper::Fanout => format!("earlier versions are kept by Fanout in {VERSIONS_AREA}/"),
        }
    }
}

/// The path (under the destination's root) where Fanout keeps the version of `object_path`
/// copied at `copied_at` (RFC 3339) with `md5`.
pub fn kept_path(object_path: &str, copied_at: &str, md5: Option<&str>) -> String {
    let stamp: String = copied_at.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let md5 = md5.map(|m| &m[..m.len().min(8)]).unwrap_or("nomd5");
    let name = object_path.rsplit('/').next().unwrap_or(object_path);
    let (_, ext) = crate::drive::naming::split_extension(name);
    format!("{VERSIONS_AREA}/{object_path}/{stamp}-{md5}{ext}")
}

/// Whether `listed` is rclone's name for an older version of `name` in a `versions` listing
/// (`report-v2026-12-02-131854-000.txt` for `report.txt`).
pub fn is_version_of(listed: &str, name: &str) -> bool {
    let (stem, ext) = crate::drive::naming::split_extension(name);
    let Some(rest) = listed.strip_prefix(stem).and_then(|r| r.strip_suffix(ext)) else { return false };
    let Some(stamp) = rest.strip_prefix("-v") else { return false };
    // YYYY-MM-DD-HHMMSS-mmm
    let shape = [4, 2, 2, 6, 3];
    let parts: Vec<&str> = stamp.split('-').collect();
    parts.len() == shape.len()
        && parts.iter().zip(shape).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
}

impl StorageManager {
    /// Who keeps earlier versions at `key`. Asked of the bucket once per run; if it cannot
    /// be asked, Fanout keeps them (a copy too many is safe, one too few is not).
    pub async fn version_keeper(&self, key: &str) -> Result<VersionKeeper, StorageError> {
        let dest = self.destination(key)?;
        let keeper = match dest.config.provider.versioning {
            Versioning::Always => VersionKeeper::Provider,
            Versioning::Never => VersionKeeper::Fanout,
            Versioning::WhenTheBucketHasIt => {
                if let Some(known) = self.keepers.lock().await.get(key) {
                    return Ok(*known);
                }
                let bucket = format!("{}:{}", super::remote_name(key), dest.config.bucket_or_path);
                let keeper = match self.daemon.bucket_versioning(&bucket).await {
                    Ok(Some(status)) if status == "Enabled" => VersionKeeper::Provider,
                    Ok(_) => VersionKeeper::Fanout,
                    Err(e) => {
                        tracing::warn!(destination = key, error = %e, "cannot tell whether the bucket keeps versions");
                        VersionKeeper::Fanout
                    }
                };
                self.keepers.lock().await.insert(key.to_string(), keeper);
                keeper
            }
        };
        Ok(keeper)
    }

    /// Copies the object at `path` to `kept` (both under the destination's root), within the
    /// destination (a server-side copy where the provider has one).
    pub async fn keep_copy(&self, key: &str, path: &str, kept: &str) -> Result<(), StorageError> {
        let dest = self.destination(key)?;
        self.daemon
            .copy_file((&dest.fs, path), (&dest.fs, kept), None)
            .await
            .map_err(|e| StorageError::Destination(explain(&dest.config, &e.to_string())))
    }

    /// The files directly in `dir` with the provider's older versions listed too (rclone's
    /// `versions` view), with hashes and Object Lock retention.
    pub async fn list_with_versions(&self, key: &str, dir: &str) -> Result<Vec<ListedFile>, StorageError> {
        let dest = self.destination(key)?;
        let options =
            ListOptions { hash: Some(dest.config.provider.hash.rclone_name()), metadata: true, ..Default::default() };
        match self.daemon.list(&self.versions_view(key)?, dir, &options).await {
            Ok(files) => Ok(files),
            Err(RcloneError::Failed(msg)) if msg.contains("directory not found") => Ok(Vec::new()),
            Err(RcloneError::Failed(msg)) => Err(StorageError::Destination(explain(&dest.config, &msg))),
            Err(e) => Err(e.into()),
        }
    }

    /// The provider's version that rclone reaches by `path` (a name in the versions view), with
    /// its hash and Object Lock retention. Versions written within the same second share a name
    /// and only one of them (the first the provider lists) is reached: callers compare its hash
    /// with the one recorded.
    pub async fn provider_version(&self, key: &str, path: &str) -> Result<Option<ListedFile>, StorageError> {
        let dest = self.destination(key)?;
        let options =
            ListOptions { hash: Some(dest.config.provider.hash.rclone_name()), metadata: true, ..Default::default() };
        match self.daemon.stat(&self.versions_view(key)?, path, &options).await {
            Ok(found) => Ok(found),
            Err(RcloneError::Failed(msg)) if msg.contains("not found") => Ok(None),
            Err(RcloneError::Failed(msg)) => Err(StorageError::Destination(explain(&dest.config, &msg))),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a version: one Fanout kept (`provider_version` false: a path under the root),
    /// or one the provider keeps (its name in the versions view).
    pub async fn delete_version(&self, key: &str, path: &str, provider_version: bool) -> Result<(), StorageError> {
        let dest = self.destination(key)?;
        let fs = if provider_version { self.versions_view(key)? } else { dest.fs.clone() };
        self.daemon
            .delete_file(&fs, path)
            .await
            .map_err(|e| StorageError::Destination(explain(&dest.config, &e.to_string())))
    }

    /// Copies one version (a path in the versions view, or under the root) into `local_dir`.
    pub async fn download_version(
        &self,
        key: &str,
        path: &str,
        provider_version: bool,
        local_dir: &std::path::Path,
        name: &str,
    ) -> Result<std::path::PathBuf, StorageError> {
        let dest = self.destination(key)?;
        let fs = if provider_version { self.versions_view(key)? } else { dest.fs.clone() };
        let local = local_dir.display().to_string();
        match self.daemon.copy_file((&fs, path), (&local, name), None).await {
            Ok(()) => Ok(local_dir.join(name)),
            Err(RcloneError::Failed(msg)) => Err(StorageError::Destination(explain(&dest.config, &msg))),
            Err(e) => Err(e.into()),
        }
    }

    /// The destination's root as rclone's versions view (`remote,versions=true:root`).
    pub(super) fn versions_view(&self, key: &str) -> Result<String, StorageError> {
        let dest = self.destination(key)?;
        Ok(format!("{},versions=true:{}", super::remote_name(key), dest.config.root_path()))
    }

    /// The object at `dir/name`, from a listing's files.
    pub fn find(files: &[ListedFile], name: &str) -> Option<ObjectInfo> {
        files.iter().find(|f| f.name == name).map(|f| ObjectInfo { size: f.size, hash: f.hash.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_version_is_named_by_when_it_was_copied_and_its_md5() {
        assert_eq!(
            kept_path("google-drive/Projects/a.txt", "2026-12-02T13:18:54Z", Some("c81e728d9d4c2f636f067f89cc14862c")),
            ".fanout/versions/google-drive/Projects/a.txt/20261202T131854Z-c81e728d.txt"
        );
        assert_eq!(
            kept_path("google-drive/x", "2026-01-01T00:00:00Z", None),
            ".fanout/versions/google-drive/x/20260101T000000Z-nomd5"
        );
    }

    #[test]
    fn rclone_version_names_are_recognised() {
        assert!(is_version_of("report-v2026-12-02-131854-000.txt", "report.txt"));
        assert!(is_version_of("k-v2026-12-02-131854-000", "k"));
        assert!(!is_version_of("report.txt", "report.txt"));
        assert!(!is_version_of("report-v2026-12-02.txt", "report.txt"));
        assert!(!is_version_of("other-v2026-12-02-131854-000.txt", "report.txt"));
    }
}
