//! Drive items as last listed: metadata, paths and the remote-name mapping.

use serde::Serialize;
use sqlx::FromRow;

use super::{now, Database, DbError};

/// One Drive item as the database remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct FileRecord {
    pub file_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub remote_name: String,
    pub mime_type: String,
    pub is_folder: bool,
    pub content_id: Option<String>,
    pub size: Option<i64>,
    pub md5: Option<String>,
    pub version: Option<i64>,
    pub modified_time: Option<String>,
    pub drive_path: String,
    pub remote_path: String,
    /// In the trash: by itself, or through a folder above it (worked out at each listing).
    pub trashed: bool,
    /// Drive's own flags for the item, as last reported: trashed by itself, and `trashed`.
    pub explicitly_trashed: bool,
    pub drive_trashed: bool,
    pub gone: bool,
    pub skip_reason: Option<String>,
}

/// What a listing contributes for one item; `gone` and timestamps are the database's business.
pub type FileUpsert = FileRecord;

impl Database {
    pub async fn load_files(&self) -> Result<Vec<FileRecord>, DbError> {
        Ok(sqlx::query_as::<_, FileRecord>(
            "SELECT file_id, parent_id, name, remote_name, mime_type, is_folder, content_id, size, md5, version,
                    modified_time, drive_path, remote_path, trashed, explicitly_trashed, drive_trashed, gone, skip_reason FROM files",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn get_file(&self, file_id: &str) -> Result<Option<FileRecord>, DbError> {
        Ok(sqlx::query_as::<_, FileRecord>(
            "SELECT file_id, parent_id, name, remote_name, mime_type, is_folder, content_id, size, md5, version,
                    modified_time, drive_path, remote_path, trashed, explicitly_trashed, drive_trashed, gone, skip_reason FROM files WHERE file_id = ?",
        )
        .bind(file_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The item at a Drive path (as the listing worked it out), if there is one.
    pub async fn file_at_path(&self, drive_path: &str) -> Result<Option<FileRecord>, DbError> {
        Ok(sqlx::query_as::<_, FileRecord>(
            "SELECT file_id, parent_id, name, remote_name, mime_type, is_folder, content_id, size, md5, version,
                    modified_time, drive_path, remote_path, trashed, explicitly_trashed, drive_trashed, gone, skip_reason
             FROM files WHERE drive_path = ? AND is_folder = 0 ORDER BY gone, file_id LIMIT 1",
        )
        .bind(drive_path)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Folders already listed whose name contains `text` anywhere (case-insensitively for
    /// ASCII): (ID, name). Drive's own search matches only the start of each word.
    pub async fn known_folders_named(&self, text: &str, limit: i64) -> Result<Vec<(String, String)>, DbError> {
        Ok(sqlx::query_as(
            "SELECT file_id, name FROM files WHERE is_folder = 1 AND gone = 0 AND trashed = 0
             AND name LIKE ? ESCAPE '\\' ORDER BY name, file_id LIMIT ?",
        )
        .bind(super::like_anywhere(text))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores a listing in one transaction: every listed item is upserted, and `gone_ids`
    /// (items known before but missing from this listing) are marked gone. Any change also
    /// drops the clean-run marker, so the next sync plans from the ledger again.
    pub async fn save_listing(&self, items: &[FileUpsert], gone_ids: &[String]) -> Result<(), DbError> {
        let at = now();
        let mut tx = self.pool.begin().await?;
        if !items.is_empty() || !gone_ids.is_empty() {
            sqlx::query("DELETE FROM drive_state WHERE key = ?").bind(super::CLEAN_PLAN_KEY).execute(&mut *tx).await?;
        }
        for f in items {
            sqlx::query(
                "INSERT INTO files (file_id, parent_id, name, remote_name, mime_type, is_folder, content_id, size, md5,
                                    version, modified_time, drive_path, remote_path, trashed, explicitly_trashed,
                                    drive_trashed, gone, skip_reason, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
                 ON CONFLICT(file_id) DO UPDATE SET
                    parent_id = excluded.parent_id, name = excluded.name, remote_name = excluded.remote_name,
                    mime_type = excluded.mime_type, is_folder = excluded.is_folder, content_id = excluded.content_id,
                    size = excluded.size, md5 = excluded.md5, version = excluded.version,
                    modified_time = excluded.modified_time, drive_path = excluded.drive_path,
                    remote_path = excluded.remote_path, trashed = excluded.trashed,
                    explicitly_trashed = excluded.explicitly_trashed, drive_trashed = excluded.drive_trashed, gone = 0,
                    skip_reason = excluded.skip_reason, updated_at = excluded.updated_at
                 WHERE files.parent_id IS NOT excluded.parent_id OR files.name != excluded.name
                    OR files.remote_name != excluded.remote_name OR files.md5 IS NOT excluded.md5
                    OR files.version IS NOT excluded.version OR files.size IS NOT excluded.size
                    OR files.drive_path != excluded.drive_path OR files.remote_path != excluded.remote_path
                    OR files.trashed != excluded.trashed OR files.gone != 0
                    OR files.explicitly_trashed != excluded.explicitly_trashed
                    OR files.drive_trashed != excluded.drive_trashed
                    OR files.skip_reason IS NOT excluded.skip_reason OR files.content_id IS NOT excluded.content_id
                    OR files.modified_time IS NOT excluded.modified_time OR files.mime_type != excluded.mime_type",
            )
            .bind(&f.file_id)
            .bind(&f.parent_id)
            .bind(&f.name)
            .bind(&f.remote_name)
            .bind(&f.mime_type)
            .bind(f.is_folder)
            .bind(&f.content_id)
            .bind(f.size)
            .bind(&f.md5)
            .bind(f.version)
            .bind(&f.modified_time)
            .bind(&f.drive_path)
            .bind(&f.remote_path)
            .bind(f.trashed)
            .bind(f.explicitly_trashed)
            .bind(f.drive_trashed)
            .bind(&f.skip_reason)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        for id in gone_ids {
            sqlx::query("UPDATE files SET gone = 1, updated_at = ? WHERE file_id = ? AND gone = 0")
                .bind(&at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
