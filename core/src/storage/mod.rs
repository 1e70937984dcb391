//! `StorageManager`: every enabled destination as an rclone remote, and the operations the
//! sync needs on them (batched and single uploads, listings with hashes, connection tests).
//!
//! Results are per destination, with `all_success` and `any_success` as in the original
//! design notes: one destination failing never affects another.

pub mod check;
pub mod leftovers;
pub mod providers;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DestinationConfig};
use crate::rclone::{Rclone, RcloneDaemon, RcloneError};
use crate::secrets::{SecretError, SecretStore};
use providers::{HashKind, Location};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("destination `{0}` is not configured; `fanout destinations` lists the configured ones")]
    UnknownDestination(String),
    #[error("destination `{0}` is disabled in config.yaml")]
    Disabled(String),
    #[error("no {field} for destination `{key}`: enter it in Settings → Destinations, run `fanout secret set {key} {field}`, or set {env}")]
    MissingSecret { key: String, field: String, env: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Rclone(#[from] RcloneError),
    #[error("{0}")]
    Destination(String),
    #[error("{0}: the bytes read back do not match the hash the destination keeps for them")]
    ReadBackCorrupt(String),
}

/// A destination as the window and CLI list it.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationInfo {
    pub key: String,
    pub name: String,
    pub icon: String,
    pub provider: String,
    pub enabled: bool,
    /// Whether every secret it needs is available.
    pub configured: bool,
    pub location: String,
}

/// What a destination holds at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: i64,
    /// The destination's hash of the object, when it reports one.
    pub hash: Option<String>,
}

/// One destination's outcome for an upload.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationResult {
    pub success: bool,
    pub error: Option<String>,
}

/// Per-destination results of one upload, as the original design returns them.
#[derive(Debug, Clone, Serialize)]
pub struct UploadResult {
    pub destinations: BTreeMap<String, DestinationResult>,
    pub all_success: bool,
    pub any_success: bool,
}

impl UploadResult {
    pub fn from_results(destinations: BTreeMap<String, DestinationResult>) -> Self {
        let all_success = !destinations.is_empty() && destinations.values().all(|r| r.success);
        let any_success = destinations.values().any(|r| r.success);
        Self { destinations, all_success, any_success }
    }
}

struct Destination {
    config: DestinationConfig,
    /// `fanout_<key>:<bucket>/<prefix>`, the rclone fs every object path is relative to.
    fs: String,
    /// Why it cannot be used, when a secret is missing.
    unusable: Option<String>,
}

/// Fan-out over destinations through one rclone daemon.
pub struct StorageManager {
    daemon: RcloneDaemon,
    destinations: Vec<Destination>,
    transfers: usize,
}

fn remote_name(key: &str) -> String {
    format!("fanout_{key}")
}

/// The rclone environment that defines one destination's remote, secrets included.
fn remote_env(dest: &DestinationConfig, secrets: &dyn SecretStore) -> Result<Vec<(String, String)>, StorageError> {
    let prefix = format!("RCLONE_CONFIG_{}_", remote_name(&dest.key).to_uppercase());
    let p = dest.provider;
    let mut env = vec![(format!("{prefix}TYPE"), p.backend.to_string())];
    for (option, value) in p.fixed_options {
        env.push((format!("{prefix}{}", option.to_uppercase()), value.to_string()));
    }
    if p.backend == "s3" {
        if let Some(region) = &dest.region {
            env.push((format!("{prefix}REGION"), region.clone()));
        }
        if let Some(endpoint) = &dest.endpoint {
            env.push((format!("{prefix}ENDPOINT"), endpoint.clone()));
            // Over plain HTTP the AWS SDK would have to seek the upload stream to hash it;
            // rclone streams, so it sends an unsigned payload (with Content-MD5) instead.
            if endpoint.starts_with("http://") {
                env.push((format!("{prefix}USE_UNSIGNED_PAYLOAD"), "true".into()));
            }
        }
        if let Some(class) = &dest.storage_class {
            env.push((format!("{prefix}STORAGE_CLASS"), class.clone()));
        }
    } else if p.backend == "b2" {
        if let Some(endpoint) = &dest.endpoint {
            env.push((format!("{prefix}ENDPOINT"), endpoint.clone()));
        }
    }
    // Set after the provider's fixed options, so it wins: parts of the same size.
    if let Some(from) = dest.multipart_from {
        let mib = format!("{}Mi", from / (1024 * 1024));
        env.push((format!("{prefix}UPLOAD_CUTOFF"), mib.clone()));
        env.push((format!("{prefix}CHUNK_SIZE"), mib));
    }
    for secret in p.secrets {
        let value = secrets.get(&dest.key, secret.field)?.ok_or_else(|| StorageError::MissingSecret {
            key: dest.key.clone(),
            field: secret.field.to_string(),
            env: crate::secrets::EnvSecrets::variable_names(&dest.key, secret.field).join(" or "),
        })?;
        env.push((format!("{prefix}{}", secret.rclone_option.to_uppercase()), value));
    }
    Ok(env)
}

