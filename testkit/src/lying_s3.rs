//! A lying S3 server for tests: a reverse proxy on 127.0.0.1 in front of a real S3 endpoint
//! (`rclone serve s3`) that, for chosen keys, answers object uploads exactly as S3 does on
//! success (`200 OK` with the body's md5 as `ETag`) but never stores them.
//!
//! It stands between rclone and the server, so a test can prove that an upload which
//! *reports* success is still checked at the destination, and never recorded synced when the
//! object is not there. Every other request (listings, HEADs, downloads, deletes, uploads of
//! other keys) is forwarded unchanged, `Host` included: SigV4 signatures cover `Host`, and the
//! client signed for the proxy's address, which is what the server must see to accept them.
//!
//! Only path-style addressing (`/bucket/key`) is understood, which is how rclone talks to a
//! local endpoint.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use md5::{Digest, Md5};

/// Upload IDs this proxy makes up start with this, so they can never be the server's.
const UPLOAD_ID_PREFIX: &str = "lying-s3-upload-";

/// A multipart upload answered by the proxy alone: the server never hears of it.
struct FakeUpload {
    bucket: String,
    key: String,
    /// Part number → md5 of the part's bytes.
    parts: BTreeMap<u32, [u8; 16]>,
}

#[derive(Default)]
struct Shared {
    /// Uploads of keys containing any of these are swallowed.
    swallow: Vec<String>,
    /// Keys swallowed so far, one entry per upload (a retried upload appears again).
    swallowed: Vec<String>,
    uploads: BTreeMap<String, FakeUpload>,
    next_upload: u64,
    /// Upload requests seen per key (whole objects and multipart parts; copies excluded),
    /// swallowed or forwarded.
    puts: BTreeMap<String, u32>,
}

struct Proxy {
    /// The real server's base URL, without a trailing slash.
    upstream: String,
    client: reqwest::Client,
    shared: Arc<Mutex<Shared>>,
}

/// A running lying proxy; stopped when dropped.
pub struct LyingS3Proxy {
    shared: Arc<Mutex<Shared>>,
    server: crate::serve::Served,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    match shared.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl LyingS3Proxy {
    /// Starts a proxy on 127.0.0.1 (a free port) forwarding to `upstream`
    /// (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> anyhow::Result<Self> {
        // No proxy from the environment, no redirects followed: the client must see exactly
        // what the server answered.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .http1_only()
            .tcp_nodelay(true)
            .build()
            .context("cannot build the proxy's HTTP client")?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let proxy =
            Arc::new(Proxy { upstream: upstream.trim_end_matches('/').to_string(), client, shared: shared.clone() });
        // Every request goes to one handler; parts of multipart uploads may exceed axum's
        // default 2 MB body limit.
        let app = Router::new().fallback(handle).layer(DefaultBodyLimit::disable()).with_state(proxy);

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let server = crate::serve::spawn(listener, app)?;
        Ok(Self { shared, server })
    }

    /// The address to give clients instead of the real server's.
    pub fn endpoint(&self) -> String {
        self.server.base_url()
    }

    /// From now on, uploads of keys containing `key_substring` are answered as stored but
    /// never reach the server.
    pub fn swallow(&self, key_substring: &str) {
        lock(&self.shared).swallow.push(key_substring.to_string());
    }

    /// From now on, every upload is forwarded again (multipart uploads already begun under a
    /// swallowed key stay swallowed to the end).
    pub fn stop_swallowing(&self) {
        lock(&self.shared).swallow.clear();
    }

    /// How many upload requests (whole objects and parts) each key got so far.
    pub fn puts(&self) -> BTreeMap<String, u32> {
        lock(&self.shared).puts.clone()
    }

    /// Keys swallowed so far (without the bucket), one entry per upload.
    pub fn swallowed(&self) -> Vec<String> {
        lock(&self.shared).swallowed.clone()
    }
}

async fn handle(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = proxy.intercept(&method, &uri, &headers, &body) {
        return response;
    }
    match proxy.forward(method, &uri, headers, body).await {
        Ok(response) => response,
        Err(e) => (StatusCode::BAD_GATEWAY, format!("lying-s3 proxy: {e:#}")).into_response(),
    }
}

