//! The JSON API calls that only touch metadata: buckets, upload URLs, listings, hide/delete,
//! file info, and starting, cancelling and listing large files.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::encoding::content_type_for;
use super::error::ApiError;
use super::routes::{info_param, required, str_param, u64_param};
use super::store::{
    self, Action, Entry, LargeFile, ListQuery, UploadTarget, Version, DEFAULT_LIST_COUNT, MAX_LIST_COUNT,
};
use super::{lock, Shared, State};

fn check_account(s: &State, params: &Map<String, Value>) -> Result<(), ApiError> {
    match str_param(params, "accountId") {
        Some(id) if id == s.store.account_id => Ok(()),
        Some(_) => Err(ApiError::unauthorized("accountId does not match the authorization token")),
        None => Err(ApiError::bad_request("required field accountId is missing")),
    }
}

pub fn list_buckets(state: &Shared, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let s = lock(state);
    check_account(&s, params)?;
    let id = str_param(params, "bucketId").filter(|v| !v.is_empty());
    let name = str_param(params, "bucketName").filter(|v| !v.is_empty());
    // Every bucket here is allPrivate.
    let type_ok = params
        .get("bucketTypes")
        .and_then(Value::as_array)
        .is_none_or(|types| types.iter().any(|t| matches!(t.as_str(), Some("all" | "allPrivate"))));
    let buckets: Vec<Value> = s
        .store
        .buckets
        .values()
        .filter(|b| type_ok && id.is_none_or(|id| b.id == id) && name.is_none_or(|n| b.name == n))
        .map(|b| b.to_json(&s.store.account_id))
        .collect();
    Ok(json!({ "buckets": buckets }))
}

pub fn create_bucket(state: &Shared, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut s = lock(state);
    check_account(&s, params)?;
    if s.store.restricted {
        return Err(ApiError::unauthorized("This application key is restricted to its buckets"));
    }
    let name = required(params, "bucketName")?;
    let bucket_type = required(params, "bucketType")?;
    if !matches!(bucket_type, "allPrivate" | "allPublic") {
        return Err(ApiError::bad_request(format!("Invalid bucketType: {bucket_type}")));
    }
    if !store::valid_bucket_name(name) {
        return Err(ApiError::bad_request(format!("Invalid bucketName: {name}")));
    }
    if s.store.buckets.contains_key(name) {
        return Err(ApiError::new(400, "duplicate_bucket_name", "Bucket name is already in use."));
    }
    let account_id = s.store.account_id.clone();
    let bucket = s.store.add_bucket(name).map_err(|e| ApiError::internal(format!("creating bucket: {e}")))?;
    Ok(bucket.to_json(&account_id))
}

pub fn delete_bucket(state: &Shared, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut s = lock(state);
    check_account(&s, params)?;
    if s.store.restricted {
        return Err(ApiError::unauthorized("This application key is restricted to its buckets"));
    }
    let name = s.store.bucket_by_id(required(params, "bucketId")?)?.name.clone();
    let in_use = s.store.buckets.get(&name).is_some_and(|b| !b.files.is_empty())
        || s.store.large_files.values().any(|lf| lf.bucket == name);
    if in_use {
        return Err(ApiError::new(400, "cannot_delete_non_empty_bucket", "Cannot delete non-empty bucket"));
    }
    let account_id = s.store.account_id.clone();
    let bucket = s.store.buckets.remove(&name).ok_or_else(|| ApiError::bad_request("Invalid bucketId"))?;
    drop(s);
    let _ = std::fs::remove_dir_all(&bucket.dir);
    Ok(bucket.to_json(&account_id))
}

pub fn get_upload_url(state: &Shared, api: u8, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut s = lock(state);
    let bucket_id = required(params, "bucketId")?;
    let bucket = s.store.bucket_by_id(bucket_id)?.name.clone();
    let base = s.base_url.clone();
    let (url, token) = s.store.new_upload_url(UploadTarget::File { bucket }, &base, api)?;
    Ok(json!({ "bucketId": bucket_id, "uploadUrl": url, "authorizationToken": token }))
}

pub fn list_files(state: &Shared, api: u8, params: &Map<String, Value>, versions: bool) -> Result<Value, ApiError> {
    let s = lock(state);
    let bucket = s.store.bucket_by_id(required(params, "bucketId")?)?;
    let max = match u64_param(params, "maxFileCount")? {
        None | Some(0) => DEFAULT_LIST_COUNT,
        Some(n) if n > MAX_LIST_COUNT as u64 => {
            return Err(ApiError::new(400, "out_of_range", format!("maxFileCount out of range: {n}")));
        }
        Some(n) => n as usize,
    };
    let query = ListQuery {
        start_name: str_param(params, "startFileName").unwrap_or(""),
        start_id: str_param(params, "startFileId").filter(|v| !v.is_empty()),
        prefix: str_param(params, "prefix").unwrap_or(""),
        delimiter: str_param(params, "delimiter").filter(|v| !v.is_empty()),
        max,
        versions,
    };
    let page = bucket.list(&query);
    let account_id = &s.store.account_id;
    let files: Vec<Value> = page
        .entries
        .iter()
        .map(|entry| match entry {
            Entry::File(v) => v.to_json(account_id, &bucket.id, api),
            Entry::Folder(name) => store::folder_json(name, account_id, &bucket.id, api),
        })
        .collect();
    let mut body = json!({ "files": files, "nextFileName": page.next_name });
    if versions {
        body["nextFileId"] = json!(page.next_id);
    }
    Ok(body)
}

