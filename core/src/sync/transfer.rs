//! The transfer pipeline: download each planned file once into staging (md5 verified), fan
//! it out to its destinations in batches, verify every object at its destination, and record
//! each destination's results as soon as it is done with a batch.

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
use crate::storage::check::{check_object, VerifiedBy};
use crate::storage::providers::HashKind;
use crate::storage::versions::VersionKeeper;
use crate::storage::{ObjectInfo, StorageError, StorageManager};

use super::plan::PlannedFile;
use super::progress::ProgressReporter;
use super::SyncError;

/// Batches are cut at this many staged bytes, so staging never holds much more.
const BATCH_BYTES: u64 = 512 * 1024 * 1024;

pub struct Transfer<'a> {
    pub db: &'a Database,
    pub storage: &'a StorageManager,
    /// The run's start, as the time kept versions are named by when the ledger has none.
    pub started_at: String,
    pub drive: DriveClient,
    pub staging: PathBuf,
    pub sync: &'a SyncConfig,
    pub progress: &'a ProgressReporter,
    pub cancel: CancellationToken,
    /// While paused, no new download or upload batch starts.
    pub pause: crate::pause::Pause,
    pub run_id: i64,
    /// Destinations that failed the run's check, with why.
    pub unreachable: HashMap<String, String>,
    /// Destinations that stopped responding during the run, with why: given up until it ends
    /// (their pairs stay pending for the next run), so they hold up no other destination.
    pub given_up: Mutex<HashMap<String, String>>,
    /// A sample of distinct errors met (what was copied is counted by `progress`).
    pub errors: Mutex<Vec<String>>,
}

/// What a destination's listing said of a folder: its objects by name, or why it failed.
pub(super) type Listed = Result<HashMap<String, ObjectInfo>, String>;

/// How an upload job ended (a cancelled one is not judged at all).
enum UploadOutcome {
    Done,
    /// rclone died mid-job; it was restarted and the job's pairs are retried next run.
    DaemonDied,
    Failed {
        error: String,
        one_file: bool,
    },
    /// The destination stopped responding; it is given up for the rest of the run.
    NotResponding(String),
}

impl UploadOutcome {
    /// For a job that did not report success: the status its unproven pairs get, and why.
    fn unproven(&self) -> Option<(SyncStatus, String)> {
        match self {
            UploadOutcome::Done => None,
            UploadOutcome::DaemonDied => Some((
                SyncStatus::Pending,
                "the rclone daemon stopped during the upload; it will be retried".to_string(),
            )),
            UploadOutcome::Failed { error, .. } => Some((SyncStatus::Failed, error.clone())),
            UploadOutcome::NotResponding(reason) => Some((SyncStatus::Pending, reason.clone())),
        }
    }

    /// The job copied one file, so its failure is that file's.
    fn was_one_file(&self) -> bool {
        matches!(self, UploadOutcome::Failed { one_file: true, .. })
    }
}

/// Results on their way to the database.
enum Results {
    /// One destination's verdicts on files of a batch, recorded as soon as that destination
    /// is done with them (another may still be uploading the same batch).
    Pairs(Vec<(String, PairUpdate)>),
    /// A file every destination is done with: its remaining results (`done`: the destinations
    /// already recorded through `Pairs`), then it is unstaged.
    File { file: Box<PlannedFile>, updates: Vec<PairUpdate>, done: Vec<String> },
}