/// A local destination's folder exists and is a folder (or is made, when asked).
fn local_folder_ready(dest: &DestinationConfig, create: bool) -> Result<(), StorageError> {
    let folder = Path::new(&dest.bucket_or_path);
    let key = &dest.key;
    match std::fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(StorageError::Destination(format!(
            "{key}: {} is a file, not a folder; choose a folder.",
            folder.display()
        ))),
        Err(_) if create => std::fs::create_dir_all(folder).map_err(|e| {
            StorageError::Destination(format!("{key}: cannot create the folder {}: {e}.", folder.display()))
        }),
        Err(_) => Err(StorageError::Destination(format!(
            "{key}: the folder {} does not exist (is the disk connected?).",
            folder.display()
        ))),
    }
}

/// Turns rclone's error text into one sentence that says what to do; the raw text goes to
/// the log, where a person who needs it can read it.
fn explain(dest: &DestinationConfig, raw: &str) -> String {
    tracing::warn!(destination = %dest.key, detail = raw, "the destination reported an error");
    let target = dest.endpoint.clone().unwrap_or_else(|| dest.provider.label.to_string());
    let key = &dest.key;
    let lower = raw.to_lowercase();
    let any = |markers: &[&str]| markers.iter().any(|m| lower.contains(m));
    if any(dest.provider.cap_reached_markers) {
        format!(
            "{key}: your {} account's daily cap is reached; raise it in its web console, or wait a day.",
            dest.provider.label
        )
    } else if any(dest.provider.rejected_key_markers) {
        format!("{key}: the credentials were rejected; check the access key ID and the secret.")
    } else if any(&["nosuchbucket", "bucket not found", "directory not found"]) {
        format!("{key}: the bucket `{}` does not exist at {target}; create it first.", dest.bucket_or_path)
    } else if any(&["connection refused", "no such host", "dial tcp", "timeout", "statuscode: 0", "connection reset"]) {
        format!("{key}: cannot reach {target}; check the endpoint and the network connection.")
    } else if any(&["no space left", "remaining disk space", "disk quota"]) {
        format!("{key}: the destination is full; free some space there.")
    } else {
        format!("{key}: the destination refused the operation; the details are in Fanout's log.")
    }
}

impl StorageManager {
    /// Starts the daemon with a remote for every enabled destination whose secrets are found.
    pub async fn start(
        config: &Config,
        secrets: &dyn SecretStore,
        rclone: &Rclone,
        data_dir: &Path,
    ) -> Result<Self, StorageError> {
        let mut env = Vec::new();
        let mut destinations = Vec::new();
        for dest in config.enabled_destinations() {
            let unusable = match remote_env(dest, secrets) {
                Ok(vars) => {
                    env.extend(vars);
                    None
                }
                Err(e @ (StorageError::MissingSecret { .. } | StorageError::Secret(_))) => Some(e.to_string()),
                Err(e) => return Err(e),
            };
            destinations.push(Destination {
                fs: format!("{}:{}", remote_name(&dest.key), dest.root_path()),
                config: dest.clone(),
                unusable,
            });
        }
        if let Some(limit) = &config.sync.bandwidth_limit {
            env.push(("RCLONE_BWLIMIT".into(), limit.clone()));
        }
        let daemon = RcloneDaemon::start(rclone, env, &data_dir.join("rclone.log")).await?;
        Ok(Self { daemon, destinations, transfers: config.sync.upload_concurrency })
    }

