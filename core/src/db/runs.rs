//! Sync runs: one row per run, for the dashboard's history and the CLI's status.

use serde::Serialize;
use sqlx::FromRow;

use super::{now, Database, DbError};

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct RunRecord {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub files_planned: i64,
    pub pairs_synced: i64,
    pub pairs_failed: i64,
    pub pairs_pending: i64,
    pub bytes_downloaded: i64,
    pub bytes_uploaded: i64,
    pub error: Option<String>,
}

/// How a run ended (or that it is still running, or was cut off by a crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    #[default]
    Running,
    Succeeded,
    Partial,
    Failed,
    Cancelled,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// The run ended with something left to do (failed or pending pairs, or an error).
    pub fn had_trouble(self) -> bool {
        matches!(self, RunStatus::Partial | RunStatus::Failed)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compared with the word the database and the JSON output use.
impl PartialEq<&str> for RunStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunCounts {
    pub files_planned: i64,
    pub pairs_synced: i64,
    pub pairs_failed: i64,
    pub pairs_pending: i64,
    pub bytes_downloaded: i64,
    pub bytes_uploaded: i64,
}

impl RunCounts {
    /// What a run did, from its progress: `pairs_synced` is the pairs it copied and verified,
    /// `pairs_failed` and `pairs_pending` those it recorded so.
    pub fn of_run(files_planned: u64, progress: &crate::sync::ProgressSnapshot) -> Self {
        let mut counts = RunCounts {
            files_planned: files_planned as i64,
            bytes_downloaded: progress.bytes_downloaded as i64,
            ..Default::default()
        };
        for d in progress.destinations.values() {
            counts.pairs_synced += d.transferred as i64;
            counts.pairs_failed += d.failed as i64;
            counts.pairs_pending += d.pending as i64;
            counts.bytes_uploaded += d.bytes_uploaded as i64;
        }
        counts
    }
}

impl Database {
    /// Records a new run; also says whether an earlier run was interrupted (crash, kill).
    pub async fn start_run(&self) -> Result<(i64, bool), DbError> {
        // A run still marked running was interrupted; say so instead of lying.
        let interrupted =
            sqlx::query("UPDATE sync_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'")
                .bind(now())
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0;
        let id = sqlx::query_scalar("INSERT INTO sync_runs (started_at, status) VALUES (?, 'running') RETURNING id")
            .bind(now())
            .fetch_one(&self.pool)
            .await?;
        Ok((id, interrupted))
    }

    pub async fn finish_run(
        &self,
        id: i64,
        status: RunStatus,
        counts: &RunCounts,
        error: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE sync_runs SET finished_at = ?, status = ?, files_planned = ?, pairs_synced = ?, pairs_failed = ?,
                    pairs_pending = ?, bytes_downloaded = ?, bytes_uploaded = ?, error = ? WHERE id = ?",
        )
        .bind(now())
        .bind(status.as_str())
        .bind(counts.files_planned)
        .bind(counts.pairs_synced)
        .bind(counts.pairs_failed)
        .bind(counts.pairs_pending)
        .bind(counts.bytes_downloaded)
        .bind(counts.bytes_uploaded)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn recent_runs(&self, limit: i64) -> Result<Vec<RunRecord>, DbError> {
        Ok(sqlx::query_as::<_, RunRecord>("SELECT * FROM sync_runs ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// When the last run (of any kind, finished or not) started.
    pub async fn last_run_started(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, DbError> {
        let started: Option<String> = sqlx::query_scalar("SELECT started_at FROM sync_runs ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(started.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&chrono::Utc)))
    }

    /// When the last successful run finished, and when the first run of all started.
    pub async fn last_success_and_first_start(&self) -> Result<(Option<String>, Option<String>), DbError> {
        Ok(sqlx::query_as(
            "SELECT MAX(CASE WHEN status = 'succeeded' THEN finished_at END), MIN(started_at) FROM sync_runs",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
