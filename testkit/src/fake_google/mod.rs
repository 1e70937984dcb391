//! A fake Google Drive v3 server for tests and the demo.
//!
//! It speaks Drive's JSON shapes, status codes and error envelope on 127.0.0.1: `about`,
//! `files.list` with real `q` parsing, `fields` partial responses and paging, `files.get`
//! with `alt=media` and Range, `files.export`, shortcuts and trash. Every request is logged
//! so tests can prove what the client did, and faults can be injected per route or file.

mod fields;
pub mod oauth;
mod query;
mod routes;
pub mod store;
mod upload;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use store::{Manifest, Store, ROOT_ID};

/// One request as the fake saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    /// Which Drive method: about, files.list, files.get, files.get_media, files.export.
    pub route: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub range: Option<String>,
    pub status: u16,
    pub file_id: Option<String>,
    /// Milliseconds since the server started, when the request arrived.
    pub at_ms: u64,
}

impl RequestRecord {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A fault to inject: which requests it hits, how often, and what happens instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// Route name (as in [`RequestRecord::route`]); any route when absent.
    pub route: Option<String>,
    pub file_id: Option<String>,
    /// How many matching requests it hits; forever when absent.
    pub times: Option<u32>,
    pub action: FaultAction,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status and reason in Drive's error envelope.
    Status { code: u16, reason: String, message: String, retry_after: Option<u64> },
    /// Answer with an envelope that has no `errors[]`: only `code`, `message` and `status`
    /// (e.g. `RESOURCE_EXHAUSTED`, `PERMISSION_DENIED`).
    StatusWithoutErrors { code: u16, status: String, message: String },
    /// Flip bytes of the body, so its md5 no longer matches.
    CorruptBody,
    /// Send this many bytes of the body, then drop the connection.
    TruncateAfter { bytes: u64 },
    /// Wait this long before answering (then answer normally).
    Latency { ms: u64 },
    /// Every issued access token expires just before this request is checked, as if an hour
    /// had passed mid-run: the request itself gets 401.
    ExpireTokens,
    /// Answer with this status and a raw body (an HTML 502/503 page, an empty 500).
    Raw { code: u16, body: String, content_type: String },
    /// A resumable upload's chunk: keep this many of its bytes, then answer 503 as if the
    /// connection had been cut there (Drive: resume after a 503 or no answer).
    AcceptPartOfUpload { bytes: u64 },
    /// Ignore the Range header: answer 200 with the whole body.
    IgnoreRange,
    /// Send the body at this many bytes per second.
    Throttle { bytes_per_sec: u64 },
    /// A `files.list` page with no files but a token to the same place (Drive does send these).
    EmptyPageWithToken,
    /// The page repeats the last item of the page before it.
    DuplicateAcrossPages,
    /// A page token is refused (400), as when one expires mid-listing.
    RejectPageToken,
    /// Drive's OR'd-parents bug (rclone#3114): a `files.list` naming several parents returns
    /// the children of only the first `keep_parents` of them (0: an empty result).
    FastListOrBug { keep_parents: usize },
}

#[derive(Debug)]
pub struct State {
    pub store: Store,
    pub requests: Vec<RequestRecord>,
    pub faults: Vec<Fault>,
    pub tokens: Vec<String>,
    pub bytes_served: u64,
    pub base_url: String,
    pub started: std::time::Instant,
    pub oauth: oauth::OAuthState,
    /// Short pages: no list or changes page holds more than this, whatever `pageSize` asks.
    pub max_page_size: Option<usize>,
    /// A per-user request quota, as Google enforces it.
    pub quota: Option<Quota>,
    /// `corpora=allDrives` listings come back with `incompleteSearch: true` and half the items.
    pub incomplete_all_drives: bool,
    /// Resumable uploads in progress, by upload ID.
    pub uploads: upload::Sessions,
    /// A switch for Drive's upload limits: this many more files with content may be created,
    /// then `403` with this reason (`storageQuotaExceeded`, `uploadLimitExceeded`).
    pub upload_allowance: Option<(usize, String)>,
}

/// What a request over the quota gets.
#[derive(Debug, Clone, Default)]
pub enum QuotaAnswer {
    /// 403 `userRateLimitExceeded`, domain `usageLimits`.
    #[default]
    Forbidden,
    /// 429 `rateLimitExceeded` with this `Retry-After` (seconds).
    TooManyRequests { retry_after: u64 },
}

/// At most `limit` Drive requests in any `window`; beyond it, 403 `userRateLimitExceeded`.
#[derive(Debug, Clone)]
pub struct Quota {
    pub limit: usize,
    pub window: std::time::Duration,
    /// When recent requests arrived (those inside the window).
    pub recent: std::collections::VecDeque<std::time::Instant>,
    /// Requests refused for going over.
    pub refused: u32,
    pub answer: QuotaAnswer,
}

