//! Bytes the server assembles itself: finishing a large file from its parts, and
//! `b2_copy_file` / `b2_copy_part`.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::encoding::content_type_for;
use super::error::ApiError;
use super::routes::{info_param, required, str_param, u64_param};
use super::store::{self, Action, LargeFile, Version, ABSOLUTE_MINIMUM_PART_SIZE, MAX_PART_NUMBER, MAX_PART_SIZE};
use super::upload::{commit_part, commit_upload, Sha1Claim, UploadHead};
use super::{lock, Shared, State};

// ---- b2_finish_large_file -----------------------------------------------------------------

/// B2's rules for finishing: at least two parts, numbered 1..n with nothing missing or extra,
/// SHA1s matching `partSha1Array`, and every part but the last at least the minimum size.
fn check_parts(large: &LargeFile, claimed: &[String]) -> Result<(), ApiError> {
    let count = claimed.len();
    if count < 2 {
        return Err(ApiError::bad_request("Large files must have at least 2 parts"));
    }
    for (index, sha1) in claimed.iter().enumerate() {
        let number = index as u32 + 1;
        let part =
            large.parts.get(&number).ok_or_else(|| ApiError::bad_request(format!("Part {number} was not uploaded")))?;
        if part.sha1 != *sha1 {
            return Err(ApiError::bad_request(format!("Part {number} SHA1 does not match partSha1Array")));
        }
        if (number as usize) < count && part.size < ABSOLUTE_MINIMUM_PART_SIZE {
            return Err(ApiError::bad_request(format!(
                "Part {number} is smaller than the minimum part size of {ABSOLUTE_MINIMUM_PART_SIZE} bytes"
            )));
        }
    }
    if large.parts.len() != count {
        return Err(ApiError::bad_request("partSha1Array does not list every uploaded part"));
    }
    Ok(())
}

pub async fn finish_large_file(state: &Shared, api: u8, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let file_id = required(params, "fileId")?;
    let claimed: Vec<String> = match params.get("partSha1Array") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                let sha1 = v.as_str().map(str::to_ascii_lowercase);
                sha1.ok_or_else(|| ApiError::bad_request("partSha1Array must hold strings"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(ApiError::bad_request("required field partSha1Array is missing")),
    };
    // Taken out of the store while its parts are assembled, so no second finish can race it.
    let (large, temp) = {
        let mut s = lock(state);
        let large = s
            .store
            .large_files
            .get(file_id)
            .ok_or_else(|| ApiError::bad_request(format!("No active upload for: {file_id}")))?;
        check_parts(large, &claimed)?;
        let large = s.store.large_files.remove(file_id).ok_or_else(|| ApiError::internal("large file vanished"))?;
        (large, s.store.incoming_path())
    };
    let total = match concat_parts(&large, &temp).await {
        Ok(total) => total,
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            lock(state).store.large_files.insert(file_id.to_string(), large);
            return Err(e);
        }
    };
    let committed = commit_large_file(&mut lock(state), api, file_id, total, &temp);
    if committed.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    let parts_dir = lock(state).store.parts_dir(file_id);
    let _ = tokio::fs::remove_dir_all(parts_dir).await;
    committed
}

async fn concat_parts(large: &LargeFile, dest: &Path) -> Result<u64, ApiError> {
    let io = |e: std::io::Error| ApiError::internal(format!("Assembling the large file failed: {e}"));
    let mut out = tokio::fs::File::create(dest).await.map_err(io)?;
    let mut total = 0;
    // Parts are keyed by number, so this is their order in the file.
    for part in large.parts.values() {
        let mut input = tokio::fs::File::open(&part.path).await.map_err(io)?;
        total += tokio::io::copy(&mut input, &mut out).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    Ok(total)
}

/// The "start" version becomes an upload: its SHA1 is "none" (B2 keeps no whole-file SHA1 for
/// large files; clients put one in the `large_file_sha1` file info).
fn commit_large_file(s: &mut State, api: u8, file_id: &str, size: u64, temp: &Path) -> Result<Value, ApiError> {
    let (bucket, bucket_id, dest, started) = match s.store.find(file_id) {
        Some((b, v)) => (b.name.clone(), b.id.clone(), b.path_of(file_id), v.clone()),
        None => return Err(ApiError::bad_request(format!("No active upload for: {file_id}"))),
    };
    std::fs::rename(temp, &dest).map_err(|e| ApiError::internal(format!("Storing the large file failed: {e}")))?;
    let finished = Version { action: Action::Upload, size, sha1: "none".to_string(), ..started };
    let body = finished.to_json(&s.store.account_id, &bucket_id, api);
    s.store.replace(&bucket, finished);
    s.store.large_files_finished += 1;
    Ok(body)
}

// ---- b2_copy_file / b2_copy_part ----------------------------------------------------------

/// A copy `range` ("bytes=a-b", inclusive) as (start, length); the whole file when absent.
fn copy_range_of(spec: Option<&str>, size: u64) -> Result<(u64, u64), ApiError> {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return Ok((0, size));
    };
    let invalid = || ApiError::bad_request(format!("Invalid range: {spec}"));
    let (first, last) = spec.strip_prefix("bytes=").and_then(|r| r.split_once('-')).ok_or_else(invalid)?;
    let first: u64 = first.parse().map_err(|_| invalid())?;
    let last: u64 = last.parse().map_err(|_| invalid())?;
    if first > last || last >= size {
        return Err(invalid());
    }
    Ok((first, last - first + 1))
}

