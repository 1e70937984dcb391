//! HTTP handling for the fake: one dispatcher that logs every request, applies faults, and
//! answers like Drive v3 does.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, RawQuery, State as AxumState};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::store::{export_formats, import_formats, ChangeRef, Content, FileEntry, EXPORT_LIMIT, ROOT_ID};
use super::{fields, oauth, query, Fault, FaultAction, RequestRecord, State};

type Shared = Arc<Mutex<State>>;

pub fn router(state: Shared) -> Router {
    // Uploads (a restore into Drive) send chunks of several MiB; axum's default limit is 2 MB.
    Router::new().fallback(dispatch).layer(DefaultBodyLimit::max(64 * 1024 * 1024)).with_state(state)
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Drive's error envelope (Drive v3 "Resolve errors"): `code`, `message`, `errors[]` with a
/// `domain` (`usageLimits` for rate limits, else `global`) and `reason`, and the canonical
/// `status` newer Google APIs add.
pub fn drive_error(status: u16, reason: &str, message: &str, location: Option<(&str, &str)>) -> Response {
    let domain = match reason {
        "userRateLimitExceeded" | "rateLimitExceeded" | "dailyLimitExceeded" => "usageLimits",
        _ => "global",
    };
    let mut item = json!({ "domain": domain, "reason": reason, "message": message });
    if let Some((kind, name)) = location {
        item["locationType"] = json!(kind);
        item["location"] = json!(name);
    }
    let body = json!({ "error": { "code": status, "message": message, "errors": [item], "status": canonical_status(status) } });
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, [(header::CONTENT_TYPE, "application/json; charset=UTF-8")], body.to_string()).into_response()
}

/// Google's canonical status name for an HTTP status.
fn canonical_status(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    }
}

/// An error envelope without `errors[]` (some Google front ends answer so): only `code`,
/// `message` and `status`.
fn bare_error(code: u16, status: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message, "status": status } });
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, [(header::CONTENT_TYPE, "application/json; charset=UTF-8")], body.to_string()).into_response()
}

fn not_found(id: &str) -> Response {
    drive_error(404, "notFound", &format!("File not found: {id}."), Some(("parameter", "fileId")))
}

