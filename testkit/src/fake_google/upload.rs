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
//! The created file gets its md5 and size from the bytes received, like any other. Metadata
//! whose `mimeType` is a Google Workspace type asks Drive to convert ("import") the upload: the
//! media's type (the media part's `Content-Type`, or `X-Upload-Content-Type` when a resumable
//! session starts) must be one of `about.importFormats` for it, else `400 badRequest`. The
//! fake's import keeps the uploaded bytes as the document's text, so a test can see what went in.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::routes::{drive_error, json_file};
use super::store::{import_formats, FOLDER};
use super::State;

/// A resumable upload in progress.
#[derive(Debug, Clone, Default)]
pub struct UploadSession {
    pub metadata: Value,
    /// `X-Upload-Content-Type`, when the client sent it.
    pub media_type: String,
    pub received: Vec<u8>,
}

/// The bytes of an upload and the type they were sent as.
pub struct Media {
    pub bytes: Bytes,
    pub content_type: String,
}

pub type Sessions = HashMap<String, UploadSession>;

const WORKSPACE: &str = "application/vnd.google-apps.";
const OCTET_STREAM: &str = "application/octet-stream";

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

fn create(state: &mut State, metadata: &Value, media: Option<Media>, query: &[(String, String)]) -> Response {
    let parent = match parent_of(state, metadata) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let name = name_of(metadata);
    let mime = metadata.get("mimeType").and_then(Value::as_str).unwrap_or_default();
    let folder = mime == FOLDER;
    let convert_to = mime.starts_with(WORKSPACE).then_some(mime).filter(|_| !folder);
    if let (Some(target), Some(media)) = (convert_to, &media) {
        if !import_formats(&media.content_type).contains(&target) {
            let message = "Conversion of the uploaded content to the requested output type is not supported.";
            return drive_error(400, "badRequest", message, None);
        }
    }
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
    let id = match (folder, convert_to, media) {
        (true, _, _) => state.store.add_folder(&parent, &name),
        (false, Some(target), media) => {
            let text = media.map(|m| String::from_utf8_lossy(&m.bytes).into_owned()).unwrap_or_default();
            state.store.add_workspace_file(&parent, &name, target, text)
        }
        (false, None, media) => state.store.add_file(&parent, &name, media.map(|m| m.bytes).unwrap_or_default()),
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
            let media_type = header_text(headers, "x-upload-content-type").unwrap_or(OCTET_STREAM).to_string();
            state.uploads.insert(id.clone(), UploadSession { metadata, media_type, received: Vec::new() });
            let fields =
                query.iter().find(|(k, _)| k == "fields").map(|(_, v)| format!("&fields={v}")).unwrap_or_default();
            let location =
                format!("{}/upload/drive/v3/files?uploadType=resumable&upload_id={id}{fields}", state.base_url);
            (StatusCode::OK, [(header::LOCATION, location)]).into_response()
        }
        Some("media") => {
            let content_type = header_text(headers, "content-type").unwrap_or(OCTET_STREAM).to_string();
            create(state, &Value::Object(Default::default()), Some(Media { bytes: body.clone(), content_type }), query)
        }
        _ => drive_error(400, "invalid", "Invalid uploadType", Some(("parameter", "uploadType"))),
    }
}

fn multipart(state: &mut State, headers: &HeaderMap, body: &Bytes, query: &[(String, String)]) -> Response {
    let content_type = header_text(headers, "content-type").unwrap_or_default();
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
    let Ok(metadata) = serde_json::from_slice::<Value>(&meta.body) else {
        return drive_error(400, "parseError", "Parse Error", None);
    };
    let content_type = media.content_type.clone().unwrap_or_else(|| OCTET_STREAM.to_string());
    create(state, &metadata, Some(Media { bytes: Bytes::copy_from_slice(&media.body), content_type }), query)
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// One part of a `multipart/related` message.
#[derive(Debug, PartialEq)]
struct Part {
    content_type: Option<String>,
    body: Vec<u8>,
}

/// The parts of a `multipart/related` message.
fn split_parts(body: &[u8], boundary: &str) -> Vec<Part> {
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
            let head = String::from_utf8_lossy(&part[..headers_end]);
            let content_type = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim().eq_ignore_ascii_case("content-type").then(|| value.trim().to_string())
            });
            parts.push(Part { content_type, body: part[headers_end + 4..].to_vec() });
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
        let media = Media { bytes: Bytes::from(done.received), content_type: done.media_type };
        return create(state, &done.metadata, Some(media), query);
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
    use crate::fake_google::store::Store;
    use crate::fake_google::{FakeGoogle, DEFAULT_TOKEN};

    /// A multipart `files.create` asking for `target` with media of `media_type`: (status, body).
    async fn create_as(drive: &FakeGoogle, target: &str, media_type: &str, media: &str) -> (u16, Value) {
        let metadata = serde_json::json!({ "name": "Roadmap", "mimeType": target });
        let body = format!(
            "--b\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n--b\r\nContent-Type: {media_type}\r\n\r\n{media}\r\n--b--\r\n"
        );
        let response = reqwest::Client::new()
            .post(format!("{}/upload/drive/v3/files", drive.base_url()))
            .query(&[("uploadType", "multipart"), ("fields", "id,name,mimeType,md5Checksum")])
            .bearer_auth(DEFAULT_TOKEN)
            .header("Content-Type", "multipart/related; boundary=b")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    #[tokio::test]
    async fn an_upload_becomes_a_google_file_only_from_a_format_drive_imports_for_that_type() {
        let drive = FakeGoogle::start(Store::empty(), 0).await.unwrap();
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        let (status, file) = create_as(&drive, "application/vnd.google-apps.document", docx, "Q3: ship it.").await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(file["mimeType"], "application/vnd.google-apps.document");
        assert!(file.get("md5Checksum").is_none(), "Drive keeps no md5 of a Google file: {file}");
        let id = file["id"].as_str().unwrap();
        let text = drive.mutate(|store| store.files[id].doc_text.clone());
        assert_eq!(text, "Q3: ship it.");

        // A spreadsheet cannot be made from a Word document, nor a document from a zip.
        let sheet = "application/vnd.google-apps.spreadsheet";
        for (target, media_type) in [(sheet, docx), ("application/vnd.google-apps.document", "application/zip")] {
            let (status, error) = create_as(&drive, target, media_type, "x").await;
            assert_eq!(status, 400, "{error}");
            assert_eq!(error["error"]["errors"][0]["reason"], "badRequest", "{error}");
        }
    }

    #[test]
    fn multipart_bodies_are_split_into_their_parts_whatever_bytes_the_media_holds() {
        let media: Vec<u8> = (0..=255u8).chain(b"\r\n--b2\r\n".iter().copied()).collect();
        let mut body = b"--b1\r\nContent-Type: application/json\r\n\r\n{\"name\":\"x\"}\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        body.extend_from_slice(&media);
        body.extend_from_slice(b"\r\n--b1--\r\n");
        let parts = split_parts(&body, "b1");
        let types: Vec<Option<&str>> = parts.iter().map(|p| p.content_type.as_deref()).collect();
        assert_eq!(types, [Some("application/json"), Some("application/octet-stream")]);
        let bodies: Vec<&[u8]> = parts.iter().map(|p| p.body.as_slice()).collect();
        assert_eq!(bodies, [b"{\"name\":\"x\"}".as_slice(), media.as_slice()]);
    }
}
