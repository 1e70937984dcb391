//! A Google Drive v3 client: batched listing, streamed and verified downloads, exports.
//!
//! Requests name exactly the fields the engine reads (Drive returns only those), listings
//! batch up to 50 parents per query with pageSize 1000, and downloads stream to a staging file
//! while md5 and sha1 are computed, never holding a whole file in memory.

pub mod naming;
mod pacer;
pub mod tree;
mod upload;

pub use pacer::Pacer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use md5::{Digest, Md5};
use serde::Deserialize;
use sha1::Sha1;
use tokio::io::AsyncWriteExt;

use crate::auth::{AuthError, TokenSource};

pub const FOLDER_MIME: &str = "application/vnd.google-apps.folder";
pub const SHORTCUT_MIME: &str = "application/vnd.google-apps.shortcut";
pub const WORKSPACE_PREFIX: &str = "application/vnd.google-apps.";

/// Every field the engine reads from a file; Drive sends nothing it was not asked for.
pub const FILE_FIELDS: &str =
    "id,name,mimeType,parents,size,md5Checksum,version,modifiedTime,trashed,explicitlyTrashed,driveId,shortcutDetails";

/// Most parent IDs OR'd into one listing query (rclone's grouping).
const PARENTS_PER_QUERY: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error("Google rejected the access token (401); sign in to Google again")]
    Unauthorized,
    #[error(
        "Google has not given Fanout permission to read your Drive's files (insufficientPermissions); \
         connect Google again and allow it"
    )]
    ScopeMissing,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("Drive file `{0}` was not found (deleted, or no longer shared with you)")]
    NotFound(String),
    #[error("Drive refused the request ({status} {reason}): {message}")]
    Api { status: u16, reason: String, message: String },
    #[error("cannot reach Google Drive: {0}")]
    Network(String),
    #[error("downloaded bytes do not match Drive's checksum (expected md5 {expected}, got {actual})")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("cannot write the staging file {path}: {source}")]
    Staging { path: String, source: std::io::Error },
    #[error(
        "the disk holding Fanout's staging folder is full (writing {path}); free some space, or move the data folder"
    )]
    StagingFull { path: String },
    #[error("Drive sent a response Fanout cannot read: {0}")]
    BadResponse(String),
}

impl DriveError {
    /// Whether trying the same request again later can help.
    pub fn is_transient(&self) -> bool {
        match self {
            DriveError::Network(_) | DriveError::Auth(AuthError::Network(_)) => true,
            // Drive's documented rate limits (403 `userRateLimitExceeded`/`rateLimitExceeded`,
            // 429, or an envelope whose only word is `RESOURCE_EXHAUSTED`) and server errors are
            // retried with backoff. Any other 403 (permissions, quotas per file, a bare
            // `PERMISSION_DENIED`) is final for that request.
            DriveError::Api { status, reason, .. } => {
                *status == 429
                    || *status >= 500
                    || (*status == 403
                        && matches!(
                            reason.as_str(),
                            "userRateLimitExceeded" | "rateLimitExceeded" | "RESOURCE_EXHAUSTED"
                        ))
            }
            _ => false,
        }
    }
}

/// One Drive item as the listing returns it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DriveFile {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    #[serde(default)]
    pub parents: Vec<String>,
    #[serde(default, deserialize_with = "int_string")]
    pub size: Option<i64>,
    pub md5_checksum: Option<String>,
    #[serde(default, deserialize_with = "int_string")]
    pub version: Option<i64>,
    pub modified_time: Option<String>,
    /// In the trash, by itself or because a folder above it is (Drive's `trashed`).
    #[serde(default)]
    pub trashed: bool,
    /// Trashed by itself, not only through a folder above it.
    #[serde(default)]
    pub explicitly_trashed: bool,
    /// The shared drive holding the item (none for My Drive and what is shared with the user).
    pub drive_id: Option<String>,
    pub shortcut_details: Option<ShortcutDetails>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShortcutDetails {
    pub target_id: String,
    pub target_mime_type: Option<String>,
}

