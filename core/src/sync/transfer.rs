//! The transfer pipeline: download each planned file once into staging (md5 verified), fan
//! it out to its destinations in batches, verify every object at its destination, and record
//! each file's results in one transaction.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::AuthError;
use crate::config::SyncConfig;
use crate::db::{Database, PairUpdate, SyncStatus};
use crate::drive::{Downloaded, DriveClient, DriveError};
use crate::rclone::RcloneError;
use crate::storage::providers::HashKind;
use crate::storage::{StorageError, StorageManager};

use super::plan::PlannedFile;
use super::progress::ProgressReporter;
use super::SyncError;

/// Batches are cut at this many staged bytes, so staging never holds much more.
const BATCH_BYTES: u64 = 512 * 1024 * 1024;

pub struct Transfer<'a> {
    pub db: &'a Database,
    pub storage: &'a StorageManager,
    pub drive: DriveClient,
    pub staging: PathBuf,
    pub sync: &'a SyncConfig,
    pub progress: &'a ProgressReporter,
    pub cancel: CancellationToken,
    pub run_id: i64,
    /// Destinations that failed the preflight check, with why.
    pub unreachable: HashMap<String, String>,
    /// A sample of distinct errors met (what was copied is counted by `progress`).
    pub errors: Mutex<Vec<String>>,
}

struct Staged {
    file: PlannedFile,
    result: Result<Downloaded, FetchError>,
}

enum FetchError {
    /// This file could not be fetched; the others can.
    File(String),
    /// Nothing more can be fetched (the Google sign-in is gone): the run stops.
    Fatal(DriveError),
}

impl DriveError {
    /// Errors after which no other Drive request can succeed either.
    fn ends_the_run(&self) -> bool {
        matches!(self, DriveError::Unauthorized | DriveError::Auth(AuthError::SignInAgain | AuthError::NotConfigured))
    }
}

