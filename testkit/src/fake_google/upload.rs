//! `files.create` as Drive v3 documents it ("Create and manage files", "Upload file data"):
//!
//! - `POST /drive/v3/files` with JSON metadata: a file without content (a folder, here);
//! - `POST /upload/drive/v3/files?uploadType=multipart`: `multipart/related`, a JSON metadata
//!   part then the media part;
//! - `POST /upload/drive/v3/files?uploadType=resumable` with JSON metadata (and
//!   `X-Upload-Content-Length`): `200 OK` with the session URI in `Location`; then `PUT` to it
//!   with `Content-Range: bytes a-b/total`: `308 Resume Incomplete` with `Range: bytes=0-N`
//!   (no `Range` when nothing is stored) until the last byte, then `200 OK` with the file; an
//!   empty `PUT` with `Content-Range: bytes */total` asks for the status; an unknown session is
//!   `404`.
//!
//! The created file gets its md5 and size from the bytes received, like any other.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::routes::{drive_error, json_file};
use super::store::FOLDER;
use super::State;

/// A resumable upload in progress.
#[derive(Debug, Clone, Default)]
pub struct UploadSession {
    pub metadata: Value,
    pub received: Vec<u8>,
}

pub type Sessions = HashMap<String, UploadSession>;

/// The parent a new item goes into: `parents[0]`, or My Drive's root.
fn parent_of(state: &State, metadata: &Value) -> Result<String, Box<Response>> {
    let parent = metadata
        .get("parents")
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .and_then(Value::as_str)
        .unwrap_or(super::store::ROOT_ID)
        .to_string();
    match state.store.files.get(&parent) {
        Some(f) if f.mime_type == FOLDER && !f.trashed => Ok(parent),
        _ => Err(Box::new(drive_error(
            404,
            "notFound",
            &format!("File not found: {parent}."),
            Some(("parameter", "parents")),
        ))),
    }
}

fn name_of(metadata: &Value) -> String {
    metadata.get("name").and_then(Value::as_str).unwrap_or("Untitled").to_string()
}

fn create(state: &mut State, metadata: &Value, content: Option<Bytes>, query: &[(String, String)]) -> Response {
    let parent = match parent_of(state, metadata) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let name = name_of(metadata);
    let folder = metadata.get("mimeType").and_then(Value::as_str) == Some(FOLDER);
    if !folder {
        if let Some((left, reason)) = state.upload_allowance.as_mut() {
            if *left == 0 {
                let message = match reason.as_str() {
                    "storageQuotaExceeded" => "The user's Drive storage quota has been exceeded.",
                    _ => "The user has exceeded their upload limit.",
                };
                return drive_error(403, reason, message, None);
            }
            *left -= 1;
        }
    }
    let id = match (folder, content) {
        (true, _) => state.store.add_folder(&parent, &name),
        (false, content) => state.store.add_file(&parent, &name, content.unwrap_or_default()),
    };
    json_file(state, &id, query)
}

/// `POST /drive/v3/files`: metadata only.
pub fn create_metadata(state: &mut State, body: &Bytes, query: &[(String, String)]) -> Response {
    match serde_json::from_slice::<Value>(body) {
        Ok(metadata) => create(state, &metadata, None, query),
        Err(_) => drive_error(400, "parseError", "Parse Error", None),
    }
}

/// `POST /upload/drive/v3/files?uploadType=...`.
pub fn start(state: &mut State, headers: &HeaderMap, body: &Bytes, query: &[(String, String)]) -> Response {
    let kind = query.iter().find(|(k, _)| k == "uploadType").map(|(_, v)| v.as_str());
    match kind {
        Some("multipart") => multipart(state, headers, body, query),
        Some("resumable") => {
            let metadata = serde_json::from_slice::<Value>(body).unwrap_or(Value::Object(Default::default()));
            if let Err(r) = parent_of(state, &metadata) {
                return *r;
            }
            let id = format!("fake-upload-{}", state.uploads.len() + 1);
            state.uploads.insert(id.clone(), UploadSession { metadata, received: Vec::new() });
            let fields =
                query.iter().find(|(k, _)| k == "fields").map(|(_, v)| format!("&fields={v}")).unwrap_or_default();
            let location =
                format!("{}/upload/drive/v3/files?uploadType=resumable&upload_id={id}{fields}", state.base_url);
            (StatusCode::OK, [(header::LOCATION, location)]).into_response()
        }
        Some("media") => create(state, &Value::Object(Default::default()), Some(body.clone()), query),
        _ => drive_error(400, "invalid", "Invalid uploadType", Some(("parameter", "uploadType"))),
    }
}