impl Proxy {
    /// The lie, when this request is one to tell it to; `None` to forward the request.
    fn intercept(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Option<Response> {
        let (bucket, key) = object_target(uri)?;
        let params = query_params(uri);
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let mut shared = lock(&self.shared);
        if *method == Method::PUT && !headers.contains_key("x-amz-copy-source") {
            *shared.puts.entry(key.clone()).or_default() += 1;
        }

        // Requests about an upload the proxy made up are answered by it, whatever the
        // swallow list says now.
        if let Some(upload_id) = param("uploadId") {
            if !shared.uploads.contains_key(upload_id) {
                return None;
            }
            return Some(fake_multipart(&mut shared, method, upload_id, param("partNumber"), headers, body));
        }

        if !shared.swallow.iter().any(|s| key.contains(s.as_str())) {
            return None;
        }
        if *method == Method::PUT && param("partNumber").is_none() && !headers.contains_key("x-amz-copy-source") {
            let digest = md5_of(&payload(headers, body));
            shared.swallowed.push(key);
            return Some(put_reply(&digest, headers));
        }
        if *method == Method::POST && param("uploads").is_some() {
            // Initiated here rather than at the server, so no unfinished upload is left there.
            shared.next_upload += 1;
            let upload_id = format!("{UPLOAD_ID_PREFIX}{}", shared.next_upload);
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult \
                 xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>{}</Bucket><Key>{}</Key>\
                 <UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>",
                xml_escape(&bucket),
                xml_escape(&key)
            );
            shared.uploads.insert(upload_id, FakeUpload { bucket, key, parts: BTreeMap::new() });
            return Some(xml_reply(StatusCode::OK, xml));
        }
        None
    }

    /// Sends the request to the real server as it came, and its answer back as it came.
    async fn forward(&self, method: Method, uri: &Uri, headers: HeaderMap, body: Bytes) -> anyhow::Result<Response> {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let url = format!("{}{path}", self.upstream);
        let mut outgoing = HeaderMap::new();
        for (name, value) in &headers {
            // `Host` stays (the signature covers it; an explicit Host header is sent as is).
            // Content-Length is set again from the body. `Expect: 100-continue` was already
            // answered by this server when it read the body.
            if !is_hop_by_hop(name) && *name != header::CONTENT_LENGTH && *name != header::EXPECT {
                outgoing.append(name.clone(), value.clone());
            }
        }
        let mut request = self.client.request(method, &url).headers(outgoing);
        if !body.is_empty() || headers.contains_key(header::CONTENT_LENGTH) {
            request = request.body(body);
        }
        let reply = request.send().await.with_context(|| format!("cannot reach {url}"))?;
        let status = reply.status();
        let mut reply_headers = HeaderMap::new();
        for (name, value) in reply.headers() {
            // Content-Length is kept: a HEAD reply's is the object's size, with no body to
            // measure it from.
            if !is_hop_by_hop(name) {
                reply_headers.append(name.clone(), value.clone());
            }
        }
        let bytes = reply.bytes().await.with_context(|| format!("cannot read the answer from {url}"))?;
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        *response.headers_mut() = reply_headers;
        Ok(response)
    }
}

