//! Downloads: `GET|HEAD {downloadUrl}/file/<bucket>/<name>` and
//! `{downloadUrl}/b2api/vN/b2_download_file_by_id?fileId=…`, with Range and B2's `X-Bz-*`
//! response headers.

use std::io::SeekFrom;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::encoding::percent_encode;
use super::error::ApiError;
use super::routes::{admit, header_value, Handled};
use super::store::{Action, TokenKind, Version};
use super::{lock, Shared};

pub enum DownloadTarget {
    /// `GET {downloadUrl}/file/<bucket>/<name>`: the current version of a name.
    ByName { bucket: String, name: String },
    /// `GET {downloadUrl}/b2api/vN/b2_download_file_by_id?fileId=…`: any uploaded version
    /// (rclone uses this once it knows an object's ID).
    ById,
}

enum RangeSpec {
    /// No usable Range header: the whole file, 200.
    Whole,
    /// [start, end) with a 206.
    Span(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range (first-last, first-, or -suffix); anything else is ignored, as HTTP allows.
fn parse_range(header: Option<&str>, size: u64) -> RangeSpec {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeSpec::Whole;
    };
    let Some((first, last)) = spec.split_once('-').filter(|_| !spec.contains(',') && size > 0) else {
        return RangeSpec::Whole;
    };
    if first.is_empty() {
        return match last.parse::<u64>() {
            Ok(0) => RangeSpec::Unsatisfiable,
            Ok(suffix) => RangeSpec::Span(size.saturating_sub(suffix), size),
            Err(_) => RangeSpec::Whole,
        };
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeSpec::Whole;
    };
    let end = if last.is_empty() {
        size
    } else {
        match last.parse::<u64>() {
            Ok(last) if last >= start => (last + 1).min(size),
            _ => return RangeSpec::Whole,
        }
    };
    if start >= size {
        RangeSpec::Unsatisfiable
    } else {
        RangeSpec::Span(start, end)
    }
}

/// Which version a download gets, after checking the account token (header, or the
/// `Authorization` query parameter B2 also accepts) and any fault.
fn resolve_download(
    state: &Shared,
    target: &DownloadTarget,
    token: Option<&str>,
    file_id: Option<&str>,
) -> Result<(Version, PathBuf), (ApiError, Option<String>)> {
    let mut s = lock(state);
    let name_hint = match target {
        DownloadTarget::ByName { name, .. } => Some(name.clone()),
        DownloadTarget::ById => file_id.and_then(|id| s.store.file_index.get(id)).map(|(_, name)| name.clone()),
    };
    let fail = |e: ApiError| (e, name_hint.clone());
    admit(&mut s, token, TokenKind::Account, "download").map_err(fail)?;
    match target {
        DownloadTarget::ByName { bucket, name } => {
            let b = s
                .store
                .buckets
                .get(bucket)
                .ok_or_else(|| fail(ApiError::not_found(format!("Bucket does not exist: {bucket}"))))?;
            let v = b.current(name).ok_or_else(|| fail(ApiError::not_found("File with such name does not exist.")))?;
            Ok((v.clone(), b.path_of(&v.file_id)))
        }
        DownloadTarget::ById => {
            let id = file_id.ok_or_else(|| fail(ApiError::bad_request("required field fileId is missing")))?;
            match s.store.find(id) {
                Some((b, v)) if v.action == Action::Upload => Ok((v.clone(), b.path_of(id))),
                _ => Err(fail(ApiError::not_found(format!("File not present: {id}")))),
            }
        }
    }
}

fn query_param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn insert_header(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

pub async fn download(
    state: &Shared,
    method: &Method,
    target: DownloadTarget,
    query: &str,
    headers: &HeaderMap,
) -> Handled {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let token = header_value(headers, "authorization").or_else(|| query_param(&params, "Authorization"));
    let (version, path) = match resolve_download(state, &target, token, query_param(&params, "fileId")) {
        Ok(found) => found,
        Err((e, name)) => return (e.into_response(), name),
    };
    let name = Some(version.name.clone());
    let size = version.size;
    let (start, end, partial) = match parse_range(header_value(headers, "range"), size) {
        RangeSpec::Whole => (0, size, false),
        RangeSpec::Span(start, end) => (start, end, true),
        RangeSpec::Unsatisfiable => {
            let error = ApiError::new(416, "range_not_satisfiable", "The range is not satisfiable");
            let mut response = error.into_response();
            insert_header(response.headers_mut(), header::CONTENT_RANGE, &format!("bytes */{size}"));
            return (response, name);
        }
    };
    let len = end - start;
    let body = if *method == Method::HEAD {
        Body::empty()
    } else {
        let opened = async {
            let mut file = tokio::fs::File::open(&path).await?;
            file.seek(SeekFrom::Start(start)).await?;
            Ok::<_, std::io::Error>(file.take(len))
        };
        match opened.await {
            Ok(reader) => Body::from_stream(tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024)),
            Err(e) => return (ApiError::internal(format!("Reading the file failed: {e}")).into_response(), name),
        }
    };
    let mut response = Response::new(body);
    if partial {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    let out = response.headers_mut();
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    insert_header(out, header::CONTENT_TYPE, &version.content_type);
    insert_header(out, header::ACCEPT_RANGES, "bytes");
    if partial {
        insert_header(out, header::CONTENT_RANGE, &format!("bytes {start}-{}/{size}", end - 1));
    }
    insert_header(out, HeaderName::from_static("x-bz-file-id"), &version.file_id);
    insert_header(out, HeaderName::from_static("x-bz-file-name"), &percent_encode(&version.name));
    insert_header(out, HeaderName::from_static("x-bz-content-sha1"), &version.sha1);
    insert_header(out, HeaderName::from_static("x-bz-upload-timestamp"), &version.upload_timestamp.to_string());
    for (key, value) in &version.info {
        if let Ok(name) = HeaderName::from_bytes(format!("x-bz-info-{key}").as_bytes()) {
            insert_header(out, name, &percent_encode(value));
        }
    }
    (response, name)
}