async fn dispatch(
    AxumState(state): AxumState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let path = uri.path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if segments.first() == Some(&"__control") {
        return control(&state, &method, &segments[1..], body);
    }
    let (route, file_id) = match (method.as_str(), segments.as_slice()) {
        ("GET", ["drive", "v3", "about"]) => ("about", None),
        ("GET", ["drive", "v3", "files"]) => ("files.list", None),
        ("GET", ["drive", "v3", "files", id]) => {
            if param(&query, "alt") == Some("media") {
                ("files.get_media", Some(id.to_string()))
            } else {
                ("files.get", Some(id.to_string()))
            }
        }
        ("GET", ["drive", "v3", "files", id, "export"]) => ("files.export", Some(id.to_string())),
        ("GET", ["drive", "v3", "changes", "startPageToken"]) => ("changes.getStartPageToken", None),
        ("GET", ["drive", "v3", "changes"]) => ("changes.list", None),
        ("GET", ["drive", "v3", "drives"]) => ("drives.list", None),
        ("POST", ["drive", "v3", "files"]) | ("POST", ["upload", "drive", "v3", "files"]) => ("files.create", None),
        ("PUT", ["upload", "drive", "v3", "files"]) => ("files.upload_chunk", None),
        ("GET", ["o", "oauth2", "v2", "auth"]) => ("oauth.authorize", None),
        ("POST", ["token"]) => ("oauth.token", None),
        ("POST", ["revoke"]) => ("oauth.revoke", None),
        _ => ("unknown", None),
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let at_ms = lock(&state).started.elapsed().as_millis() as u64;
    let fault = take_fault(&state, route, file_id.as_deref());
    if let Some(Fault { action: FaultAction::Latency { ms }, .. }) = &fault {
        tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
    }
    if let Some(Fault { action: FaultAction::ExpireTokens, .. }) = &fault {
        oauth::expire_access_tokens(&mut lock(&state));
    }
    let signing_in = route.starts_with("oauth.");
    let over_quota = !signing_in && route != "unknown" && {
        let mut s = lock(&state);
        let now = std::time::Instant::now();
        s.quota.as_mut().is_some_and(|q| !q.admit(now))
    };
    let scoped = signing_in || route == "unknown" || {
        let token = bearer(&headers).unwrap_or_default();
        oauth::token_allows(&lock(&state), &token, route)
    };
    let response = match (&fault, signing_in || authorized(&state, &headers)) {
        (_, false) if route != "unknown" => {
            drive_error(401, "authError", "Invalid Credentials", Some(("header", "Authorization")))
        }
        _ if !scoped => {
            drive_error(403, "insufficientPermissions", "Request had insufficient authentication scopes.", None)
        }
        _ if over_quota => quota_answer(&state),
        (Some(Fault { action: FaultAction::Raw { code, body, content_type }, .. }), _) => {
            let code = StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_GATEWAY);
            (code, [(header::CONTENT_TYPE, content_type.clone())], body.clone()).into_response()
        }
        (Some(Fault { action: FaultAction::StatusWithoutErrors { code, status, message }, .. }), _) => {
            bare_error(*code, status, message)
        }
        (Some(Fault { action: FaultAction::Status { code, reason, message, retry_after }, .. }), _) => {
            let mut r = drive_error(*code, reason, message, None);
            if let Some(secs) = retry_after {
                if let Ok(v) = secs.to_string().parse() {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            r
        }
        _ => match route {
            "about" => about(&state, &query),
            "files.list" => list(&state, &query, fault.map(|f| f.action)),
            "files.get" => get(&state, file_id.as_deref().unwrap_or_default(), &query),
            "files.get_media" => {
                media(&state, file_id.as_deref().unwrap_or_default(), range.as_deref(), fault.map(|f| f.action)).await
            }
            "files.export" => export(&state, file_id.as_deref().unwrap_or_default(), &query, fault.map(|f| f.action)),
            "changes.getStartPageToken" => start_page_token(&state),
            "changes.list" => changes(&state, &query),
            "drives.list" => drives(&state, &query),
            "files.create" if segments.first() == Some(&"upload") => {
                super::upload::start(&mut lock(&state), &headers, &body, &query)
            }
            "files.create" => super::upload::create_metadata(&mut lock(&state), &body, &query),
            "files.upload_chunk" => {
                let keep = match &fault {
                    Some(Fault { action: FaultAction::AcceptPartOfUpload { bytes }, .. }) => Some(*bytes),
                    _ => None,
                };
                super::upload::put(&mut lock(&state), &headers, &body, &query, keep)
            }
            "oauth.authorize" => oauth::authorize(&mut lock(&state), &query),
            "oauth.token" => oauth::token(&mut lock(&state), &headers, &body),
            "oauth.revoke" => oauth::revoke(&mut lock(&state), &query, &body),
            _ => drive_error(404, "notFound", "Not Found", None),
        },
    };
    lock(&state).requests.push(RequestRecord {
        method: method.to_string(),
        route: route.to_string(),
        path,
        query,
        range,
        status: response.status().as_u16(),
        file_id,
        at_ms,
    });
    response
}

/// How Google refuses a request over the quota: 403 `userRateLimitExceeded` (Drive's
/// documented answer), or 429 `rateLimitExceeded` with a `Retry-After`.
fn quota_answer(state: &Shared) -> Response {
    let answer = lock(state).quota.as_ref().map(|q| q.answer.clone()).unwrap_or_default();
    match answer {
        super::QuotaAnswer::Forbidden => drive_error(
            403,
            "userRateLimitExceeded",
            "User Rate Limit Exceeded. Rate of requests for user exceed configured project quota.",
            None,
        ),
        super::QuotaAnswer::TooManyRequests { retry_after } => {
            let mut r = drive_error(429, "rateLimitExceeded", "Rate Limit Exceeded", None);
            if let Ok(v) = retry_after.to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

fn authorized(state: &Shared, headers: &HeaderMap) -> bool {
    let Some(token) = bearer(headers) else { return false };
    lock(state).tokens.contains(&token)
}

fn take_fault(state: &Shared, route: &str, file_id: Option<&str>) -> Option<Fault> {
    let mut s = lock(state);
    let index = s.faults.iter().position(|f| {
        f.route.as_deref().map(|r| r == route).unwrap_or(true)
            && f.file_id.as_deref().map(|id| Some(id) == file_id).unwrap_or(true)
            && f.times != Some(0)
    })?;
    let fault = s.faults[index].clone();
    if let Some(times) = s.faults[index].times.as_mut() {
        *times -= 1;
    }
    Some(fault)
}

fn mask(query: &[(String, String)], default: &str, schema: fields::Schema) -> Result<fields::Mask, Box<Response>> {
    let invalid = |what: String| {
        Box::new(drive_error(
            400,
            "invalidParameter",
            &format!("Invalid field selection {what}"),
            Some(("parameter", "fields")),
        ))
    };
    let mask = fields::parse(param(query, "fields").unwrap_or(default)).map_err(invalid)?;
    mask.validate(schema).map_err(invalid)?;
    Ok(mask)
}

fn json_response(value: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json; charset=UTF-8")], value.to_string()).into_response()
}

fn about(state: &Shared, query: &[(String, String)]) -> Response {
    let mask = match mask(query, "kind", fields::ABOUT) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let formats: serde_json::Map<String, Value> = ["document", "spreadsheet", "presentation", "drawing"]
        .iter()
        .map(|k| {
            let mime = format!("application/vnd.google-apps.{k}");
            let list = export_formats(&mime);
            (mime, json!(list))
        })
        .collect();
    let imports: serde_json::Map<String, Value> = [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "application/rtf",
        "text/plain",
        "text/html",
        "text/markdown",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/x-vnd.oasis.opendocument.spreadsheet",
        "text/csv",
        "text/tab-separated-values",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.presentation",
    ]
    .iter()
    .map(|m| (m.to_string(), json!(import_formats(m))))
    .collect();
    let (used, email): (u64, String) = {
        let s = lock(state);
        (s.store.files.values().map(|f| f.size).sum(), s.oauth.user_email.clone())
    };
    json_response(mask.apply(&json!({
        "kind": "drive#about",
        "user": { "kind": "drive#user", "displayName": "Demo User", "emailAddress": email, "me": true },
        "storageQuota": { "limit": "16106127360", "usage": used.to_string() },
        "exportFormats": formats,
        "importFormats": imports,
    })))
}

fn visible<'a>(state: &'a State, id: &str) -> Option<&'a FileEntry> {
    let id = if id == "root" { ROOT_ID } else { id };
    state.store.files.get(id).filter(|f| !f.hidden)
}

fn start_page_token(state: &Shared) -> Response {
    let latest = lock(state).store.latest_change();
    json_response(json!({ "kind": "drive#startPageToken", "startPageToken": latest.to_string() }))
}

/// `changes.list`: the current state of each item changed after the token, oldest first.
fn changes(state: &Shared, query: &[(String, String)]) -> Response {
    let mask = match mask(query, "kind,nextPageToken,newStartPageToken,changes", fields::CHANGE_LIST) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let Some(token) = param(query, "pageToken").and_then(|t| t.parse::<u64>().ok()) else {
        return drive_error(400, "invalid", "Invalid Value", Some(("parameter", "pageToken")));
    };
    let page_size = page_size(state, query);
    let include_removed = param(query, "includeRemoved") != Some("false");
    let scope = match shared_drive_scope(query, false) {
        Ok(scope) => scope,
        Err(r) => return *r,
    };
    let s = lock(state);
    if token > s.store.latest_change() {
        return drive_error(400, "invalid", "Invalid Value", Some(("parameter", "pageToken")));
    }
    let mut list = Vec::new();
    let mut last_seq = token;
    let mut seen = std::collections::HashSet::new();
    for (seq, what) in s.store.changes.iter().filter(|(seq, _)| *seq > token) {
        if list.len() >= page_size {
            break;
        }
        last_seq = *seq;
        if !seen.insert(what.clone()) {
            continue;
        }
        let id = match what {
            ChangeRef::File(id) => id,
            ChangeRef::Drive(drive_id) => {
                // Drive changes come only to clients that say they support shared drives.
                if scope.admits_drives() {
                    list.push(drive_change(&s, drive_id));
                }
                continue;
            }
        };
        let time = s.store.files.get(id).map(|f| f.modified_time.clone()).unwrap_or_default();
        if s.store.files.get(id).is_some_and(|f| !scope.admits(f)) {
            continue;
        }
        match visible(&s, id) {
            Some(f) => list.push(json!({
                "kind": "drive#change", "changeType": "file", "removed": false, "fileId": id, "time": time,
                "file": f.to_json(&s.base_url),
            })),
            None if include_removed => list.push(json!({
                "kind": "drive#change", "changeType": "file", "removed": true, "fileId": id, "time": time,
            })),
            None => {}
        }
    }
    let mut body = json!({ "kind": "drive#changeList", "changes": list });
    if last_seq < s.store.latest_change() {
        body["nextPageToken"] = json!(last_seq.to_string());
    } else {
        body["newStartPageToken"] = json!(s.store.latest_change().to_string());
    }
    json_response(mask.apply(&body))
}

/// A `changeType: drive` entry (Drive v3 `changes` resource): `driveId` and `drive`, no file.
fn drive_change(s: &State, drive_id: &str) -> Value {
    match s.store.files.get(drive_id).filter(|root| !root.hidden) {
        Some(root) => json!({
            "kind": "drive#change", "changeType": "drive", "removed": false, "driveId": drive_id,
            "time": root.modified_time, "drive": { "kind": "drive#drive", "id": drive_id, "name": root.name },
        }),
        None => json!({ "kind": "drive#change", "changeType": "drive", "removed": true, "driveId": drive_id }),
    }
}

fn get(state: &Shared, id: &str, query: &[(String, String)]) -> Response {
    let mask = match mask(query, "kind,id,name,mimeType,resourceKey", fields::FILE) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let s = lock(state);
    match visible(&s, id) {
        // A shared-drive item is invisible to a client that does not say it supports them.
        Some(f) if f.drive_id.is_some() && param(query, "supportsAllDrives") != Some("true") => not_found(id),
        Some(f) => json_response(mask.apply(&f.to_json(&s.base_url))),
        None => not_found(id),
    }
}

/// A file's resource as `files.create` answers it (the `fields` asked for, else Drive's
/// default `kind,id,name,mimeType`).
pub(super) fn json_file(state: &State, id: &str, query: &[(String, String)]) -> Response {
    let mask = match mask(query, "kind,id,name,mimeType", fields::FILE) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    match state.store.files.get(id) {
        Some(f) => json_response(mask.apply(&f.to_json(&state.base_url))),
        None => not_found(id),
    }
}

/// `drives.list`: the shared drives the user is a member of.
fn drives(state: &Shared, query: &[(String, String)]) -> Response {
    let mask = match mask(query, "kind,nextPageToken,drives(kind,id,name)", fields::DRIVE_LIST) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let s = lock(state);
    let drives: Vec<Value> = s
        .store
        .shared_drives()
        .into_iter()
        .map(|(id, name)| json!({ "kind": "drive#drive", "id": id, "name": name }))
        .collect();
    json_response(mask.apply(&json!({ "kind": "drive#driveList", "drives": drives })))
}

/// Which shared-drive items a `files.list` or `changes.list` may return: none unless both
/// flags are set, and for `files.list` only within the corpora asked for.
fn shared_drive_scope<'q>(
    query: &'q [(String, String)],
    corpora_applies: bool,
) -> Result<SharedScope<'q>, Box<Response>> {
    let flags =
        param(query, "includeItemsFromAllDrives") == Some("true") && param(query, "supportsAllDrives") == Some("true");
    let corpora = param(query, "corpora").unwrap_or("user");
    let drive_id = param(query, "driveId");
    if (corpora == "drive") != drive_id.is_some() {
        return Err(Box::new(drive_error(
            400,
            "invalid",
            "The driveId parameter must be specified if and only if corpora is set to drive.",
            Some(("parameter", "driveId")),
        )));
    }
    Ok(match (flags, corpora_applies, corpora) {
        (false, _, _) => SharedScope::None,
        (true, false, _) | (true, true, "allDrives") => SharedScope::All,
        (true, true, "drive") => SharedScope::One(drive_id.unwrap_or_default()),
        _ => SharedScope::None,
    })
}

enum SharedScope<'q> {
    None,
    All,
    One(&'q str),
}

impl SharedScope<'_> {
    fn admits_drives(&self) -> bool {
        !matches!(self, SharedScope::None)
    }

    fn admits(&self, f: &FileEntry) -> bool {
        match (&f.drive_id, self) {
            (None, SharedScope::One(_)) => false,
            (None, _) => true,
            (Some(_), SharedScope::None) => false,
            (Some(_), SharedScope::All) => true,
            (Some(d), SharedScope::One(id)) => d == id,
        }
    }
}

