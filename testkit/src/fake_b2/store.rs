//! The fake's bookkeeping: buckets, file versions (uploads, hide markers and unfinished large
//! files), parts, auth tokens and upload URLs, all in memory. The bytes of each version live on
//! disk as `<root>/<bucket>/<fileId>`; parts of unfinished large files as
//! `<root>/.parts/<fileId>/<partNumber>`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::error::ApiError;

/// B2's real limits, as `b2_authorize_account` reports them.
pub const ABSOLUTE_MINIMUM_PART_SIZE: u64 = 5_000_000;
pub const RECOMMENDED_PART_SIZE: u64 = 100_000_000;
pub const MAX_PART_SIZE: u64 = 5_000_000_000;
pub const MAX_PART_NUMBER: u32 = 10_000;
pub const MAX_FILE_INFO: usize = 10;
pub const DEFAULT_LIST_COUNT: usize = 100;
pub const MAX_LIST_COUNT: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Upload,
    Hide,
    /// A large file that was started and is neither finished nor cancelled.
    Start,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Upload => "upload",
            Action::Hide => "hide",
            Action::Start => "start",
        }
    }
}

/// One version of a file name: what B2 calls a "file" and identifies by `fileId`.
#[derive(Debug, Clone)]
pub struct Version {
    pub file_id: String,
    pub name: String,
    pub action: Action,
    pub size: u64,
    /// Lower-case hex, or "none" (large files, `do_not_verify`), or "unverified:<hex>".
    pub sha1: String,
    pub content_type: String,
    pub info: BTreeMap<String, String>,
    /// Milliseconds since the epoch.
    pub upload_timestamp: i64,
}

impl Version {
    /// The file object B2 returns from listings, uploads, `b2_get_file_info`, `b2_copy_file`,
    /// `b2_hide_file` and `b2_finish_large_file`. API v1 still carried `size` (rclone's
    /// `api.File` reads it from the v1 listings it asks for); v2 dropped it for `contentLength`.
    pub fn to_json(&self, account_id: &str, bucket_id: &str, api: u8) -> Value {
        let mut file = json!({
            "accountId": account_id,
            "action": self.action.as_str(),
            "bucketId": bucket_id,
            "contentLength": self.size,
            // B2 documents `contentSha1` as null for a hide marker (and "none" for a large file,
            // whose SHA1 is the `large_file_sha1` file info).
            "contentSha1": if self.action == Action::Hide { Value::Null } else { json!(self.sha1) },
            "contentType": self.content_type,
            "fileId": self.file_id,
            "fileInfo": self.info,
            "fileName": self.name,
            "uploadTimestamp": self.upload_timestamp,
        });
        if api == 1 {
            file["size"] = json!(self.size);
        }
        file
    }
}

/// A "folder" entry of a delimited listing. `uploadTimestamp` is 0, never null: rclone's
/// `Timestamp.UnmarshalJSON` cannot parse null.
pub fn folder_json(name: &str, account_id: &str, bucket_id: &str, api: u8) -> Value {
    let mut folder = json!({
        "accountId": account_id,
        "action": "folder",
        "bucketId": bucket_id,
        "contentLength": 0,
        "contentSha1": null,
        "contentType": null,
        "fileId": null,
        "fileInfo": {},
        "fileName": name,
        "uploadTimestamp": 0,
    });
    if api == 1 {
        folder["size"] = json!(0);
    }
    folder
}

/// The version downloads by name and `b2_list_file_names` see: the newest finished version,
/// unless that is a hide marker.
pub fn current_of(versions: &[Version]) -> Option<&Version> {
    versions.iter().find(|v| v.action != Action::Start).filter(|v| v.action == Action::Upload)
}

pub struct ListQuery<'a> {
    pub start_name: &'a str,
    pub start_id: Option<&'a str>,
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub max: usize,
    /// `b2_list_file_versions` (every version, newest first per name) rather than names.
    pub versions: bool,
}

pub enum Entry {
    File(Version),
    Folder(String),
}

pub struct ListPage {
    pub entries: Vec<Entry>,
    pub next_name: Option<String>,
    pub next_id: Option<String>,
}

