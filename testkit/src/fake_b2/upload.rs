//! `b2_upload_file` and `b2_upload_part`: bodies are streamed to disk while their SHA1 is
//! computed, then checked against `X-Bz-Content-Sha1` before anything becomes visible.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use futures::StreamExt;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use tokio::io::AsyncWriteExt;

use super::encoding::{content_type_for, percent_decode};
use super::error::ApiError;
use super::routes::{fault_error, header_value, json_response, Handled};
use super::store::{
    self, Action, Part, TokenKind, UploadTarget, Version, MAX_FILE_INFO, MAX_PART_NUMBER, MAX_PART_SIZE,
};
use super::{lock, Shared, State};

/// Length of the hex SHA1 a `hex_digits_at_end` body ends with.
const HEX_SHA1_LEN: u64 = 40;

// ---- receiving bodies ---------------------------------------------------------------------

/// How the client vouches for its bytes in `X-Bz-Content-Sha1`.
pub enum Sha1Claim {
    Hex(String),
    /// The body's last 40 bytes are its hex SHA1 (what rclone sends for parts and for
    /// uploads of unknown hash).
    AtEnd,
    DoNotVerify,
    /// "unverified:<hex>": recorded as given, not checked.
    Unverified(String),
}

fn is_hex_sha1(text: &str) -> bool {
    text.len() == HEX_SHA1_LEN as usize && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_sha1_claim(value: Option<&str>) -> Result<Sha1Claim, ApiError> {
    let value = value.ok_or_else(|| ApiError::bad_request("Missing header: X-Bz-Content-Sha1"))?;
    match value {
        "hex_digits_at_end" => Ok(Sha1Claim::AtEnd),
        "do_not_verify" => Ok(Sha1Claim::DoNotVerify),
        v if is_hex_sha1(v) => Ok(Sha1Claim::Hex(v.to_ascii_lowercase())),
        v => match v.strip_prefix("unverified:") {
            Some(hex) if is_hex_sha1(hex) => Ok(Sha1Claim::Unverified(hex.to_ascii_lowercase())),
            _ => Err(ApiError::bad_request(format!("Invalid X-Bz-Content-Sha1: {v}"))),
        },
    }
}

/// The content length of a body sent under `claim` (without a trailing hex SHA1).
fn data_length(length: u64, claim: &Sha1Claim) -> Result<u64, ApiError> {
    match claim {
        Sha1Claim::AtEnd => length.checked_sub(HEX_SHA1_LEN).ok_or_else(|| {
            ApiError::bad_request("With hex_digits_at_end the body must end with the 40 hex digits of its SHA1")
        }),
        _ => Ok(length),
    }
}

fn content_length(headers: &HeaderMap) -> Result<u64, ApiError> {
    // B2 refuses chunked uploads: the length must be known up front.
    let value = header_value(headers, "content-length")
        .ok_or_else(|| ApiError::bad_request("Missing header: Content-Length"))?;
    value.parse().map_err(|_| ApiError::bad_request(format!("Invalid Content-Length: {value}")))
}

struct Received {
    /// Content bytes, without any trailing hex SHA1.
    size: u64,
    /// SHA1 of the content as received.
    sha1: String,
    /// The hex SHA1 the body ended with (`hex_digits_at_end`).
    trailer: Option<String>,
}

impl Received {
    /// Whether what arrived is what the client hashed.
    fn matches(&self, claim: &Sha1Claim) -> bool {
        match claim {
            Sha1Claim::Hex(hex) => *hex == self.sha1,
            Sha1Claim::AtEnd => self.trailer.as_deref() == Some(self.sha1.as_str()),
            Sha1Claim::DoNotVerify | Sha1Claim::Unverified(_) => true,
        }
    }
}

/// Streams a body of `length` bytes into `dest`, hashing the content; removes `dest` on failure.
async fn receive(body: Body, dest: &Path, length: u64, claim: &Sha1Claim) -> Result<Received, ApiError> {
    let result = receive_into(body, dest, length, matches!(claim, Sha1Claim::AtEnd)).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(dest).await;
    }
    result
}