    pub fn daemon(&self) -> &RcloneDaemon {
        &self.daemon
    }

    /// Starts rclone again if it died (its in-flight work is retried by the caller).
    pub async fn restart_if_stopped(&self) -> Result<bool, StorageError> {
        Ok(self.daemon.ensure_running().await?)
    }

    fn destination(&self, key: &str) -> Result<&Destination, StorageError> {
        self.destinations
            .iter()
            .find(|d| d.config.key == key)
            .ok_or_else(|| StorageError::UnknownDestination(key.to_string()))
    }

    /// The hash a destination is verified with.
    pub fn hash_kind(&self, key: &str) -> Result<HashKind, StorageError> {
        Ok(self.destination(key)?.config.provider.hash)
    }

    /// Where an object lands, as recorded in the ledger: `<bucket>/<prefix>/<path>`.
    pub fn remote_path(&self, key: &str, path: &str) -> Result<String, StorageError> {
        Ok(format!("{}/{path}", self.destination(key)?.config.root_path()))
    }

    /// The folder (or `<bucket>/<prefix>`) every object path at `key` is relative to.
    pub fn root_path(&self, key: &str) -> Result<String, StorageError> {
        Ok(self.destination(key)?.config.root_path())
    }

    /// From which size on the hashes `key` lists are rclone's own upload metadata.
    pub fn metadata_hash_from(&self, key: &str) -> Option<u64> {
        let config = &self.destination(key).ok()?.config;
        config.provider.metadata_hash_from.map(|default| config.multipart_from.unwrap_or(default))
    }

    /// Whether an interrupted copy to `key` can leave a partial file behind.
    pub fn writes_partial_files(&self, key: &str) -> bool {
        self.destination(key).map(|d| d.config.provider.writes_partial_files).unwrap_or(false)
    }

    /// Keys of the enabled destinations.
    pub fn get_available_destinations(&self) -> Vec<String> {
        self.destinations.iter().map(|d| d.config.key.clone()).collect()
    }

    /// Checks that a destination is reachable, the credentials work and the bucket (or folder)
    /// exists. A local folder that is not there is never made here: an unplugged disk must not
    /// get its backup written to the system disk. Only `create_folder` (the user adding the
    /// destination) makes it.
    pub async fn test_destination(&self, key: &str, create_folder: bool) -> Result<(), StorageError> {
        let dest = self.destination(key)?;
        if let Some(reason) = &dest.unusable {
            return Err(StorageError::Destination(reason.clone()));
        }
        let c = &dest.config;
        let root = match c.provider.location {
            Location::Bucket => format!("{}:{}", remote_name(&c.key), c.bucket_or_path),
            Location::Folder => {
                local_folder_ready(c, create_folder)?;
                // The prefix inside an existing folder is Fanout's own to make.
                self.daemon
                    .call("operations/mkdir", json!({ "fs": dest.fs, "remote": "" }))
                    .await
                    .map_err(|e| StorageError::Destination(explain(c, &e.to_string())))?;
                dest.fs.clone()
            }
        };
        self.daemon
            .call(
                "operations/list",
                json!({
                    "fs": root,
                    "remote": "",
                    "opt": { "maxDepth": 1, "noModTime": true, "noMimeType": true },
                    // A test answers quickly: an unreachable endpoint is not retried for a minute.
                    "_config": { "LowLevelRetries": 2, "ConnectTimeout": "10s" },
                }),
            )
            .await
            .map_err(|e| StorageError::Destination(explain(c, &e.to_string())))?;
        Ok(())
    }

