//! The one API every caller uses: the CLI, the desktop shell and the tests.

mod account;
mod folders;

pub use account::{GoogleStatus, SecretStatus};
pub use folders::{DriveFolder, FolderEstimate};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::{AuthError, TokenSource};
use crate::config::{Config, ConfigError};
use crate::db::{Database, DbError, DestinationStats, FilePage, FileQuery, RunRecord};
use crate::drive::{DriveClient, DriveError, DriveFile};
use crate::policy::{validate_destinations, FolderPolicy, PolicyError};
use crate::rclone::{locate_binary, DirectLauncher, Launcher, Rclone, RcloneError};
use crate::restore::{RebuildReport, RestoreError, RestoreOptions, RestoreReport, RestoreRequest, RestoreSources};
use crate::schedule::Overdue;
use crate::secrets::{SecretError, SecretStore};
use crate::storage::versions::VersionKeeper;
use crate::storage::{describe_destinations, DestinationInfo, StorageError, StorageManager};
use crate::sync::verify::{verify, verify_against_drive, VerifyReport};
use crate::sync::versions::PruneReport;
use crate::sync::{
    run_plan, run_sync, ProgressReporter, RetryScope, SyncContext, SyncError, SyncOptions, SyncPlan, SyncSummary,
};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Drive(#[from] DriveError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Rclone(#[from] RcloneError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error("`{0}` is not a configured destination")]
    UnknownDestination(String),
    #[error("`{field}` is not a secret of `{owner}`; its secrets are: {expected}")]
    UnknownSecretField { owner: String, field: String, expected: String },
    #[error("not signed in to Google")]
    NotSignedIn,
    #[error("rclone was not found: run scripts/fetch-rclone, or set FANOUT_RCLONE to its path")]
    RcloneMissing,
    #[error("no folder is set up for backup")]
    NoPolicies,
    #[error("`{0}` is not a file Fanout has seen in Drive (give its Drive path, like Work/report.pdf, or its ID)")]
    UnknownFile(String),
    #[error("a sync is already running for this data folder ({0}); wait for it to finish")]
    AlreadyRunning(PathBuf),
    #[error("cannot use the data folder {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
}

/// Every version of one file, per destination, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileHistory {
    pub file_id: String,
    pub drive_path: String,
    pub destinations: std::collections::BTreeMap<String, Vec<crate::db::VersionRecord>>,
}

/// Fanout's engine over one data folder.
pub struct Engine {
    pub config: Config,
    db: Database,
    data_dir: PathBuf,
    secrets: Arc<dyn SecretStore>,
    /// Drive's access tokens, shared by every client so a refresh happens once.
    tokens: std::sync::Mutex<Option<Arc<TokenSource>>>,
    /// Starts rclone: directly, unless the host (the desktop app) supplies its own.
    launcher: Arc<dyn Launcher>,
    /// The rclone binary, when the host says which (else it is looked for).
    rclone_binary: Option<PathBuf>,
    /// One request budget for every Drive client of this engine.
    pacer: Arc<crate::drive::Pacer>,
    /// The bandwidth limit in force: config.yaml's, or a newer one from Settings.
    bandwidth: Arc<crate::bandwidth::Bandwidth>,
}

impl Engine {
    /// Opens the data folder (database included), creating it if needed.
    pub async fn open(config: Config, data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<Self, EngineError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| EngineError::DataDir { path: data_dir.to_path_buf(), source })?;
        let db = Database::open(&data_dir.join("fanout.db")).await?;
        let pacer = Arc::new(crate::drive::Pacer::new(config.google.requests_per_second, config.google.request_burst));
        let bandwidth = Arc::new(crate::bandwidth::Bandwidth::new(config.sync.bandwidth.clone()));
        Ok(Self {
            bandwidth,
            config,
            db,
            data_dir: data_dir.to_path_buf(),
            secrets,
            tokens: Default::default(),
            launcher: Arc::new(DirectLauncher),
            rclone_binary: None,
            pacer,
        })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A Drive client signed in as the stored Google account.
    pub fn drive(&self) -> Result<DriveClient, EngineError> {
        let tokens = self.token_source()?;
        self.drive_with(tokens)
    }

    fn drive_with(&self, tokens: Arc<TokenSource>) -> Result<DriveClient, EngineError> {
        let backoff = crate::drive::Backoff {
            base: std::time::Duration::from_millis(self.config.google.retry_base_ms),
            ..Default::default()
        };
        let pacer = self.pacer.clone();
        Ok(DriveClient::new(&self.config.google.drive_url, tokens)?
            .with_backoff(backoff)
            .with_pacer(pacer)
            .with_throttle(self.bandwidth.download.clone()))
    }

