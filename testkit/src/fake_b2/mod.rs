//! A fake Backblaze B2 (native API) for tests, faithful to what rclone's `b2` backend does.
//!
//! rclone (v1.73 and later, so the pinned v1.75) authorizes with
//! `GET {endpoint}/b2api/v4/b2_authorize_account` and makes every other call under
//! `{apiUrl}/b2api/v1/…`; older rclones authorize with v1. The fake answers v1 to v4 with
//! each version's shapes, on 127.0.0.1: buckets, simple uploads (SHA1 checked server side,
//! including `hex_digits_at_end`), large files (parts, finish, cancel), listings with
//! prefix/delimiter/paging, file versions and hide markers, server-side copy, and downloads by
//! name or ID with Range. Errors use B2's envelope. Every request is logged, and faults
//! (expired tokens, 503s, SHA1 mismatches) can be injected per route.

mod assemble;
mod calls;
mod download;
mod encoding;
// Crate-visible like `State`, whose fields and methods use their types.
pub(crate) mod error;
mod routes;
pub(crate) mod store;
mod upload;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

pub use store::{ABSOLUTE_MINIMUM_PART_SIZE, RECOMMENDED_PART_SIZE};

use store::{Action, Store, Version};

/// One request as the fake saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    /// The B2 operation: "b2_authorize_account", "b2_list_file_names", "b2_upload_file",
    /// "b2_upload_part", "b2_finish_large_file", … ; "download" for downloads by name or ID
    /// (GET or HEAD); "unknown" for anything else.
    pub route: String,
    /// The (decoded) file name the request was about, when it was about one.
    pub file_name: Option<String>,
    pub status: u16,
    pub path: String,
    pub range: Option<String>,
}

/// A fault to inject: which requests it hits, how often, and what happens instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// Route name (as in [`RequestRecord::route`]); any route when absent.
    pub route: Option<String>,
    /// How many matching requests it hits; forever when absent.
    pub times: Option<u32>,
    pub action: FaultAction,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultAction {
    /// 401 `expired_auth_token`: a B2 client authorizes again (and takes a new upload URL).
    ExpiredToken,
    /// 503 `service_unavailable` with `Retry-After: 1`.
    ServiceUnavailable,
    /// 400 `bad_request` "Sha1 did not match data received", as if the bytes were damaged in
    /// transit; nothing is stored. Only hits `b2_upload_file` and `b2_upload_part`.
    Sha1Mismatch,
    /// 403 `cap_exceeded`: the account's daily storage, download or transaction cap is reached.
    CapExceeded,
}

/// What the fake knows about one version of a file (see [`FakeB2::object_meta`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub file_id: String,
    pub name: String,
    /// "upload", "hide" or "start".
    pub action: String,
    pub size: u64,
    /// Hex SHA1, or "none" for large files (see the `large_file_sha1` file info then).
    pub sha1: String,
    pub content_type: String,
    pub info: BTreeMap<String, String>,
    pub upload_timestamp: i64,
}

impl ObjectMeta {
    fn of(v: &Version) -> Self {
        Self {
            file_id: v.file_id.clone(),
            name: v.name.clone(),
            action: v.action.as_str().to_string(),
            size: v.size,
            sha1: v.sha1.clone(),
            content_type: v.content_type.clone(),
            info: v.info.clone(),
            upload_timestamp: v.upload_timestamp,
        }
    }
}

pub(crate) struct State {
    pub store: Store,
    pub requests: Vec<RequestRecord>,
    pub faults: Vec<Fault>,
    pub base_url: String,
}

