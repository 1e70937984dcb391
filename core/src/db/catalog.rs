//! The catalog: every copy a destination holds, with the Drive file it is a copy of. Restore
//! reads it; each destination's index (`.fanout/index.jsonl`) is the same records, written
//! there after a sync so the catalog can be had again from the destination alone; `rebuild`
//! imports them back.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::versions::VersionState;
use super::{now, Database, DbError};

/// One copy of one Drive file at one destination. Paths are relative to the destination's
/// root (its folder, or `<bucket>/<prefix>`), so an index stays right wherever the bucket is
/// reached from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub file_id: String,
    /// The file's path in Drive (as last listed, for display and to choose what to restore).
    pub drive_path: String,
    /// Drive's own name for it (untrusted; may not be a valid file name).
    pub name: String,
    pub mime_type: String,
    /// Where the copy was made: `google-drive/<safe path>`.
    pub path: String,
    /// Where its bytes are now: `path` (current), the versions area, or the provider's name
    /// for an older version (then `provider_version` is true).
    pub location: String,
    #[serde(default)]
    pub provider_version: bool,
    pub md5: Option<String>,
    /// The destination's own hash of it (md5 or sha1, as the provider keeps).
    pub remote_hash: Option<String>,
    pub size: Option<i64>,
    pub drive_version: Option<i64>,
    pub modified_time: Option<String>,
    pub copied_at: String,
    pub last_verified: Option<String>,
    /// `current` or `kept`.
    pub state: VersionState,
    /// No longer in Drive (deleted or trashed) when last listed.
    #[serde(default)]
    pub gone_from_drive: bool,
}

impl Database {
    /// The copies `destination` holds (current and kept versions), whose recorded paths lie
    /// under `root` (the destination's current `<bucket>/<prefix>` or folder).
    pub async fn catalog(&self, destination: &str, root: &str) -> Result<Vec<CatalogEntry>, DbError> {
        let rows = sqlx::query(
            "SELECT v.file_id, f.drive_path, f.name, f.mime_type, f.gone, f.trashed, v.remote_path, v.kept_path,
                    v.provider_version, v.md5, v.remote_hash, v.size, v.drive_version, v.modified_time,
                    v.copied_at, v.last_verified, v.state
             FROM file_versions v JOIN files f ON f.file_id = v.file_id
             WHERE v.destination = ? AND v.state IN ('current', 'kept')
             ORDER BY v.file_id, v.copied_at DESC, v.id DESC",
        )
        .bind(destination)
        .fetch_all(&self.pool)
        .await?;
        let under = format!("{root}/");
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let remote_path: String = row.try_get("remote_path")?;
            let Some(path) = remote_path.strip_prefix(&under) else { continue };
            let kept_path: Option<String> = row.try_get("kept_path")?;
            let provider_version: Option<String> = row.try_get("provider_version")?;
            let location = match (&kept_path, &provider_version) {
                (Some(kept), _) => match kept.strip_prefix(&under) {
                    Some(kept) => kept.to_string(),
                    None => continue,
                },
                (None, Some(version)) => version.clone(),
                (None, None) => path.to_string(),
            };
            let state: String = row.try_get("state")?;
            entries.push(CatalogEntry {
                file_id: row.try_get("file_id")?,
                drive_path: row.try_get("drive_path")?,
                name: row.try_get("name")?,
                mime_type: row.try_get("mime_type")?,
                path: path.to_string(),
                location,
                provider_version: kept_path.is_none() && provider_version.is_some(),
                md5: row.try_get("md5")?,
                remote_hash: row.try_get("remote_hash")?,
                size: row.try_get("size")?,
                drive_version: row.try_get("drive_version")?,
                modified_time: row.try_get("modified_time")?,
                copied_at: row.try_get("copied_at")?,
                last_verified: row.try_get("last_verified")?,
                state: if state == "kept" { VersionState::Kept } else { VersionState::Current },
                gone_from_drive: row.try_get::<bool, _>("gone")? || row.try_get::<bool, _>("trashed")?,
            });
        }
        Ok(entries)
    }

    /// Whether the database knows of any copy at all (a new data folder knows none).
    pub async fn has_copies(&self) -> Result<bool, DbError> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM (SELECT 1 FROM file_versions LIMIT 1)").fetch_one(&self.pool).await?;
        Ok(count > 0)
    }

    /// Rebuilds what the database knows of `destination` from its index: each file (unless
    /// the database already has it), its ledger row as synced (the current copy) and every
    /// version. Returns how many copies were imported. What the database already recorded for
    /// that destination is replaced, in one transaction.
    pub async fn import_catalog(
        &self,
        destination: &str,
        root: &str,
        entries: &[CatalogEntry],
    ) -> Result<usize, DbError> {
        let at = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM file_versions WHERE destination = ?").bind(destination).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM file_destinations WHERE destination = ?").bind(destination).execute(&mut *tx).await?;
        for e in entries {
            let name = e.path.rsplit('/').next().unwrap_or(&e.path);
            // Parents, names and trash state are Drive's to say: the next listing fills them in.
            sqlx::query(
                "INSERT OR IGNORE INTO files (file_id, name, remote_name, mime_type, is_folder, size, md5, version,
                                              modified_time, drive_path, remote_path, gone, updated_at)
                 VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&e.file_id)
            .bind(&e.name)
            .bind(name)
            .bind(&e.mime_type)
            .bind(e.size)
            .bind(&e.md5)
            .bind(e.drive_version)
            .bind(&e.modified_time)
            .bind(&e.drive_path)
            .bind(&e.path)
            .bind(e.gone_from_drive)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
            let remote_path = format!("{root}/{}", e.path);
            let (kept_path, provider_version) = match (e.state, e.provider_version) {
                (VersionState::Kept, true) => (None, Some(e.location.clone())),
                (VersionState::Kept, false) if e.location != e.path => (Some(format!("{root}/{}", e.location)), None),
                _ => (None, None),
            };
            sqlx::query(
                "INSERT INTO file_versions (file_id, destination, md5, size, drive_version, modified_time, remote_path,
                                            kept_path, provider_version, remote_hash, copied_at, last_verified, state)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&e.file_id)
            .bind(destination)
            .bind(&e.md5)
            .bind(e.size)
            .bind(e.drive_version)
            .bind(&e.modified_time)
            .bind(&remote_path)
            .bind(kept_path)
            .bind(provider_version)
            .bind(&e.remote_hash)
            .bind(&e.copied_at)
            .bind(&e.last_verified)
            .bind(e.state.as_str())
            .execute(&mut *tx)
            .await?;
            if e.state == VersionState::Current {
                sqlx::query(
                    "INSERT INTO file_destinations (file_id, destination, sync_status, last_sync, remote_path, size, md5,
                                                    version, remote_hash, last_verified, updated_at)
                     VALUES (?, ?, 'synced', ?, ?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (file_id, destination) DO NOTHING",
                )
                .bind(&e.file_id)
                .bind(destination)
                .bind(&e.copied_at)
                .bind(&remote_path)
                .bind(e.size)
                .bind(&e.md5)
                .bind(e.drive_version)
                .bind(&e.remote_hash)
                .bind(&e.last_verified)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            }
        }
        // The listing the database held may not match what was imported: list in full next time.
        sqlx::query("DELETE FROM drive_state WHERE key IN ('changes_token', 'clean_plan')").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(entries.len())
    }
}