async fn receive_into(body: Body, dest: &Path, length: u64, hex_at_end: bool) -> Result<Received, ApiError> {
    let io = |e: std::io::Error| ApiError::internal(format!("Storing the upload failed: {e}"));
    let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
    let mut hasher = Sha1::new();
    // With hex_digits_at_end the last 40 bytes seen so far are held back: they may be the trailer.
    let mut held: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("Reading the request body failed: {e}")))?;
        total += chunk.len() as u64;
        if hex_at_end {
            held.extend_from_slice(&chunk);
            let keep = HEX_SHA1_LEN as usize;
            if held.len() > keep {
                let ready = held.len() - keep;
                hasher.update(&held[..ready]);
                file.write_all(&held[..ready]).await.map_err(io)?;
                held.copy_within(ready.., 0);
                held.truncate(keep);
            }
        } else {
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(io)?;
        }
    }
    file.flush().await.map_err(io)?;
    if total != length {
        return Err(ApiError::bad_request(format!("Content-Length was {length} but {total} bytes arrived")));
    }
    let trailer = if hex_at_end {
        if held.len() != HEX_SHA1_LEN as usize {
            return Err(ApiError::bad_request("The body is shorter than the 40 hex digits of its SHA1"));
        }
        Some(String::from_utf8_lossy(&held).to_ascii_lowercase())
    } else {
        None
    };
    let size = if hex_at_end { total - HEX_SHA1_LEN } else { total };
    Ok(Received { size, sha1: hex::encode(hasher.finalize()), trailer })
}

/// Reads and discards a body, so an early error still reaches a client that is mid-upload.
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    while let Some(Ok(_)) = stream.next().await {}
}

/// The upload URL's target, if `Authorization` carries the token issued with that URL.
fn authorize_upload(s: &State, key: &str, headers: &HeaderMap) -> Result<UploadTarget, ApiError> {
    let token = header_value(headers, "authorization");
    s.store.check_token(token, TokenKind::Upload)?;
    match s.store.upload_urls.get(key) {
        Some(url) if token == Some(url.token.as_str()) => Ok(url.target.clone()),
        _ => Err(ApiError::bad_auth_token()),
    }
}

// ---- b2_upload_file -----------------------------------------------------------------------

pub struct UploadHead {
    pub bucket: String,
    pub name: String,
    pub content_type: String,
    /// The Content-Length, including a trailing hex SHA1 if the claim is `AtEnd`.
    pub length: u64,
    pub claim: Sha1Claim,
    pub info: BTreeMap<String, String>,
}

pub async fn upload_file(state: &Shared, api: u8, key: &str, headers: &HeaderMap, body: Body) -> Handled {
    let file_name = header_value(headers, "x-bz-file-name").and_then(|n| percent_decode(n, true));
    let (head, temp) = match prepare_upload(state, key, headers, file_name.clone()) {
        Ok(prepared) => prepared,
        Err(e) => {
            drain(body).await;
            return (e.into_response(), file_name);
        }
    };
    let received = match receive(body, &temp, head.length, &head.claim).await {
        Ok(r) => r,
        Err(e) => return (e.into_response(), file_name),
    };
    let result = if received.matches(&head.claim) {
        let sha1 = match &head.claim {
            Sha1Claim::Hex(_) | Sha1Claim::AtEnd => received.sha1.clone(),
            // B2 still hashes what it stored, but says it was not checked against the client.
            Sha1Claim::DoNotVerify => format!("unverified:{}", received.sha1),
            Sha1Claim::Unverified(hex) => format!("unverified:{hex}"),
        };
        commit_upload(state, api, head, received.size, sha1, &temp)
    } else {
        Err(ApiError::sha1_mismatch())
    };
    match result {
        Ok(body) => (json_response(&body), file_name),
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            (e.into_response(), file_name)
        }
    }
}