/// Answers a request about an upload the proxy made up: parts are acknowledged, completion
/// is reported, and nothing is stored.
fn fake_multipart(
    shared: &mut Shared,
    method: &Method,
    upload_id: &str,
    part_number: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let Some(upload) = shared.uploads.get_mut(upload_id) else {
        return s3_error(StatusCode::NOT_FOUND, "NoSuchUpload", "The specified upload does not exist.");
    };
    match (method, part_number) {
        (&Method::PUT, Some(number)) if !headers.contains_key("x-amz-copy-source") => {
            let Ok(number) = number.parse::<u32>() else {
                return s3_error(StatusCode::BAD_REQUEST, "InvalidArgument", "Part number must be an integer.");
            };
            let digest = md5_of(&payload(headers, body));
            upload.parts.insert(number, digest);
            put_reply(&digest, headers)
        }
        (&Method::POST, None) => {
            // S3's multipart ETag: the md5 of the parts' md5s, then "-" and the part count.
            let mut all = Md5::new();
            for digest in upload.parts.values() {
                all.update(digest);
            }
            let etag = format!("\"{}-{}\"", hex::encode(all.finalize()), upload.parts.len());
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult \
                 xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>/{bucket}/{key}</Location>\
                 <Bucket>{bucket}</Bucket><Key>{key}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
                xml_escape(&etag),
                bucket = xml_escape(&upload.bucket),
                key = xml_escape(&upload.key),
            );
            if let Some(upload) = shared.uploads.remove(upload_id) {
                shared.swallowed.push(upload.key);
            }
            xml_reply(StatusCode::OK, xml)
        }
        (&Method::DELETE, None) => {
            shared.uploads.remove(upload_id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => s3_error(StatusCode::NOT_IMPLEMENTED, "NotImplemented", "The lying proxy does not fake this request."),
    }
}

/// S3's reply to a stored object or part: 200, the md5 as ETag, any checksums echoed.
fn put_reply(digest: &[u8; 16], request: &HeaderMap) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", hex::encode(digest))) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert("x-amz-request-id", HeaderValue::from_static("LYINGS3PROXY"));
    for (name, value) in request {
        if name.as_str().starts_with("x-amz-checksum-") && name.as_str() != "x-amz-checksum-algorithm" {
            headers.insert(name.clone(), value.clone());
        }
    }
    (StatusCode::OK, headers).into_response()
}

fn xml_reply(status: StatusCode, xml: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/xml")], xml).into_response()
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    xml_reply(
        status,
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"),
    )
}

fn md5_of(bytes: &[u8]) -> [u8; 16] {
    Md5::digest(bytes).into()
}

/// The object's bytes: the body itself, or decoded from aws-chunked framing when the client
/// streamed it that way (the ETag is the md5 of the object, not of the framing).
fn payload(headers: &HeaderMap, body: &Bytes) -> Bytes {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let chunked =
        value("content-encoding").contains("aws-chunked") || value("x-amz-content-sha256").starts_with("STREAMING-");
    if !chunked {
        return body.clone();
    }
    decode_aws_chunked(body).map(Bytes::from).unwrap_or_else(|| body.clone())
}

/// `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … up to a zero-size chunk (trailers after
/// it are not part of the object).
fn decode_aws_chunked(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

/// (bucket, key) of a path-style object request (`/bucket/key…`), percent-decoded; `None`
/// for requests on the service or a bucket.
fn object_target(uri: &Uri) -> Option<(String, String)> {
    let (bucket, key) = uri.path().strip_prefix('/')?.split_once('/')?;
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    Some((percent_decode(bucket), percent_decode(key)))
}

/// The query's parameters, decoded; a name without `=` (like `uploads`) has an empty value.
fn query_params(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex_digit(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(hi), Some(lo)) =
                (bytes.get(i + 1).copied().and_then(hex_digit), bytes.get(i + 2).copied().and_then(hex_digit))
            {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// Headers that belong to one connection, not to the request or response they travel with.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(name.as_str(), "connection" | "keep-alive" | "te" | "trailer" | "transfer-encoding" | "upgrade")
        || name.as_str().starts_with("proxy-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_are_found_in_path_style_requests() {
        let uri: Uri = "/bucket/google-drive/Projects/p%20003.txt?x-id=PutObject".parse().unwrap();
        assert_eq!(object_target(&uri), Some(("bucket".into(), "google-drive/Projects/p 003.txt".into())));
        assert_eq!(object_target(&"/bucket".parse().unwrap()), None);
        assert_eq!(object_target(&"/bucket/".parse().unwrap()), None);
        assert_eq!(object_target(&"/".parse().unwrap()), None);
    }

    #[test]
    fn query_names_without_values_are_kept() {
        let uri: Uri = "/b/k?uploads&x=%2Fy".parse().unwrap();
        assert_eq!(query_params(&uri), vec![("uploads".into(), String::new()), ("x".into(), "/y".into())]);
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%+1"), "%+1");
    }

    #[test]
    fn aws_chunked_bodies_are_decoded_to_the_object() {
        let body = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
        assert_eq!(decode_aws_chunked(body).as_deref(), Some(&b"hello world"[..]));
        assert_eq!(decode_aws_chunked(b"zz\r\n"), None);
    }
}
