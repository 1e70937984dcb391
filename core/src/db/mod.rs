//! The SQLite database: policies, Drive items, the per-destination ledger and sync runs.
//!
//! All SQL lives under this module. The schema's one source of truth is `migrations/`.

mod catalog;
mod files;
mod intents;
mod ledger;
mod policies;
mod runs;
mod versions;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use catalog::CatalogEntry;
pub use files::{FileRecord, FileUpsert};
pub use intents::UploadIntent;
pub use ledger::{DestinationStats, FilePage, FileQuery, FileRow, LedgerEntry, PairRecord, PairUpdate, SyncStatus};
pub use runs::{RunCounts, RunRecord, RunStatus};
pub use versions::{Replaced, VersionRecord, VersionState};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database at {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error(
        "the database holds a value Fanout cannot read ({0}); restore it from a backup or delete it to start over"
    )]
    Corrupt(String),
}

/// Where the "nothing left to do" marker of the last clean run is kept. Anything that changes
/// the stored listing removes it in the same transaction, so a no-change sync can trust it
/// whatever ran in between (a `fanout plan`, a crashed run).
const CLEAN_PLAN_KEY: &str = "clean_plan";

/// A handle on Fanout's database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Database {
    pool: SqlitePool,
}

impl Database {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|source| DbError::Open { path: path.to_path_buf(), source })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| DbError::Open { path: path.to_path_buf(), source })?;
        sqlx::migrate!("../migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Reads a small fact about the Drive account (root ID, changes token).
    pub async fn get_state(&self, key: &str) -> Result<Option<String>, DbError> {
        Ok(sqlx::query_scalar("SELECT value FROM drive_state WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The fingerprint of the policies and destinations of the last run that left every pair
    /// synced, if nothing in the stored listing changed since (see [`Database::save_listing`]).
    pub async fn clean_plan(&self) -> Result<Option<String>, DbError> {
        self.get_state(CLEAN_PLAN_KEY).await
    }

    pub async fn set_clean_plan(&self, fingerprint: &str) -> Result<(), DbError> {
        self.set_state(CLEAN_PLAN_KEY, fingerprint).await
    }

    pub async fn clear_clean_plan(&self) -> Result<(), DbError> {
        self.delete_state(CLEAN_PLAN_KEY).await
    }

    pub async fn delete_state(&self, key: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM drive_state WHERE key = ?").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn set_state(&self, key: &str, value: &str) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO drive_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// A `LIKE ... ESCAPE '\\'` pattern matching `text` literally anywhere.
fn like_anywhere(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The current time as the database stores it (RFC 3339, UTC, seconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Database;

    pub async fn temp_db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("fanout.db")).await.unwrap();
        (dir, db)
    }
}
