//! HTTP handling: one dispatcher that maps B2's paths to operations, checks tokens, applies
//! faults and logs every request; plus request-parameter helpers and `b2_authorize_account`.
//! The operations themselves live in `calls` (metadata only), `upload`, `download` and `assemble`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};

use super::assemble;
use super::calls;
use super::download::{self, DownloadTarget};
use super::encoding::percent_decode;
use super::error::ApiError;
use super::store::{TokenKind, ABSOLUTE_MINIMUM_PART_SIZE, MAX_FILE_INFO, RECOMMENDED_PART_SIZE};
use super::upload;
use super::{lock, FaultAction, RequestRecord, Shared, State};

/// JSON API bodies are small; anything bigger is a client bug.
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;

pub fn router(state: Shared) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

/// What a handler answered, and which file name it was about (for the request log).
pub type Handled = (Response, Option<String>);

enum Route {
    Authorize { api: u8 },
    Api { api: u8, op: String },
    UploadFile { api: u8, key: String },
    UploadPart { api: u8, key: String },
    Download(DownloadTarget),
    Unknown,
}

impl Route {
    fn name(&self) -> &str {
        match self {
            Route::Authorize { .. } => "b2_authorize_account",
            Route::Api { op, .. } => op.as_str(),
            Route::UploadFile { .. } => "b2_upload_file",
            Route::UploadPart { .. } => "b2_upload_part",
            Route::Download(_) => "download",
            Route::Unknown => "unknown",
        }
    }
}

/// "v1" to "v4": the API versions B2 serves.
fn api_version(segment: &str) -> Option<u8> {
    segment.strip_prefix('v').and_then(|n| n.parse::<u8>().ok()).filter(|n| (1..=4).contains(n))
}

fn parse_route(path: &str) -> Route {
    if let Some(rest) = path.strip_prefix("/file/") {
        // /file/<bucket>/<percent-encoded name>; the name keeps its slashes.
        let Some((bucket, name)) = rest.split_once('/') else {
            return Route::Unknown;
        };
        return match (percent_decode(bucket, false), percent_decode(name, false)) {
            (Some(bucket), Some(name)) => Route::Download(DownloadTarget::ByName { bucket, name }),
            _ => Route::Unknown,
        };
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["b2api", v, op] => match api_version(v) {
            Some(api) if *op == "b2_authorize_account" => Route::Authorize { api },
            Some(_) if *op == "b2_download_file_by_id" => Route::Download(DownloadTarget::ById),
            Some(api) if op.starts_with("b2_") => Route::Api { api, op: op.to_string() },
            _ => Route::Unknown,
        },
        ["b2api", v, "b2_upload_file", _bucket_id, key] => match api_version(v) {
            Some(api) => Route::UploadFile { api, key: key.to_string() },
            None => Route::Unknown,
        },
        ["b2api", v, "b2_upload_part", _file_id, key] => match api_version(v) {
            Some(api) => Route::UploadPart { api, key: key.to_string() },
            None => Route::Unknown,
        },
        _ => Route::Unknown,
    }
}

async fn dispatch(
    AxumState(state): AxumState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let range = header_value(&headers, "range").map(str::to_string);
    let route = parse_route(&path);
    let route_name = route.name().to_string();
    let (response, file_name) = match route {
        Route::Authorize { api } => match authorize(&state, api, &headers) {
            Ok(body) => (json_response(&body), None),
            Err(e) => (e.into_response(), None),
        },
        Route::Api { api, op } => api_call(&state, api, &op, &query, &headers, body).await,
        Route::UploadFile { api, key } => upload::upload_file(&state, api, &key, &headers, body).await,
        Route::UploadPart { api, key } => upload::upload_part(&state, api, &key, &headers, body).await,
        Route::Download(target) => download::download(&state, &method, target, &query, &headers).await,
        Route::Unknown => (ApiError::not_found(format!("Unknown path: {path}")).into_response(), None),
    };
    lock(&state).requests.push(RequestRecord {
        method: method.to_string(),
        route: route_name,
        file_name,
        status: response.status().as_u16(),
        path,
        range,
    });
    response
}

pub fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn json_response(value: &Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json;charset=utf-8")], value.to_string()).into_response()
}