impl Transfer<'_> {
    pub async fn run(&self, files: Vec<PlannedFile>) -> Result<(), SyncError> {
        tokio::fs::create_dir_all(&self.staging).await.map_err(|e| SyncError::Staging(e.to_string()))?;

        // Files whose every destination is unreachable are recorded now, without a download.
        let (fetch, skip): (Vec<_>, Vec<_>) =
            files.into_iter().partition(|f| f.destinations.iter().any(|d| !self.unreachable.contains_key(d)));
        for file in skip {
            self.record(&file, Vec::new()).await?;
        }

        let (tx, mut rx) = mpsc::channel::<Staged>(self.sync.batch_files.max(1));
        // Stops the downloads on a user cancel, or when Drive can no longer be read at all.
        let stop_downloads = self.cancel.child_token();
        let fatal_slot: Mutex<Option<DriveError>> = Mutex::new(None);
        let (fatal, stop) = (&fatal_slot, &stop_downloads);
        let producer = tokio::spawn(download_all(
            self.drive.clone(),
            self.staging.clone(),
            fetch,
            self.sync.download_concurrency,
            stop_downloads.clone(),
            tx,
        ));

        // Results are written by a second loop, so the next upload never waits for the database.
        let (results_tx, mut results_rx) = mpsc::unbounded_channel::<(PlannedFile, Vec<PairUpdate>)>();
        let recorder = async {
            while let Some((file, updates)) = results_rx.recv().await {
                self.record(&file, updates).await?;
                let _ = tokio::fs::remove_file(self.staging.join(&file.remote_path)).await;
            }
            Ok::<(), SyncError>(())
        };
        let uploader = async move {
            // The first batch is small so uploads start early; later ones grow to batch_files.
            let mut batch_limit = (self.sync.batch_files / 8).max(1);
            let mut batch: Vec<(PlannedFile, Downloaded)> = Vec::new();
            let mut batch_bytes = 0u64;
            while let Some(staged) = rx.recv().await {
                if self.cancel.is_cancelled() {
                    break;
                }
                match staged.result {
                    Err(FetchError::Fatal(error)) => {
                        // The file stays as it was (pending); the run ends with this error.
                        if let Ok(mut fatal) = fatal.lock() {
                            fatal.get_or_insert(error);
                        }
                        stop.cancel();
                        break;
                    }
                    Err(FetchError::File(error)) => {
                        self.note_error(&error);
                        let reason = format!("download from Drive failed: {error}");
                        let updates =
                            staged.file.destinations.iter().map(|d| failed(&staged.file, d, &reason)).collect();
                        let _ = results_tx.send((staged.file, updates));
                    }
                    Ok(downloaded) => {
                        self.progress.update(|p| {
                            p.files_downloaded += 1;
                            p.bytes_downloaded += downloaded.size;
                        });
                        if downloaded.size >= self.sync.large_file_threshold {
                            self.flush(vec![(staged.file, downloaded)], &results_tx).await;
                            continue;
                        }
                        batch_bytes += downloaded.size;
                        batch.push((staged.file, downloaded));
                        if batch.len() >= batch_limit || batch_bytes >= BATCH_BYTES {
                            self.flush(std::mem::take(&mut batch), &results_tx).await;
                            batch_bytes = 0;
                            batch_limit = (batch_limit * 2).min(self.sync.batch_files.max(1));
                        }
                    }
                }
            }
            if !batch.is_empty() && !self.cancel.is_cancelled() {
                self.flush(batch, &results_tx).await;
            }
            drop(results_tx);
        };
        let ((), recorded) = tokio::join!(uploader, recorder);
        let _ = producer.await;
        let _ = tokio::fs::remove_dir_all(&self.staging).await;
        recorded?;
        match fatal_slot.into_inner().ok().flatten() {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    /// Uploads a batch to every destination it needs and verifies it; the results go to the
    /// recorder (which also unstages the files).
    async fn flush(
        &self,
        batch: Vec<(PlannedFile, Downloaded)>,
        results: &mpsc::UnboundedSender<(PlannedFile, Vec<PairUpdate>)>,
    ) {
        let mut by_destination: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, (file, _)) in batch.iter().enumerate() {
            for dest in &file.destinations {
                if !self.unreachable.contains_key(dest) {
                    by_destination.entry(dest.clone()).or_default().push(i);
                }
            }
        }
        let uploads = by_destination.iter().map(|(dest, indices)| self.upload_and_verify(dest, indices, &batch));
        let outcomes = futures::future::join_all(uploads).await;
        if self.cancel.is_cancelled() {
            return; // unverified pairs keep their previous state and are retried next run
        }
        let mut per_file: Vec<Vec<PairUpdate>> = vec![Vec::new(); batch.len()];
        for outcome in outcomes {
            for (i, update) in outcome {
                per_file[i].push(update);
            }
        }
        for ((file, _), updates) in batch.into_iter().zip(per_file) {
            let _ = results.send((file, updates));
        }
    }

    async fn upload_and_verify(
        &self,
        dest: &str,
        indices: &[usize],
        batch: &[(PlannedFile, Downloaded)],
    ) -> Vec<(usize, PairUpdate)> {
        let paths: Vec<String> = indices.iter().map(|&i| batch[i].0.remote_path.clone()).collect();
        let group = format!("run-{}-{dest}", self.run_id);
        let started = std::time::Instant::now();
        let upload = self.storage.upload_to(dest, &self.staging, &paths, &group, &self.cancel).await;
        tracing::info!(
            destination = dest,
            files = paths.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            ok = upload.is_ok(),
            "uploaded a batch"
        );
        let started = std::time::Instant::now();
        let upload_error = match upload {
            Ok(()) => None,
            Err(StorageError::Rclone(RcloneError::Cancelled)) => return Vec::new(),
            Err(StorageError::Rclone(RcloneError::DaemonDied)) => {
                let _ = self.storage.daemon().ensure_running().await;
                Some((
                    SyncStatus::Pending,
                    "the rclone daemon stopped during the upload; it will be retried".to_string(),
                ))
            }
            Err(e) => Some((SyncStatus::Failed, e.to_string())),
        };
        if let Some((_, e)) = &upload_error {
            self.note_error(e);
        }
        let hash_kind = self.storage.hash_kind(dest).unwrap_or(HashKind::Md5);

        // The engine's own check: list each folder once and compare size and hash.
        let mut listings: HashMap<String, Result<HashMap<String, crate::storage::ObjectInfo>, String>> = HashMap::new();
        let mut out = Vec::with_capacity(indices.len());
        for &i in indices {
            let (file, downloaded) = &batch[i];
            let (dir, name) = file.remote_path.rsplit_once('/').unwrap_or(("", file.remote_path.as_str()));
            if !listings.contains_key(dir) {
                let listing = self.storage.list_objects(dest, dir).await.map_err(|e| e.to_string());
                listings.insert(dir.to_string(), listing);
            }
            let expected = match hash_kind {
                HashKind::Md5 => &downloaded.md5,
                HashKind::Sha1 => &downloaded.sha1,
            };
            let verdict = match listings.get(dir) {
                Some(Ok(objects)) => match objects.get(name) {
                    Some(obj) if obj.size != downloaded.size as i64 => Err(format!(
                        "verification failed: the destination holds {} bytes, expected {}",
                        obj.size, downloaded.size
                    )),
                    Some(obj) => match &obj.hash {
                        Some(h) if h != expected => Err(format!(
                            "verification failed: the destination's {} is {h}, expected {expected}",
                            hash_kind.rclone_name()
                        )),
                        Some(h) => Ok((hash_kind.rclone_name(), Some(h.clone()))),
                        None => Ok(("size", None)),
                    },
                    None => {
                        Err("verification failed: the object is not at the destination after the upload".to_string())
                    }
                },
                Some(Err(e)) => Err(format!("cannot verify the upload: {e}")),
                None => Err("cannot verify the upload".to_string()),
            };
            let update = match (verdict, &upload_error) {
                (Ok((verified_by, remote_hash)), _) => PairUpdate {
                    destination: dest.to_string(),
                    status: SyncStatus::Synced,
                    remote_path: self.storage.remote_path(dest, &file.remote_path).ok(),
                    size: Some(downloaded.size as i64),
                    md5: Some(file.md5.clone().unwrap_or_else(|| downloaded.md5.clone())),
                    version: file.version,
                    verified_by: Some(verified_by.to_string()),
                    remote_hash,
                    error_message: None,
                },
                (Err(_), Some((status, error))) => PairUpdate { status: *status, ..failed(file, dest, error) },
                (Err(error), None) => {
                    self.note_error(&error);
                    failed(file, dest, &error)
                }
            };
            out.push((i, update));
        }
        tracing::info!(
            destination = dest,
            folders = listings.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "verified a batch"
        );
        out
    }

    /// Records a file's results, adding failures for its unreachable destinations.
    async fn record(&self, file: &PlannedFile, mut updates: Vec<PairUpdate>) -> Result<(), SyncError> {
        for dest in &file.destinations {
            if let Some(reason) = self.unreachable.get(dest) {
                updates.push(failed(file, dest, reason));
            }
        }
        self.db.record_file_results(&file.file_id, &updates).await?;
        self.progress.update(|p| {
            p.files_done += 1;
            for u in &updates {
                let d = p.destinations.entry(u.destination.clone()).or_default();
                match u.status {
                    SyncStatus::Synced => {
                        d.synced += 1;
                        d.bytes_uploaded += u.size.unwrap_or(0).max(0) as u64;
                    }
                    SyncStatus::Failed => d.failed += 1,
                    SyncStatus::Pending => d.pending += 1,
                }
            }
        });
        Ok(())
    }

    fn note_error(&self, error: &str) {
        if let Ok(mut errors) = self.errors.lock() {
            if errors.len() < 20 && !errors.iter().any(|e| e == error) {
                errors.push(error.to_string());
            }
        }
    }
}