impl DriveFile {
    pub fn is_folder(&self) -> bool {
        self.mime_type == FOLDER_MIME
    }

    pub fn is_shortcut(&self) -> bool {
        self.mime_type == SHORTCUT_MIME
    }

    /// `document`, `spreadsheet`, ... for Google Workspace files (which have no bytes).
    pub fn workspace_kind(&self) -> Option<&str> {
        self.mime_type.strip_prefix(WORKSPACE_PREFIX).filter(|_| !self.is_folder() && !self.is_shortcut())
    }
}

// Drive sends int64 values as JSON strings.
fn int_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        Str(String),
    }
    match Option::<IntOrString>::deserialize(d)? {
        None => Ok(None),
        Some(IntOrString::Int(i)) => Ok(Some(i)),
        Some(IntOrString::Str(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// One entry of the changes feed (Drive v3 `changes` resource): about a file (`fileId`,
/// `file`), or, with `changeType: drive`, about a shared drive (`driveId`): joined, renamed or
/// left. `removed` means deleted or no longer accessible.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub change_type: Option<String>,
    pub file_id: Option<String>,
    pub drive_id: Option<String>,
    #[serde(default)]
    pub removed: bool,
    pub file: Option<DriveFile>,
}

impl Change {
    /// A change to a shared drive itself rather than to a file.
    pub fn is_about_a_drive(&self) -> bool {
        self.change_type.as_deref() == Some("drive")
    }
}

/// Which items a `files.list` searches (Drive's `corpora`). Listings for a backup ask one
/// drive at a time, as rclone does, because only `allDrives` can come back incomplete.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Corpus {
    /// My Drive, and what is shared with the user.
    User,
    /// One shared drive.
    Drive(String),
    /// Everything at once (the folder picker's browsing and search): results may be
    /// incomplete, which a search tolerates and a backup listing never sees.
    AllDrives,
}

impl Corpus {
    /// The corpus an item's children are listed in.
    pub fn of(drive_id: Option<&str>) -> Self {
        match drive_id {
            Some(id) => Corpus::Drive(id.to_string()),
            None => Corpus::User,
        }
    }
}

/// The MIME type Drive exports to for a file extension.
pub fn export_mime(extension: &str) -> Option<&'static str> {
    Some(match extension {
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/x-vnd.oasis.opendocument.spreadsheet",
        "odp" => "application/vnd.oasis.opendocument.presentation",
        "pdf" => "application/pdf",
        "rtf" => "application/rtf",
        "txt" => "text/plain",
        "html" => "text/html",
        "epub" => "application/epub+zip",
        "md" => "text/markdown",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" => "image/jpeg",
        // Apps Script projects export their source files as JSON.
        "json" => "application/vnd.google-apps.script+json",
        _ => return None,
    })
}

/// What a finished download produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub size: u64,
    pub md5: String,
    pub sha1: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileList {
    next_page_token: Option<String>,
    #[serde(default)]
    files: Vec<DriveFile>,
    /// Drive could not search everything (possible across all shared drives).
    #[serde(default)]
    incomplete_search: bool,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
    /// Google's canonical status (`RESOURCE_EXHAUSTED`, `PERMISSION_DENIED`, ...), also sent
    /// when `errors[]` is missing.
    #[serde(default)]
    status: String,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    #[serde(default)]
    reason: String,
}

/// The longest `Retry-After` Fanout waits for within a run. Google asks for seconds to a
/// minute; a longer (or absurd) value means "not now": the request fails as transient and the
/// next run tries again, instead of a run hanging for as long as a header says.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// How long to wait before retrying: what Drive asked (`Retry-After`), else the backoff; `None`
/// when Drive asked for more than [`MAX_RETRY_AFTER`].
fn retry_wait(retry_after: Option<Duration>, backoff: Duration) -> Option<Duration> {
    match retry_after {
        Some(asked) if asked > MAX_RETRY_AFTER => None,
        Some(asked) => Some(asked),
        None => Some(backoff),
    }
}