pub fn fault_error(action: &FaultAction) -> ApiError {
    match action {
        FaultAction::ExpiredToken => ApiError::expired_auth_token(),
        FaultAction::ServiceUnavailable => ApiError::service_unavailable(),
        FaultAction::Sha1Mismatch => ApiError::sha1_mismatch(),
        FaultAction::CapExceeded => ApiError::new(403, "cap_exceeded", "Cannot upload files, storage cap exceeded."),
    }
}

/// Checks the account token and takes any fault for `route`: what every API call does first.
pub fn admit(state: &mut State, token: Option<&str>, kind: TokenKind, route: &str) -> Result<(), ApiError> {
    state.store.check_token(token, kind)?;
    match state.take_fault(route) {
        Some(action) => Err(fault_error(&action)),
        None => Ok(()),
    }
}

// ---- request parameters -------------------------------------------------------------------

/// B2 takes its parameters as a JSON body (POST) or in the query string (GET).
async fn read_params(query: &str, body: Body) -> Result<Map<String, Value>, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_JSON_BODY)
        .await
        .map_err(|e| ApiError::bad_request(format!("Could not read request body: {e}")))?;
    let mut params = Map::new();
    if !query.is_empty() {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|e| ApiError::bad_request(format!("Bad query string: {e}")))?;
        for (key, value) in pairs {
            params.insert(key, Value::String(value));
        }
    }
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => params.extend(map),
            Ok(_) => return Err(ApiError::bad_request("Request body must be a JSON object")),
            Err(e) => return Err(ApiError::bad_request(format!("Invalid JSON in request body: {e}"))),
        }
    }
    Ok(params)
}

pub fn str_param<'a>(params: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    params.get(key).and_then(Value::as_str)
}

pub fn required<'a>(params: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    str_param(params, key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("required field {key} is missing")))
}

/// A number, given as a JSON number or (in a query string) as text.
pub fn u64_param(params: &Map<String, Value>, key: &str) -> Result<Option<u64>, ApiError> {
    let invalid = || ApiError::bad_request(format!("Invalid value for {key}"));
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(invalid),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

/// A `fileInfo` object: string values only, at most [`MAX_FILE_INFO`] of them.
pub fn info_param(params: &Map<String, Value>, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let object = match params.get(key) {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(ApiError::bad_request(format!("{key} must be a JSON object"))),
    };
    if object.len() > MAX_FILE_INFO {
        return Err(ApiError::bad_request(format!("Too many file info entries (at most {MAX_FILE_INFO})")));
    }
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_string())),
            None => Err(ApiError::bad_request(format!("File info value of {k} must be a string"))),
        })
        .collect()
}

// ---- b2_authorize_account -----------------------------------------------------------------

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let encoded = header_value(headers, "authorization")?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (key_id, key) = text.split_once(':')?;
    Some((key_id.to_string(), key.to_string()))
}