    /// Copies `paths` (relative to `staging`) to one destination in a single rclone job.
    async fn copy_batch(
        &self,
        dest: &Destination,
        staging: &Path,
        paths: &[String],
        group: &str,
        cancel: &CancellationToken,
    ) -> Result<(), StorageError> {
        let list_path = staging.join(format!(".files-from-{}", dest.config.key));
        let mut list = paths.join("\n");
        list.push('\n');
        tokio::fs::write(&list_path, list)
            .await
            .map_err(|e| StorageError::Destination(format!("cannot write the transfer list: {e}")))?;
        let params = json!({
            "srcFs": staging.display().to_string(),
            "dstFs": dest.fs,
            "_filter": { "FilesFromRaw": [list_path.display().to_string()] },
            // Only pairs that need work are sent, and every object is verified afterwards by listing,
            // so rclone's own per-file existence check (a HEAD per object) is skipped.
            "_config": { "Transfers": self.transfers, "Checkers": self.transfers * 2, "NoCheckDest": true },
        });
        let result = self.daemon.run_job("sync/copy", params, group, cancel).await;
        let _ = tokio::fs::remove_file(&list_path).await;
        job_result(dest, result)
    }

    /// Copies one staged file to one destination.
    async fn copy_one(
        &self,
        dest: &Destination,
        staging: &Path,
        path: &str,
        group: &str,
        cancel: &CancellationToken,
    ) -> Result<(), StorageError> {
        let params = json!({
            "srcFs": staging.display().to_string(),
            "srcRemote": path,
            "dstFs": dest.fs,
            "dstRemote": path,
            // Fanout sends only pairs that need work: a copy whose stored hash still matches
            // but whose bytes rotted (found by verify) must be rewritten, not skipped.
            "_config": { "NoCheckDest": true },
        });
        job_result(dest, self.daemon.run_job("operations/copyfile", params, group, cancel).await)
    }

    /// Uploads staged files to one destination: one rclone job for a batch, a single-file
    /// copy for one file.
    pub async fn upload_to(
        &self,
        key: &str,
        staging: &Path,
        paths: &[String],
        group: &str,
        cancel: &CancellationToken,
    ) -> Result<(), StorageError> {
        let dest = self.destination(key)?;
        if let Some(reason) = &dest.unusable {
            return Err(StorageError::Destination(reason.clone()));
        }
        match paths {
            [] => Ok(()),
            [one] => self.copy_one(dest, staging, one, group, cancel).await,
            many => self.copy_batch(dest, staging, many, group, cancel).await,
        }
    }

    /// Uploads staged files to the given destinations concurrently. Each destination's
    /// outcome is independent of the others.
    pub async fn upload(
        &self,
        staging: &Path,
        paths: &[String],
        destinations: &[String],
        group: &str,
        cancel: &CancellationToken,
    ) -> UploadOutcome {
        let jobs = destinations
            .iter()
            .map(|key| async move { (key.clone(), self.upload_to(key, staging, paths, group, cancel).await) });
        UploadOutcome(futures::future::join_all(jobs).await.into_iter().collect())
    }

    /// Seed-style single-file upload returning per-destination results.
    pub async fn upload_file(&self, staging: &Path, path: &str, destinations: &[String]) -> UploadResult {
        let outcome =
            self.upload(staging, &[path.to_string()], destinations, "upload_file", &CancellationToken::new()).await;
        outcome.summary()
    }

    /// Lists the files directly in `dir` at a destination, with sizes and hashes.
    pub async fn list_objects(&self, key: &str, dir: &str) -> Result<HashMap<String, ObjectInfo>, StorageError> {
        self.list(key, dir, false).await
    }

