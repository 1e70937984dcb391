//! `StorageManager`: every enabled destination as an rclone remote, and the operations the
//! sync needs on them (batched and single uploads, listings with hashes, connection tests).
//!
//! Every operation is per destination: one destination failing never affects another.

pub mod check;
mod fetch;
pub mod leftovers;
pub mod providers;
pub mod versions;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::bandwidth::Bandwidth;
use crate::config::{Config, DestinationConfig};
use crate::rclone::{CopyOptions, ListOptions, Rclone, RcloneDaemon, RcloneError};
use crate::secrets::{SecretError, SecretStore};
use providers::{HashKind, Location};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("destination `{0}` is not configured")]
    UnknownDestination(String),
    #[error("destination `{0}` is turned off")]
    Disabled(String),
    #[error("no {field} is stored for destination `{key}`")]
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
    /// A bucket on a server, or a folder on a disk (what the window calls the location).
    pub location_kind: Location,
    /// The keys it needs (none for a local folder), with their labels.
    pub secret_fields: Vec<providers::SecretField>,
    /// Which earlier versions are kept there (`keep_versions`), in a sentence.
    pub versions: String,
}

/// What a destination holds at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: i64,
    /// The destination's hash of the object, when it reports one.
    pub hash: Option<String>,
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
    daemon: Arc<RcloneDaemon>,
    /// Keeps rclone at the bandwidth limit's current rate while the daemon runs.
    bandwidth_follower: tokio::task::JoinHandle<()>,
    destinations: Vec<Destination>,
    transfers: usize,
    /// Who keeps earlier versions at each destination, once asked.
    keepers: tokio::sync::Mutex<HashMap<String, versions::VersionKeeper>>,
}

fn remote_name(key: &str) -> String {
    format!("fanout_{key}")
}