pub fn hide_file(state: &Shared, api: u8, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut s = lock(state);
    let bucket_id = required(params, "bucketId")?;
    let name = required(params, "fileName")?;
    store::check_file_name(name)?;
    let bucket = s.store.bucket_by_id(bucket_id)?;
    let latest = bucket.files.get(name).and_then(|vs| vs.iter().find(|v| v.action != Action::Start)).map(|v| v.action);
    match latest {
        None => return Err(ApiError::new(404, "no_such_file", format!("File not present: {name}"))),
        Some(Action::Hide) => return Err(ApiError::new(400, "already_hidden", format!("File already hidden: {name}"))),
        Some(_) => {}
    }
    let bucket_name = bucket.name.clone();
    let file_id = s.store.new_file_id(bucket_id);
    let marker = Version {
        file_id,
        name: name.to_string(),
        action: Action::Hide,
        size: 0,
        sha1: "none".to_string(),
        content_type: "application/x-bz-hide-marker".to_string(),
        info: BTreeMap::new(),
        upload_timestamp: s.store.now_ms(),
    };
    let body = marker.to_json(&s.store.account_id, bucket_id, api);
    s.store.insert(&bucket_name, marker);
    Ok(body)
}

pub fn delete_file_version(state: &Shared, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let file_id = required(params, "fileId")?;
    let name = required(params, "fileName")?;
    let (bytes, parts_dir) = {
        let mut s = lock(state);
        if s.store.find(file_id).map(|(_, v)| v.name.as_str()) != Some(name) {
            return Err(ApiError::new(400, "file_not_present", format!("File not present: {name} {file_id}")));
        }
        // Deleting an unfinished large file's version cancels it (rclone's cleanup does this).
        let parts_dir = s.store.large_files.remove(file_id).map(|_| s.store.parts_dir(file_id));
        let (bytes, _) = s
            .store
            .remove(file_id)
            .ok_or_else(|| ApiError::new(400, "file_not_present", format!("File not present: {name}")))?;
        (bytes, parts_dir)
    };
    let _ = std::fs::remove_file(bytes);
    if let Some(dir) = parts_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(json!({ "fileId": file_id, "fileName": name }))
}

pub fn get_file_info(state: &Shared, api: u8, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let s = lock(state);
    let file_id = required(params, "fileId")?;
    let (bucket, version) =
        s.store.find(file_id).ok_or_else(|| ApiError::not_found(format!("File not present: {file_id}")))?;
    Ok(version.to_json(&s.store.account_id, &bucket.id, api))
}

pub fn start_large_file(state: &Shared, api: u8, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut s = lock(state);
    let bucket_id = required(params, "bucketId")?;
    let name = required(params, "fileName")?;
    store::check_file_name(name)?;
    let content_type = content_type_for(required(params, "contentType")?, name);
    let info = info_param(params, "fileInfo")?;
    let bucket = s.store.bucket_by_id(bucket_id)?.name.clone();
    let file_id = s.store.new_file_id(bucket_id);
    let started = Version {
        file_id: file_id.clone(),
        name: name.to_string(),
        action: Action::Start,
        size: 0,
        sha1: "none".to_string(),
        content_type,
        info,
        upload_timestamp: s.store.now_ms(),
    };
    let body = started.to_json(&s.store.account_id, bucket_id, api);
    s.store.large_files.insert(file_id, LargeFile { bucket: bucket.clone(), parts: BTreeMap::new() });
    s.store.insert(&bucket, started);
    Ok(body)
}

pub fn get_upload_part_url(state: &Shared, api: u8, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut s = lock(state);
    let file_id = required(params, "fileId")?;
    if !s.store.large_files.contains_key(file_id) {
        return Err(ApiError::bad_request(format!("No active upload for: {file_id}")));
    }
    let base = s.base_url.clone();
    let (url, token) = s.store.new_upload_url(UploadTarget::Part { file_id: file_id.to_string() }, &base, api)?;
    Ok(json!({ "fileId": file_id, "uploadUrl": url, "authorizationToken": token }))
}

pub fn cancel_large_file(state: &Shared, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let file_id = required(params, "fileId")?;
    let (body, parts_dir) = {
        let mut s = lock(state);
        if s.store.large_files.remove(file_id).is_none() {
            return Err(ApiError::bad_request(format!("No active upload for: {file_id}")));
        }
        let bucket_id = s.store.find(file_id).map(|(b, _)| b.id.clone()).unwrap_or_default();
        let name = s.store.remove(file_id).map(|(_, v)| v.name).unwrap_or_default();
        let body = json!({
            "fileId": file_id,
            "accountId": s.store.account_id,
            "bucketId": bucket_id,
            "fileName": name,
        });
        (body, s.store.parts_dir(file_id))
    };
    let _ = std::fs::remove_dir_all(parts_dir);
    Ok(body)
}

pub fn list_unfinished_large_files(state: &Shared, api: u8, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let s = lock(state);
    let bucket = s.store.bucket_by_id(required(params, "bucketId")?)?;
    let prefix = str_param(params, "namePrefix").unwrap_or("");
    let max = u64_param(params, "maxFileCount")?.filter(|n| *n > 0).unwrap_or(100).min(100) as usize;
    let mut started: Vec<&Version> =
        bucket.files.values().flatten().filter(|v| v.action == Action::Start && v.name.starts_with(prefix)).collect();
    started.sort_by(|a, b| (&a.name, a.upload_timestamp).cmp(&(&b.name, b.upload_timestamp)));
    let begin =
        str_param(params, "startFileId").and_then(|id| started.iter().position(|v| v.file_id == id)).unwrap_or(0);
    let page = &started[begin..];
    let files: Vec<Value> = page.iter().take(max).map(|v| v.to_json(&s.store.account_id, &bucket.id, api)).collect();
    let next = page.get(max).map(|v| v.file_id.clone());
    Ok(json!({ "files": files, "nextFileId": next }))
}
