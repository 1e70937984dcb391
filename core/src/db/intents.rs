//! Upload intents: which copies to a local folder were under way, recorded before they start.

use sqlx::Row;

use super::{now, Database, DbError};

/// Copies that were started at one destination and may have left partial files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadIntent {
    pub id: i64,
    pub destination: String,
    /// The destination's folder (with prefix) when the copies started.
    pub root: String,
    /// Object paths under `root`.
    pub paths: Vec<String>,
}

impl Database {
    /// Records, before an upload starts, which objects it will write.
    pub async fn record_upload_intent(&self, destination: &str, root: &str, paths: &[String]) -> Result<i64, DbError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO upload_intents (destination, root, paths, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(destination)
        .bind(root)
        .bind(paths.join("\n"))
        .bind(now())
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn clear_upload_intent(&self, id: i64) -> Result<(), DbError> {
        sqlx::query("DELETE FROM upload_intents WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn upload_intents(&self) -> Result<Vec<UploadIntent>, DbError> {
        let rows = sqlx::query("SELECT id, destination, root, paths FROM upload_intents ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let paths: String = row.try_get("paths")?;
                Ok(UploadIntent {
                    id: row.try_get("id")?,
                    destination: row.try_get("destination")?,
                    root: row.try_get("root")?,
                    paths: paths.lines().map(str::to_string).collect(),
                })
            })
            .collect()
    }
}