fn list(state: &Shared, query: &[(String, String)], fault: Option<FaultAction>) -> Response {
    let mask = match mask(
        query,
        "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType,resourceKey)",
        fields::FILE_LIST,
    ) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let q = param(query, "q").unwrap_or("");
    let expr = if q.is_empty() {
        None
    } else {
        match query::parse(q) {
            Ok(e) => Some(e),
            Err(e) => return drive_error(400, "invalid", &format!("Invalid Value: {e}"), Some(("parameter", "q"))),
        }
    };
    let page_size = page_size(state, query);
    let offset = match param(query, "pageToken") {
        None => 0,
        Some(_) if matches!(fault, Some(FaultAction::RejectPageToken)) => {
            return drive_error(400, "invalid", "Invalid Value", Some(("parameter", "pageToken")))
        }
        Some(token) => match decode_token(token, q) {
            Some(o) => o,
            None => return drive_error(400, "invalid", "Invalid Value", Some(("parameter", "pageToken"))),
        },
    };
    if matches!(fault, Some(FaultAction::EmptyPageWithToken)) {
        let body = json!({ "kind": "drive#fileList", "incompleteSearch": false, "files": [], "nextPageToken": encode_token(offset, q) });
        return json_response(mask.apply(&body));
    }
    let offset = match fault {
        Some(FaultAction::DuplicateAcrossPages) if offset > 0 => offset - 1,
        _ => offset,
    };
    // Under the OR bug only some of the parents named in `q` have their children returned.
    let named_parents: Vec<&str> = q.split(" in parents").filter_map(|part| part.rsplit('\'').nth(1)).collect();
    let honoured_parents: Option<Vec<&str>> = match fault {
        Some(FaultAction::FastListOrBug { keep_parents }) if named_parents.len() > 1 => {
            Some(named_parents.iter().take(keep_parents).copied().collect())
        }
        _ => None,
    };
    let scope = match shared_drive_scope(query, true) {
        Ok(scope) => scope,
        Err(r) => return *r,
    };
    let s = lock(state);
    let mut matching: Vec<&FileEntry> = s
        .store
        .files
        .values()
        .filter(|f| f.id != ROOT_ID && !f.hidden && scope.admits(f))
        .filter(|f| expr.as_ref().map(|e| query::matches(e, f)).unwrap_or(true))
        .filter(|f| honoured_parents.as_ref().is_none_or(|keep| f.parents.iter().any(|p| keep.contains(&p.as_str()))))
        .collect();
    matching.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    // Drive documents that an `allDrives` search may not search every drive: it says so with
    // `incompleteSearch` and some results are missing.
    let incomplete = s.incomplete_all_drives && param(query, "corpora") == Some("allDrives");
    if incomplete {
        let mut keep = false;
        matching.retain(|_| {
            keep = !keep;
            keep
        });
    }
    let page: Vec<Value> = matching.iter().skip(offset).take(page_size).map(|f| f.to_json(&s.base_url)).collect();
    let mut body = json!({ "kind": "drive#fileList", "incompleteSearch": incomplete, "files": page });
    if offset + page_size < matching.len() {
        body["nextPageToken"] = json!(encode_token(offset + page_size, q));
    }
    json_response(mask.apply(&body))
}