/// Retry schedule for transient Drive errors: truncated exponential backoff with jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_secs(1), max: Duration::from_secs(32), attempts: 6 }
    }
}

#[derive(Clone)]
pub struct DriveClient {
    http: reqwest::Client,
    base: String,
    tokens: Arc<TokenSource>,
    backoff: Backoff,
    pacer: Arc<Pacer>,
    /// Holds downloads to the bandwidth limit, when there is one.
    throttle: Option<Arc<crate::bandwidth::Throttle>>,
    /// While paused, no request is sent and downloads hold between pieces.
    pause: Option<crate::pause::Pause>,
}

impl std::fmt::Debug for DriveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriveClient").field("base", &self.base).finish_non_exhaustive()
    }
}

impl DriveClient {
    pub fn new(base_url: &str, tokens: Arc<TokenSource>) -> Result<Self, DriveError> {
        let http = reqwest::Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| DriveError::Network(e.to_string()))?;
        let pacer = Arc::new(Pacer::new(10.0, 100));
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            tokens,
            backoff: Backoff::default(),
            pacer,
            throttle: None,
            pause: None,
        })
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Paces requests (clones share the pacer, so a whole run stays under one budget).
    pub fn with_pacer(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = pacer;
        self
    }

    /// Holds downloads to the throttle's rate (shared, so all downloads together keep to it).
    pub fn with_throttle(mut self, throttle: Arc<crate::bandwidth::Throttle>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Holds this client's requests and downloads while `pause` is paused.
    pub fn with_pause(mut self, pause: crate::pause::Pause) -> Self {
        self.pause = Some(pause);
        self
    }

    /// Waits while this client's run is paused.
    pub async fn until_resumed(&self) {
        if let Some(pause) = &self.pause {
            pause.until_resumed().await;
        }
    }

    /// Sends a GET, retrying transient failures; returns the successful response.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        range_from: Option<u64>,
    ) -> Result<reqwest::Response, DriveError> {
        let url = format!("{}{}", self.base, path);
        self.send(path, |token| {
            let request = self.http.get(&url).query(query).bearer_auth(token);
            match range_from {
                Some(from) => request.header(reqwest::header::RANGE, format!("bytes={from}-")),
                None => request,
            }
        })
        .await
    }

    /// Sends the request `build` makes (with the access token it is given), retrying
    /// transient failures and renewing an expired token once; returns the successful response.
    async fn send(
        &self,
        path: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, DriveError> {
        let mut attempt = 0;
        let mut token: Option<String> = None;
        let mut renewed = false;
        loop {
            attempt += 1;
            // Getting a token may itself meet a network blip: it is retried like the request.
            let current = match &token {
                Some(t) => t.clone(),
                None => match self.tokens.access_token().await {
                    Ok(t) => token.insert(t).clone(),
                    Err(e) => {
                        let error = DriveError::from(e);
                        if !error.is_transient() || attempt >= self.backoff.attempts {
                            return Err(error);
                        }
                        tokio::time::sleep(self.backoff_delay(attempt)).await;
                        continue;
                    }
                },
            };
            self.until_resumed().await;
            self.pacer.wait().await;
            let (error, retry_after) = match build(&current).send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                // An expired access token: refresh it once and replay the same request.
                Ok(response) if response.status() == reqwest::StatusCode::UNAUTHORIZED && !renewed => {
                    renewed = true;
                    match self.tokens.renew(&current).await {
                        Ok(Some(fresh)) => {
                            token = Some(fresh);
                            attempt -= 1;
                            continue;
                        }
                        Ok(None) => return Err(DriveError::Unauthorized),
                        // Could not reach the token endpoint: back off, then try again afresh.
                        Err(e @ AuthError::Network(_)) => {
                            renewed = false;
                            token = None;
                            (DriveError::Auth(e), None)
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(response) => {
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    (error_from_response(response, path).await, retry_after)
                }
                Err(e) => (DriveError::Network(e.to_string()), None),
            };
            let delay = match retry_wait(retry_after, self.backoff_delay(attempt)) {
                Some(delay) if error.is_transient() && attempt < self.backoff.attempts => delay,
                _ => return Err(error),
            };
            tracing::warn!(%error, attempt, ?delay, "transient Drive error; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    fn backoff_delay(&self, attempt: u32) -> Duration {
        let exp = self.backoff.base.saturating_mul(1 << (attempt - 1).min(10));
        let capped = exp.min(self.backoff.max);
        let jitter_ms = rand::random::<u64>() % (self.backoff.base.as_millis() as u64).max(1);
        capped + Duration::from_millis(jitter_ms)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, DriveError> {
        let response = self.get(path, query, None).await?;
        response.json().await.map_err(|e| DriveError::BadResponse(e.to_string()))
    }

    /// The signed-in account's email address.
    pub async fn account_email(&self) -> Result<String, DriveError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct User {
            email_address: String,
        }
        #[derive(Deserialize)]
        struct About {
            user: User,
        }
        let about: About = self.get_json("/about", &[("fields", "user(emailAddress)")]).await?;
        Ok(about.user.email_address)
    }

    /// The ID behind the `root` alias (My Drive).
    pub async fn root_id(&self) -> Result<String, DriveError> {
        Ok(self.get_file("root").await?.id)
    }

    /// One item's metadata.
    pub async fn get_file(&self, id: &str) -> Result<DriveFile, DriveError> {
        self.get_json(&format!("/files/{}", encode(id)), &[("fields", FILE_FIELDS), ("supportsAllDrives", "true")])
            .await
    }

    /// Every non-trashed child of the given folders (all in `corpus`), following pages.
    pub async fn list_children(&self, parent_ids: &[String], corpus: &Corpus) -> Result<Vec<DriveFile>, DriveError> {
        let terms: Vec<String> = parent_ids.iter().map(|id| format!("'{}' in parents", escape_q(id))).collect();
        let q = format!("trashed = false and ({})", terms.join(" or "));
        self.query_files(&q, corpus).await
    }

    /// Runs a `files.list` query to the end. Drive's paging has quirks, handled here: empty
    /// pages that still carry a token are followed, an item repeated across pages is kept once,
    /// and a refused page token restarts the query from its first page (once).
    pub async fn query_files(&self, q: &str, corpus: &Corpus) -> Result<Vec<DriveFile>, DriveError> {
        const MAX_EMPTY_PAGES_IN_A_ROW: u32 = 20;
        let fields = format!("nextPageToken,incompleteSearch,files({FILE_FIELDS})");
        let mut out: Vec<DriveFile> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut page_token: Option<String> = None;
        let mut restarted = false;
        let mut empty_pages = 0;
        loop {
            let mut query =
                vec![("q", q), ("fields", fields.as_str()), ("pageSize", "1000"), ("supportsAllDrives", "true")];
            match corpus {
                Corpus::User => query.push(("corpora", "user")),
                Corpus::Drive(id) => query.extend([
                    ("corpora", "drive"),
                    ("driveId", id.as_str()),
                    ("includeItemsFromAllDrives", "true"),
                ]),
                Corpus::AllDrives => query.extend([("corpora", "allDrives"), ("includeItemsFromAllDrives", "true")]),
            }
            if let Some(token) = &page_token {
                query.push(("pageToken", token.as_str()));
            }
            let page: FileList = match self.get_json("/files", &query).await {
                Ok(page) => page,
                Err(DriveError::Api { status: 400, .. }) if page_token.is_some() && !restarted => {
                    tracing::warn!(q, "Drive refused a page token; listing this query again from the start");
                    (restarted, page_token, empty_pages) = (true, None, 0);
                    out.clear();
                    seen.clear();
                    continue;
                }
                Err(e) => return Err(e),
            };
            if page.incomplete_search {
                if *corpus != Corpus::AllDrives {
                    // A partial listing would make present files look deleted: better to stop.
                    return Err(DriveError::BadResponse(format!(
                        "Drive could not search everything for `{q}`; try again"
                    )));
                }
                tracing::info!(q, "Drive searched only part of all drives; showing what it found");
            }
            empty_pages = if page.files.is_empty() { empty_pages + 1 } else { 0 };
            if empty_pages > MAX_EMPTY_PAGES_IN_A_ROW {
                return Err(DriveError::BadResponse(format!("Drive kept sending empty pages for `{q}`")));
            }
            out.extend(page.files.into_iter().filter(|f| seen.insert(f.id.clone())));
            match page.next_page_token {
                Some(token) => page_token = Some(token),
                None => return Ok(out),
            }
        }
    }

    /// Every item under the given folders, breadth first, batching parents per query: each
    /// query asks one drive (`corpus`) for the children of up to 50 folders in it.
    pub async fn list_tree(&self, roots: &[(String, Corpus)]) -> Result<Vec<DriveFile>, DriveError> {
        let mut out = Vec::new();
        let mut queues: std::collections::BTreeMap<Corpus, Vec<String>> = std::collections::BTreeMap::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (id, corpus) in roots {
            if seen.insert(id.clone()) {
                queues.entry(corpus.clone()).or_default().push(id.clone());
            }
        }
        while let Some((corpus, queue)) = queues.iter_mut().find(|(_, q)| !q.is_empty()) {
            let corpus = corpus.clone();
            let take = queue.len().min(PARENTS_PER_QUERY);
            let batch: Vec<String> = queue.drain(..take).collect();
            let mut children = self.list_children(&batch, &corpus).await?;
            if batch.len() > 1 {
                children.extend(self.relist_silent_parents(&batch, &children, &corpus).await?);
            }
            for item in children {
                if item.is_folder() && seen.insert(item.id.clone()) {
                    queues.entry(Corpus::of(item.drive_id.as_deref())).or_default().push(item.id.clone());
                }
                out.push(item);
            }
        }
        Ok(out)
    }

    /// Drive sometimes answers a query OR-ing several parents with the children of only some
    /// of them (rclone#3114). Every parent that got nothing is asked again on its own; a
    /// truly empty folder costs one extra request.
    async fn relist_silent_parents(
        &self,
        batch: &[String],
        children: &[DriveFile],
        corpus: &Corpus,
    ) -> Result<Vec<DriveFile>, DriveError> {
        let answered: std::collections::HashSet<&str> =
            children.iter().flat_map(|c| c.parents.iter().map(String::as_str)).collect();
        let mut recovered = Vec::new();
        for parent in batch.iter().filter(|p| !answered.contains(p.as_str())) {
            let found = self.list_children(std::slice::from_ref(parent), corpus).await?;
            if !found.is_empty() {
                tracing::warn!(%parent, count = found.len(), "a batched listing missed this folder's items; re-listed it alone");
            }
            recovered.extend(found);
        }
        Ok(recovered)
    }

    /// The shared drives the user is a member of: (ID, name).
    pub async fn shared_drives(&self) -> Result<Vec<(String, String)>, DriveError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct DriveList {
            next_page_token: Option<String>,
            #[serde(default)]
            drives: Vec<SharedDrive>,
        }
        #[derive(Deserialize)]
        struct SharedDrive {
            id: String,
            name: String,
        }
        let mut out = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![("pageSize", "100"), ("fields", "nextPageToken,drives(id,name)")];
            if let Some(token) = &page_token {
                query.push(("pageToken", token.as_str()));
            }
            let page: DriveList = self.get_json("/drives", &query).await?;
            out.extend(page.drives.into_iter().map(|d| (d.id, d.name)));
            match page.next_page_token {
                Some(token) => page_token = Some(token),
                None => return Ok(out),
            }
        }
    }

    /// A token for the changes feed, taken before a full listing so nothing is missed.
    pub async fn start_page_token(&self) -> Result<String, DriveError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Token {
            start_page_token: String,
        }
        let token: Token = self.get_json("/changes/startPageToken", &[("supportsAllDrives", "true")]).await?;
        Ok(token.start_page_token)
    }

    /// Every change since `token`, following pages; returns them with the token to save.
    pub async fn changes_since(&self, token: &str) -> Result<(Vec<Change>, String), DriveError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ChangeList {
            next_page_token: Option<String>,
            new_start_page_token: Option<String>,
            #[serde(default)]
            changes: Vec<Change>,
        }
        let fields =
            format!("nextPageToken,newStartPageToken,changes(changeType,fileId,driveId,removed,file({FILE_FIELDS}))");
        let mut out = Vec::new();
        let mut page_token = token.to_string();
        loop {
            let page: ChangeList = self
                .get_json(
                    "/changes",
                    &[
                        ("pageToken", page_token.as_str()),
                        ("pageSize", "1000"),
                        ("fields", fields.as_str()),
                        ("includeRemoved", "true"),
                        ("supportsAllDrives", "true"),
                        ("includeItemsFromAllDrives", "true"),
                    ],
                )
                .await?;
            out.extend(page.changes);
            match (page.next_page_token, page.new_start_page_token) {
                (Some(next), _) => page_token = next,
                (None, Some(new_start)) => return Ok((out, new_start)),
                (None, None) => return Err(DriveError::BadResponse("a changes page had no token".into())),
            }
        }
    }

    /// Folders directly inside `parent_id` with exactly this name (Drive's `=` ignores case).
    pub async fn find_child_folders(&self, parent_id: &str, name: &str) -> Result<Vec<DriveFile>, DriveError> {
        let q = format!(
            "'{}' in parents and name = '{}' and mimeType = '{FOLDER_MIME}' and trashed = false",
            escape_q(parent_id),
            escape_q(name)
        );
        Ok(self.query_files(&q, &Corpus::User).await?.into_iter().filter(|f| f.name == name).collect())
    }

    /// Downloads a binary file to `dest`, resuming with Range after a dropped connection;
    /// `received` is told the size of each piece as it arrives.
    pub async fn download(&self, id: &str, dest: &Path, received: &Received<'_>) -> Result<Downloaded, DriveError> {
        let path = format!("/files/{}", encode(id));
        let query = [("alt", "media"), ("supportsAllDrives", "true")];
        self.stream_to_file(&path, &query, dest, Resumable::Yes, received).await
    }

    /// Exports a Google Workspace file to `dest` in the given MIME type.
    pub async fn export(
        &self,
        id: &str,
        mime: &str,
        dest: &Path,
        received: &Received<'_>,
    ) -> Result<Downloaded, DriveError> {
        let path = format!("/files/{}/export", encode(id));
        self.stream_to_file(&path, &[("mimeType", mime)], dest, Resumable::No, received).await
    }

    async fn stream_to_file(
        &self,
        path: &str,
        query: &[(&str, &str)],
        dest: &Path,
        resumable: Resumable,
        received: &Received<'_>,
    ) -> Result<Downloaded, DriveError> {
        let staging = |source: std::io::Error| {
            let path = dest.display().to_string();
            // ENOSPC: said plainly, since it is about this machine, not about Drive.
            if source.raw_os_error() == Some(28) {
                DriveError::StagingFull { path }
            } else {
                DriveError::Staging { path, source }
            }
        };
        let mut file = tokio::fs::File::create(dest).await.map_err(staging)?;
        let mut md5 = Md5::new();
        let mut sha1 = Sha1::new();
        let mut written: u64 = 0;
        let mut resumes = 0;
        loop {
            let range = (written > 0).then_some(written);
            let response = self.get(path, query, range).await?;
            if range.is_some() && response.status() != reqwest::StatusCode::PARTIAL_CONTENT {
                // The server ignored the Range header: start again from byte 0.
                file.set_len(0).await.map_err(staging)?;
                file = tokio::fs::File::create(dest).await.map_err(staging)?;
                md5 = Md5::new();
                sha1 = Sha1::new();
                written = 0;
            }
            let mut body = response.bytes_stream();
            let mut dropped = None;
            while let Some(chunk) = body.next().await {
                match chunk {
                    Ok(bytes) => {
                        if let Some(throttle) = &self.throttle {
                            throttle.take(bytes.len()).await;
                        }
                        self.until_resumed().await;
                        received(bytes.len() as u64);
                        md5.update(&bytes);
                        sha1.update(&bytes);
                        file.write_all(&bytes).await.map_err(staging)?;
                        written += bytes.len() as u64;
                    }
                    Err(e) => {
                        dropped = Some(e);
                        break;
                    }
                }
            }
            match dropped {
                None => break,
                Some(e) if resumable == Resumable::Yes && resumes < 3 => {
                    resumes += 1;
                    tracing::warn!(error = %e, written, "download dropped; resuming with Range");
                }
                Some(e) => return Err(DriveError::Network(format!("download interrupted: {e}"))),
            }
        }
        // No fsync: staging is scratch space, and a crash discards it anyway.
        file.flush().await.map_err(staging)?;
        Ok(Downloaded { size: written, md5: hex::encode(md5.finalize()), sha1: hex::encode(sha1.finalize()) })
    }
}