/// The rclone environment that defines one destination's remote, secrets included: the
/// provider's fixed options, then each config setting it passes on, then its keys.
fn remote_env(dest: &DestinationConfig, secrets: &dyn SecretStore) -> Result<Vec<(String, String)>, StorageError> {
    let prefix = format!("RCLONE_CONFIG_{}_", remote_name(&dest.key).to_uppercase());
    let p = dest.provider;
    let option = |name: &str, value: String| (format!("{prefix}{}", name.to_uppercase()), value);
    let mut env = vec![option("type", p.backend.to_string())];
    env.extend(p.fixed_options.iter().map(|(name, value)| option(name, value.to_string())));
    for (setting, name) in p.settings {
        if let Some(value) = dest.setting(*setting) {
            env.push(option(name, value.to_string()));
        }
    }
    if p.unsigned_payload_over_http && dest.endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) {
        env.push(option("use_unsigned_payload", "true".into()));
    }
    // After the fixed options, so it wins: parts of the same size.
    if let Some(from) = dest.multipart_from {
        let mib = format!("{}Mi", from / (1024 * 1024));
        env.extend(p.multipart_options.iter().map(|name| option(name, mib.clone())));
    }
    for secret in p.secrets {
        let value = secrets.get(&dest.key, secret.field)?.ok_or_else(|| StorageError::MissingSecret {
            key: dest.key.clone(),
            field: secret.field.to_string(),
            env: crate::secrets::EnvSecrets::variable_names(&dest.key, secret).join(" or "),
        })?;
        env.push(option(secret.rclone_option, value));
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
        bandwidth: &Arc<Bandwidth>,
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
        let log = data_dir.join("rclone.log");
        let daemon = Arc::new(RcloneDaemon::start(rclone, env, &log, config.sync.stall_timeout).await?);
        // The limit holds from the first transfer on; the follower keeps it current.
        bandwidth.apply(&daemon).await?;
        let bandwidth_follower = tokio::spawn(bandwidth.clone().follow(daemon.clone()));
        Ok(Self {
            daemon,
            bandwidth_follower,
            destinations,
            transfers: config.sync.upload_concurrency,
            keepers: Default::default(),
        })
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

    /// The destination, if it can be used now (its keys were found).
    fn usable(&self, key: &str) -> Result<&Destination, StorageError> {
        let dest = self.destination(key)?;
        match &dest.unusable {
            Some(reason) => Err(StorageError::Destination(reason.clone())),
            None => Ok(dest),
        }
    }

    /// The hash a destination is verified with.
    /// How long the job running in `group` has shown no progress; `None` when none runs.
    pub fn idle_for(&self, group: &str) -> Option<std::time::Duration> {
        self.daemon.idle_for(group)
    }

    /// How long a destination may show no progress before a run gives it up.
    pub fn stall_after(&self) -> std::time::Duration {
        self.daemon.stall_after()
    }

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

    /// Checks that a destination is reachable, the credentials work and the bucket (or folder)
    /// exists. A local folder that is not there is never made here: an unplugged disk must not
    /// get its backup written to the system disk. Only `create_folder` (the user adding the
    /// destination) makes it.
    /// A destination that does not answer within the stall time fails as not responding.
    pub async fn test_destination(&self, key: &str, create_folder: bool) -> Result<(), StorageError> {
        match tokio::time::timeout(self.stall_after(), self.test_destination_waiting(key, create_folder)).await {
            Ok(tested) => tested,
            Err(_) => Err(StorageError::Destination(self.not_responding(key))),
        }
    }

    /// Why `key` cannot be used when it did not answer within the stall time.
    pub fn not_responding(&self, key: &str) -> String {
        format!(
            "{key} is not responding (nothing came back for {} s); check that it is running and reachable.",
            self.stall_after().as_secs()
        )
    }

    async fn test_destination_waiting(&self, key: &str, create_folder: bool) -> Result<(), StorageError> {
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
                    .mkdir(&dest.fs, "")
                    .await
                    .map_err(|e| StorageError::Destination(explain(c, &e.to_string())))?;
                dest.fs.clone()
            }
        };
        let quick_top = ListOptions { quick: true, with_folders: true, ..Default::default() };
        self.daemon
            .list(&root, "", &quick_top)
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
        let staging = staging.display().to_string();
        let options = CopyOptions { transfers: self.transfers };
        let result = self.daemon.copy_listed_files(&staging, &dest.fs, &list_path, options, group, cancel).await;
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
        let staging = staging.display().to_string();
        job_result(dest, self.daemon.copy_file((&staging, path), (&dest.fs, path), Some((group, cancel))).await)
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
        let dest = self.usable(key)?;
        match paths {
            [] => Ok(()),
            [one] => self.copy_one(dest, staging, one, group, cancel).await,
            many => self.copy_batch(dest, staging, many, group, cancel).await,
        }
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
        let options =
            ListOptions { recurse, hash: Some(dest.config.provider.hash.rclone_name()), ..Default::default() };
        let files = match self.daemon.list(&dest.fs, dir, &options).await {
            Ok(files) => files,
            Err(RcloneError::Failed(msg)) if msg.contains("directory not found") => return Ok(HashMap::new()),
            Err(RcloneError::Failed(msg)) => return Err(StorageError::Destination(explain(&dest.config, &msg))),
            Err(e) => return Err(e.into()),
        };
        Ok(files.into_iter().map(|f| (f.name, ObjectInfo { size: f.size, hash: f.hash })).collect())
    }

    /// Copies one object from a destination into `local_dir` (to read it back); returns its path.
    pub async fn download_to(&self, key: &str, path: &str, local_dir: &Path) -> Result<PathBuf, StorageError> {
        let dest = self.destination(key)?;
        let target = "read-back";
        let local = local_dir.display().to_string();
        match self.daemon.copy_file((&dest.fs, path), (&local, target), None).await {
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

    pub async fn shutdown(&self) {
        self.bandwidth_follower.abort();
        self.daemon.shutdown().await;
    }
}

impl Drop for StorageManager {
    fn drop(&mut self) {
        self.bandwidth_follower.abort();
    }
}

/// An rclone job's outcome as a destination's result, its error explained.
fn job_result(dest: &Destination, result: Result<(), RcloneError>) -> Result<(), StorageError> {
    match result {
        Ok(_) => Ok(()),
        Err(RcloneError::Failed(msg)) => Err(StorageError::Destination(explain(&dest.config, &msg))),
        Err(e) => Err(e.into()),
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
            location_kind: d.provider.location,
            secret_fields: d.provider.secrets.to_vec(),
            versions: d.keep_versions.describe(),
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
}
