//! The ledger: one row per (file, destination) in `file_destinations`, and the queries the
//! dashboard and Files view are built on.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::versions::Replaced;
use super::{now, Database, DbError};
use crate::storage::check::VerifiedBy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SyncStatus {
    Synced,
    #[default]
    Pending,
    Failed,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Synced => "synced",
            SyncStatus::Pending => "pending",
            SyncStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "synced" => Some(SyncStatus::Synced),
            "pending" => Some(SyncStatus::Pending),
            "failed" => Some(SyncStatus::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A result to record for one (file, destination) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairUpdate {
    pub destination: String,
    pub status: SyncStatus,
    pub remote_path: Option<String>,
    pub size: Option<i64>,
    /// For `synced`: the md5 the destination's copy was checked against.
    pub md5: Option<String>,
    pub version: Option<i64>,
    /// For `synced`: which check proved it.
    pub verified_by: Option<VerifiedBy>,
    /// For `synced`: the hash the destination itself reported for the copy.
    pub remote_hash: Option<String>,
    pub error_message: Option<String>,
    /// For `synced`: Drive's modifiedTime of the version copied.
    pub modified_time: Option<String>,
    /// For `synced`: where the copy this one replaced lives now.
    pub replaced: Option<Replaced>,
}

/// One ledger row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairRecord {
    pub destination: String,
    pub status: SyncStatus,
    pub last_sync: Option<String>,
    pub remote_path: Option<String>,
    pub size: Option<i64>,
    pub md5: Option<String>,
    pub verified_by: Option<VerifiedBy>,
    pub remote_hash: Option<String>,
    /// Last time the copy was seen intact at the destination (by a sync or `verify`).
    pub last_verified: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i64,
}

/// What the planner needs to know of a pair: its state, and its last verified copy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerEntry {
    pub status: SyncStatus,
    pub md5: Option<String>,
    pub version: Option<i64>,
    pub remote_path: Option<String>,
    pub size: Option<i64>,
    pub remote_hash: Option<String>,
    pub last_sync: Option<String>,
}

