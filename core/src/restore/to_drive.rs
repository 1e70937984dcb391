//! Restore into Google Drive: the files are first restored and checked on disk (the same path
//! as a restore to a folder), then uploaded into a new folder in My Drive, keeping the tree.
//! Nothing already in Drive is touched: everything goes into the restore's own folder, made by
//! this restore (its ID is remembered, so a re-run continues in it). A file already there with
//! the same md5 is not uploaded again; each upload is checked by the md5 Drive reports.
//! With conversion asked for, an exported Google file is uploaded as its Workspace type under
//! its Drive name and Drive imports it; Drive keeps no md5 of a converted file, so what is
//! checked then is that Drive made a file of that type.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::db::Database;
use crate::drive::{DriveClient, DriveError};

use super::{Failure, GoogleFile, RestoreError, STAGING};

/// What the upload into Drive did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DriveRestoreReport {
    pub folder_name: String,
    pub folder_id: String,
    /// Paths (under the folder) uploaded by this run.
    pub uploaded: Vec<String>,
    /// Of those, the exports Drive converted back into Google files.
    pub converted: Vec<String>,
    /// Already in the folder with the same bytes (an earlier, interrupted run).
    pub already_in_drive: u64,
    pub failures: Vec<Failure>,
    /// Why the run stopped before the end (Drive's upload or storage limit), if it did.
    pub stopped: Option<String>,
}

/// Drive's answers that mean "no more uploads for now": the run stops, a re-run continues.
fn is_upload_limit(e: &DriveError) -> bool {
    matches!(e, DriveError::Api { status: 403 | 429, reason, .. }
        if matches!(reason.as_str(), "storageQuotaExceeded" | "uploadLimitExceeded" | "userRateLimitExceeded"
            | "activeItemCreationLimitExceeded" | "teamDriveFileLimitExceeded" | "quotaExceeded"))
}

fn drive_error(e: DriveError) -> RestoreError {
    match e {
        DriveError::ScopeMissing => RestoreError::DriveWrite,
        other => RestoreError::Drive(other),
    }
}

/// Every file under `root` (the staging folder aside), by path relative to it, sorted.
fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.parent() == Some(root) && entry.file_name() == STAGING {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => {
                    if let Ok(rel) = path.strip_prefix(root) {
                        out.push(rel.to_string_lossy().into_owned());
                    }
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

fn md5_of(path: &Path) -> std::io::Result<String> {
    use md5::{Digest, Md5};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(md5.finalize()));
        }
        md5.update(&buf[..n]);
    }
}

/// The restore's own folder in My Drive: the one this restore made before, else a new one.
async fn restore_folder(drive: &DriveClient, db: &Database, name: &str) -> Result<String, RestoreError> {
    let key = format!("drive_restore_folder:{name}");
    if let Some(id) = db.get_state(&key).await? {
        match drive.get_file(&id).await {
            Ok(f) if f.is_folder() && !f.trashed => return Ok(id),
            Ok(_) | Err(DriveError::NotFound(_)) => {}
            Err(e) => return Err(drive_error(e)),
        }
    }
    let root = drive.root_id().await.map_err(drive_error)?;
    let folder = drive.create_folder(&root, name).await.map_err(drive_error)?;
    db.set_state(&key, &folder.id).await?;
    Ok(folder.id)
}

/// What became of one file.
enum Uploaded {
    AlreadyThere,
    /// Uploaded; Drive holds the bytes sent.
    Same,
    /// Uploaded and converted by Drive into a Google file.
    Converted,
    /// Uploaded, but Drive reports another md5.
    Differs(String),
}