fn failed(file: &PlannedFile, dest: &str, error: &str) -> PairUpdate {
    PairUpdate {
        destination: dest.to_string(),
        status: SyncStatus::Failed,
        remote_path: None,
        size: None,
        md5: None,
        version: file.version,
        verified_by: None,
        remote_hash: None,
        error_message: Some(error.to_string()),
    }
}

/// Downloads files with bounded concurrency, sending each (or its error) down `tx`.
async fn download_all(
    drive: DriveClient,
    staging: PathBuf,
    files: Vec<PlannedFile>,
    concurrency: usize,
    cancel: CancellationToken,
    tx: mpsc::Sender<Staged>,
) {
    let mut downloads = futures::stream::iter(files)
        .map(|file| {
            let drive = drive.clone();
            let staging = staging.clone();
            async move {
                let mut file = file;
                let result = fetch_one(&drive, &staging, &mut file).await;
                Staged { file, result }
            }
        })
        .buffer_unordered(concurrency.max(1));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            next = downloads.next() => match next {
                Some(staged) => if tx.send(staged).await.is_err() { return },
                None => return,
            },
        }
    }
}

/// Downloads (or exports) one file into staging.
///
/// If the bytes do not match the md5 the listing gave, Drive is asked again: when the file
/// changed since the listing and the new md5 matches, the new version is what gets backed up
/// (`file` is updated). Otherwise it is downloaded once more, and if it still does not match
/// the file fails and its bytes are removed, so they reach no destination.
async fn fetch_one(drive: &DriveClient, staging: &Path, file: &mut PlannedFile) -> Result<Downloaded, FetchError> {
    let target = staging.join(&file.remote_path);
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| FetchError::File(format!("cannot create staging folder: {e}")))?;
    }
    let mut last_error = String::new();
    for _attempt in 0..2 {
        let result = match &file.export_mime {
            Some(mime) => drive.export(&file.content_id, mime, &target).await,
            None => drive.download(&file.content_id, &target).await,
        };
        let downloaded = match result {
            Ok(d) => d,
            Err(e) => {
                let _ = tokio::fs::remove_file(&target).await;
                return Err(if e.ends_the_run() { FetchError::Fatal(e) } else { FetchError::File(e.to_string()) });
            }
        };
        let Some(expected) = file.md5.clone() else { return Ok(downloaded) };
        if expected == downloaded.md5 {
            return Ok(downloaded);
        }
        if let Ok(now) = drive.get_file(&file.content_id).await {
            if now.md5_checksum.as_deref() == Some(downloaded.md5.as_str()) {
                tracing::info!(file = %file.drive_path, "changed in Drive since the listing; backing up the new version");
                file.md5 = now.md5_checksum;
                file.version = now.version;
                file.size = now.size;
                return Ok(downloaded);
            }
        }
        last_error = format!(
            "the downloaded bytes do not match Drive's checksum (expected md5 {expected}, got {})",
            downloaded.md5
        );
    }
    let _ = tokio::fs::remove_file(&target).await;
    Err(FetchError::File(last_error))
}