impl LedgerEntry {
    /// The last verified copy, if it was made at `remote_path` (a copy that was never made,
    /// or made at another path, is not there to be replaced).
    pub fn copy_at(&self, remote_path: &str) -> Option<crate::sync::plan::PreviousCopy> {
        (self.remote_path.as_deref() == Some(remote_path) && self.last_sync.is_some()).then(|| {
            crate::sync::plan::PreviousCopy {
                md5: self.md5.clone(),
                size: self.size,
                remote_hash: self.remote_hash.clone(),
                copied_at: self.last_sync.clone(),
            }
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DestinationStats {
    pub destination: String,
    pub synced: i64,
    pub pending: i64,
    pub failed: i64,
    pub synced_bytes: i64,
    /// Bytes of the earlier versions the destination still holds.
    pub kept_bytes: i64,
    pub last_sync: Option<String>,
    pub last_verified: Option<String>,
    /// What holding `synced_bytes + kept_bytes` costs a month (the engine adds it from the
    /// price table); absent when no price is known.
    pub monthly_cost: Option<crate::cost::MonthlyCost>,
    /// What the last sync's check of the destination found (the engine adds it).
    pub last_check: Option<crate::sync::check::DestinationCheck>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FileQuery {
    pub destination: Option<String>,
    pub status: Option<SyncStatus>,
    /// Matched against the Drive path, case-insensitively.
    pub search: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileRow {
    pub file_id: String,
    pub name: String,
    pub drive_path: String,
    pub mime_type: String,
    pub size: Option<i64>,
    /// In Drive's trash (its copies stay at the destinations).
    pub trashed: bool,
    /// No longer in Drive, or no longer in a policy's scope (its copies stay).
    pub gone: bool,
    pub skip_reason: Option<String>,
    pub destinations: Vec<PairRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilePage {
    pub total: i64,
    pub offset: i64,
    pub rows: Vec<FileRow>,
}

fn pair_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<PairRecord, DbError> {
    let status: String = row.try_get("sync_status")?;
    let verified_by: Option<String> = row.try_get("verified_by")?;
    let verified_by = verified_by
        .map(|v| VerifiedBy::parse(&v).ok_or_else(|| DbError::Corrupt(format!("verified_by `{v}`"))))
        .transpose()?;
    Ok(PairRecord {
        destination: row.try_get("destination")?,
        status: SyncStatus::parse(&status).ok_or_else(|| DbError::Corrupt(format!("sync_status `{status}`")))?,
        last_sync: row.try_get("last_sync")?,
        remote_path: row.try_get("remote_path")?,
        size: row.try_get("size")?,
        md5: row.try_get("md5")?,
        verified_by,
        remote_hash: row.try_get("remote_hash")?,
        last_verified: row.try_get("last_verified")?,
        error_message: row.try_get("error_message")?,
        attempts: row.try_get("attempts")?,
    })
}

impl Database {
    /// Records every destination's result for one file in one transaction.
    ///
    /// A `synced` result replaces what the row knows of the copy; a `failed` or `pending`
    /// one keeps the description of the last verified copy and only changes status and error.
    pub async fn record_file_results(&self, file_id: &str, updates: &[PairUpdate]) -> Result<(), DbError> {
        let pairs: Vec<(&str, &PairUpdate)> = updates.iter().map(|u| (file_id, u)).collect();
        self.record_pairs(&pairs).await
    }

    /// Records results for many pairs, of any files, in one transaction (see
    /// [`Self::record_file_results`]).
    pub async fn record_pairs(&self, pairs: &[(&str, &PairUpdate)]) -> Result<(), DbError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let at = now();
        let mut tx = self.pool.begin().await?;
        for &(file_id, u) in pairs {
            let synced = u.status == SyncStatus::Synced;
            sqlx::query(
                "INSERT INTO file_destinations (file_id, destination, sync_status, last_sync, remote_path, size, md5,
                                                version, verified_by, error_message, attempts, updated_at,
                                                remote_hash, last_verified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14, ?4)
                 ON CONFLICT(file_id, destination) DO UPDATE SET
                    sync_status = excluded.sync_status,
                    remote_path = COALESCE(excluded.remote_path, file_destinations.remote_path),
                    error_message = excluded.error_message,
                    updated_at = excluded.updated_at,
                    attempts = CASE WHEN ?13 THEN 0 ELSE file_destinations.attempts + 1 END,
                    last_sync = CASE WHEN ?13 THEN excluded.last_sync ELSE file_destinations.last_sync END,
                    size = CASE WHEN ?13 THEN excluded.size ELSE file_destinations.size END,
                    md5 = CASE WHEN ?13 THEN excluded.md5 ELSE file_destinations.md5 END,
                    version = CASE WHEN ?13 THEN excluded.version ELSE file_destinations.version END,
                    verified_by = CASE WHEN ?13 THEN excluded.verified_by ELSE file_destinations.verified_by END,
                    remote_hash = CASE WHEN ?13 THEN excluded.remote_hash ELSE file_destinations.remote_hash END,
                    last_verified = CASE WHEN ?13 THEN excluded.last_verified ELSE file_destinations.last_verified END",
            )
            .bind(file_id)
            .bind(&u.destination)
            .bind(u.status.as_str())
            .bind(if synced { Some(at.as_str()) } else { None })
            .bind(&u.remote_path)
            .bind(if synced { u.size } else { None })
            .bind(if synced { u.md5.as_deref() } else { None })
            .bind(if synced { u.version } else { None })
            .bind(if synced { u.verified_by.map(VerifiedBy::as_str) } else { None })
            .bind(&u.error_message)
            .bind(i64::from(!synced))
            .bind(&at)
            .bind(synced)
            .bind(if synced { u.remote_hash.as_deref() } else { None })
            .execute(&mut *tx)
            .await?;
            super::versions::record_current(&mut tx, file_id, u, &at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every pair a destination holds as synced: (file ID, record), for `verify`.
    pub async fn synced_pairs(&self, destination: &str) -> Result<Vec<(String, PairRecord)>, DbError> {
        let rows = sqlx::query(
            "SELECT * FROM file_destinations WHERE destination = ? AND sync_status = 'synced' ORDER BY remote_path",
        )
        .bind(destination)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("file_id")?, pair_from_row(r)?))).collect()
    }

    /// Records a verification: an intact copy gets `last_verified`; a missing or corrupt one
    /// goes back to pending with the reason, so the next sync repairs it.
    pub async fn record_verification(
        &self,
        file_id: &str,
        destination: &str,
        problem: Option<&str>,
    ) -> Result<(), DbError> {
        self.record_verifications(destination, &[(file_id.to_string(), problem.map(str::to_string))]).await
    }

    /// [`Self::record_verification`] for many copies of one destination, in one transaction.
    pub async fn record_verifications(
        &self,
        destination: &str,
        results: &[(String, Option<String>)],
    ) -> Result<(), DbError> {
        let at = now();
        let mut tx = self.pool.begin().await?;
        for (file_id, problem) in results {
            let query = match problem {
                None => sqlx::query(
                    "UPDATE file_destinations SET last_verified = ?1, updated_at = ?4 WHERE file_id = ?2 AND destination = ?3",
                )
                .bind(&at),
                Some(problem) => sqlx::query(
                    "UPDATE file_destinations SET sync_status = 'pending', error_message = ?1, updated_at = ?4
                     WHERE file_id = ?2 AND destination = ?3",
                )
                .bind(problem),
            };
            query.bind(file_id).bind(destination).bind(&at).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The remote paths of the copies synced at a destination that were least recently seen
    /// intact (never seen first), up to `limit`, each with when it was last seen.
    pub async fn least_recently_seen(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<(String, Option<String>)>, DbError> {
        Ok(sqlx::query_as(
            "SELECT remote_path, last_verified FROM file_destinations
             WHERE destination = ? AND sync_status = 'synced' AND remote_path IS NOT NULL
             ORDER BY last_verified LIMIT ?",
        )
        .bind(destination)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The copies synced at a destination directly in `folder` (a remote path, no trailing `/`).
    pub async fn synced_pairs_in_folder(
        &self,
        destination: &str,
        folder: &str,
    ) -> Result<Vec<(String, PairRecord)>, DbError> {
        // Every path under `folder/` sorts before `folder0` ('0' follows '/').
        let (from, to) = (format!("{folder}/"), format!("{folder}0"));
        let rows = sqlx::query(
            "SELECT * FROM file_destinations
             WHERE destination = ? AND remote_path >= ? AND remote_path < ? AND sync_status = 'synced'",
        )
        .bind(destination)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?;
        let mut pairs = Vec::with_capacity(rows.len());
        for row in &rows {
            let pair = pair_from_row(row)?;
            let direct =
                pair.remote_path.as_deref().and_then(|p| p.strip_prefix(&from)).is_some_and(|n| !n.contains('/'));
            if direct {
                pairs.push((row.try_get("file_id")?, pair));
            }
        }
        Ok(pairs)
    }

    /// How many copies a destination holds as synced, and since when every one of them has been
    /// seen intact (`None` when one never was, or there are none).
    pub async fn copies_seen(&self, destination: &str) -> Result<(i64, Option<String>), DbError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(last_verified) AS oldest, COALESCE(SUM(last_verified IS NULL), 0) AS never
             FROM file_destinations WHERE destination = ? AND sync_status = 'synced'",
        )
        .bind(destination)
        .fetch_one(&self.pool)
        .await?;
        let never: i64 = row.try_get("never")?;
        let oldest: Option<String> = row.try_get("oldest")?;
        Ok((row.try_get("n")?, oldest.filter(|_| never == 0)))
    }

    /// Every destination's row for one file (the original design's `get_file_destinations`).
    pub async fn get_file_destinations(&self, file_id: &str) -> Result<Vec<PairRecord>, DbError> {
        let rows = sqlx::query("SELECT * FROM file_destinations WHERE file_id = ? ORDER BY destination")
            .bind(file_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(pair_from_row).collect()
    }

    /// The whole ledger, keyed by (file, destination), for planning.
    pub async fn load_ledger(&self) -> Result<HashMap<(String, String), LedgerEntry>, DbError> {
        let rows = sqlx::query(
            "SELECT file_id, destination, sync_status, md5, version, remote_path, size, remote_hash, last_sync
             FROM file_destinations",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut ledger = HashMap::with_capacity(rows.len());
        for row in rows {
            let status: String = row.try_get("sync_status")?;
            let status =
                SyncStatus::parse(&status).ok_or_else(|| DbError::Corrupt(format!("sync_status `{status}`")))?;
            ledger.insert(
                (row.try_get("file_id")?, row.try_get("destination")?),
                LedgerEntry {
                    status,
                    md5: row.try_get("md5")?,
                    version: row.try_get("version")?,
                    remote_path: row.try_get("remote_path")?,
                    size: row.try_get("size")?,
                    remote_hash: row.try_get("remote_hash")?,
                    last_sync: row.try_get("last_sync")?,
                },
            );
        }
        Ok(ledger)
    }

    /// How many pairs are failed or pending (work the next sync must retry).
    pub async fn count_unsettled_pairs(&self) -> Result<i64, DbError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM file_destinations WHERE sync_status != 'synced'")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Synced, pending and failed counts, bytes and last sync per destination.
    pub async fn destination_stats(&self) -> Result<Vec<DestinationStats>, DbError> {
        let rows = sqlx::query(
            "SELECT destination, sync_status, COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes, MAX(last_sync) AS last,
                    MAX(last_verified) AS verified
             FROM file_destinations GROUP BY destination, sync_status ORDER BY destination",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut stats: Vec<DestinationStats> = Vec::new();
        for row in rows {
            let destination: String = row.try_get("destination")?;
            let status: String = row.try_get("sync_status")?;
            let n: i64 = row.try_get("n")?;
            let bytes: i64 = row.try_get("bytes")?;
            let last: Option<String> = row.try_get("last")?;
            let verified: Option<String> = row.try_get("verified")?;
            if stats.last().map(|s| s.destination != destination).unwrap_or(true) {
                stats.push(DestinationStats { destination: destination.clone(), ..Default::default() });
            }
            let Some(entry) = stats.last_mut() else {
                continue;
            };
            match SyncStatus::parse(&status) {
                Some(SyncStatus::Synced) => {
                    entry.synced = n;
                    entry.synced_bytes = bytes;
                }
                Some(SyncStatus::Pending) => entry.pending = n,
                Some(SyncStatus::Failed) => entry.failed = n,
                None => return Err(DbError::Corrupt(format!("sync_status `{status}`"))),
            }
            if last > entry.last_sync {
                entry.last_sync = last;
            }
            if verified > entry.last_verified {
                entry.last_verified = verified;
            }
        }
        let kept = sqlx::query(
            "SELECT destination, COALESCE(SUM(size), 0) AS bytes FROM file_versions WHERE state = 'kept' GROUP BY destination",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in kept {
            let destination: String = row.try_get("destination")?;
            if let Some(entry) = stats.iter_mut().find(|s| s.destination == destination) {
                entry.kept_bytes = row.try_get("bytes")?;
            }
        }
        Ok(stats)
    }

    /// One page of files with their destinations, filtered, ordered by Drive path.
    pub async fn list_files(&self, query: &FileQuery) -> Result<FilePage, DbError> {
        fn filters<'a>(b: &mut QueryBuilder<'a, Sqlite>, q: &'a FileQuery) {
            b.push(" FROM files f WHERE f.is_folder = 0 AND (f.skip_reason IS NULL OR EXISTS (SELECT 1 FROM file_destinations d0 WHERE d0.file_id = f.file_id))");
            if q.destination.is_some() || q.status.is_some() {
                b.push(" AND EXISTS (SELECT 1 FROM file_destinations d WHERE d.file_id = f.file_id");
                if let Some(dest) = &q.destination {
                    b.push(" AND d.destination = ").push_bind(dest.as_str());
                }
                if let Some(status) = q.status {
                    b.push(" AND d.sync_status = ").push_bind(status.as_str());
                }
                b.push(")");
            }
            if let Some(search) = q.search.as_deref().filter(|s| !s.is_empty()) {
                b.push(" AND f.drive_path LIKE ").push_bind(super::like_anywhere(search)).push(" ESCAPE '\\'");
            }
        }

        let limit = query.limit.clamp(1, 1000);
        let offset = query.offset.max(0);
        let no_search = query.search.as_deref().map(str::is_empty).unwrap_or(true);
        let total: i64 = match (&query.destination, query.status) {
            // A destination filter without search is counted on the ledger's own index: every
            // file has one row per destination, so this is exact and does not touch `files`.
            (Some(dest), status) if no_search => {
                let mut count = QueryBuilder::new("SELECT COUNT(*) FROM file_destinations WHERE destination = ");
                count.push_bind(dest.as_str());
                if let Some(status) = status {
                    count.push(" AND sync_status = ").push_bind(status.as_str());
                }
                count.build_query_scalar().fetch_one(&self.pool).await?
            }
            _ => {
                let mut count = QueryBuilder::new("SELECT COUNT(*)");
                filters(&mut count, query);
                count.build_query_scalar().fetch_one(&self.pool).await?
            }
        };

        let mut page = QueryBuilder::new(
            "SELECT f.file_id, f.name, f.drive_path, f.mime_type, f.size, f.trashed, f.gone, f.skip_reason",
        );
        filters(&mut page, query);
        page.push(" ORDER BY f.drive_path, f.file_id LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
        let rows = page.build().fetch_all(&self.pool).await?;

        let mut files = Vec::with_capacity(rows.len());
        for row in &rows {
            files.push(FileRow {
                file_id: row.try_get("file_id")?,
                name: row.try_get("name")?,
                drive_path: row.try_get("drive_path")?,
                mime_type: row.try_get("mime_type")?,
                size: row.try_get("size")?,
                trashed: row.try_get("trashed")?,
                gone: row.try_get("gone")?,
                skip_reason: row.try_get("skip_reason")?,
                destinations: Vec::new(),
            });
        }
        if !files.is_empty() {
            let mut pairs = QueryBuilder::new("SELECT * FROM file_destinations WHERE file_id IN (");
            let mut sep = pairs.separated(", ");
            for f in &files {
                sep.push_bind(f.file_id.as_str());
            }
            pairs.push(") ORDER BY destination");
            let pair_rows = pairs.build().fetch_all(&self.pool).await?;
            let index: HashMap<String, usize> = files.iter().enumerate().map(|(i, f)| (f.file_id.clone(), i)).collect();
            for row in &pair_rows {
                let file_id: String = row.try_get("file_id")?;
                if let Some(&i) = index.get(&file_id) {
                    files[i].destinations.push(pair_from_row(row)?);
                }
            }
        }
        Ok(FilePage { total, offset, rows: files })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::temp_db;
    use super::super::FileRecord;
    use super::*;

    fn file(id: &str, path: &str) -> FileRecord {
        FileRecord {
            file_id: id.into(),
            parent_id: Some("root".into()),
            name: path.rsplit('/').next().unwrap().into(),
            remote_name: id.into(),
            mime_type: "text/plain".into(),
            is_folder: false,
            content_id: None,
            size: Some(10),
            md5: Some("m".into()),
            version: Some(1),
            modified_time: None,
            drive_path: path.into(),
            remote_path: format!("google-drive/{path}"),
            trashed: false,
            explicitly_trashed: false,
            drive_trashed: false,
            gone: false,
            skip_reason: None,
        }
    }

    fn update(dest: &str, status: SyncStatus) -> PairUpdate {
        PairUpdate {
            destination: dest.into(),
            status,
            remote_path: Some(format!("bucket/{dest}")),
            size: Some(10),
            md5: Some("m".into()),
            version: Some(1),
            verified_by: Some(VerifiedBy::Md5),
            remote_hash: Some("m".into()),
            error_message: (status == SyncStatus::Failed).then(|| "boom".into()),
            modified_time: None,
            replaced: None,
        }
    }

    #[tokio::test]
    async fn a_failure_keeps_the_last_verified_copy_and_counts_attempts() {
        let (_dir, db) = temp_db().await;
        db.save_listing(&[file("a", "P/a.txt")], &[]).await.unwrap();
        db.record_file_results("a", &[update("s3", SyncStatus::Synced)]).await.unwrap();
        db.record_file_results("a", &[update("s3", SyncStatus::Failed)]).await.unwrap();
        db.record_file_results("a", &[update("s3", SyncStatus::Failed)]).await.unwrap();
        let pairs = db.get_file_destinations("a").await.unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].status, SyncStatus::Failed);
        assert_eq!(pairs[0].md5.as_deref(), Some("m"));
        assert!(pairs[0].last_sync.is_some());
        assert_eq!(pairs[0].attempts, 2);
        assert_eq!(pairs[0].error_message.as_deref(), Some("boom"));
    }

    #[tokio::test]
    async fn stats_and_pages_match_the_ledger() {
        let (_dir, db) = temp_db().await;
        let files: Vec<FileRecord> = (0..25).map(|i| file(&format!("f{i:02}"), &format!("P/file{i:02}.txt"))).collect();
        db.save_listing(&files, &[]).await.unwrap();
        for (i, f) in files.iter().enumerate() {
            let b2 = if i % 5 == 0 { SyncStatus::Failed } else { SyncStatus::Synced };
            db.record_file_results(&f.file_id, &[update("s3", SyncStatus::Synced), update("b2", b2)]).await.unwrap();
        }
        let stats = db.destination_stats().await.unwrap();
        let b2 = stats.iter().find(|s| s.destination == "b2").unwrap();
        assert_eq!((b2.synced, b2.failed, b2.pending, b2.synced_bytes), (20, 5, 0, 200));

        let page = db.list_files(&FileQuery { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!((page.total, page.rows.len()), (25, 10));
        assert_eq!(page.rows[0].destinations.len(), 2);

        let failed = db
            .list_files(&FileQuery {
                destination: Some("b2".into()),
                status: Some(SyncStatus::Failed),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.total, 5);
        let found =
            db.list_files(&FileQuery { search: Some("FILE07".into()), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(found.rows.iter().map(|r| r.file_id.as_str()).collect::<Vec<_>>(), vec!["f07"]);
        let literal =
            db.list_files(&FileQuery { search: Some("%".into()), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(literal.total, 0, "search text is matched literally");
    }
}