impl Results {
    fn file(file: PlannedFile, updates: Vec<PairUpdate>) -> Self {
        Results::File { file: Box::new(file), updates, done: Vec::new() }
    }
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
            self.record(&file, Vec::new(), &[]).await?;
        }

        let (tx, rx) = mpsc::channel::<Staged>(self.sync.batch_files.max(1));
        // Stops the downloads on a user cancel, or when Drive can no longer be read at all.
        let stop_downloads = self.cancel.child_token();
        let fatal_slot: Mutex<Option<DriveError>> = Mutex::new(None);
        let producer = tokio::spawn(download_all(
            self.drive.clone(),
            self.staging.clone(),
            fetch,
            self.sync.download_concurrency,
            stop_downloads.clone(),
            tx,
            self.progress.clone(),
        ));

        // Results are written by a second loop, so the next upload never waits for the database.
        let (results_tx, results_rx) = mpsc::unbounded_channel::<Results>();
        let uploader = self.upload_staged(rx, results_tx, &fatal_slot, &stop_downloads);
        let ((), recorded) = tokio::join!(uploader, self.record_results(results_rx));
        let _ = producer.await;
        let _ = tokio::fs::remove_dir_all(&self.staging).await;
        recorded?;
        match fatal_slot.into_inner().ok().flatten() {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    /// Writes results as they come, and unstages each file once it is done.
    async fn record_results(&self, mut results: mpsc::UnboundedReceiver<Results>) -> Result<(), SyncError> {
        while let Some(next) = results.recv().await {
            match next {
                Results::Pairs(pairs) => {
                    let refs: Vec<(&str, &PairUpdate)> = pairs.iter().map(|(f, u)| (f.as_str(), u)).collect();
                    self.db.record_pairs(&refs).await?;
                    self.count(pairs.iter().map(|(_, u)| u));
                }
                Results::File { file, updates, done } => {
                    self.record(&file, updates, &done).await?;
                    let _ = tokio::fs::remove_file(self.staging.join(&file.remote_path)).await;
                }
            }
        }
        Ok(())
    }

    /// Takes downloaded files as they arrive and uploads them: large ones alone, the others in
    /// batches that start small (so uploads start early) and grow to `batch_files`.
    async fn upload_staged(
        &self,
        mut staged: mpsc::Receiver<Staged>,
        results: mpsc::UnboundedSender<Results>,
        fatal: &Mutex<Option<DriveError>>,
        stop_downloads: &CancellationToken,
    ) {
        let mut batch_limit = (self.sync.batch_files / 8).max(1);
        let mut batch: Vec<(PlannedFile, Downloaded)> = Vec::new();
        let mut batch_bytes = 0u64;
        while let Some(next) = staged.recv().await {
            if self.cancel.is_cancelled() {
                break;
            }
            let downloaded = match next.result {
                Err(FetchError::Fatal(error)) => {
                    // The file stays as it was (pending); the run ends with this error.
                    if let Ok(mut fatal) = fatal.lock() {
                        fatal.get_or_insert(error);
                    }
                    stop_downloads.cancel();
                    break;
                }
                Err(FetchError::File(error)) => {
                    self.note_error(&error);
                    let reason = format!("download from Drive failed: {error}");
                    let updates = next.file.destinations.iter().map(|d| failed(&next.file, d, &reason)).collect();
                    let _ = results.send(Results::file(next.file, updates));
                    continue;
                }
                Ok(downloaded) => downloaded,
            };
            // Its bytes were counted as they arrived.
            self.progress.update(|p| p.files_downloaded += 1);
            if downloaded.size >= self.sync.large_file_threshold {
                self.hold_while_paused().await;
                self.flush(vec![(next.file, downloaded)], &results).await;
                continue;
            }
            batch_bytes += downloaded.size;
            batch.push((next.file, downloaded));
            if batch.len() >= batch_limit || batch_bytes >= BATCH_BYTES {
                self.hold_while_paused().await;
                self.flush(std::mem::take(&mut batch), &results).await;
                batch_bytes = 0;
                batch_limit = (batch_limit * 2).min(self.sync.batch_files.max(1));
            }
        }
        if !batch.is_empty() && !self.cancel.is_cancelled() {
            self.hold_while_paused().await;
            self.flush(batch, &results).await;
        }
    }

    /// Waits while the run is paused (a cancel ends the wait: the flush then sends nothing).
    async fn hold_while_paused(&self) {
        tokio::select! {
            _ = self.pause.until_resumed() => {}
            _ = self.cancel.cancelled() => {}
        }
    }

    /// Uploads a batch to every destination it needs and verifies it; the results go to the
    /// recorder (which also unstages the files).
    async fn flush(&self, batch: Vec<(PlannedFile, Downloaded)>, results: &mpsc::UnboundedSender<Results>) {
        let mut by_destination: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, (file, _)) in batch.iter().enumerate() {
            for dest in &file.destinations {
                if !self.unreachable.contains_key(dest) && self.given_up_reason(dest).is_none() {
                    by_destination.entry(dest.clone()).or_default().push(i);
                }
            }
        }
        let files = &batch;
        let mut uploads: futures::stream::FuturesUnordered<_> = by_destination
            .iter()
            .map(|(dest, indices)| async move { (dest, self.upload_and_verify(dest, indices, files).await) })
            .collect();
        // Each destination's verdicts are recorded as it finishes its part, and a cancel ends
        // the wait at once, whatever the destinations are doing.
        let mut done: Vec<Vec<String>> = vec![Vec::new(); batch.len()];
        loop {
            let next = tokio::select! {
                next = uploads.next() => next,
                () = self.cancel.cancelled() => return,
            };
            let Some((dest, outcome)) = next else { break };
            if self.cancel.is_cancelled() {
                return; // unverified pairs keep their previous state and are retried next run
            }
            let pairs: Vec<(String, PairUpdate)> = outcome
                .into_iter()
                .map(|(i, update)| {
                    done[i].push(dest.clone());
                    (batch[i].0.file_id.clone(), update)
                })
                .collect();
            let _ = results.send(Results::Pairs(pairs));
        }
        drop(uploads);
        for ((file, _), done) in batch.into_iter().zip(done) {
            let _ = results.send(Results::File { file: Box::new(file), updates: Vec::new(), done });
        }
    }

    async fn upload_and_verify(
        &self,
        dest: &str,
        indices: &[usize],
        batch: &[(PlannedFile, Downloaded)],
    ) -> Vec<(usize, PairUpdate)> {
        // The copies these new bytes replace are kept first: by the provider itself, or by
        // Fanout in its versions area. A file whose previous copy cannot be kept is not sent.
        let Some(keeper) = self.bounded(dest, self.storage.version_keeper(dest)).await else {
            return self.left_pending(dest, indices, batch);
        };
        let keeper = keeper.unwrap_or(VersionKeeper::Fanout);
        let mut kept = super::keep::Kept::default();
        let send: Vec<usize> = match keeper {
            VersionKeeper::Fanout => {
                let Some(keeping) = self.bounded(dest, self.keep_previous_copies(dest, indices, batch)).await else {
                    return self.left_pending(dest, indices, batch);
                };
                kept = keeping;
                indices.iter().copied().filter(|i| !kept.refused.contains_key(i)).collect()
            }
            VersionKeeper::Provider => indices.to_vec(),
        };
        let mut out: Vec<(usize, PairUpdate)> = std::mem::take(&mut kept.refused)
            .into_iter()
            .map(|(i, reason)| {
                self.note_error(&reason);
                (i, failed(&batch[i].0, dest, &reason))
            })
            .collect();
        if send.is_empty() {
            return out;
        }
        let paths: Vec<String> = send.iter().map(|&i| batch[i].0.remote_path.clone()).collect();
        let Some(upload) = self.upload(dest, &paths).await else {
            return Vec::new(); // cancelled: unverified pairs keep their previous state
        };
        if let UploadOutcome::NotResponding(_) = upload {
            out.extend(self.left_pending(dest, &send, batch));
            return out;
        }
        let started = std::time::Instant::now();
        let dirs = send.iter().map(|&i| batch[i].0.remote_path.rsplit_once('/').map_or("", |(d, _)| d));
        let listings = self.list_folders(dest, dirs).await;
        if self.given_up_reason(dest).is_some() {
            out.extend(self.left_pending(dest, &send, batch));
            return out;
        }
        let mut judged: Vec<(usize, PairUpdate)> = send
            .iter()
            .map(|&i| {
                let (file, downloaded) = &batch[i];
                let (dir, name) = file.remote_path.rsplit_once('/').unwrap_or(("", file.remote_path.as_str()));
                let listed = listings.get(dir).map(|l| l.as_ref().map(|objects| objects.get(name)));
                (i, self.judge(dest, file, downloaded, &upload, listed))
            })
            .collect();
        if keeper == VersionKeeper::Provider {
            // Without the versions it replaced, a copy's earlier one would be kept untracked.
            let Some(replaced) = self.bounded(dest, self.find_provider_versions(dest, &judged, batch)).await else {
                out.extend(self.left_pending(dest, &send, batch));
                return out;
            };
            kept.replaced = replaced;
        }
        for (i, update) in judged.iter_mut().filter(|(_, u)| u.status == SyncStatus::Synced) {
            update.replaced = kept.replaced.remove(i);
        }
        out.extend(judged);
        tracing::info!(
            destination = dest,
            folders = listings.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "verified a batch"
        );
        out
    }

    /// Sends `paths` to `dest` in one job; `None` when the run was cancelled meanwhile.
    async fn upload(&self, dest: &str, paths: &[String]) -> Option<UploadOutcome> {
        let group = format!("run-{}-{dest}", self.run_id);
        let started = std::time::Instant::now();
        let intent = self.record_intent(dest, paths).await;
        let sending = self.storage.upload_to(dest, &self.staging, paths, &group, &self.cancel);
        let upload = self.watching(dest, &group, sending).await;
        // Only a finished job proves nothing is half-written: after any failure (a daemon killed
        // mid-copy can look like a plain transport error) the intent stays, and the leftovers
        // are removed once the run has stopped its daemon.
        if let (Some(id), true) = (intent, upload.is_ok()) {
            let _ = self.db.clear_upload_intent(id).await;
        }
        tracing::info!(
            destination = dest,
            files = paths.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            ok = upload.is_ok(),
            "uploaded a batch"
        );
        let outcome = match upload {
            Ok(()) => UploadOutcome::Done,
            Err(StorageError::Rclone(RcloneError::Cancelled)) => return None,
            Err(StorageError::Rclone(RcloneError::Stalled(_))) => UploadOutcome::NotResponding(self.give_up(dest)),
            Err(StorageError::Rclone(RcloneError::DaemonDied)) => {
                let _ = self.storage.restart_if_stopped().await;
                UploadOutcome::DaemonDied
            }
            // A job that failed outright may mean the destination went away: if it cannot be
            // reached now, it is given up rather than tried again batch after batch.
            Err(e) => match self.unreachable_now(dest).await {
                Some(reason) => UploadOutcome::NotResponding(self.give_up_because(dest, reason)),
                None => UploadOutcome::Failed { error: e.to_string(), one_file: paths.len() == 1 },
            },
        };
        if let Some((_, reason)) = outcome.unproven() {
            self.note_error(&reason);
        }
        Some(outcome)
    }

    /// Lists each folder once, with sizes and hashes.
    pub(super) async fn list_folders<'b>(
        &self,
        dest: &str,
        dirs: impl Iterator<Item = &'b str>,
    ) -> HashMap<String, Listed> {
        let mut listings: HashMap<String, Listed> = HashMap::new();
        for dir in dirs {
            if !listings.contains_key(dir) {
                let Some(listing) = self.bounded(dest, self.storage.list_objects(dest, dir)).await else { break };
                listings.insert(dir.to_string(), listing.map_err(|e| e.to_string()));
            }
        }
        listings
    }

    /// The engine's own verdict on one pair: what the destination lists, and what the upload
    /// said. A pair is synced only when the listing proves the copy; a reported failure is
    /// never outweighed by a size alone, and a failed single-file upload by nothing.
    fn judge(
        &self,
        dest: &str,
        file: &PlannedFile,
        downloaded: &Downloaded,
        upload: &UploadOutcome,
        listed: Option<Result<Option<&ObjectInfo>, &String>>,
    ) -> PairUpdate {
        let kind = self.storage.hash_kind(dest).unwrap_or(HashKind::Md5);
        let expected = match kind {
            HashKind::Md5 => &downloaded.md5,
            HashKind::Sha1 => &downloaded.sha1,
        };
        let proof = match listed {
            Some(Ok(object)) => check_object(object, downloaded.size as i64, Some(expected), kind)
                .map_err(|mismatch| format!("verification failed: {mismatch}")),
            Some(Err(e)) => Err(format!("cannot verify the upload: {e}")),
            None => Err("cannot verify the upload".to_string()),
        };
        let proof = proof.map(|hash| {
            let by = match hash {
                Some(_) => VerifiedBy::for_hash(kind, downloaded.size, self.storage.metadata_hash_from(dest)),
                None => VerifiedBy::Size,
            };
            (by, hash)
        });
        match decide(proof, upload) {
            Ok((by, hash)) => self.synced(dest, file, downloaded, by, hash),
            Err((status, reason)) => {
                if upload.unproven().is_none() {
                    self.note_error(&reason);
                }
                PairUpdate { status, ..failed(file, dest, &reason) }
            }
        }
    }

    fn synced(
        &self,
        dest: &str,
        file: &PlannedFile,
        downloaded: &Downloaded,
        verified_by: VerifiedBy,
        remote_hash: Option<String>,
    ) -> PairUpdate {
        PairUpdate {
            destination: dest.to_string(),
            status: SyncStatus::Synced,
            remote_path: self.storage.remote_path(dest, &file.remote_path).ok(),
            size: Some(downloaded.size as i64),
            md5: Some(file.md5.clone().unwrap_or_else(|| downloaded.md5.clone())),
            version: file.version,
            verified_by: Some(verified_by),
            remote_hash,
            error_message: None,
            modified_time: file.modified_time.clone(),
            replaced: None,
        }
    }

    /// Records which objects a copy to a local folder will write, before it starts, so the
    /// partial files an interruption leaves can be told from anything else there.
    pub(super) async fn record_intent(&self, dest: &str, paths: &[String]) -> Option<i64> {
        if !self.storage.writes_partial_files(dest) {
            return None;
        }
        let root = self.storage.root_path(dest).ok()?;
        match self.db.record_upload_intent(dest, &root, paths).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, destination = dest, "could not record an upload intent");
                None
            }
        }
    }

    /// Records a file's results (`done`: destinations already recorded), adding failures for
    /// its unreachable destinations and pending pairs for those given up.
    async fn record(&self, file: &PlannedFile, mut updates: Vec<PairUpdate>, done: &[String]) -> Result<(), SyncError> {
        for dest in file.destinations.iter().filter(|d| !done.contains(d)) {
            if let Some(reason) = self.unreachable.get(dest) {
                updates.push(failed(file, dest, reason));
            } else if !updates.iter().any(|u| &u.destination == dest) {
                if let Some(reason) = self.given_up_reason(dest) {
                    updates.push(PairUpdate { status: SyncStatus::Pending, ..failed(file, dest, &reason) });
                }
            }
        }
        self.db.record_file_results(&file.file_id, &updates).await?;
        self.count(updates.iter());
        self.progress.update(|p| p.files_done += 1);
        Ok(())
    }

    /// Counts recorded pairs in the run's progress.
    fn count<'u>(&self, updates: impl Iterator<Item = &'u PairUpdate>) {
        self.progress.update(|p| {
            for u in updates {
                let d = p.destinations.entry(u.destination.clone()).or_default();
                match u.status {
                    SyncStatus::Synced => {
                        d.transferred += 1;
                        d.bytes_uploaded += u.size.unwrap_or(0).max(0) as u64;
                    }
                    SyncStatus::Failed => d.failed += 1,
                    SyncStatus::Pending => d.pending += 1,
                }
            }
        });
    }

    /// Runs a destination call that is not a job (a listing, a version check); when it does
    /// not answer within the stall time the destination is given up and `None` returned.
    pub(super) async fn bounded<T>(&self, dest: &str, call: impl std::future::Future<Output = T>) -> Option<T> {
        match tokio::time::timeout(self.storage.stall_after(), call).await {
            Ok(answer) => Some(answer),
            Err(_) => {
                self.give_up(dest);
                None
            }
        }
    }

    /// Runs `work` (an upload job), telling the window once a second whether the job has gone
    /// half its stall time without progress.
    async fn watching<T>(&self, dest: &str, group: &str, work: impl std::future::Future<Output = T>) -> T {
        let warn_after = self.storage.stall_after() / 2;
        tokio::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => {
                    self.show_not_responding(dest, self.given_up_reason(dest).is_some());
                    return result;
                }
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
                    let idle = self.storage.idle_for(group).is_some_and(|idle| idle >= warn_after);
                    self.show_not_responding(dest, idle);
                }
            }
        }
    }

    fn show_not_responding(&self, dest: &str, not_responding: bool) {
        self.progress.update(|p| p.destinations.entry(dest.to_string()).or_default().not_responding = not_responding);
    }

    /// Why `dest` cannot be used right now, if it cannot (asked once, within the stall time).
    async fn unreachable_now(&self, dest: &str) -> Option<String> {
        let tested = self.storage.test_destination(dest, false).await;
        tested.err().map(|e| format!("{e} Its copies are made at the next sync."))
    }

    /// Gives `dest` up for the rest of the run as not responding; returns why, for its pairs.
    fn give_up(&self, dest: &str) -> String {
        self.give_up_because(
            dest,
            format!("{} Its copies are made at the next sync.", self.storage.not_responding(dest)),
        )
    }

    /// Gives `dest` up for the rest of the run; returns why (the first reason), for its pairs.
    fn give_up_because(&self, dest: &str, reason: String) -> String {
        if let Ok(mut given_up) = self.given_up.lock() {
            if let Some(first) = given_up.get(dest) {
                return first.clone();
            }
            given_up.insert(dest.to_string(), reason.clone());
            tracing::warn!(destination = dest, reason = %reason, "giving the destination up for this run");
        }
        self.show_not_responding(dest, true);
        self.note_error(&reason);
        reason
    }

    pub(super) fn given_up_reason(&self, dest: &str) -> Option<String> {
        self.given_up.lock().ok()?.get(dest).cloned()
    }

    /// `indices` of `batch` left pending at `dest`, which stopped responding.
    fn left_pending(
        &self,
        dest: &str,
        indices: &[usize],
        batch: &[(PlannedFile, Downloaded)],
    ) -> Vec<(usize, PairUpdate)> {
        let reason = self.given_up_reason(dest).unwrap_or_else(|| self.give_up(dest));
        indices
            .iter()
            .map(|&i| (i, PairUpdate { status: SyncStatus::Pending, ..failed(&batch[i].0, dest, &reason) }))
            .collect()
    }

    pub(super) fn note_error(&self, error: &str) {
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
        modified_time: None,
        replaced: None,
    }
}