    /// Has rclone started by `launcher` from now on (the desktop app's sidecar).
    pub fn set_launcher(&mut self, launcher: Arc<dyn Launcher>) {
        self.launcher = launcher;
    }

    /// Uses this rclone binary (the desktop app's bundled one) instead of looking for one.
    pub fn set_rclone_binary(&mut self, binary: PathBuf) {
        self.rclone_binary = Some(binary);
    }

    fn rclone(&self) -> Result<Rclone, EngineError> {
        let binary = match &self.rclone_binary {
            Some(binary) => binary.clone(),
            None => locate_binary(self.config.rclone_path.as_deref()).ok_or(EngineError::RcloneMissing)?,
        };
        Ok(Rclone { binary, launcher: self.launcher.clone() })
    }

    /// Starts the rclone daemon with every enabled destination.
    pub async fn storage(&self) -> Result<StorageManager, EngineError> {
        let rclone = self.rclone()?;
        Ok(StorageManager::start(&self.bandwidth, &self.config, self.secrets.as_ref(), &rclone, &self.data_dir).await?)
    }

    /// Every configured destination, with whether its keys are available.
    pub fn destinations(&self) -> Vec<DestinationInfo> {
        describe_destinations(&self.config, self.secrets.as_ref())
    }

    /// Tests one destination's connection, credentials and bucket (or folder, which
    /// `create_folder` makes when it is missing).
    /// Says who keeps earlier versions there.
    pub async fn test_destination(&self, key: &str, create_folder: bool) -> Result<VersionKeeper, EngineError> {
        let dest = self.config.destination(key).ok_or_else(|| StorageError::UnknownDestination(key.to_string()))?;
        if !dest.enabled {
            return Err(StorageError::Disabled(key.to_string()).into());
        }
        let storage = self.storage().await?;
        let result = match storage.test_destination(key, create_folder).await {
            Ok(()) => storage.version_keeper(key).await,
            Err(e) => Err(e),
        };
        storage.shutdown().await;
        Ok(result?)
    }

    // ---- policies ---------------------------------------------------------------------------

    pub async fn policies(&self) -> Result<Vec<FolderPolicy>, EngineError> {
        Ok(self.db.get_all_folder_policies().await?)
    }

    fn configured_destinations(&self) -> Vec<(String, bool)> {
        self.config.destinations.iter().map(|d| (d.key.clone(), d.enabled)).collect()
    }