#[derive(Debug)]
pub struct Bucket {
    pub id: String,
    pub name: String,
    pub dir: PathBuf,
    /// Versions of each file name, newest first; names in UTF-8 byte order, as B2 sorts them.
    pub files: BTreeMap<String, Vec<Version>>,
}

impl Bucket {
    pub fn to_json(&self, account_id: &str) -> Value {
        json!({
            "accountId": account_id,
            "bucketId": self.id,
            "bucketName": self.name,
            "bucketType": "allPrivate",
            "bucketInfo": {},
            "corsRules": [],
            "lifecycleRules": [],
            "options": [],
            "revision": 1,
        })
    }

    pub fn current(&self, name: &str) -> Option<&Version> {
        self.files.get(name).and_then(|versions| current_of(versions))
    }

    pub fn version(&self, name: &str, file_id: &str) -> Option<&Version> {
        self.files.get(name)?.iter().find(|v| v.file_id == file_id)
    }

    pub fn path_of(&self, file_id: &str) -> PathBuf {
        self.dir.join(file_id)
    }

    /// One page of `b2_list_file_names` / `b2_list_file_versions`. The next page starts at the
    /// first entry that did not fit, so `nextFileName` (and `nextFileId`) name exactly that.
    pub fn list(&self, q: &ListQuery<'_>) -> ListPage {
        let start = if q.start_name > q.prefix { q.start_name } else { q.prefix };
        let mut entries = Vec::new();
        let mut last_folder: Option<String> = None;
        // Once the page is full, the entry that did not fit is where the next page starts.
        let full = |count: usize, name: String, id: Option<String>| (count >= q.max).then_some((name, id));
        for (name, versions) in self.files.range::<str, _>((Bound::Included(start), Bound::Unbounded)) {
            // Names with the prefix are one contiguous run starting at the prefix.
            if !name.starts_with(q.prefix) {
                break;
            }
            let candidates: Vec<&Version> =
                if q.versions { versions.iter().collect() } else { current_of(versions).into_iter().collect() };
            if candidates.is_empty() {
                continue;
            }
            let folder = q.delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                let rest = &name[q.prefix.len()..];
                rest.find(d).map(|pos| name[..q.prefix.len() + pos + d.len()].to_string())
            });
            if let Some(folder) = folder {
                if last_folder.as_deref() == Some(folder.as_str()) {
                    continue;
                }
                if let Some((next, _)) = full(entries.len(), folder.clone(), None) {
                    return ListPage { entries, next_name: Some(next), next_id: None };
                }
                entries.push(Entry::Folder(folder.clone()));
                last_folder = Some(folder);
                continue;
            }
            // startFileId only means something for the start name, and only if it is one of its versions.
            let mut skip_until = q
                .start_id
                .filter(|id| q.versions && name == q.start_name && candidates.iter().any(|v| v.file_id == *id));
            for version in candidates {
                if let Some(id) = skip_until {
                    if version.file_id != id {
                        continue;
                    }
                    skip_until = None;
                }
                let id = q.versions.then(|| version.file_id.clone());
                if let Some((next, next_id)) = full(entries.len(), name.clone(), id) {
                    return ListPage { entries, next_name: Some(next), next_id };
                }
                entries.push(Entry::File(version.clone()));
            }
        }
        ListPage { entries, next_name: None, next_id: None }
    }
}

#[derive(Debug)]
pub struct Part {
    pub size: u64,
    pub sha1: String,
    pub path: PathBuf,
}

#[derive(Debug)]
pub struct LargeFile {
    pub bucket: String,
    pub parts: BTreeMap<u32, Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// From `b2_authorize_account`: for API calls and downloads.
    Account,
    /// From `b2_get_upload_url` / `b2_get_upload_part_url`: only for its upload URL.
    Upload,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub kind: TokenKind,
    pub expired: bool,
}

#[derive(Debug, Clone)]
pub enum UploadTarget {
    File { bucket: String },
    Part { file_id: String },
}

#[derive(Debug, Clone)]
pub struct UploadUrl {
    pub target: UploadTarget,
    pub token: String,
}

