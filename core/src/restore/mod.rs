//! Restore: Drive files back from their copies, as of any moment, into a folder on disk.
//!
//! 1. The catalog: every copy each destination holds (database, else the destination's index,
//!    else its plain objects).
//! 2. The choice: per file, its newest version copied at or before `--at`, and the copies of
//!    those bytes that can be read, best first (most recently verified, no thaw needed).
//! 3. The placement under the target folder (the tree as backed up; conflicts written beside).
//! 4. The transfer: one batch job per destination into a staging folder inside the target,
//!    each file checked against its recorded hash, then renamed into place. A file whose copy
//!    fails or does not match is tried from the next destination; nothing unchecked is left.

mod catalog;
pub mod index;
mod target;
pub mod time;
mod to_drive;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::db::{CatalogEntry, Database, DbError};
use crate::storage::providers::HashKind;
use crate::storage::{StorageError, StorageManager};

pub use catalog::CatalogSource;
use target::{place, safe_join, Expected, Placement};
pub use to_drive::DriveRestoreReport;

/// The staging folder inside the target: same disk, so a checked file is renamed into place.
pub const STAGING: &str = ".fanout-restore";
/// At most this many files per transfer job, so progress moves and a failure costs little.
/// (Smaller first jobs, tried, cost more in job start-up than they gave in early progress.)
const BATCH_FILES: usize = 2000;
/// A folder's listing costs about one request; reading this many bytes again costs more.
const LISTING_PAYS_FROM: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Index(#[from] index::IndexError),
    #[error("`{0}` matches nothing backed up (give a Drive folder or file path, like Work/Reports, or its ID; `--all` restores everything)")]
    NothingMatches(String),
    #[error("cannot write to {path}: {source}")]
    Local { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Drive(#[from] crate::drive::DriveError),
    #[error("Google has not given Fanout permission to create files in your Drive")]
    DriveWrite,
}

fn local(path: &Path) -> impl FnOnce(std::io::Error) -> RestoreError + '_ {
    move |source| RestoreError::Local { path: path.to_path_buf(), source }
}

/// What to restore, from where, to where.
#[derive(Debug, Clone, Default)]
pub struct RestoreRequest {
    /// Drive paths or IDs of folders or files; empty with `all`.
    pub sources: Vec<String>,
    pub all: bool,
    pub to: PathBuf,
    /// Each file as its newest version copied at or before this moment (RFC 3339).
    pub at: Option<String>,
    /// Only this destination.
    pub from: Option<String>,
    pub dry_run: bool,
    pub overwrite: bool,
    /// Files no longer in Drive (deleted or trashed) too.
    pub include_deleted: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

#[derive(Clone, Default)]
pub struct RestoreOptions {
    pub cancel: CancellationToken,
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<RestoreProgress>>,
}

/// One restored (or, in a dry run, to be restored) file.
#[derive(Debug, Clone, Serialize)]
pub struct RestoredFile {
    pub drive_path: String,
    /// Where it is (or goes) under the target folder.
    pub path: String,
    pub from: String,
    pub bytes: u64,
    /// The check its bytes passed: md5, sha1 or size.
    pub checked_by: &'static str,
    /// Copied then (when the record says).
    pub copied_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub drive_path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub path: String,
    /// The restored file was written beside the existing one, under this name.
    pub written_as: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Renamed {
    pub drive_name: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NeedsThaw {
    pub drive_path: String,
    pub destination: String,
    pub object: String,
}

/// A Google Workspace file that was backed up as an export.
#[derive(Debug, Clone)]
pub struct GoogleFile {
    /// Its name in Drive (the export's file name adds an extension).
    pub drive_name: String,
    /// Its Workspace type (`application/vnd.google-apps.document`, ...).
    pub mime_type: String,
}

/// Files and bytes read from one destination.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Egress {
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    pub dry_run: bool,
    pub to: String,
    pub at: Option<String>,
    /// Where each destination's catalog came from.
    pub catalogs: BTreeMap<String, CatalogSource>,
    /// Destinations that could not be read (each reason in a sentence).
    pub unreadable: Vec<String>,
    pub files: u64,
    pub bytes: u64,
    pub restored: Vec<RestoredFile>,
    /// Already in the target folder with the right bytes (an earlier, interrupted run).
    pub already_restored: u64,
    pub egress: BTreeMap<String, Egress>,
    pub conflicts: Vec<Conflict>,
    pub renamed: Vec<Renamed>,
    pub needs_thaw: Vec<NeedsThaw>,
    pub failures: Vec<Failure>,
    pub cancelled: bool,
    /// The upload into Google Drive, for a restore into Drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drive: Option<DriveRestoreReport>,
    /// The exports of Google Workspace files among the files, by path under the target.
    #[serde(skip)]
    pub google_files: BTreeMap<String, GoogleFile>,
    pub all_success: bool,
}

/// One file to restore: the version chosen and the copies of it, best first.
struct Wanted {
    drive_path: String,
    expected: Expected,
    copied_at: String,
    placement: Placement,
    copies: Vec<(String, CatalogEntry)>,
}

/// What a restore reads from: the database, the destinations (`keys`, through `storage`), and a
/// scratch folder for their indexes.
pub struct RestoreSources<'a> {
    pub db: &'a Database,
    pub storage: &'a StorageManager,
    pub keys: &'a [String],
    pub scratch: &'a Path,
}

/// Restores what `request` asks for.
pub async fn restore(
    sources: &RestoreSources<'_>,
    request: &RestoreRequest,
    options: &RestoreOptions,
) -> Result<RestoreReport, RestoreError> {
    let RestoreSources { db, storage, keys, scratch } = *sources;
    let staging = request.to.join(STAGING);
    let mut report = RestoreReport {
        dry_run: request.dry_run,
        to: request.to.display().to_string(),
        at: request.at.clone(),
        ..Default::default()
    };
    let (entries, sources, unreadable) = catalog::gather(db, storage, keys, scratch).await?;
    report.catalogs = sources.into_iter().collect();
    report.unreadable = unreadable;
    let matchers = resolve_sources(db, request, &entries).await?;
    let wanted = choose(storage, request, entries, &matchers, &mut report)?;
    report.files = wanted.len() as u64;
    report.bytes = wanted.iter().map(|w| w.expected.size.unwrap_or(0).max(0) as u64).sum();
    if request.dry_run {
        for w in &wanted {
            if let (Placement::Own(_) | Placement::Beside(_), Some((key, _))) = (&w.placement, w.copies.first()) {
                let egress = report.egress.entry(key.clone()).or_default();
                egress.files += 1;
                egress.bytes += w.expected.size.unwrap_or(0).max(0) as u64;
            }
        }
        report.already_restored =
            wanted.iter().filter(|w| matches!(w.placement, Placement::AlreadyThere(_))).count() as u64;
        report.all_success = report.needs_thaw.is_empty() && report.failures.is_empty();
        return Ok(report);
    }
    std::fs::create_dir_all(&request.to).map_err(local(&request.to))?;
    // What an interrupted run staged stays: each staged file is checked before it is used.
    std::fs::create_dir_all(&staging).map_err(local(&staging))?;
    transfer(storage, request, wanted, &staging, options, &mut report).await?;
    if !report.cancelled {
        let _ = std::fs::remove_dir_all(&staging);
    }
    report.all_success =
        !report.cancelled && report.failures.is_empty() && report.needs_thaw.is_empty() && report.unreadable.is_empty();
    Ok(report)
}

/// What a source names: a file ID, or a Drive path (a folder's covers everything below).
enum Matcher {
    Id(String),
    Path(String),
}

impl Matcher {
    fn matches(&self, entry: &CatalogEntry) -> bool {
        match self {
            Matcher::Id(id) => entry.file_id == *id,
            Matcher::Path(path) => {
                path.is_empty()
                    || entry.drive_path == *path
                    || entry.drive_path.strip_prefix(path.as_str()).is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

async fn resolve_sources(
    db: &Database,
    request: &RestoreRequest,
    entries: &[(String, CatalogEntry)],
) -> Result<Vec<Matcher>, RestoreError> {
    if request.all {
        return Ok(vec![Matcher::Path(String::new())]);
    }
    let mut matchers = Vec::new();
    for source in &request.sources {
        let matcher = match db.get_file(source).await? {
            Some(record) if record.is_folder => Matcher::Path(record.drive_path),
            Some(record) => Matcher::Id(record.file_id),
            None => Matcher::Path(source.trim_matches('/').to_string()),
        };
        if !entries.iter().any(|(_, e)| matcher.matches(e)) {
            return Err(RestoreError::NothingMatches(source.clone()));
        }
        matchers.push(matcher);
    }
    Ok(matchers)
}

/// Per file: the version to restore, where it goes, and the copies to read it from.
fn choose(
    storage: &StorageManager,
    request: &RestoreRequest,
    entries: Vec<(String, CatalogEntry)>,
    matchers: &[Matcher],
    report: &mut RestoreReport,
) -> Result<Vec<Wanted>, RestoreError> {
    let mut by_file: BTreeMap<String, Vec<(String, CatalogEntry)>> = BTreeMap::new();
    for (key, entry) in entries {
        if matchers.iter().any(|m| m.matches(&entry)) {
            by_file.entry(entry.file_id.clone()).or_default().push((key, entry));
        }
    }
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut claimed = HashSet::new();
    let mut wanted = Vec::new();
    let mut by_drive_path: Vec<(String, Vec<(String, CatalogEntry)>)> =
        by_file.into_values().filter_map(|copies| Some((copies.first()?.1.drive_path.clone(), copies))).collect();
    by_drive_path.sort_by(|a, b| a.0.cmp(&b.0));
    for (drive_path, copies) in by_drive_path {
        let Some(w) = choose_version(storage, request, drive_path, copies, &day, &mut claimed, report)? else {
            continue;
        };
        wanted.push(w);
    }
    Ok(wanted)
}

/// The newest version at or before `--at` of one file, and the copies of those bytes.
fn choose_version(
    storage: &StorageManager,
    request: &RestoreRequest,
    drive_path: String,
    copies: Vec<(String, CatalogEntry)>,
    day: &str,
    claimed: &mut HashSet<PathBuf>,
    report: &mut RestoreReport,
) -> Result<Option<Wanted>, RestoreError> {
    if copies.iter().all(|(_, e)| e.gone_from_drive) && !request.include_deleted {
        return Ok(None);
    }
    let in_time: Vec<(String, CatalogEntry)> =
        copies.into_iter().filter(|(_, e)| request.at.as_deref().is_none_or(|at| e.copied_at.as_str() <= at)).collect();
    let Some((_, newest)) = in_time.iter().max_by(|a, b| a.1.copied_at.cmp(&b.1.copied_at)) else {
        return Ok(None); // not backed up yet at that time
    };
    let newest = newest.clone();
    let mut same: Vec<(String, CatalogEntry)> =
        in_time.into_iter().filter(|(_, e)| e.md5 == newest.md5 && e.size == newest.size).collect();
    // Best first: no thaw needed, then the most recently verified.
    same.sort_by(|a, b| {
        (storage.needs_thaw(&a.0), std::cmp::Reverse(&a.1.last_verified), &a.0).cmp(&(
            storage.needs_thaw(&b.0),
            std::cmp::Reverse(&b.1.last_verified),
            &b.0,
        ))
    });
    let relative = newest.path.strip_prefix(crate::sync::listing::REMOTE_ROOT).unwrap_or(&newest.path);
    let relative = relative.trim_start_matches('/');
    let Some(own) = safe_join(&request.to, relative) else {
        report.failures.push(Failure { drive_path, reason: format!("`{relative}` is not a safe path to write") });
        return Ok(None);
    };
    if same.iter().all(|(key, _)| storage.needs_thaw(key)) {
        let (key, entry) = &same[0];
        report.needs_thaw.push(NeedsThaw { drive_path, destination: key.clone(), object: entry.location.clone() });
        return Ok(None);
    }
    same.retain(|(key, _)| !storage.needs_thaw(key));
    let expected = expected_of(storage, &same[0].0, &newest);
    let placement = place(own.clone(), &expected, request.overwrite, day, claimed).map_err(local(&own))?;
    let shown = |p: &Path| p.strip_prefix(&request.to).unwrap_or(p).display().to_string();
    if let Placement::Beside(beside) = &placement {
        report.conflicts.push(Conflict { path: shown(&own), written_as: shown(beside) });
    }
    if newest.mime_type.starts_with(crate::drive::WORKSPACE_PREFIX) {
        let google = GoogleFile { drive_name: newest.name.clone(), mime_type: newest.mime_type.clone() };
        report.google_files.insert(shown(placement.path()), google);
    }
    let used = relative.rsplit('/').next().unwrap_or(relative);
    if is_renamed(&newest.name, used, &newest.mime_type) {
        report.renamed.push(Renamed { drive_name: newest.name.clone(), path: shown(&own) });
    }
    Ok(Some(Wanted { drive_path, expected, copied_at: newest.copied_at.clone(), placement, copies: same }))
}

/// The hashes restored bytes must have: the recorded md5, else the destination's sha1.
fn expected_of(storage: &StorageManager, key: &str, entry: &CatalogEntry) -> Expected {
    let sha1 = match storage.hash_kind(key) {
        Ok(HashKind::Sha1) => entry.remote_hash.clone(),
        _ => None,
    };
    Expected { size: entry.size, md5: entry.md5.clone(), sha1 }
}

/// Whether the name used differs from Drive's, beyond the extension of an exported Google file.
fn is_renamed(drive_name: &str, used: &str, mime_type: &str) -> bool {
    if drive_name.is_empty() || drive_name == used {
        return false;
    }
    let exported = mime_type.starts_with(crate::drive::WORKSPACE_PREFIX);
    !(exported && used.strip_prefix(drive_name).is_some_and(|ext| ext.starts_with('.') && !ext[1..].contains('.')))
}

/// A file waiting for its copy from `copies[next]`, and why the earlier ones failed.
struct Pending {
    wanted: Wanted,
    next: usize,
    reasons: Vec<String>,
}

async fn transfer(
    storage: &StorageManager,
    request: &RestoreRequest,
    wanted: Vec<Wanted>,
    staging: &Path,
    options: &RestoreOptions,
    report: &mut RestoreReport,
) -> Result<(), RestoreError> {
    let mut progress = RestoreProgress { files_total: report.files, bytes_total: report.bytes, ..Default::default() };
    let mut pending = Vec::new();
    for w in wanted {
        if matches!(w.placement, Placement::AlreadyThere(_)) {
            report.already_restored += 1;
            progress.files_done += 1;
            progress.bytes_done += w.expected.size.unwrap_or(0).max(0) as u64;
        } else {
            pending.push(Pending { wanted: w, next: 0, reasons: Vec::new() });
        }
    }
    send(options, &progress);
    while !pending.is_empty() {
        let mut groups: BTreeMap<(String, bool), Vec<Pending>> = BTreeMap::new();
        for p in pending.drain(..) {
            let (key, entry) = &p.wanted.copies[p.next];
            groups.entry((key.clone(), entry.provider_version)).or_default().push(p);
        }
        for ((key, provider_versions), mut group) in groups {
            // Neighbours in one job: each job then lists only the folders its files are in.
            group.sort_by(|a, b| a.wanted.copies[a.next].1.location.cmp(&b.wanted.copies[b.next].1.location));
            // One staging folder per source, laid out as its objects: a run that was cut short
            // finds what it had fetched there and checks it instead of fetching it again.
            let dir = staging.join(if provider_versions { format!("{key}@versions") } else { key.clone() });
            let source = Source { key: &key, provider_versions, dir };
            let mut group = group.into_iter().peekable();
            let mut fetched: Option<Fetched> = None;
            while group.peek().is_some() && !report.cancelled {
                if options.cancel.is_cancelled() {
                    report.cancelled = true;
                    break;
                }
                let chunk: Vec<Pending> = group.by_ref().take(BATCH_FILES).collect();
                // The next chunk downloads while the last one is checked and moved into place.
                let (next, taken) = tokio::join!(
                    fetch(storage, &source, chunk, &options.cancel),
                    take(storage, request, &source, fetched.take(), report, &mut progress)
                );
                pending.extend(taken?);
                send(options, &progress);
                fetched = Some(next?);
            }
            pending.extend(take(storage, request, &source, fetched, report, &mut progress).await?);
            send(options, &progress);
            if report.cancelled {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn send(options: &RestoreOptions, progress: &RestoreProgress) {
    if let Some(tx) = &options.progress {
        let _ = tx.send(progress.clone());
    }
}

/// Where the files of one job come from, and the staging folder they are fetched into.
struct Source<'a> {
    key: &'a str,
    provider_versions: bool,
    dir: PathBuf,
}

/// One chunk of files fetched (or not) into its source's staging folder.
struct Fetched {
    chunk: Vec<Pending>,
    /// Each file's object path at the source (and under the staging folder).
    paths: Vec<String>,
    staged: Vec<(PathBuf, Expected)>,
    /// Already staged with the wanted bytes by a run that was cut short: not fetched again.
    already: Vec<bool>,
    result: Result<(), StorageError>,
}

/// Fetches what of `chunk` is not already staged, in one job.
async fn fetch(
    storage: &StorageManager,
    source: &Source<'_>,
    chunk: Vec<Pending>,
    cancel: &CancellationToken,
) -> Result<Fetched, RestoreError> {
    let dir = &source.dir;
    std::fs::create_dir_all(dir).map_err(local(dir))?;
    let paths: Vec<String> = chunk.iter().map(|p| p.wanted.copies[p.next].1.location.clone()).collect();
    let staged: Vec<(PathBuf, Expected)> =
        chunk.iter().zip(&paths).map(|(p, path)| (dir.join(path), p.wanted.expected.clone())).collect();
    let already: Vec<bool> = check_all(staged.clone()).await.into_iter().map(|r| r.unwrap_or(false)).collect();
    let to_fetch: Vec<String> =
        paths.iter().zip(&already).filter(|(_, done)| !**done).map(|(path, _)| path.clone()).collect();
    let (key, group) = (source.key, format!("restore-{}", source.key));
    let result = match to_fetch.is_empty() {
        true => Ok(()),
        false => storage.download_batch(key, &to_fetch, source.provider_versions, dir, &group, cancel).await,
    };
    if matches!(result, Err(StorageError::Rclone(crate::rclone::RcloneError::DaemonDied))) {
        let _ = storage.restart_if_stopped().await;
    }
    Ok(Fetched { chunk, paths, staged, already, result })
}

/// Checks each fetched file and moves it into place. Returns the files to try again from
/// their next copy.
async fn take(
    storage: &StorageManager,
    request: &RestoreRequest,
    source: &Source<'_>,
    fetched: Option<Fetched>,
    report: &mut RestoreReport,
    progress: &mut RestoreProgress,
) -> Result<Vec<Pending>, RestoreError> {
    let Some(Fetched { chunk, paths, staged, already, result }) = fetched else { return Ok(Vec::new()) };
    if matches!(result, Err(StorageError::Rclone(crate::rclone::RcloneError::Cancelled))) {
        report.cancelled = true;
        return Ok(Vec::new());
    }
    let key = source.key;
    let job_error = result.err().map(|e| e.to_string());
    let checks = check_fetched(storage, source, (&paths, &staged), &already, job_error.is_none()).await;
    let mut retry = Vec::new();
    for ((mut p, (staged, _)), (check, path)) in chunk.into_iter().zip(staged).zip(checks.into_iter().zip(&paths)) {
        let outcome = match check {
            Ok(true) => settle(&staged, &p.wanted.placement),
            Ok(false) => Err(format!("{key}: the copy's bytes differ from those recorded for this version")),
            Err(_) => Err(job_error.clone().unwrap_or_else(|| format!("{key}: the copy is not at the destination"))),
        };
        match outcome {
            Ok(()) => record_restored(request, key, p.wanted, report, progress),
            Err(reason) => {
                let _ = std::fs::remove_file(&staged);
                tracing::warn!(destination = key, file = %p.wanted.drive_path, path, reason, "a copy could not be restored");
                p.reasons.push(reason);
                p.next += 1;
                if p.next < p.wanted.copies.len() {
                    retry.push(p);
                } else {
                    progress.files_done += 1;
                    report.failures.push(Failure { drive_path: p.wanted.drive_path, reason: p.reasons.join("; ") });
                }
            }
        }
    }
    Ok(retry)
}

fn record_restored(
    request: &RestoreRequest,
    key: &str,
    wanted: Wanted,
    report: &mut RestoreReport,
    progress: &mut RestoreProgress,
) {
    let bytes = wanted.expected.size.unwrap_or(0).max(0) as u64;
    let egress = report.egress.entry(key.to_string()).or_default();
    egress.files += 1;
    egress.bytes += bytes;
    progress.files_done += 1;
    progress.bytes_done += bytes;
    report.restored.push(RestoredFile {
        path: shown(&request.to, wanted.placement.path()),
        drive_path: wanted.drive_path,
        from: key.to_string(),
        bytes,
        checked_by: wanted.expected.check_name(),
        copied_at: wanted.copied_at,
    });
}

/// Whether each staged file has the bytes wanted, hashed on blocking threads.
async fn check_all(files: Vec<(PathBuf, Expected)>) -> Vec<std::io::Result<bool>> {
    let count = files.len();
    tokio::task::spawn_blocking(move || target::have_bytes(&files))
        .await
        .unwrap_or_else(|_| (0..count).map(|_| Err(std::io::Error::other("the check did not finish"))).collect())
}

/// Checks each file of a chunk after its download. rclone compared every byte it fetched with
/// the hash the destination stated for the object and removed what did not match: where that
/// stated hash, listed after the download, is the one recorded for this version, the file is
/// the recorded bytes and is not read again. Everything else is hashed here.
async fn check_fetched(
    storage: &StorageManager,
    source: &Source<'_>,
    (paths, staged): (&[String], &[(PathBuf, Expected)]),
    already: &[bool],
    job_succeeded: bool,
) -> Vec<std::io::Result<bool>> {
    let worth_listing = worth_listing(paths, staged, already);
    let key = source.key;
    let stated = match job_succeeded && !source.provider_versions && !worth_listing.is_empty() {
        true => storage.stated_hashes(key, &worth_listing).await.unwrap_or_else(|e| {
            tracing::warn!(destination = key, error = %e, "cannot list the restored copies' hashes; hashing them here");
            HashMap::new()
        }),
        false => HashMap::new(),
    };
    let kind = storage.hash_kind(key).unwrap_or(HashKind::Md5);
    let mut to_hash = Vec::new();
    let mut checks: Vec<Option<std::io::Result<bool>>> = Vec::with_capacity(staged.len());
    for ((location, (path, expected)), done) in paths.iter().zip(staged).zip(already) {
        let stated_ok = stated.get(location).is_some_and(|hash| expected.is_stated(kind, hash));
        if *done || (stated_ok && target::has_size(path, expected)) {
            checks.push(Some(Ok(true)));
        } else {
            to_hash.push((path.clone(), expected.clone()));
            checks.push(None);
        }
    }
    let mut hashed = check_all(to_hash).await.into_iter();
    checks.into_iter().map(|c| c.unwrap_or_else(|| hashed.next().unwrap_or(Ok(false)))).collect()
}

/// The fetched files whose folder's listing costs less than reading them: folders holding at
/// least [`LISTING_PAYS_FROM`] bytes of this chunk.
fn worth_listing(paths: &[String], staged: &[(PathBuf, Expected)], already: &[bool]) -> Vec<String> {
    let folder = |path: &str| path.rsplit_once('/').map_or("", |(folder, _)| folder).to_string();
    let mut bytes: HashMap<String, u64> = HashMap::new();
    for ((path, (_, expected)), done) in paths.iter().zip(staged).zip(already) {
        if !done {
            *bytes.entry(folder(path)).or_default() += expected.size.unwrap_or(0).max(0) as u64;
        }
    }
    let pays = |path: &String| bytes.get(&folder(path)).is_some_and(|b| *b >= LISTING_PAYS_FROM);
    paths.iter().zip(already).filter(|(path, done)| !**done && pays(path)).map(|(path, _)| path.clone()).collect()
}

fn shown(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

/// Moves a checked file into its place.
fn settle(staged: &Path, placement: &Placement) -> Result<(), String> {
    let target = placement.path();
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot make the folder {}: {e}", parent.display()))?;
    }
    std::fs::rename(staged, target).map_err(|e| format!("cannot write {}: {e}", target.display()))
}

/// What `rebuild` imported.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RebuildReport {
    /// Copies imported per destination.
    pub destinations: BTreeMap<String, usize>,
    /// Destinations with no index (nothing imported).
    pub without_index: Vec<String>,
    /// Folder policies taken up from the indexes.
    pub policies_added: Vec<String>,
}

/// Rebuilds the database's record of each destination in `keys` from its index.
pub async fn rebuild(
    db: &Database,
    storage: &StorageManager,
    keys: &[String],
    scratch: &Path,
) -> Result<RebuildReport, RestoreError> {
    let mut report = RebuildReport::default();
    let mut known: HashMap<String, ()> =
        db.get_all_folder_policies().await?.into_iter().map(|p| (p.folder_id, ())).collect();
    for key in keys {
        let Some(found) = index::read_index(storage, key, scratch).await? else {
            report.without_index.push(key.clone());
            continue;
        };
        for policy in &found.header.policies {
            if known.insert(policy.folder_id.clone(), ()).is_none() && db.add_folder_policy(policy).await? {
                report.policies_added.push(policy.folder_path.clone());
            }
        }
        let root = storage.root_path(key)?;
        let imported = db.import_catalog(key, &root, &found.entries).await?;
        report.destinations.insert(key.clone(), imported);
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ok(report)
}

/// Where a restore into Google Drive goes: the folder `name` in My Drive; with `convert`,
/// exported Google files become Google files again.
#[derive(Debug, Clone)]
pub struct DriveTarget {
    pub name: String,
    pub convert: bool,
}

/// Restores into Google Drive, through `request.to` (where the files are restored and checked
/// first, and which is emptied once everything is in Drive).
pub async fn restore_to_drive(
    sources: &RestoreSources<'_>,
    drive: &crate::drive::DriveClient,
    request: &RestoreRequest,
    target: &DriveTarget,
    options: &RestoreOptions,
) -> Result<RestoreReport, RestoreError> {
    let name = target.name.as_str();
    let mut report = restore(sources, request, options).await?;
    report.to = format!("Google Drive: {name}");
    if request.dry_run || report.cancelled {
        return Ok(report);
    }
    let convert = target.convert.then_some(&report.google_files);
    let uploaded = to_drive::upload_tree(drive, sources.db, &request.to, name, convert).await?;
    let complete = uploaded.stopped.is_none() && uploaded.failures.is_empty();
    report.all_success &= complete;
    if report.all_success {
        let _ = std::fs::remove_dir_all(&request.to);
    }
    report.drive = Some(uploaded);
    Ok(report)
}