    /// Finds a Drive folder by ID or by path from My Drive (`Work/Reports`).
    pub async fn resolve_folder(&self, folder: &str) -> Result<(DriveFile, String), EngineError> {
        let drive = self.drive()?;
        if !folder.contains('/') {
            match drive.get_file(folder).await {
                Ok(f) if f.is_folder() && !f.trashed => {
                    let path = self.folder_path(&drive, &f).await?;
                    return Ok((f, path));
                }
                Ok(_) | Err(DriveError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut parent = drive.root_id().await?;
        let mut found: Option<DriveFile> = None;
        for name in folder.trim_matches('/').split('/').filter(|c| !c.is_empty()) {
            let matches = drive.find_child_folders(&parent, name).await?;
            match matches.len() {
                0 => return Err(PolicyError::FolderNotFound(folder.to_string()).into()),
                1 => {}
                n => {
                    return Err(PolicyError::AmbiguousPath {
                        path: folder.to_string(),
                        count: n,
                        ids: matches.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(", "),
                    }
                    .into())
                }
            }
            let next = matches.into_iter().next().ok_or_else(|| PolicyError::FolderNotFound(folder.to_string()))?;
            parent = next.id.clone();
            found = Some(next);
        }
        let folder_file = found.ok_or_else(|| PolicyError::FolderNotFound(folder.to_string()))?;
        let path = self.folder_path(&drive, &folder_file).await?;
        Ok((folder_file, path))
    }

    /// A folder's path of names from the top of its drive (My Drive's root itself is "My Drive").
    async fn folder_path(&self, drive: &DriveClient, folder: &DriveFile) -> Result<String, EngineError> {
        let root = drive.root_id().await?;
        if folder.id == root {
            return Ok(folder.name.clone());
        }
        let mut items = std::collections::HashMap::from([(folder.id.clone(), folder.clone())]);
        crate::sync::listing::fetch_missing_ancestors(drive, &mut items, vec![folder.id.clone()], &root).await?;
        let parent_of = |id: &str| items.get(id).and_then(|f| f.parents.first()).map(String::as_str);
        let above = crate::drive::tree::ancestors(parent_of(&folder.id), parent_of);
        let mut names: Vec<&str> = above.iter().map_while(|id| items.get(*id)).map(|f| f.name.as_str()).collect();
        names.reverse();
        names.push(&folder.name);
        Ok(names.join("/"))
    }

    /// Finds the stored policy a user means: by folder ID, or by its path.
    pub async fn find_policy(&self, folder: &str) -> Result<FolderPolicy, EngineError> {
        let policies = self.db.get_all_folder_policies().await?;
        let wanted = folder.trim_matches('/');
        policies
            .into_iter()
            .find(|p| p.folder_id == folder || p.folder_path == wanted)
            .ok_or_else(|| PolicyError::NoSuchPolicy(folder.to_string()).into())
    }

    /// Adds a policy after checking the destinations and that the folder exists.
    pub async fn add_policy(
        &self,
        folder: &str,
        destinations: &[String],
        recursive: bool,
    ) -> Result<FolderPolicy, EngineError> {
        validate_destinations(destinations, &self.configured_destinations())?;
        let (file, path) = self.resolve_folder(folder).await?;
        let policy = FolderPolicy {
            folder_id: file.id.clone(),
            folder_name: file.name.clone(),
            folder_path: path,
            destinations: destinations.to_vec(),
            recursive,
            enabled: true,
            created_at: String::new(),
            updated_at: String::new(),
        };
        if !self.db.add_folder_policy(&policy).await? {
            return Err(PolicyError::AlreadyExists(policy.folder_path).into());
        }
        self.find_policy(&file.id).await
    }

    pub async fn update_policy(
        &self,
        folder: &str,
        destinations: Option<&[String]>,
        recursive: Option<bool>,
    ) -> Result<FolderPolicy, EngineError> {
        let current = self.find_policy(folder).await?;
        let destinations = destinations.map(<[String]>::to_vec).unwrap_or(current.destinations.clone());
        validate_destinations(&destinations, &self.configured_destinations())?;
        self.db.update_folder_policy(&current.folder_id, &destinations, recursive.unwrap_or(current.recursive)).await?;
        self.find_policy(&current.folder_id).await
    }

    pub async fn remove_policy(&self, folder: &str) -> Result<FolderPolicy, EngineError> {
        let current = self.find_policy(folder).await?;
        self.db.remove_folder_policy(&current.folder_id).await?;
        Ok(current)
    }

    pub async fn set_policy_enabled(&self, folder: &str, enabled: bool) -> Result<FolderPolicy, EngineError> {
        let current = self.find_policy(folder).await?;
        self.db.toggle_folder_enabled(&current.folder_id, enabled).await?;
        self.find_policy(&current.folder_id).await
    }

    // ---- sync -------------------------------------------------------------------------------

    /// Lists Drive and returns what a sync would transfer, without transferring. It takes the
    /// sync lock too: the listing it stores is what the next sync starts from.
    pub async fn plan(&self) -> Result<SyncPlan, EngineError> {
        let _lock = self.lock_sync().await?;
        let drive = self.drive()?;
        let rclone = self.rclone()?;
        let ctx = self.sync_context(&drive, &rclone);
        Ok(crate::sync::refresh_and_plan(&ctx, &ProgressReporter::new(None)).await?)
    }

    /// A plan of only the pairs the ledger records as failed (within `scope`), from a fresh
    /// look at Drive: what `retry_failed` runs.
    pub async fn plan_failed(&self, scope: &RetryScope) -> Result<SyncPlan, EngineError> {
        if let Some(dest) = &scope.destination {
            self.config.destination(dest).ok_or_else(|| EngineError::UnknownDestination(dest.clone()))?;
        }
        let plan = self.plan().await?;
        let ledger = self.db.load_ledger().await?;
        Ok(plan.only_failed(&ledger, scope))
    }

    /// Copies again only the pairs that failed (within `scope`).
    pub async fn retry_failed(&self, scope: &RetryScope, options: SyncOptions) -> Result<SyncSummary, EngineError> {
        let plan = self.plan_failed(scope).await?;
        self.execute(plan, options).await
    }

    /// Takes the data folder's sync lock, held until the returned file is dropped. The OS
    /// releases it if the process dies, so a crash never leaves a stale lock behind.
    async fn lock_sync(&self) -> Result<std::fs::File, EngineError> {
        let path = self.data_dir.join("sync.lock");
        let data_dir_error = |source| EngineError::DataDir { path: path.clone(), source };
        let file =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(data_dir_error)?;
        // A process being started by another thread can hold a copy of the descriptor (and so
        // the lock) for the instant between fork and exec; a lock held by a real sync stays.
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(EngineError::AlreadyRunning(self.data_dir.clone()))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(data_dir_error(e)),
            }
        }
    }

    /// Runs one sync: progress goes to `options.progress`, `options.cancel` stops it.
    /// One sync at a time per data folder; a second gets [`EngineError::AlreadyRunning`].
    pub async fn sync(&self, options: SyncOptions) -> Result<SyncSummary, EngineError> {
        let _lock = self.lock_sync().await?;
        self.sync_locked(options).await
    }

    /// Runs a sync if `sync.schedule` says one is due at `now`; `None` when it is not (or no
    /// schedule is set). Due is decided under the sync lock, so two timers (or the app and a
    /// timer) firing together make one run.
    pub async fn sync_if_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        options: SyncOptions,
    ) -> Result<Option<SyncSummary>, EngineError> {
        let _lock = self.lock_sync().await?;
        match self.next_scheduled_sync(None).await? {
            Some(due) if due <= now => Ok(Some(self.sync_locked(options).await?)),
            _ => Ok(None),
        }
    }