impl State {
    /// Takes the first live fault for `route`, counting it down.
    pub fn take_fault(&mut self, route: &str) -> Option<FaultAction> {
        let is_upload = matches!(route, "b2_upload_file" | "b2_upload_part");
        let index = self.faults.iter().position(|f| {
            f.route.as_deref().is_none_or(|r| r == route)
                && f.times != Some(0)
                && (is_upload || !matches!(f.action, FaultAction::Sha1Mismatch))
        })?;
        let fault = &mut self.faults[index];
        if let Some(times) = fault.times.as_mut() {
            *times -= 1;
        }
        Some(fault.action.clone())
    }
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(state: &Shared) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A running fake B2; stopped when dropped.
pub struct FakeB2 {
    state: Shared,
    server: crate::serve::Served,
}

impl FakeB2 {
    /// Serves a B2 account on 127.0.0.1 (`port` 0 picks a free one) whose application key
    /// `key_id`/`app_key` is restricted to `buckets` (unrestricted, and allowed to create
    /// buckets, when none are given). File bytes are kept under `root`, one directory per bucket.
    pub async fn start(root: &Path, key_id: &str, app_key: &str, buckets: &[&str], port: u16) -> anyhow::Result<Self> {
        let store = Store::new(root, key_id, app_key, buckets)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            store,
            requests: Vec::new(),
            faults: Vec::new(),
            base_url: format!("http://{addr}"),
        }));
        let app = routes::router(state.clone());
        let server = crate::serve::spawn(listener, app)?;
        Ok(Self { state, server })
    }

    /// What goes in rclone's b2 `endpoint` option; also the `apiUrl` and `downloadUrl`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn account_id(&self) -> String {
        self.state().store.account_id.clone()
    }

    pub fn bucket_id(&self, bucket: &str) -> Option<String> {
        self.state().store.buckets.get(bucket).map(|b| b.id.clone())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Every token issued so far (account and upload) now answers 401 `expired_auth_token`.
    pub fn expire_tokens(&self) {
        self.state().store.expire_tokens();
    }

    /// The bytes of the version a download by name would return.
    pub fn object(&self, bucket: &str, name: &str) -> Option<Vec<u8>> {
        let path = {
            let s = self.state();
            let b = s.store.buckets.get(bucket)?;
            b.path_of(&b.current(name)?.file_id)
        };
        std::fs::read(path).ok()
    }

    /// The names a `b2_list_file_names` would list (not hidden), in B2's order.
    pub fn object_names(&self, bucket: &str) -> Vec<String> {
        let s = self.state();
        let Some(b) = s.store.buckets.get(bucket) else {
            return Vec::new();
        };
        b.files.iter().filter(|(_, versions)| store::current_of(versions).is_some()).map(|(n, _)| n.clone()).collect()
    }

    /// The visible version of `name`, if any.
    pub fn object_meta(&self, bucket: &str, name: &str) -> Option<ObjectMeta> {
        self.state().store.buckets.get(bucket)?.current(name).map(ObjectMeta::of)
    }

    /// Every version of `name` (uploads, hide markers, unfinished large files), newest first.
    pub fn versions(&self, bucket: &str, name: &str) -> Vec<ObjectMeta> {
        let s = self.state();
        let versions = s.store.buckets.get(bucket).and_then(|b| b.files.get(name));
        versions.map(|vs| vs.iter().map(ObjectMeta::of).collect()).unwrap_or_default()
    }

    /// The bytes of every uploaded version of `name`, newest first (what B2 keeps).
    pub fn version_bytes(&self, bucket: &str, name: &str) -> Vec<Vec<u8>> {
        let paths: Vec<std::path::PathBuf> = {
            let s = self.state();
            let Some(b) = s.store.buckets.get(bucket) else { return Vec::new() };
            let versions = b.files.get(name).map(|vs| vs.as_slice()).unwrap_or_default();
            versions.iter().filter(|v| v.action == store::Action::Upload).map(|v| b.path_of(&v.file_id)).collect()
        };
        paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }

    /// Removes every finished version and hide marker of `name`, as if it had never been
    /// uploaded. Returns whether there was anything to remove.
    pub fn delete_object(&self, bucket: &str, name: &str) -> bool {
        let paths: Vec<std::path::PathBuf> = {
            let mut s = self.state();
            let ids: Vec<String> = s
                .store
                .buckets
                .get(bucket)
                .and_then(|b| b.files.get(name))
                .map(|vs| vs.iter().filter(|v| v.action != Action::Start).map(|v| v.file_id.clone()).collect())
                .unwrap_or_default();
            let mut paths = Vec::new();
            for id in &ids {
                if let Some((path, _)) = s.store.remove(id) {
                    paths.push(path);
                }
            }
            paths
        };
        for path in &paths {
            let _ = std::fs::remove_file(path);
        }
        !paths.is_empty()
    }

    /// Flips one byte of the stored bytes of the visible version, keeping its recorded SHA1:
    /// silent corruption at rest. Returns false when there is no such object or it is empty.
    pub fn corrupt_object(&self, bucket: &str, name: &str) -> bool {
        let path = {
            let s = self.state();
            let Some(b) = s.store.buckets.get(bucket) else {
                return false;
            };
            let Some(v) = b.current(name) else {
                return false;
            };
            b.path_of(&v.file_id)
        };
        let Ok(mut bytes) = std::fs::read(&path) else {
            return false;
        };
        if bytes.is_empty() {
            return false;
        }
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&path, bytes).is_ok()
    }

    /// How many large files `b2_finish_large_file` has completed.
    pub fn large_files_finished(&self) -> usize {
        self.state().store.large_files_finished
    }

    /// How many large files are started but neither finished nor cancelled.
    pub fn large_files_unfinished(&self) -> usize {
        self.state().store.large_files.len()
    }
}

#[cfg(test)]
mod tests;