/// A pair's status from what the listing proved and how its upload ended: synced only when the
/// listing proves the copy; a reported failure is never outweighed by a size alone, and a
/// failed single-file upload by nothing. (In a failed batch, a pair whose hash matches was
/// proven there, whichever file the job's error was about.)
fn decide(
    proof: Result<(VerifiedBy, Option<String>), String>,
    upload: &UploadOutcome,
) -> Result<(VerifiedBy, Option<String>), (SyncStatus, String)> {
    match (proof, upload.unproven()) {
        (Ok(proven), None) => Ok(proven),
        (Ok((by, hash)), Some(_)) if by.is_hash() && !upload.was_one_file() => Ok((by, hash)),
        (_, Some(unproven)) => Err(unproven),
        (Err(reason), None) => Err((SyncStatus::Failed, reason)),
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
    progress: ProgressReporter,
) {
    let mut downloads = futures::stream::iter(files)
        .map(|file| {
            let drive = drive.clone();
            let staging = staging.clone();
            let progress = progress.clone();
            async move {
                // The run's Drive client carries its pause: no download starts while paused.
                drive.until_resumed().await;
                let mut file = file;
                let received = |bytes: u64| progress.update(|p| p.bytes_downloaded += bytes);
                let result = fetch_one(&drive, &staging, &mut file, &received).await;
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
async fn fetch_one(
    drive: &DriveClient,
    staging: &Path,
    file: &mut PlannedFile,
    received: &(dyn Fn(u64) + Send + Sync),
) -> Result<Downloaded, FetchError> {
    let target = staging.join(&file.remote_path);
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| FetchError::File(format!("cannot create staging folder: {e}")))?;
    }
    let mut last_error = String::new();
    for _attempt in 0..2 {
        let result = match &file.export_mime {
            Some(mime) => drive.export(&file.content_id, mime, &target, received).await,
            None => drive.download(&file.content_id, &target, received).await,
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
        last_error = DriveError::ChecksumMismatch { expected, actual: downloaded.md5 }.to_string();
    }
    let _ = tokio::fs::remove_file(&target).await;
    Err(FetchError::File(last_error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_job(one_file: bool) -> UploadOutcome {
        UploadOutcome::Failed { error: "upload failed".into(), one_file }
    }

    #[test]
    fn a_size_alone_never_outweighs_a_reported_upload_failure() {
        let by_size = || Ok((VerifiedBy::Size, None));
        let by_hash = || Ok((VerifiedBy::Md5, Some("abc".to_string())));
        assert_eq!(decide(by_size(), &UploadOutcome::Done), Ok((VerifiedBy::Size, None)));
        assert_eq!(decide(by_size(), &failed_job(false)), Err((SyncStatus::Failed, "upload failed".into())));
        assert_eq!(decide(by_size(), &failed_job(true)), Err((SyncStatus::Failed, "upload failed".into())));
        assert_eq!(decide(by_hash(), &failed_job(true)), Err((SyncStatus::Failed, "upload failed".into())));
        assert_eq!(
            decide(by_hash(), &failed_job(false)),
            Ok((VerifiedBy::Md5, Some("abc".to_string()))),
            "proven by its hash in a failed batch"
        );
        assert!(matches!(decide(by_size(), &UploadOutcome::DaemonDied), Err((SyncStatus::Pending, _))));
        assert!(
            matches!(decide(Err("missing".into()), &UploadOutcome::Done), Err((SyncStatus::Failed, r)) if r == "missing")
        );
    }
}
