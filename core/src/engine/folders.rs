//! Drive folders for the folder picker: one level at a time, or by name.

use serde::Serialize;

use super::{Engine, EngineError};
use crate::drive::{escape_q, FOLDER_MIME};

/// Most folders a search returns; the picker asks for a narrower name beyond that.
const SEARCH_LIMIT: usize = 200;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DriveFolder {
    pub id: String,
    pub name: String,
}

impl Engine {
    /// The folders directly inside `parent_id` (My Drive when `None`), sorted by name.
    pub async fn drive_folders(&self, parent_id: Option<&str>) -> Result<Vec<DriveFolder>, EngineError> {
        let parent = parent_id.filter(|p| !p.is_empty()).unwrap_or("root");
        let q = format!("'{}' in parents and mimeType = '{FOLDER_MIME}' and trashed = false", escape_q(parent));
        self.folders_matching(&q, usize::MAX).await
    }

    /// Folders whose name contains `query` (case-insensitively, as Drive matches).
    pub async fn search_folders(&self, query: &str) -> Result<Vec<DriveFolder>, EngineError> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let q = format!("name contains '{}' and mimeType = '{FOLDER_MIME}' and trashed = false", escape_q(query));
        self.folders_matching(&q, SEARCH_LIMIT).await
    }

    async fn folders_matching(&self, q: &str, limit: usize) -> Result<Vec<DriveFolder>, EngineError> {
        let mut folders: Vec<DriveFolder> =
            self.drive()?.query_files(q).await?.into_iter().map(|f| DriveFolder { id: f.id, name: f.name }).collect();
        folders.sort_by_cached_key(|f| (f.name.to_lowercase(), f.id.clone()));
        folders.truncate(limit);
        Ok(folders)
    }
}