fn prepare_upload(
    state: &Shared,
    key: &str,
    headers: &HeaderMap,
    name: Option<String>,
) -> Result<(UploadHead, PathBuf), ApiError> {
    let mut s = lock(state);
    let bucket = match authorize_upload(&s, key, headers)? {
        UploadTarget::File { bucket } => bucket,
        UploadTarget::Part { .. } => return Err(ApiError::bad_request("This upload URL is for parts of a large file")),
    };
    if let Some(action) = s.take_fault("b2_upload_file") {
        // B2: "If you get a 503 ... call b2_get_upload_url (or b2_get_upload_part_url) again":
        // the URL that failed is not to be used again.
        if matches!(action, super::FaultAction::ServiceUnavailable) {
            s.store.upload_urls.remove(key);
        }
        return Err(fault_error(&action));
    }
    let name = match (header_value(headers, "x-bz-file-name"), name) {
        (None, _) => return Err(ApiError::bad_request("Missing header: X-Bz-File-Name")),
        (Some(raw), None) => {
            return Err(ApiError::bad_request(format!("Bad percent-encoding in X-Bz-File-Name: {raw}")));
        }
        (Some(_), Some(name)) => name,
    };
    store::check_file_name(&name)?;
    let content_type = header_value(headers, "content-type")
        .map(|given| content_type_for(given, &name))
        .ok_or_else(|| ApiError::bad_request("Missing header: Content-Type"))?;
    let length = content_length(headers)?;
    let claim = parse_sha1_claim(header_value(headers, "x-bz-content-sha1"))?;
    data_length(length, &claim)?;
    let info = info_headers(headers)?;
    if !s.store.buckets.contains_key(&bucket) {
        return Err(ApiError::bad_request(format!("Bucket no longer exists: {bucket}")));
    }
    let head = UploadHead { bucket, name, content_type, length, claim, info };
    Ok((head, s.store.incoming_path()))
}

/// `X-Bz-Info-<name>: <percent-encoded value>` headers (the http crate lower-cases names).
fn info_headers(headers: &HeaderMap) -> Result<BTreeMap<String, String>, ApiError> {
    let mut info = BTreeMap::new();
    for (name, value) in headers {
        let Some(key) = name.as_str().strip_prefix("x-bz-info-") else {
            continue;
        };
        let value = value
            .to_str()
            .ok()
            .and_then(|v| percent_decode(v, true))
            .ok_or_else(|| ApiError::bad_request(format!("Bad percent-encoding in X-Bz-Info-{key}")))?;
        info.insert(key.to_string(), value);
    }
    if info.len() > MAX_FILE_INFO {
        return Err(ApiError::bad_request(format!("Too many X-Bz-Info-* headers (at most {MAX_FILE_INFO})")));
    }
    Ok(info)
}

pub fn commit_upload(
    state: &Shared,
    api: u8,
    head: UploadHead,
    size: u64,
    sha1: String,
    temp: &Path,
) -> Result<Value, ApiError> {
    let mut s = lock(state);
    let bucket_id = s
        .store
        .buckets
        .get(&head.bucket)
        .map(|b| b.id.clone())
        .ok_or_else(|| ApiError::bad_request(format!("Bucket no longer exists: {}", head.bucket)))?;
    let file_id = s.store.new_file_id(&bucket_id);
    let dest = s.store.root.join(&head.bucket).join(&file_id);
    std::fs::rename(temp, &dest).map_err(|e| ApiError::internal(format!("Storing the upload failed: {e}")))?;
    let version = Version {
        file_id,
        name: head.name,
        action: Action::Upload,
        size,
        sha1,
        content_type: head.content_type,
        info: head.info,
        upload_timestamp: s.store.now_ms(),
    };
    let body = version.to_json(&s.store.account_id, &bucket_id, api);
    s.store.insert(&head.bucket, version);
    Ok(body)
}

// ---- b2_upload_part -----------------------------------------------------------------------

struct PartHead {
    file_id: String,
    number: u32,
    length: u64,
    claim: Sha1Claim,
}