/// Told the size of each piece of a download as it arrives (for live progress).
pub type Received<'a> = dyn Fn(u64) + Send + Sync + 'a;

/// Whether a download can continue with Range after a dropped connection (exports cannot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resumable {
    Yes,
    No,
}

async fn error_from_response(response: reqwest::Response, path: &str) -> DriveError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let (reason, message) = match serde_json::from_str::<ErrorEnvelope>(&body) {
        // The first error's reason; without `errors[]`, the canonical status stands in for it.
        Ok(env) => {
            let reason = env.error.errors.first().map(|e| e.reason.clone()).filter(|r| !r.is_empty());
            (reason.unwrap_or(env.error.status), env.error.message)
        }
        Err(_) => (String::new(), body.chars().take(200).collect()),
    };
    match status {
        401 => DriveError::Unauthorized,
        403 if reason == "insufficientPermissions" => DriveError::ScopeMissing,
        404 => DriveError::NotFound(path.rsplit('/').next().unwrap_or(path).to_string()),
        _ => DriveError::Api { status, reason, message },
    }
}

/// Escapes a string literal for a Drive `q` expression.
pub fn escape_q(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

fn encode(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_literals_escape_quotes_and_backslashes() {
        assert_eq!(escape_q(r"quinn's paper\essay"), r"quinn\'s paper\\essay");
    }

    #[test]
    fn sizes_and_versions_arrive_as_strings() {
        let f: DriveFile = serde_json::from_str(
            r#"{"id":"1","name":"a","mimeType":"text/plain","size":"42","version":"7","parents":["p"]}"#,
        )
        .unwrap();
        assert_eq!((f.size, f.version), (Some(42), Some(7)));
        assert_eq!(f.workspace_kind(), None);
        let doc: DriveFile =
            serde_json::from_str(r#"{"id":"2","name":"d","mimeType":"application/vnd.google-apps.document"}"#).unwrap();
        assert_eq!(doc.workspace_kind(), Some("document"));
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_bound() {
        let backoff = Duration::from_secs(2);
        assert_eq!(retry_wait(None, backoff), Some(backoff));
        assert_eq!(retry_wait(Some(Duration::from_secs(30)), backoff), Some(Duration::from_secs(30)));
        assert_eq!(retry_wait(Some(MAX_RETRY_AFTER), backoff), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_wait(Some(Duration::from_secs(86_400)), backoff), None, "a day is not waited for");
    }

    #[test]
    fn rate_limits_and_server_errors_are_transient_but_permission_errors_are_not() {
        let api = |status, reason: &str| DriveError::Api { status, reason: reason.into(), message: String::new() };
        assert!(api(403, "userRateLimitExceeded").is_transient());
        assert!(api(429, "").is_transient());
        assert!(api(503, "backendError").is_transient());
        assert!(!api(403, "downloadQuotaExceeded").is_transient());
        assert!(!api(403, "cannotDownloadAbusiveFile").is_transient());
        assert!(api(403, "RESOURCE_EXHAUSTED").is_transient(), "a rate limit with no errors[]");
        assert!(!api(403, "PERMISSION_DENIED").is_transient(), "a bare refusal");
        assert!(!DriveError::Unauthorized.is_transient());
    }
}