/// `pageSize` as Drive clamps it (1..=1000, default 100), then shortened by the knob.
fn page_size(state: &Shared, query: &[(String, String)]) -> usize {
    let asked: usize = param(query, "pageSize").and_then(|p| p.parse().ok()).unwrap_or(100).clamp(1, 1000);
    lock(state).max_page_size.map_or(asked, |max| asked.min(max.max(1)))
}

fn query_tag(q: &str) -> String {
    use sha1::Digest;
    hex::encode(&sha1::Sha1::digest(q.as_bytes())[..6])
}

fn encode_token(offset: usize, q: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}:{}", query_tag(q)))
}

/// Page tokens are bound to their query: a token from another query is refused.
fn decode_token(token: &str, q: &str) -> Option<usize> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (offset, tag) = text.split_once(':')?;
    (tag == query_tag(q)).then(|| offset.parse().ok())?
}

async fn media(state: &Shared, id: &str, range: Option<&str>, fault: Option<FaultAction>) -> Response {
    let (content, size) = {
        let s = lock(state);
        let Some(f) = visible(&s, id) else {
            return not_found(id);
        };
        if f.is_workspace() || f.mime_type == super::store::FOLDER || f.mime_type == super::store::SHORTCUT {
            return drive_error(
                403,
                "fileNotDownloadable",
                "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
                Some(("parameter", "alt")),
            );
        }
        if !f.can_download {
            return drive_error(403, "cannotDownloadFile", "This file cannot be downloaded by the user.", None);
        }
        (f.content.clone(), f.size)
    };
    let range = if matches!(fault, Some(FaultAction::IgnoreRange)) { None } else { range };
    let (start, end, partial) = match range.and_then(|r| r.strip_prefix("bytes=")) {
        None => (0, size, false),
        Some(spec) => {
            let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
            let start: u64 = a.parse().unwrap_or(0);
            let end: u64 = if b.is_empty() { size } else { b.parse::<u64>().map(|e| e + 1).unwrap_or(size).min(size) };
            if start >= size && size > 0 {
                return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{size}"))])
                    .into_response();
            }
            (start, end, true)
        }
    };
    let len = end.saturating_sub(start);
    let stream: futures::stream::BoxStream<'static, std::io::Result<Bytes>> = match content {
        Content::Memory(bytes) => {
            // Sent in 64 KiB chunks, as a network would deliver it.
            let body = bytes.slice(start as usize..end as usize);
            let chunks: Vec<std::io::Result<Bytes>> = (0..body.len())
                .step_by(64 * 1024)
                .map(|i| Ok(body.slice(i..(i + 64 * 1024).min(body.len()))))
                .collect();
            futures::stream::iter(chunks).boxed()
        }
        Content::Disk { path, .. } => {
            let mut file = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(e) => return drive_error(500, "internalError", &e.to_string(), None),
            };
            if let Err(e) = file.seek(std::io::SeekFrom::Start(start)).await {
                return drive_error(500, "internalError", &e.to_string(), None);
            }
            tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024).boxed()
        }
        Content::None => futures::stream::empty().boxed(),
    };
    let counter = state.clone();
    let mut sent = 0u64;
    let mut corrupted = false;
    let mut dropped = false;
    // A dropped connection sends what it had, pauses so those bytes leave the socket, then
    // breaks off: the client sees a short body, as after a real network drop.
    let truncate_at = match &fault {
        Some(FaultAction::TruncateAfter { bytes }) => Some(*bytes),
        _ => None,
    };
    let throttle = match &fault {
        Some(FaultAction::Throttle { bytes_per_sec }) => Some((*bytes_per_sec).max(1)),
        _ => None,
    };
    let stream = stream
        .flat_map(move |chunk| {
            let mut out: Vec<Option<std::io::Result<Bytes>>> = Vec::new();
            let mut chunk = match chunk {
                Ok(c) if !dropped => c,
                Ok(_) => return futures::stream::iter(out),
                Err(e) => {
                    out.push(Some(Err(e)));
                    return futures::stream::iter(out);
                }
            };
            if let Some(limit) = truncate_at {
                if sent + chunk.len() as u64 > limit {
                    chunk = chunk.slice(0..(limit.saturating_sub(sent)) as usize);
                    dropped = true;
                }
            }
            if matches!(fault, Some(FaultAction::CorruptBody)) && !corrupted && !chunk.is_empty() {
                let mut v = chunk.to_vec();
                v[0] ^= 0xff;
                chunk = Bytes::from(v);
                corrupted = true;
            }
            sent += chunk.len() as u64;
            lock(&counter).bytes_served += chunk.len() as u64;
            out.push(Some(Ok(chunk)));
            if dropped {
                out.push(None);
            }
            futures::stream::iter(out)
        })
        .then(move |item| async move {
            match item {
                Some(Ok(chunk)) => {
                    if let Some(rate) = throttle {
                        tokio::time::sleep(std::time::Duration::from_micros(chunk.len() as u64 * 1_000_000 / rate))
                            .await;
                    }
                    Ok(chunk)
                }
                Some(result) => result,
                None => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault: connection dropped"))
                }
            }
        });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, len.into());
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/octet-stream"));
    if partial {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = format!("bytes {start}-{}/{size}", end.saturating_sub(1)).parse() {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    response
}

fn export(state: &Shared, id: &str, query: &[(String, String)], fault: Option<FaultAction>) -> Response {
    let mut s = lock(state);
    let Some(f) = visible(&s, id) else {
        return not_found(id);
    };
    if !f.is_workspace() {
        return drive_error(403, "fileNotExportable", "Export only supports Docs Editors files.", None);
    }
    let Some(mime) = param(query, "mimeType") else {
        return drive_error(400, "required", "Required parameter: mimeType", Some(("parameter", "mimeType")));
    };
    if !export_formats(&f.mime_type).contains(&mime) {
        return drive_error(
            400,
            "badRequest",
            "The requested conversion is not supported.",
            Some(("parameter", "mimeType")),
        );
    }
    if f.export_too_large {
        return drive_error(403, "exportSizeLimitExceeded", "This file is too large to be exported.", None);
    }
    let mut bytes = f.render_export(mime).to_vec();
    if bytes.len() > EXPORT_LIMIT {
        return drive_error(403, "exportSizeLimitExceeded", "This file is too large to be exported.", None);
    }
    if matches!(fault, Some(FaultAction::CorruptBody)) && !bytes.is_empty() {
        bytes[0] ^= 0xff;
    }
    s.bytes_served += bytes.len() as u64;
    ([(header::CONTENT_TYPE, mime.to_string())], bytes).into_response()
}

/// Test-only control API: the request log, fault injection and Drive mutations.
fn control(state: &Shared, method: &Method, segments: &[&str], body: Bytes) -> Response {
    match (method.as_str(), segments) {
        ("GET", ["requests"]) => json_response(json!(lock(state).requests)),
        ("POST", ["faults"]) => match serde_json::from_slice::<Fault>(&body) {
            Ok(fault) => {
                lock(state).faults.push(fault);
                StatusCode::NO_CONTENT.into_response()
            }
            Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        },
        ("POST", ["files", id, "content"]) => {
            if lock(state).store.set_content(id, body) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                not_found(id)
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