    async fn sync_locked(&self, options: SyncOptions) -> Result<SyncSummary, EngineError> {
        if self.db.get_all_folder_policies().await?.is_empty() {
            return Err(EngineError::NoPolicies);
        }
        let drive = self.drive()?.with_pause(options.pause.clone());
        let rclone = self.rclone()?;
        let ctx = self.sync_context(&drive, &rclone);
        Ok(run_sync(&ctx, options).await?)
    }

    /// Runs `plan` (from [`Engine::plan`], perhaps printed and read back) as it is: exactly the
    /// pairs it lists are copied and verified.
    pub async fn execute(&self, plan: SyncPlan, options: SyncOptions) -> Result<SyncSummary, EngineError> {
        let _lock = self.lock_sync().await?;
        let drive = self.drive()?.with_pause(options.pause.clone());
        let rclone = self.rclone()?;
        let ctx = self.sync_context(&drive, &rclone);
        Ok(run_plan(&ctx, plan, options).await?)
    }

    fn sync_context<'a>(&'a self, drive: &'a DriveClient, rclone: &'a Rclone) -> SyncContext<'a> {
        SyncContext {
            config: &self.config,
            db: &self.db,
            drive,
            secrets: self.secrets.as_ref(),
            rclone,
            data_dir: &self.data_dir,
            bandwidth: &self.bandwidth,
        }
    }

    /// The destinations a verify covers: `destination`, or every enabled one.
    fn destinations_to_verify(&self, destination: Option<&str>) -> Result<Vec<String>, EngineError> {
        match destination {
            Some(key) => {
                let dest = self.config.destination(key).ok_or_else(|| StorageError::UnknownDestination(key.into()))?;
                if !dest.enabled {
                    return Err(StorageError::Disabled(key.into()).into());
                }
                Ok(vec![key.to_string()])
            }
            None => Ok(self.config.enabled_destinations().map(|d| d.key.clone()).collect()),
        }
    }

    /// Re-checks every copy the ledger calls synced at `destination` (or at every enabled
    /// destination); `download_percent` of them are read back in full, a different part each
    /// time.
    pub async fn verify(&self, destination: Option<&str>, download_percent: u8) -> Result<VerifyReport, EngineError> {
        self.verify_with(destination, download_percent, false).await
    }

    /// Like [`Engine::verify`]; with `versions`, the kept earlier versions are checked too.
    pub async fn verify_with(
        &self,
        destination: Option<&str>,
        download_percent: u8,
        versions: bool,
    ) -> Result<VerifyReport, EngineError> {
        let _lock = self.lock_sync().await?;
        let destinations = self.destinations_to_verify(destination)?;
        let storage = self.storage().await?;
        let scratch = self.data_dir.join("verify");
        std::fs::create_dir_all(&scratch).map_err(|source| EngineError::DataDir { path: scratch.clone(), source })?;
        let mut report = verify(&self.config, &self.db, &storage, &destinations, download_percent, &scratch).await;
        if let (Ok(report), true) = (&mut report, versions) {
            for dest in &destinations {
                let check = crate::sync::versions::check_kept(&self.config, &self.db, &storage, dest).await;
                match check {
                    Ok(check) => {
                        report.all_intact &= check.missing == 0;
                        report.versions.insert(dest.clone(), check);
                    }
                    Err(e) => {
                        storage.shutdown().await;
                        return Err(e.into());
                    }
                }
            }
        }
        storage.shutdown().await;
        let _ = std::fs::remove_dir_all(&scratch);
        Ok(report?)
    }

    /// Every version of a file (by Drive ID or path) at every destination, newest first.
    pub async fn history(&self, file: &str) -> Result<FileHistory, EngineError> {
        let record = match self.db.get_file(file).await? {
            Some(record) => record,
            None => self
                .db
                .file_at_path(file.trim_matches('/'))
                .await?
                .ok_or_else(|| EngineError::UnknownFile(file.to_string()))?,
        };
        let mut destinations: std::collections::BTreeMap<String, Vec<crate::db::VersionRecord>> = Default::default();
        for version in self.db.versions_of(&record.file_id).await? {
            destinations.entry(version.destination.clone()).or_default().push(version);
        }
        Ok(FileHistory { file_id: record.file_id, drive_path: record.drive_path, destinations })
    }

    /// Removes (or, with `dry_run`, lists) the earlier versions each destination's
    /// `keep_versions` lets go: never a current copy, never a locked one.
    pub async fn prune(&self, destination: Option<&str>, dry_run: bool) -> Result<PruneReport, EngineError> {
        let _lock = self.lock_sync().await?;
        let destinations = self.destinations_to_verify(destination)?;
        let storage = self.storage().await?;
        let report = crate::sync::versions::prune(&self.config, &self.db, &storage, &destinations, dry_run).await;
        storage.shutdown().await;
        Ok(report?)
    }

    /// Restores Drive files from their copies into a folder (see [`crate::restore`]).
    pub async fn restore(
        &self,
        request: &RestoreRequest,
        options: &RestoreOptions,
    ) -> Result<RestoreReport, EngineError> {
        let keys = self.destinations_to_verify(request.from.as_deref())?;
        let storage = self.storage().await?;
        let scratch = self.data_dir.join("index");
        let sources = RestoreSources { db: &self.db, storage: &storage, keys: &keys, scratch: &scratch };
        let report = crate::restore::restore(&sources, request, options).await;
        storage.shutdown().await;
        Ok(report?)
    }

    /// Restores into Google Drive, into a new folder `folder` in My Drive (default
    /// `Restored by Fanout <date>`), keeping the tree; nothing already in Drive is touched.
    /// With `convert`, exported Google files become Google files again.
    pub async fn restore_to_drive(
        &self,
        request: &RestoreRequest,
        folder: Option<&str>,
        convert: bool,
        options: &RestoreOptions,
    ) -> Result<RestoreReport, EngineError> {
        let name = match folder.filter(|f| !f.trim().is_empty()) {
            Some(name) => name.trim().to_string(),
            None => format!("Restored by Fanout {}", chrono::Utc::now().format("%Y-%m-%d")),
        };
        let drive = self.drive()?;
        let keys = self.destinations_to_verify(request.from.as_deref())?;
        // Restored and checked on this disk first, in a folder of the restore's own.
        let local = self.data_dir.join("restore-to-drive").join(crate::drive::naming::sanitize_component(&name));
        let request = RestoreRequest { to: local, ..request.clone() };
        let storage = self.storage().await?;
        let scratch = self.data_dir.join("index");
        let report = crate::restore::restore_to_drive(
            &RestoreSources { db: &self.db, storage: &storage, keys: &keys, scratch: &scratch },
            &drive,
            &request,
            &crate::restore::DriveTarget { name, convert },
            options,
        )
        .await;
        storage.shutdown().await;
        Ok(report?)
    }

    /// Rebuilds the ledger (and the folder policies) from each destination's own index, on a
    /// new computer, so the next sync copies nothing that is already there.
    pub async fn rebuild(&self, destination: Option<&str>) -> Result<RebuildReport, EngineError> {
        let _lock = self.lock_sync().await?;
        let keys = self.destinations_to_verify(destination)?;
        let storage = self.storage().await?;
        let report = crate::restore::rebuild(&self.db, &storage, &keys, &self.data_dir.join("index")).await;
        storage.shutdown().await;
        Ok(report?)
    }

    /// Compares Drive's current files under the policies with what each destination holds,
    /// independent of the ledger.
    pub async fn verify_against_drive(&self, destination: Option<&str>) -> Result<VerifyReport, EngineError> {
        let _lock = self.lock_sync().await?;
        let destinations = self.destinations_to_verify(destination)?;
        let drive = self.drive()?;
        let rclone = self.rclone()?;
        let ctx = self.sync_context(&drive, &rclone);
        let expected = crate::sync::everything_in_scope(&ctx).await?;
        let storage = self.storage().await?;
        let report = verify_against_drive(&self.db, &storage, &expected, &destinations).await;
        storage.shutdown().await;
        Ok(report?)
    }

    // ---- reading the ledger -----------------------------------------------------------------

    /// The bandwidth limit in force now (config.yaml's, or the last one set).
    pub fn bandwidth_limit(&self) -> crate::bandwidth::Timetable {
        self.bandwidth.timetable()
    }

    /// A new bandwidth limit (rclone's timetable form), applied at once to a running sync and
    /// written to `config_path` (when given) for the next start.
    pub async fn set_bandwidth_limit(
        &self,
        limit: &str,
        config_path: Option<&Path>,
    ) -> Result<crate::bandwidth::Timetable, EngineError> {
        let timetable = crate::bandwidth::Timetable::parse(limit)
            .map_err(|problem| ConfigError::Invalid { field: "sync.bandwidth_limit".into(), problem })?;
        if let Some(path) = config_path {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => crate::config::DEFAULT_CONFIG_YAML.to_string(),
                Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }.into()),
            };
            let edited = crate::config::with_sync_setting(&text, "bandwidth_limit", timetable.text())?;
            crate::config::write_config(path, &edited)?;
        }
        self.bandwidth.set(timetable.clone());
        Ok(timetable)
    }

    /// Per destination: its pairs by state, the bytes it holds and what they cost a month.
    pub async fn stats(&self) -> Result<Vec<DestinationStats>, EngineError> {
        let mut stats = self.db.destination_stats().await?;
        for s in &mut stats {
            if let Some(dest) = self.config.destination(&s.destination) {
                let held = (s.synced_bytes + s.kept_bytes).max(0) as u64;
                s.monthly_cost = self.config.prices.monthly(dest, held);
            }
            s.last_check = crate::sync::check::last_check(&self.db, &s.destination).await?;
        }
        Ok(stats)
    }

    pub async fn files(&self, query: &FileQuery) -> Result<FilePage, EngineError> {
        Ok(self.db.list_files(query).await?)
    }

    /// When the next scheduled sync is due: `sync.schedule` counted from the start of the last
    /// recorded run, or of `attempted` (a later start that failed before a run was recorded);
    /// `None` without a schedule.
    pub async fn next_scheduled_sync(
        &self,
        attempted: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, EngineError> {
        let Some(rule) = self.config.sync.schedule_rule else { return Ok(None) };
        let last = self.db.last_run_started().await?.max(attempted);
        Ok(Some(rule.next_due_here(last)))
    }

    /// Whether backups are overdue at `now` (see `sync.stale_after`), and why; `None` when they
    /// are not, or there is nothing to back up, or no sync was ever tried.
    pub async fn overdue(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Option<Overdue>, EngineError> {
        if self.db.get_all_folder_policies().await?.is_empty() {
            return Ok(None);
        }
        let (last_success, first_start) = self.db.last_success_and_first_start().await?;
        let parse = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let Some(since) = parse(&last_success).or(parse(&first_start)) else { return Ok(None) };
        if !crate::schedule::is_overdue(now, since, self.config.sync.stale_after) {
            return Ok(None);
        }
        let last_error = self.db.recent_runs(1).await?.into_iter().next().and_then(|r| r.error);
        let failing = self.db.destination_stats().await?.into_iter().find(|s| s.failed > 0);
        let problem =
            last_error.or_else(|| failing.map(|s| format!("{} has {} failed copies", s.destination, s.failed)));
        Ok(Some(Overdue { last_success, since: since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), problem }))
    }

    pub async fn recent_runs(&self, limit: i64) -> Result<Vec<RunRecord>, EngineError> {
        Ok(self.db.recent_runs(limit).await?)
    }

    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// Where Fanout keeps its data when not told otherwise.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("fanout")
}

/// Where Fanout looks for config.yaml when not told otherwise.
pub fn default_config_path() -> PathBuf {
    dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("fanout").join("config.yaml")
}