    /// Every file under `dir` at a destination (by path relative to `dir`), with sizes and
    /// hashes.
    pub async fn list_objects_recursively(
        &self,
        key: &str,
        dir: &str,
    ) -> Result<HashMap<String, ObjectInfo>, StorageError> {
        self.list(key, dir, true).await
    }

    async fn list(&self, key: &str, dir: &str, recurse: bool) -> Result<HashMap<String, ObjectInfo>, StorageError> {
        let dest = self.destination(key)?;
        let hash = dest.config.provider.hash.rclone_name();
        let params = json!({
            "fs": dest.fs,
            "remote": dir,
            "opt": {
                "showHash": true, "hashTypes": [hash], "filesOnly": true, "noModTime": true, "noMimeType": true,
                "recurse": recurse,
            },
        });
        let listing = match self.daemon.call("operations/list", params).await {
            Ok(v) => v,
            Err(RcloneError::Failed(msg)) if msg.contains("directory not found") => return Ok(HashMap::new()),
            Err(RcloneError::Failed(msg)) => return Err(StorageError::Destination(explain(&dest.config, &msg))),
            Err(e) => return Err(e.into()),
        };
        let mut out = HashMap::new();
        for item in listing.get("list").and_then(Value::as_array).into_iter().flatten() {
            // A recursive listing names each file by its path from the fs root: make it
            // relative to `dir`, as the files of a plain listing are.
            let name = if recurse {
                let path = item.get("Path").and_then(Value::as_str);
                path.map(|p| p.strip_prefix(dir).map(|rest| rest.trim_start_matches('/')).unwrap_or(p))
            } else {
                item.get("Name").and_then(Value::as_str)
            };
            let Some(name) = name else {
                continue;
            };
            let size = item.get("Size").and_then(Value::as_i64).unwrap_or(-1);
            let hash = item
                .get("Hashes")
                .and_then(|h| h.get(hash))
                .and_then(Value::as_str)
                .filter(|h| !h.is_empty())
                .map(str::to_lowercase);
            out.insert(name.to_string(), ObjectInfo { size, hash });
        }
        Ok(out)
    }

