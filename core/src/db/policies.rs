//! Folder policies in `sync_folders` (the original design's table name).

use sqlx::Row;

use super::{now, Database, DbError};
use crate::policy::FolderPolicy;

fn policy_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<FolderPolicy, DbError> {
    let destinations: String = row.try_get("destinations")?;
    let destinations: Vec<String> =
        serde_json::from_str(&destinations).map_err(|e| DbError::Corrupt(format!("sync_folders.destinations: {e}")))?;
    Ok(FolderPolicy {
        folder_id: row.try_get("folder_id")?,
        folder_name: row.try_get("folder_name")?,
        folder_path: row.try_get("folder_path")?,
        destinations,
        recursive: row.try_get("recursive")?,
        enabled: row.try_get("enabled")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn to_json(destinations: &[String]) -> String {
    serde_json::Value::from(destinations.to_vec()).to_string()
}

impl Database {
    /// Adds a folder with its destinations. Returns false if the folder already has a policy.
    pub async fn add_folder_policy(&self, policy: &FolderPolicy) -> Result<bool, DbError> {
        let at = now();
        let result = sqlx::query(
            "INSERT INTO sync_folders (folder_id, folder_name, folder_path, destinations, recursive, enabled, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(folder_id) DO NOTHING",
        )
        .bind(&policy.folder_id)
        .bind(&policy.folder_name)
        .bind(&policy.folder_path)
        .bind(to_json(&policy.destinations))
        .bind(policy.recursive)
        .bind(policy.enabled)
        .bind(&at)
        .bind(&at)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Changes a folder's destinations and recursion. Returns false if it has no policy.
    pub async fn update_folder_policy(
        &self,
        folder_id: &str,
        destinations: &[String],
        recursive: bool,
    ) -> Result<bool, DbError> {
        let result =
            sqlx::query("UPDATE sync_folders SET destinations = ?, recursive = ?, updated_at = ? WHERE folder_id = ?")
                .bind(to_json(destinations))
                .bind(recursive)
                .bind(now())
                .bind(folder_id)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes a folder from sync. Objects already at destinations stay there (a backup).
    pub async fn remove_folder_policy(&self, folder_id: &str) -> Result<bool, DbError> {
        let result =
            sqlx::query("DELETE FROM sync_folders WHERE folder_id = ?").bind(folder_id).execute(&self.pool).await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn get_all_folder_policies(&self) -> Result<Vec<FolderPolicy>, DbError> {
        let rows =
            sqlx::query("SELECT * FROM sync_folders ORDER BY folder_path, folder_id").fetch_all(&self.pool).await?;
        rows.iter().map(policy_from_row).collect()
    }

    pub async fn get_folder_policy(&self, folder_id: &str) -> Result<Option<FolderPolicy>, DbError> {
        let row = sqlx::query("SELECT * FROM sync_folders WHERE folder_id = ?")
            .bind(folder_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    /// Enables or disables a folder's policy. Returns false if it has no policy.
    pub async fn toggle_folder_enabled(&self, folder_id: &str, enabled: bool) -> Result<bool, DbError> {
        let result = sqlx::query("UPDATE sync_folders SET enabled = ?, updated_at = ? WHERE folder_id = ?")
            .bind(enabled)
            .bind(now())
            .bind(folder_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Refreshes the display name and path of a policy's folder after a rename or move.
    pub async fn refresh_folder_policy_path(&self, folder_id: &str, name: &str, path: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE sync_folders SET folder_name = ?, folder_path = ? WHERE folder_id = ? AND (folder_name != ? OR folder_path != ?)")
            .bind(name)
            .bind(path)
            .bind(folder_id)
            .bind(name)
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::temp_db;
    use super::*;

    fn policy(id: &str, dests: &[&str]) -> FolderPolicy {
        FolderPolicy {
            folder_id: id.into(),
            folder_name: id.into(),
            folder_path: format!("My Drive/{id}"),
            destinations: dests.iter().map(|d| d.to_string()).collect(),
            recursive: true,
            enabled: true,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[tokio::test]
    async fn policies_round_trip_through_the_database() {
        let (_dir, db) = temp_db().await;
        assert!(db.add_folder_policy(&policy("f1", &["aws_s3", "backblaze_b2"])).await.unwrap());
        assert!(!db.add_folder_policy(&policy("f1", &["local"])).await.unwrap(), "a second add is refused");
        let stored = db.get_folder_policy("f1").await.unwrap().unwrap();
        assert_eq!(stored.destinations, vec!["aws_s3", "backblaze_b2"]);

        assert!(db.update_folder_policy("f1", &["local".into()], false).await.unwrap());
        assert!(db.toggle_folder_enabled("f1", false).await.unwrap());
        let stored = db.get_folder_policy("f1").await.unwrap().unwrap();
        assert_eq!((stored.destinations, stored.recursive, stored.enabled), (vec!["local".to_string()], false, false));

        assert_eq!(db.get_all_folder_policies().await.unwrap().len(), 1);
        assert!(db.remove_folder_policy("f1").await.unwrap());
        assert!(!db.remove_folder_policy("f1").await.unwrap());
        assert!(db.get_folder_policy("f1").await.unwrap().is_none());
    }
}