/// v1/v2 answer flat; v3 nests the storage API under `apiInfo.storageApi`; v4 (what rclone
/// asks for) restricts a key to a list of buckets instead of one. A key restricted to several
/// buckets cannot use v1 to v3, as on B2.
fn authorize(state: &Shared, api: u8, headers: &HeaderMap) -> Result<Value, ApiError> {
    let mut s = lock(state);
    let valid = basic_credentials(headers).is_some_and(|(id, key)| id == s.store.key_id && key == s.store.app_key);
    if !valid {
        return Err(ApiError::unauthorized("Invalid application key ID or application key"));
    }
    if let Some(action) = s.take_fault("b2_authorize_account") {
        return Err(fault_error(&action));
    }
    let buckets: Vec<(String, String)> = if s.store.restricted {
        s.store.buckets.values().map(|b| (b.id.clone(), b.name.clone())).collect()
    } else {
        Vec::new()
    };
    if api < 4 && buckets.len() > 1 {
        return Err(ApiError::bad_request("This application key is restricted to several buckets: use b2api v4"));
    }
    let mut capabilities = vec![
        "deleteFiles",
        "listBuckets",
        "listFiles",
        "readBucketEncryption",
        "readBuckets",
        "readFiles",
        "shareFiles",
        "writeBucketEncryption",
        "writeFiles",
    ];
    if !s.store.restricted {
        capabilities.extend(["deleteBuckets", "deleteKeys", "listKeys", "writeBuckets", "writeKeys"]);
    }
    let token = s.store.issue_token(TokenKind::Account);
    let base = s.base_url.clone();
    let account_id = s.store.account_id.clone();
    let single = buckets.first();
    let allowed = if api >= 4 {
        let list: Option<Vec<Value>> =
            s.store.restricted.then(|| buckets.iter().map(|(id, name)| json!({ "id": id, "name": name })).collect());
        json!({ "buckets": list, "capabilities": capabilities, "namePrefix": null })
    } else {
        json!({
            "bucketId": single.map(|(id, _)| id),
            "bucketName": single.map(|(_, name)| name),
            "capabilities": capabilities,
            "namePrefix": null,
        })
    };
    if api >= 3 {
        return Ok(json!({
            "accountId": account_id,
            "apiInfo": { "storageApi": {
                "absoluteMinimumPartSize": ABSOLUTE_MINIMUM_PART_SIZE,
                "allowed": allowed,
                "apiUrl": base,
                "downloadUrl": base,
                "infoType": "storageApi",
                "recommendedPartSize": RECOMMENDED_PART_SIZE,
                "s3ApiUrl": base,
            }},
            "applicationKeyExpirationTimestamp": null,
            "authorizationToken": token,
        }));
    }
    let mut flat = json!({
        "absoluteMinimumPartSize": ABSOLUTE_MINIMUM_PART_SIZE,
        "accountId": account_id,
        "allowed": allowed,
        "apiUrl": base,
        "authorizationToken": token,
        "downloadUrl": base,
        "recommendedPartSize": RECOMMENDED_PART_SIZE,
        "s3ApiUrl": base,
    });
    if api == 1 {
        flat["minimumPartSize"] = json!(RECOMMENDED_PART_SIZE);
    }
    Ok(flat)
}

// ---- JSON API calls -----------------------------------------------------------------------

async fn api_call(state: &Shared, api: u8, op: &str, query: &str, headers: &HeaderMap, body: Body) -> Handled {
    let params = match read_params(query, body).await {
        Ok(p) => p,
        Err(e) => return (e.into_response(), None),
    };
    let file_name = name_in_request(state, &params);
    let admitted = admit(&mut lock(state), header_value(headers, "authorization"), TokenKind::Account, op);
    if let Err(e) = admitted {
        return (e.into_response(), file_name);
    }
    let result = match op {
        "b2_list_buckets" => calls::list_buckets(state, &params),
        "b2_create_bucket" => calls::create_bucket(state, &params),
        "b2_delete_bucket" => calls::delete_bucket(state, &params),
        "b2_get_upload_url" => calls::get_upload_url(state, api, &params),
        "b2_list_file_names" => calls::list_files(state, api, &params, false),
        "b2_list_file_versions" => calls::list_files(state, api, &params, true),
        "b2_hide_file" => calls::hide_file(state, api, &params),
        "b2_delete_file_version" => calls::delete_file_version(state, &params),
        "b2_get_file_info" => calls::get_file_info(state, api, &params),
        "b2_start_large_file" => calls::start_large_file(state, api, &params),
        "b2_get_upload_part_url" => calls::get_upload_part_url(state, api, &params),
        "b2_finish_large_file" => assemble::finish_large_file(state, api, &params).await,
        "b2_cancel_large_file" => calls::cancel_large_file(state, &params),
        "b2_list_unfinished_large_files" => calls::list_unfinished_large_files(state, api, &params),
        "b2_copy_file" => assemble::copy_file(state, api, &params).await,
        "b2_copy_part" => assemble::copy_part(state, &params).await,
        _ => Err(ApiError::not_found(format!("The fake B2 does not implement {op}"))),
    };
    match result {
        Ok(value) => {
            let file_name = file_name.or_else(|| value.get("fileName").and_then(Value::as_str).map(str::to_string));
            (json_response(&value), file_name)
        }
        Err(e) => (e.into_response(), file_name),
    }
}

/// The file a call is about: its `fileName`, or the name behind its `fileId`/`largeFileId`.
fn name_in_request(state: &Shared, params: &Map<String, Value>) -> Option<String> {
    if let Some(name) = str_param(params, "fileName") {
        return Some(name.to_string());
    }
    let id = str_param(params, "fileId").or_else(|| str_param(params, "largeFileId"))?;
    lock(state).store.file_index.get(id).map(|(_, name)| name.clone())
}