    /// Copies one object from a destination into `local_dir` (to read it back); returns its path.
    pub async fn download_to(&self, key: &str, path: &str, local_dir: &Path) -> Result<PathBuf, StorageError> {
        let dest = self.destination(key)?;
        let target = "read-back";
        let params = json!({
            "srcFs": dest.fs,
            "srcRemote": path,
            "dstFs": local_dir.display().to_string(),
            "dstRemote": target,
        });
        match self.daemon.call("operations/copyfile", params).await {
            Ok(_) => Ok(local_dir.join(target)),
            // rclone compares the provider's own hash while reading: a mismatch is damage.
            Err(RcloneError::Failed(msg)) if msg.contains("corrupted on transfer") => {
                tracing::warn!(destination = key, detail = msg, "a copy read back does not match its stored hash");
                Err(StorageError::ReadBackCorrupt(key.to_string()))
            }
            Err(RcloneError::Failed(msg)) => Err(StorageError::Destination(explain(&dest.config, &msg))),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether one object exists at a destination, and its size and hash.
    pub async fn check_file_exists(&self, key: &str, path: &str) -> Result<Option<ObjectInfo>, StorageError> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        Ok(self.list_objects(key, dir).await?.remove(name))
    }

    pub async fn shutdown(&self) {
        self.daemon.shutdown().await;
    }
}

/// An rclone job's outcome as a destination's result, its error explained.
fn job_result(dest: &Destination, result: Result<Value, RcloneError>) -> Result<(), StorageError> {
    match result {
        Ok(_) => Ok(()),
        Err(RcloneError::Failed(msg)) => Err(StorageError::Destination(explain(&dest.config, &msg))),
        Err(e) => Err(e.into()),
    }
}

/// Raw per-destination outcomes of an upload.
pub struct UploadOutcome(pub Vec<(String, Result<(), StorageError>)>);

impl UploadOutcome {
    pub fn summary(&self) -> UploadResult {
        UploadResult::from_results(
            self.0
                .iter()
                .map(|(k, r)| {
                    (
                        k.clone(),
                        DestinationResult { success: r.is_ok(), error: r.as_ref().err().map(|e| e.to_string()) },
                    )
                })
                .collect(),
        )
    }
}

/// Every configured destination with whether its secrets are available.
pub fn describe_destinations(config: &Config, secrets: &dyn SecretStore) -> Vec<DestinationInfo> {
    config
        .destinations
        .iter()
        .map(|d| DestinationInfo {
            key: d.key.clone(),
            name: d.provider.label.to_string(),
            icon: d.provider.icon.to_string(),
            provider: d.provider.type_name.to_string(),
            enabled: d.enabled,
            configured: remote_env(d, secrets).is_ok(),
            location: match d.provider.location {
                Location::Bucket => format!(
                    "{}{}",
                    d.root_path(),
                    d.endpoint.as_deref().map(|e| format!(" at {e}")).unwrap_or_default()
                ),
                Location::Folder => d.root_path(),
            },
        })
        .collect()
}

/// Files staged for upload live here, laid out as their remote paths.
pub fn staging_dir(data_dir: &Path, run_id: i64) -> PathBuf {
    data_dir.join("staging").join(format!("run-{run_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecrets;

    #[test]
    fn remotes_carry_secrets_in_the_environment_named_after_the_destination() {
        let config = Config::parse(
            "destinations:\n  nas:\n    type: s3_compatible\n    enabled: true\n    bucket: b\n    endpoint: http://127.0.0.1:9\n",
            "t",
        )
        .unwrap();
        let secrets = MemorySecrets::default();
        let dest = config.destination("nas").unwrap();
        assert!(matches!(remote_env(dest, &secrets), Err(StorageError::MissingSecret { .. })));
        secrets.set("nas", "access_key_id", "AKID");
        secrets.set("nas", "secret_access_key", "SECRET");
        let env: HashMap<String, String> = remote_env(dest, &secrets).unwrap().into_iter().collect();
        assert_eq!(env["RCLONE_CONFIG_FANOUT_NAS_TYPE"], "s3");
        assert_eq!(env["RCLONE_CONFIG_FANOUT_NAS_PROVIDER"], "Other");
        assert_eq!(env["RCLONE_CONFIG_FANOUT_NAS_ENDPOINT"], "http://127.0.0.1:9");
        assert_eq!(env["RCLONE_CONFIG_FANOUT_NAS_SECRET_ACCESS_KEY"], "SECRET");
    }

    #[test]
    fn b2_keys_become_account_and_key() {
        let config = Config::parse("destinations:\n  backblaze_b2:\n    enabled: true\n    bucket: b\n", "t").unwrap();
        let secrets = MemorySecrets::default();
        secrets.set("backblaze_b2", "access_key_id", "id");
        secrets.set("backblaze_b2", "secret_access_key", "key");
        let env: HashMap<String, String> =
            remote_env(config.destination("backblaze_b2").unwrap(), &secrets).unwrap().into_iter().collect();
        assert_eq!(env["RCLONE_CONFIG_FANOUT_BACKBLAZE_B2_TYPE"], "b2");
        assert_eq!(env["RCLONE_CONFIG_FANOUT_BACKBLAZE_B2_ACCOUNT"], "id");
        assert_eq!(env["RCLONE_CONFIG_FANOUT_BACKBLAZE_B2_KEY"], "key");
    }

    #[test]
    fn all_and_any_success_follow_the_seed() {
        let ok = DestinationResult { success: true, error: None };
        let bad = DestinationResult { success: false, error: Some("x".into()) };
        let mixed = UploadResult::from_results([("a".to_string(), ok.clone()), ("b".to_string(), bad)].into());
        assert!(!mixed.all_success && mixed.any_success);
        let good = UploadResult::from_results([("a".to_string(), ok)].into());
        assert!(good.all_success && good.any_success);
    }
}