/// Uploads everything under `local` into the restore folder `name`; the exports named in
/// `convert` go back as Google files.
pub async fn upload_tree(
    drive: &DriveClient,
    db: &Database,
    local: &Path,
    name: &str,
    convert: Option<&BTreeMap<String, GoogleFile>>,
) -> Result<DriveRestoreReport, RestoreError> {
    let folder_id = restore_folder(drive, db, name).await?;
    let mut report =
        DriveRestoreReport { folder_name: name.to_string(), folder_id: folder_id.clone(), ..Default::default() };
    let mut folders: HashMap<String, String> = HashMap::from([(String::new(), folder_id)]);
    for rel in files_under(local) {
        let path: PathBuf = local.join(&rel);
        let (dir, file_name) = rel.rsplit_once('/').unwrap_or(("", rel.as_str()));
        let fail = |reason: String| Failure { drive_path: rel.clone(), reason };
        let google = convert.and_then(|c| c.get(&rel));
        let outcome = async {
            let parent = folder_for(drive, &mut folders, dir).await?;
            match google {
                Some(google) => upload_converted(drive, &parent, &path, google).await,
                None => upload_same(drive, &parent, file_name, &path).await,
            }
        }
        .await;
        match outcome {
            Ok(Uploaded::AlreadyThere) => report.already_in_drive += 1,
            Ok(Uploaded::Same) => report.uploaded.push(rel),
            Ok(Uploaded::Converted) => {
                report.converted.push(rel.clone());
                report.uploaded.push(rel);
            }
            Ok(Uploaded::Differs(reason)) => report.failures.push(fail(reason)),
            Err(e) if is_upload_limit(&e) => {
                report.stopped = Some(format!(
                    "Google Drive refused more uploads for now ({e}); {} files are in `{name}`; run the same command again later to continue",
                    report.uploaded.len() as u64 + report.already_in_drive
                ));
                break;
            }
            Err(DriveError::ScopeMissing) => return Err(RestoreError::DriveWrite),
            Err(e) => report.failures.push(fail(e.to_string())),
        }
    }
    Ok(report)
}

/// Uploads the file as it is, unless the folder already has one with the same md5.
async fn upload_same(drive: &DriveClient, parent: &str, name: &str, path: &Path) -> Result<Uploaded, DriveError> {
    let md5 = md5_of(path).map_err(|e| DriveError::Staging { path: path.display().to_string(), source: e })?;
    let present = drive.find_child_files(parent, name).await?;
    if present.iter().any(|f| f.md5_checksum.as_deref() == Some(md5.as_str())) {
        return Ok(Uploaded::AlreadyThere);
    }
    let created = drive.upload_file(parent, name, path, None).await?;
    Ok(match created.md5_checksum {
        Some(got) if got == md5 => Uploaded::Same,
        got => Uploaded::Differs(format!(
            "Drive holds other bytes than were sent (md5 {}); run the restore again",
            got.unwrap_or_default()
        )),
    })
}

/// Uploads an export for Drive to convert into the Google file it came from, under that
/// file's name, unless the folder already has a Google file of that name and type.
async fn upload_converted(
    drive: &DriveClient,
    parent: &str,
    path: &Path,
    google: &GoogleFile,
) -> Result<Uploaded, DriveError> {
    let present = drive.find_child_files(parent, &google.drive_name).await?;
    if present.iter().any(|f| f.mime_type == google.mime_type) {
        return Ok(Uploaded::AlreadyThere);
    }
    let created = drive.upload_file(parent, &google.drive_name, path, Some(&google.mime_type)).await?;
    Ok(match created.mime_type == google.mime_type {
        true => Uploaded::Converted,
        false => {
            Uploaded::Differs(format!("Drive did not convert it into a Google file (it made {})", created.mime_type))
        }
    })
}

/// The Drive folder for `dir` (a path under the restore folder), made where missing.
async fn folder_for(
    drive: &DriveClient,
    folders: &mut HashMap<String, String>,
    dir: &str,
) -> Result<String, DriveError> {
    if let Some(id) = folders.get(dir) {
        return Ok(id.clone());
    }
    let mut current = String::new();
    let mut parent = folders.get("").cloned().unwrap_or_default();
    for part in dir.split('/') {
        current = if current.is_empty() { part.to_string() } else { format!("{current}/{part}") };
        if let Some(id) = folders.get(&current) {
            parent = id.clone();
            continue;
        }
        let existing = drive.find_child_folders(&parent, part).await?;
        let id = match existing.first() {
            Some(f) => f.id.clone(),
            None => drive.create_folder(&parent, part).await?.id,
        };
        folders.insert(current.clone(), id.clone());
        parent = id;
    }
    Ok(parent)
}
