//! Every copy Fanout made (`file_versions`): the current one of each pair and the earlier ones
//! still kept, with where each lives now.

use serde::Serialize;
use sqlx::{Row, Sqlite, Transaction};

use super::ledger::{PairUpdate, SyncStatus};
use super::{now, Database, DbError};

/// Where the copy that a new one replaces lives now (what the transfer did with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replaced {
    /// Copied into Fanout's versions area at this path (`<root>/.fanout/versions/...`),
    /// checked there before the new bytes went over it.
    KeptAt(String),
    /// The provider keeps it as an older version; rclone names it so.
    ProviderVersion(String),
    /// Nothing could be kept: the object was already gone or damaged. Why.
    NotKept(String),
}

/// What became of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionState {
    Current,
    Kept,
    Pruned,
    Missing,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Current => "current",
            VersionState::Kept => "kept",
            VersionState::Pruned => "pruned",
            VersionState::Missing => "missing",
        }
    }

    fn parse(text: &str) -> Result<Self, DbError> {
        match text {
            "current" => Ok(VersionState::Current),
            "kept" => Ok(VersionState::Kept),
            "pruned" => Ok(VersionState::Pruned),
            "missing" => Ok(VersionState::Missing),
            other => Err(DbError::Corrupt(format!("file_versions.state `{other}`"))),
        }
    }
}

/// One copy of a file at a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRecord {
    pub id: i64,
    pub file_id: String,
    pub destination: String,
    pub md5: Option<String>,
    pub size: Option<i64>,
    pub drive_version: Option<i64>,
    pub modified_time: Option<String>,
    /// Where it was copied (`<bucket>/<prefix>/google-drive/...`).
    pub remote_path: String,
    /// Fanout's versions area: where it lives now, if it was moved there.
    pub kept_path: Option<String>,
    /// The provider's own version of it (rclone's name for it), if the provider keeps it.
    pub provider_version: Option<String>,
    pub remote_hash: Option<String>,
    pub verified_by: Option<String>,
    pub copied_at: String,
    pub replaced_at: Option<String>,
    pub last_verified: Option<String>,
    pub state: VersionState,
    pub note: Option<String>,
}