fn multipart(state: &mut State, headers: &HeaderMap, body: &Bytes, query: &[(String, String)]) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(boundary) = content_type
        .strip_prefix("multipart/related")
        .and_then(|rest| rest.split(';').find_map(|p| p.trim().strip_prefix("boundary=")))
    else {
        return drive_error(400, "badContent", "Media type must be multipart/related.", None);
    };
    let parts = split_parts(body, boundary.trim_matches('"'));
    let [meta, media] = parts.as_slice() else {
        return drive_error(400, "badContent", "A multipart upload has a metadata part and a media part.", None);
    };
    let Ok(metadata) = serde_json::from_slice::<Value>(meta) else {
        return drive_error(400, "parseError", "Parse Error", None);
    };
    create(state, &metadata, Some(Bytes::copy_from_slice(media)), query)
}

/// The bodies of a `multipart/related` message (each part's headers dropped).
fn split_parts(body: &[u8], boundary: &str) -> Vec<Vec<u8>> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let Some(first) = find(rest, delimiter.as_bytes()) else { return parts };
    rest = &rest[first + delimiter.len()..];
    while !rest.starts_with(b"--") {
        let Some(next) = find(rest, format!("\r\n{delimiter}").as_bytes()) else { break };
        let part = &rest[..next];
        if let Some(headers_end) = find(part, b"\r\n\r\n") {
            parts.push(part[headers_end + 4..].to_vec());
        }
        rest = &rest[next + 2 + delimiter.len()..];
    }
    parts
}

/// `PUT` to a resumable session.
pub fn put(
    state: &mut State,
    headers: &HeaderMap,
    body: &Bytes,
    query: &[(String, String)],
    keep: Option<u64>,
) -> Response {
    let id = query.iter().find(|(k, _)| k == "upload_id").map(|(_, v)| v.clone()).unwrap_or_default();
    let Some(session) = state.uploads.get_mut(&id) else {
        return drive_error(404, "notFound", "Upload session not found.", None);
    };
    let range = headers.get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some((span, total)) = range.strip_prefix("bytes ").and_then(|r| r.split_once('/')) else {
        return drive_error(400, "badRequest", "Invalid Content-Range.", None);
    };
    let Ok(total) = total.parse::<usize>() else {
        return drive_error(400, "badRequest", "Invalid Content-Range.", None);
    };
    if span != "*" {
        let start: usize = span.split_once('-').and_then(|(a, _)| a.parse().ok()).unwrap_or(usize::MAX);
        // Bytes must continue where the stored ones end (a client resumes from the Range).
        if start == session.received.len() {
            let take = keep.map_or(body.len(), |k| (k as usize).min(body.len()));
            session.received.extend_from_slice(&body[..take]);
            if keep.is_some() {
                // The connection was cut after `take` bytes: Drive says to resume on a 503.
                return drive_error(503, "backendError", "Backend Error", None);
            }
        }
    }
    if session.received.len() >= total {
        let done = state.uploads.remove(&id).unwrap_or_default();
        return create(state, &done.metadata, Some(Bytes::from(done.received)), query);
    }
    let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
    if !session.received.is_empty() {
        if let Ok(v) = format!("bytes=0-{}", session.received.len() - 1).parse() {
            response.headers_mut().insert(header::RANGE, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_are_split_into_their_parts_whatever_bytes_the_media_holds() {
        let media: Vec<u8> = (0..=255u8).chain(b"\r\n--b2\r\n".iter().copied()).collect();
        let mut body = b"--b1\r\nContent-Type: application/json\r\n\r\n{\"name\":\"x\"}\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        body.extend_from_slice(&media);
        body.extend_from_slice(b"\r\n--b1--\r\n");
        let parts = split_parts(&body, "b1");
        assert_eq!(parts, vec![b"{\"name\":\"x\"}".to_vec(), media]);
    }
}