pub struct Store {
    pub root: PathBuf,
    pub account_id: String,
    pub key_id: String,
    pub app_key: String,
    /// A key restricted to the configured buckets (what a bucket-scoped application key is);
    /// with no buckets configured the key is unrestricted and may create buckets.
    pub restricted: bool,
    pub buckets: BTreeMap<String, Bucket>,
    /// File ID → (bucket name, file name).
    pub file_index: HashMap<String, (String, String)>,
    pub large_files: HashMap<String, LargeFile>,
    pub tokens: HashMap<String, Token>,
    /// Upload URL key (its last path segment) → what it uploads to.
    pub upload_urls: HashMap<String, UploadUrl>,
    pub large_files_finished: usize,
    seq: u64,
    last_timestamp: i64,
    /// Differs per server start, so IDs and tokens from an earlier run are never accepted.
    nonce: String,
}

fn sha1_hex(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

/// B2's bucket name rules: 6 to 63 letters, digits and dashes, not starting with "b2-".
pub fn valid_bucket_name(name: &str) -> bool {
    (6..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.to_ascii_lowercase().starts_with("b2-")
}

/// B2's file name rules: at most 1024 bytes of UTF-8, no control characters, no DEL, no
/// backslash, and no empty path segment (no leading or trailing '/', no "//").
pub fn check_file_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() {
        return Err(ApiError::bad_request("File name must not be empty"));
    }
    if name.len() > 1024 {
        return Err(ApiError::bad_request("File names must not be longer than 1024 bytes"));
    }
    if name.chars().any(|c| (c as u32) < 32 || c == '\u{7f}') {
        return Err(ApiError::bad_request("File names must not contain characters below 32 or DEL"));
    }
    if name.contains('\\') {
        return Err(ApiError::bad_request("File names must not contain backslashes"));
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Err(ApiError::bad_request("File names must not start or end with '/', or contain '//'"));
    }
    Ok(())
}

impl Store {
    pub fn new(root: &Path, key_id: &str, app_key: &str, buckets: &[&str]) -> anyhow::Result<Self> {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let account_id = sha1_hex(&format!("account:{key_id}"))[..12].to_string();
        let mut store = Self {
            root: root.to_path_buf(),
            nonce: sha1_hex(&format!("{nanos}:{key_id}"))[..6].to_string(),
            account_id,
            key_id: key_id.to_string(),
            app_key: app_key.to_string(),
            restricted: !buckets.is_empty(),
            buckets: BTreeMap::new(),
            file_index: HashMap::new(),
            large_files: HashMap::new(),
            tokens: HashMap::new(),
            upload_urls: HashMap::new(),
            large_files_finished: 0,
            seq: 0,
            last_timestamp: 0,
        };
        std::fs::create_dir_all(root.join(".incoming"))?;
        std::fs::create_dir_all(root.join(".parts"))?;
        for name in buckets {
            anyhow::ensure!(valid_bucket_name(name), "invalid B2 bucket name {name:?} (6-63 letters, digits, dashes)");
            anyhow::ensure!(!store.buckets.contains_key(*name), "bucket {name:?} given twice");
            store.add_bucket(name)?;
        }
        Ok(store)
    }

    pub fn add_bucket(&mut self, name: &str) -> std::io::Result<&Bucket> {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir)?;
        let id = sha1_hex(&format!("bucket:{}:{name}", self.account_id))[..24].to_string();
        let bucket = Bucket { id, name: name.to_string(), dir, files: BTreeMap::new() };
        Ok(self.buckets.entry(name.to_string()).or_insert(bucket))
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Upload timestamps strictly increase, so versions of one name never tie.
    pub fn now_ms(&mut self) -> i64 {
        let now = chrono::Utc::now().timestamp_millis().max(self.last_timestamp + 1);
        self.last_timestamp = now;
        now
    }

    pub fn new_file_id(&mut self, bucket_id: &str) -> String {
        let seq = self.next_seq();
        format!("4_z{bucket_id}_f1{}{seq:012x}_c000_v0001000_t{:04}", self.nonce, seq % 10_000)
    }

    /// A scratch path for a body being received.
    pub fn incoming_path(&mut self) -> PathBuf {
        let seq = self.next_seq();
        self.root.join(".incoming").join(format!("{}-{seq}", self.nonce))
    }

    pub fn parts_dir(&self, file_id: &str) -> PathBuf {
        self.root.join(".parts").join(file_id)
    }

    pub fn issue_token(&mut self, kind: TokenKind) -> String {
        let seq = self.next_seq();
        let tag = match kind {
            TokenKind::Account => "acct",
            TokenKind::Upload => "upld",
        };
        let secret = sha1_hex(&format!("{}:{seq}:{}", self.nonce, self.key_id));
        let token = format!("4_{}_{seq:08x}_{}_{tag}_{}", self.account_id, self.nonce, &secret[..20]);
        self.tokens.insert(token.clone(), Token { kind, expired: false });
        token
    }

    /// Unknown tokens (including another kind's) are `bad_auth_token`; known but expired ones
    /// are `expired_auth_token`, which is what makes a B2 client authorize again.
    pub fn check_token(&self, token: Option<&str>, kind: TokenKind) -> Result<(), ApiError> {
        match token.and_then(|t| self.tokens.get(t)) {
            Some(t) if t.kind == kind && t.expired => Err(ApiError::expired_auth_token()),
            Some(t) if t.kind == kind => Ok(()),
            _ => Err(ApiError::bad_auth_token()),
        }
    }

    pub fn expire_tokens(&mut self) {
        for token in self.tokens.values_mut() {
            token.expired = true;
        }
    }

    /// A new upload URL (with its own token), in the shape B2 hands out:
    /// `.../b2api/vN/b2_upload_file/<bucketId>/<key>` or `.../b2_upload_part/<fileId>/<key>`.
    pub fn new_upload_url(
        &mut self,
        target: UploadTarget,
        base_url: &str,
        api: u8,
    ) -> Result<(String, String), ApiError> {
        let (op, owner) = match &target {
            UploadTarget::File { bucket } => {
                let id = self.buckets.get(bucket).map(|b| b.id.clone());
                ("b2_upload_file", id.ok_or_else(|| ApiError::bad_request(format!("Invalid bucket: {bucket}")))?)
            }
            UploadTarget::Part { file_id } => ("b2_upload_part", file_id.clone()),
        };
        let seq = self.next_seq();
        let key = format!("c001_v0001000_t{seq:04}_{}", self.nonce);
        let token = self.issue_token(TokenKind::Upload);
        self.upload_urls.insert(key.clone(), UploadUrl { target, token: token.clone() });
        Ok((format!("{base_url}/b2api/v{api}/{op}/{owner}/{key}"), token))
    }

    pub fn bucket_by_id(&self, id: &str) -> Result<&Bucket, ApiError> {
        let found = self.buckets.values().find(|b| b.id == id);
        found.ok_or_else(|| ApiError::new(400, "invalid_bucket_id", format!("Invalid bucketId: {id}")))
    }

    pub fn find(&self, file_id: &str) -> Option<(&Bucket, &Version)> {
        let (bucket, name) = self.file_index.get(file_id)?;
        let bucket = self.buckets.get(bucket)?;
        Some((bucket, bucket.version(name, file_id)?))
    }

    /// Adds a version as the newest of its name.
    pub fn insert(&mut self, bucket: &str, version: Version) {
        if let Some(b) = self.buckets.get_mut(bucket) {
            self.file_index.insert(version.file_id.clone(), (bucket.to_string(), version.name.clone()));
            b.files.entry(version.name.clone()).or_default().insert(0, version);
        }
    }

    /// Replaces a version in place (a large file turning from "start" into "upload").
    pub fn replace(&mut self, bucket: &str, version: Version) {
        let slot = self
            .buckets
            .get_mut(bucket)
            .and_then(|b| b.files.get_mut(&version.name))
            .and_then(|vs| vs.iter_mut().find(|v| v.file_id == version.file_id));
        if let Some(slot) = slot {
            *slot = version;
        }
    }

    /// Forgets a version; returns it with the path of its bytes (for the caller to delete).
    pub fn remove(&mut self, file_id: &str) -> Option<(PathBuf, Version)> {
        let (bucket_name, name) = self.file_index.remove(file_id)?;
        let bucket = self.buckets.get_mut(&bucket_name)?;
        let versions = bucket.files.get_mut(&name)?;
        let index = versions.iter().position(|v| v.file_id == file_id)?;
        let version = versions.remove(index);
        if versions.is_empty() {
            bucket.files.remove(&name);
        }
        Some((bucket.path_of(file_id), version))
    }
}
