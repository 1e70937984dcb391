//! Fanout's engine: Google Drive folders backed up to several destinations at once.
//!
//! Data flows one way: Drive listing → `files` table → planner (policies × ledger) →
//! transfer pipeline (download once, verify, fan out through one rclone daemon) →
//! per-destination results → `file_destinations`. The desktop shell and the CLI are thin
//! callers of [`engine::Engine`].

pub mod auth;
pub mod bandwidth;
pub mod config;
pub mod cost;
pub mod db;
pub mod drive;
pub mod engine;
pub mod pause;
pub mod policy;
pub mod rclone;
pub mod restore;
pub mod schedule;
pub mod secrets;
pub mod storage;
pub mod sync;

pub use engine::{Engine, EngineError};

// What the shells (CLI, desktop) use, from the engine's one surface.
pub use db::{DestinationStats, FilePage, FileQuery, FileRow, PairRecord, RunRecord, RunStatus, SyncStatus};
pub use engine::{
    default_config_path, default_data_dir, DriveFolder, FileHistory, FolderEstimate, GoogleStatus, SecretStatus,
};
pub use policy::FolderPolicy;
pub use restore::{RebuildReport, RestoreOptions, RestoreProgress, RestoreReport, RestoreRequest};
pub use storage::DestinationInfo;
pub use sync::verify::VerifyReport;
pub use sync::versions::PruneReport;
pub use sync::{ProgressSnapshot, RetryScope, SyncEvent, SyncOptions, SyncPlan, SyncSummary};