pub async fn upload_part(state: &Shared, _api: u8, key: &str, headers: &HeaderMap, body: Body) -> Handled {
    let file_name = {
        let s = lock(state);
        match s.store.upload_urls.get(key).map(|u| &u.target) {
            Some(UploadTarget::Part { file_id }) => s.store.file_index.get(file_id).map(|(_, name)| name.clone()),
            _ => None,
        }
    };
    let (head, temp) = match prepare_part(state, key, headers) {
        Ok(prepared) => prepared,
        Err(e) => {
            drain(body).await;
            return (e.into_response(), file_name);
        }
    };
    let received = match receive(body, &temp, head.length, &head.claim).await {
        Ok(r) => r,
        Err(e) => return (e.into_response(), file_name),
    };
    let result = if received.matches(&head.claim) {
        // The part's SHA1 is what b2_finish_large_file's partSha1Array is checked against.
        let sha1 = match &head.claim {
            Sha1Claim::Unverified(hex) => hex.clone(),
            _ => received.sha1.clone(),
        };
        commit_part(state, &head.file_id, head.number, received.size, sha1, &temp)
    } else {
        Err(ApiError::sha1_mismatch())
    };
    match result {
        Ok(body) => (json_response(&body), file_name),
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            (e.into_response(), file_name)
        }
    }
}

fn prepare_part(state: &Shared, key: &str, headers: &HeaderMap) -> Result<(PartHead, PathBuf), ApiError> {
    let mut s = lock(state);
    let file_id = match authorize_upload(&s, key, headers)? {
        UploadTarget::Part { file_id } => file_id,
        UploadTarget::File { .. } => return Err(ApiError::bad_request("This upload URL is for whole files")),
    };
    if let Some(action) = s.take_fault("b2_upload_part") {
        // B2: "If you get a 503 ... call b2_get_upload_url (or b2_get_upload_part_url) again":
        // the URL that failed is not to be used again.
        if matches!(action, super::FaultAction::ServiceUnavailable) {
            s.store.upload_urls.remove(key);
        }
        return Err(fault_error(&action));
    }
    let number = header_value(headers, "x-bz-part-number")
        .ok_or_else(|| ApiError::bad_request("Missing header: X-Bz-Part-Number"))?
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
        .ok_or_else(|| ApiError::bad_request(format!("X-Bz-Part-Number must be 1 to {MAX_PART_NUMBER}")))?;
    let length = content_length(headers)?;
    let claim = parse_sha1_claim(header_value(headers, "x-bz-content-sha1"))?;
    if data_length(length, &claim)? > MAX_PART_SIZE {
        return Err(ApiError::bad_request(format!("Parts may be at most {MAX_PART_SIZE} bytes")));
    }
    if !s.store.large_files.contains_key(&file_id) {
        return Err(ApiError::bad_request(format!("No active upload for: {file_id}")));
    }
    Ok((PartHead { file_id, number, length, claim }, s.store.incoming_path()))
}

/// Files a received part; uploading a part number again replaces it, as on B2.
pub fn commit_part(
    state: &Shared,
    file_id: &str,
    number: u32,
    size: u64,
    sha1: String,
    temp: &Path,
) -> Result<Value, ApiError> {
    let mut s = lock(state);
    if !s.store.large_files.contains_key(file_id) {
        return Err(ApiError::bad_request(format!("No active upload for: {file_id}")));
    }
    let io = |e: std::io::Error| ApiError::internal(format!("Storing the part failed: {e}"));
    let dir = s.store.parts_dir(file_id);
    std::fs::create_dir_all(&dir).map_err(io)?;
    let path = dir.join(number.to_string());
    std::fs::rename(temp, &path).map_err(io)?;
    let now = s.store.now_ms();
    if let Some(large) = s.store.large_files.get_mut(file_id) {
        large.parts.insert(number, Part { size, sha1: sha1.clone(), path });
    }
    Ok(json!({
        "fileId": file_id,
        "partNumber": number,
        "contentLength": size,
        "contentSha1": sha1,
        "uploadTimestamp": now,
    }))
}
