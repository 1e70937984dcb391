//! The rc operations the engine uses, as typed functions: every rc method name and every
//! `_config`/`_filter` parameter lives here (or in this module's parent).

use std::path::Path;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{RcloneDaemon, RcloneError};

/// What a listing should fetch.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// The whole tree under the folder, each file named by its path below it.
    pub recurse: bool,
    /// The hash to report for each file (`md5`, `sha1`), if any.
    pub hash: Option<&'static str>,
    /// Answer quickly: few low-level retries and a short connect timeout (a connection test).
    pub quick: bool,
    /// Folders too (a connection test lists the top only).
    pub with_folders: bool,
    /// Each file's metadata (Object Lock retention, for one).
    pub metadata: bool,
}

/// One file as a destination lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// Its name (a plain listing) or its path below the listed folder (a recursive one).
    pub name: String,
    pub size: i64,
    pub hash: Option<String>,
    /// Until when Object Lock keeps it from being deleted (RFC 3339), if it is locked.
    pub locked_until: Option<String>,
}

/// How a batch copy runs: rclone's parallelism for it.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    pub transfers: usize,
}

impl RcloneDaemon {
    /// Sets the bandwidth limit of every transfer from now on (`core/bwlimit`): one rate,
    /// `upload:download`, since rc takes no timetable.
    pub async fn set_bandwidth_limit(&self, rate: &str) -> Result<(), RcloneError> {
        self.call("core/bwlimit", json!({ "rate": rate })).await?;
        Ok(())
    }

    /// The bandwidth limit rclone holds now: (bytes per second up, down); `None` is unlimited.
    pub async fn bandwidth_limit(&self) -> Result<(Option<u64>, Option<u64>), RcloneError> {
        let answer = self.call("core/bwlimit", json!({})).await?;
        let side = |key: &str| answer.get(key).and_then(Value::as_i64).filter(|r| *r > 0).map(|r| r as u64);
        Ok((side("bytesPerSecondTx"), side("bytesPerSecondRx")))
    }

    /// Lists `dir` at `fs` (`operations/list`).
    pub async fn list(&self, fs: &str, dir: &str, options: &ListOptions) -> Result<Vec<ListedFile>, RcloneError> {
        let mut opt = json!({ "noModTime": true, "noMimeType": true, "recurse": options.recurse });
        if !options.with_folders {
            opt["filesOnly"] = json!(true);
        }
        if !options.recurse {
            opt["maxDepth"] = json!(1);
        }
        ask_for_fields(&mut opt, options);
        let mut params = json!({ "fs": fs, "remote": dir, "opt": opt });
        if options.quick {
            // A test answers quickly: an unreachable endpoint is not retried for a minute.
            params["_config"] = json!({ "LowLevelRetries": 2, "ConnectTimeout": "10s" });
        }
        let listing = self.call("operations/list", params).await?;
        Ok(listing
            .get("list")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| listed(item, dir, options))
            .collect())
    }

    /// The file at `path` in `fs`, if there is one (`operations/stat`): what a delete or copy
    /// of that name would reach.
    pub async fn stat(&self, fs: &str, path: &str, options: &ListOptions) -> Result<Option<ListedFile>, RcloneError> {
        let mut opt = json!({ "noModTime": true, "noMimeType": true });
        ask_for_fields(&mut opt, options);
        let answer = self.call("operations/stat", json!({ "fs": fs, "remote": path, "opt": opt })).await?;
        Ok(answer.get("item").filter(|item| !item.is_null()).and_then(|item| listed(item, "", options)))
    }

    /// Whether the bucket at `fs` keeps versions: S3's Bucket Versioning status (`Enabled`,
    /// `Suspended`, or none), through rclone's `backend versioning` command.
    pub async fn bucket_versioning(&self, fs: &str) -> Result<Option<String>, RcloneError> {
        let answer = self.call("backend/command", json!({ "command": "versioning", "fs": fs })).await?;
        Ok(answer.get("result").and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty()))
    }

    /// Deletes one file (`operations/deletefile`): a version Fanout kept, or an older version
    /// the provider keeps (named as a `versions` listing names it).
    pub async fn delete_file(&self, fs: &str, path: &str) -> Result<(), RcloneError> {
        self.call("operations/deletefile", json!({ "fs": fs, "remote": path })).await.map(drop)
    }

    /// Makes `dir` at `fs` (and its parents) if missing (`operations/mkdir`).
    pub async fn mkdir(&self, fs: &str, dir: &str) -> Result<(), RcloneError> {
        self.call("operations/mkdir", json!({ "fs": fs, "remote": dir })).await.map(drop)
    }

    /// Copies the files named in `files_from` (one path per line, relative to `src_fs`) to
    /// `dst_fs`, as one job in `group` (`sync/copy` with a raw files-from list).
    pub async fn copy_listed_files(
        &self,
        src_fs: &str,
        dst_fs: &str,
        files_from: &Path,
        options: CopyOptions,
        group: &str,
        cancel: &CancellationToken,
    ) -> Result<(), RcloneError> {
        let params = json!({
            "srcFs": src_fs,
            "dstFs": dst_fs,
            "_filter": { "FilesFromRaw": [files_from.display().to_string()] },
            // Only pairs that need work are sent, and every object is verified afterwards by
            // listing, so rclone's own per-file existence check (a HEAD per object) is skipped.
            "_config": { "Transfers": options.transfers, "Checkers": options.transfers * 2, "NoCheckDest": true },
        });
        self.run_job("sync/copy", params, group, cancel).await.map(drop)
    }

    /// Copies one file (`operations/copyfile`); as a job in `group` when one is given.
    pub async fn copy_file(
        &self,
        (src_fs, src): (&str, &str),
        (dst_fs, dst): (&str, &str),
        job: Option<(&str, &CancellationToken)>,
    ) -> Result<(), RcloneError> {
        let params = json!({
            "srcFs": src_fs,
            "srcRemote": src,
            "dstFs": dst_fs,
            "dstRemote": dst,
            // Fanout sends only pairs that need work: a copy whose stored hash still matches
            // but whose bytes rotted (found by verify) must be rewritten, not skipped.
            "_config": { "NoCheckDest": true },
        });
        match job {
            Some((group, cancel)) => self.run_job("operations/copyfile", params, group, cancel).await.map(drop),
            None => self.call("operations/copyfile", params).await.map(drop),
        }
    }
}

/// Adds the hash and metadata a listing (or stat) should report to its `opt`.
fn ask_for_fields(opt: &mut Value, options: &ListOptions) {
    if let Some(hash) = options.hash {
        opt["showHash"] = json!(true);
        opt["hashTypes"] = json!([hash]);
    }
    if options.metadata {
        opt["metadata"] = json!(true);
    }
}

fn listed(item: &Value, dir: &str, options: &ListOptions) -> Option<ListedFile> {
    // A recursive listing names each file by its path from the fs root: make it relative to
    // `dir`, as the files of a plain listing are.
    let name = if options.recurse {
        let path = item.get("Path").and_then(Value::as_str)?;
        path.strip_prefix(dir).map(|rest| rest.trim_start_matches('/')).unwrap_or(path)
    } else {
        item.get("Name").and_then(Value::as_str)?
    };
    let hash = options.hash.and_then(|kind| {
        item.get("Hashes")
            .and_then(|h| h.get(kind))
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
            .map(str::to_lowercase)
    });
    let locked_until = item
        .get("Metadata")
        .and_then(|m| m.get("object-lock-retain-until-date"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let size = item.get("Size").and_then(Value::as_i64).unwrap_or(-1);
    Some(ListedFile { name: name.to_string(), size, hash, locked_until })
}