impl VersionRecord {
    /// Where the bytes of this version can be read: its path in the versions area, its
    /// provider version, or (current, or left at an old path) where it was copied.
    pub fn location(&self) -> &str {
        self.kept_path.as_deref().or(self.provider_version.as_deref()).unwrap_or(&self.remote_path)
    }
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<VersionRecord, DbError> {
    let state: String = row.try_get("state")?;
    Ok(VersionRecord {
        id: row.try_get("id")?,
        file_id: row.try_get("file_id")?,
        destination: row.try_get("destination")?,
        md5: row.try_get("md5")?,
        size: row.try_get("size")?,
        drive_version: row.try_get("drive_version")?,
        modified_time: row.try_get("modified_time")?,
        remote_path: row.try_get("remote_path")?,
        kept_path: row.try_get("kept_path")?,
        provider_version: row.try_get("provider_version")?,
        remote_hash: row.try_get("remote_hash")?,
        verified_by: row.try_get("verified_by")?,
        copied_at: row.try_get("copied_at")?,
        replaced_at: row.try_get("replaced_at")?,
        last_verified: row.try_get("last_verified")?,
        state: VersionState::parse(&state)?,
        note: row.try_get("note")?,
    })
}

/// Records a synced result as the pair's current version, in the same transaction as the
/// ledger row. The copy it replaces becomes a kept version (where `update.replaced` says it
/// lives), unless it was the same bytes at the same place (a repair rewrites, it adds no
/// version).
pub(super) async fn record_current(
    tx: &mut Transaction<'_, Sqlite>,
    file_id: &str,
    update: &PairUpdate,
    at: &str,
) -> Result<(), DbError> {
    if update.status != SyncStatus::Synced {
        return Ok(());
    }
    let remote_path = update.remote_path.clone().unwrap_or_default();
    let current: Option<(i64, Option<String>, String)> = sqlx::query_as(
        "SELECT id, md5, remote_path FROM file_versions WHERE file_id = ? AND destination = ? AND state = 'current'
         ORDER BY id DESC LIMIT 1",
    )
    .bind(file_id)
    .bind(&update.destination)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((id, md5, path)) = &current {
        if *md5 == update.md5 && *path == remote_path {
            sqlx::query("UPDATE file_versions SET remote_hash = ?, verified_by = ?, last_verified = ? WHERE id = ?")
                .bind(&update.remote_hash)
                .bind(update.verified_by.map(|v| v.as_str()))
                .bind(at)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            return Ok(());
        }
        let (state, kept_path, provider_version, note) = match &update.replaced {
            Some(Replaced::KeptAt(path)) => ("kept", Some(path.clone()), None, None),
            Some(Replaced::ProviderVersion(name)) => ("kept", None, Some(name.clone()), None),
            // The new copy went to another path (a rename or move): the old one stays at its own.
            None if *path != remote_path => ("kept", None, None, None),
            Some(Replaced::NotKept(why)) => ("missing", None, None, Some(why.clone())),
            None => ("missing", None, None, Some("replaced without a copy being kept".to_string())),
        };
        sqlx::query(
            "UPDATE file_versions SET state = ?, kept_path = ?, provider_version = ?, note = ?, replaced_at = ?
             WHERE id = ?",
        )
        .bind(state)
        .bind(kept_path)
        .bind(provider_version)
        .bind(note)
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO file_versions (file_id, destination, md5, size, drive_version, modified_time, remote_path,
                                    remote_hash, verified_by, copied_at, last_verified, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'current')",
    )
    .bind(file_id)
    .bind(&update.destination)
    .bind(&update.md5)
    .bind(update.size)
    .bind(update.version)
    .bind(&update.modified_time)
    .bind(&remote_path)
    .bind(&update.remote_hash)
    .bind(update.verified_by.map(|v| v.as_str()))
    .bind(at)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Database {
    /// Every version of a file at every destination, newest first.
    pub async fn versions_of(&self, file_id: &str) -> Result<Vec<VersionRecord>, DbError> {
        let rows =
            sqlx::query("SELECT * FROM file_versions WHERE file_id = ? ORDER BY destination, copied_at DESC, id DESC")
                .bind(file_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(from_row).collect()
    }

    /// The versions a destination still holds besides the current ones.
    pub async fn kept_versions(&self, destination: &str) -> Result<Vec<VersionRecord>, DbError> {
        let rows = sqlx::query(
            "SELECT * FROM file_versions WHERE destination = ? AND state = 'kept' ORDER BY file_id, copied_at DESC, id DESC",
        )
        .bind(destination)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every version at a destination in these states, by file, newest first.
    pub async fn versions_at(&self, destination: &str, states: &[VersionState]) -> Result<Vec<VersionRecord>, DbError> {
        let mut all = Vec::new();
        for state in states {
            let rows = sqlx::query("SELECT * FROM file_versions WHERE destination = ? AND state = ?")
                .bind(destination)
                .bind(state.as_str())
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                all.push(from_row(row)?);
            }
        }
        all.sort_by(|a, b| (&a.file_id, &b.copied_at, b.id).cmp(&(&b.file_id, &a.copied_at, a.id)));
        Ok(all)
    }

    /// Records what a check or a prune found of a version.
    pub async fn set_version_state(&self, id: i64, state: VersionState, note: Option<&str>) -> Result<(), DbError> {
        let verified = (state == VersionState::Kept).then(now);
        sqlx::query(
            "UPDATE file_versions SET state = ?, note = COALESCE(?, note), last_verified = COALESCE(?, last_verified)
             WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(note)
        .bind(verified)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