/// The source of a copy: an uploaded (not hidden-marker, not unfinished) version.
fn copy_source(s: &State, source_id: &str) -> Result<(Version, PathBuf, String), ApiError> {
    match s.store.find(source_id) {
        Some((bucket, v)) if v.action == Action::Upload => {
            Ok((v.clone(), bucket.path_of(source_id), bucket.name.clone()))
        }
        _ => Err(ApiError::bad_request(format!("Invalid sourceFileId: {source_id}"))),
    }
}

/// Copies `len` bytes from `start` of `src` into `dest`, returning their SHA1.
async fn copy_bytes(src: &Path, dest: &Path, start: u64, len: u64) -> Result<String, ApiError> {
    let result = copy_bytes_into(src, dest, start, len).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(dest).await;
    }
    result
}

async fn copy_bytes_into(src: &Path, dest: &Path, start: u64, len: u64) -> Result<String, ApiError> {
    let io = |e: std::io::Error| ApiError::internal(format!("Copying failed: {e}"));
    let mut input = tokio::fs::File::open(src).await.map_err(io)?;
    input.seek(SeekFrom::Start(start)).await.map_err(io)?;
    let mut input = input.take(len);
    let mut out = tokio::fs::File::create(dest).await.map_err(io)?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    loop {
        let n = input.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).await.map_err(io)?;
        copied += n as u64;
    }
    out.flush().await.map_err(io)?;
    if copied != len {
        return Err(ApiError::internal("The source file is shorter than recorded"));
    }
    Ok(hex::encode(hasher.finalize()))
}

pub async fn copy_file(state: &Shared, api: u8, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let source_id = required(params, "sourceFileId")?;
    let name = required(params, "fileName")?;
    store::check_file_name(name)?;
    let given = |key: &str| params.get(key).is_some_and(|v| !v.is_null());
    let (source, src_path, dest_bucket, start, len, content_type, info, temp) = {
        let mut s = lock(state);
        let (source, src_path, source_bucket) = copy_source(&s, source_id)?;
        let dest_bucket = match str_param(params, "destinationBucketId").filter(|v| !v.is_empty()) {
            Some(id) => s.store.bucket_by_id(id)?.name.clone(),
            None => source_bucket,
        };
        let (content_type, info) = match str_param(params, "metadataDirective").unwrap_or("COPY") {
            "COPY" if given("contentType") || given("fileInfo") => {
                return Err(ApiError::bad_request("contentType and fileInfo need metadataDirective REPLACE"));
            }
            "COPY" => (source.content_type.clone(), source.info.clone()),
            "REPLACE" => (content_type_for(required(params, "contentType")?, name), info_param(params, "fileInfo")?),
            other => return Err(ApiError::bad_request(format!("Invalid metadataDirective: {other}"))),
        };
        let (start, len) = copy_range_of(str_param(params, "range"), source.size)?;
        (source, src_path, dest_bucket, start, len, content_type, info, s.store.incoming_path())
    };
    let computed = copy_bytes(&src_path, &temp, start, len).await?;
    // A whole copy keeps the source's SHA1 ("none" for a large file); a range gets its own.
    let whole = start == 0 && len == source.size;
    let sha1 = if whole { source.sha1.clone() } else { computed };
    let head = UploadHead {
        bucket: dest_bucket,
        name: name.to_string(),
        content_type,
        length: len,
        claim: Sha1Claim::DoNotVerify,
        info,
    };
    let committed = commit_upload(state, api, head, len, sha1, &temp);
    if committed.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    committed
}

pub async fn copy_part(state: &Shared, params: &Map<String, Value>) -> Result<Value, ApiError> {
    let source_id = required(params, "sourceFileId")?;
    let large_id = required(params, "largeFileId")?;
    let number = u64_param(params, "partNumber")?
        .filter(|n| (1..=u64::from(MAX_PART_NUMBER)).contains(n))
        .ok_or_else(|| ApiError::bad_request(format!("partNumber must be 1 to {MAX_PART_NUMBER}")))?
        as u32;
    let (src_path, start, len, temp) = {
        let mut s = lock(state);
        let (source, src_path, _) = copy_source(&s, source_id)?;
        if !s.store.large_files.contains_key(large_id) {
            return Err(ApiError::bad_request(format!("No active upload for: {large_id}")));
        }
        let (start, len) = copy_range_of(str_param(params, "range"), source.size)?;
        if len > MAX_PART_SIZE {
            return Err(ApiError::bad_request(format!("Parts may be at most {MAX_PART_SIZE} bytes")));
        }
        (src_path, start, len, s.store.incoming_path())
    };
    let sha1 = copy_bytes(&src_path, &temp, start, len).await?;
    let committed = commit_part(state, large_id, number, len, sha1, &temp);
    if committed.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    committed
}