impl Quota {
    pub fn new(limit: usize, window: std::time::Duration) -> Self {
        Self { limit, window, recent: Default::default(), refused: 0, answer: QuotaAnswer::Forbidden }
    }

    /// Counts a request; false when it goes over the quota.
    pub fn admit(&mut self, now: std::time::Instant) -> bool {
        while self.recent.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.limit {
            self.refused += 1;
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

/// A running fake Google server; stopped when dropped.
pub struct FakeGoogle {
    state: Arc<Mutex<State>>,
    server: crate::serve::Served,
}

/// The access token the fake accepts unless told otherwise.
pub const DEFAULT_TOKEN: &str = "fake-access-token";

impl FakeGoogle {
    /// Serves `root` (plus an optional manifest) as My Drive on 127.0.0.1, port 0 unless given.
    pub async fn serve_dir(root: &Path, manifest: Option<&Path>, port: u16) -> anyhow::Result<Self> {
        let manifest: Manifest = match manifest {
            Some(path) => serde_yaml::from_str(&std::fs::read_to_string(path)?)?,
            None => Manifest::default(),
        };
        Self::start(Store::from_dir(root, &manifest)?, port).await
    }

    pub async fn start(store: Store, port: u16) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            store,
            requests: Vec::new(),
            faults: Vec::new(),
            tokens: vec![DEFAULT_TOKEN.to_string()],
            bytes_served: 0,
            base_url: format!("http://{addr}"),
            started: std::time::Instant::now(),
            oauth: oauth::OAuthState::default(),
            max_page_size: None,
            quota: None,
            incomplete_all_drives: false,
            uploads: Default::default(),
            upload_allowance: None,
        }));
        let app = routes::router(state.clone());
        let server = crate::serve::spawn(listener, app)?;
        Ok(Self { state, server })
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The Drive API root to put in `google.drive_url`.
    pub fn drive_url(&self) -> String {
        format!("{}/drive/v3", self.base_url())
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state().requests.clone()
    }

    pub fn clear_requests(&self) {
        let mut s = self.state();
        s.requests.clear();
        s.bytes_served = 0;
    }

    pub fn bytes_served(&self) -> u64 {
        self.state().bytes_served
    }

    /// From now on, `allowed` more uploads succeed; then Drive refuses with `reason`.
    pub fn limit_uploads(&self, allowed: usize, reason: &str) {
        self.state().upload_allowance = Some((allowed, reason.to_string()));
    }

    pub fn lift_upload_limit(&self) {
        self.state().upload_allowance = None;
    }

    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    pub fn id_of(&self, path: &str) -> Option<String> {
        self.state().store.id_of(path)
    }

    pub fn set_content(&self, id: &str, bytes: impl Into<Bytes>) -> bool {
        self.state().store.set_content(id, bytes.into())
    }

    pub fn add_file(&self, parent_id: &str, name: &str, bytes: impl Into<Bytes>) -> String {
        self.state().store.add_file(parent_id, name, bytes.into())
    }

    /// From now on, at most `limit` Drive requests per `window` are served.
    pub fn set_quota(&self, limit: usize, window: std::time::Duration) {
        self.state().quota = Some(Quota::new(limit, window));
    }

    /// Makes Drive report a wrong md5 for a file whose bytes stay the same (stale metadata).
    pub fn report_stale_md5(&self, id: &str) {
        if let Some(f) = self.state().store.files.get_mut(id) {
            f.md5 = Some("0".repeat(32));
        }
    }

    /// The OAuth endpoints' base URLs, as `google.auth_url`, `token_url` and `revoke_url`.
    pub fn oauth_urls(&self) -> (String, String, String) {
        let base = self.base_url();
        (format!("{base}/o/oauth2/v2/auth"), format!("{base}/token"), format!("{base}/revoke"))
    }

    /// Changes how the sign-in endpoints behave from now on.
    pub fn set_oauth_knobs(&self, knobs: oauth::OAuthKnobs) {
        self.state().oauth.knobs = knobs;
    }

    /// Every access token issued so far stops working, as if an hour had passed.
    pub fn expire_access_tokens(&self) {
        oauth::expire_access_tokens(&mut self.state());
    }

    /// How many refresh-token grants the token endpoint answered.
    pub fn refresh_count(&self) -> u32 {
        self.state().oauth.refreshes
    }

    pub fn is_live_refresh_token(&self, token: &str) -> bool {
        self.state().oauth.is_live_refresh_token(token)
    }

    /// Runs a mutation on the Drive's state (each mutation appends to the change log).
    pub fn mutate<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.state().store)
    }
}
