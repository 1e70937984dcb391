//! Drive folders for the folder picker: one level at a time, or by name.

use serde::Serialize;

use super::{Engine, EngineError};
use crate::drive::{escape_q, Corpus, FOLDER_MIME};

/// Most folders a search returns; the picker asks for a narrower name beyond that.
const SEARCH_LIMIT: usize = 200;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DriveFolder {
    pub id: String,
    pub name: String,
    /// The top of a shared drive rather than a folder.
    pub shared_drive: bool,
}

impl Engine {
    /// The folders directly inside `parent_id`, sorted by name; at the top (`None`), My Drive's
    /// folders followed by the shared drives.
    pub async fn drive_folders(&self, parent_id: Option<&str>) -> Result<Vec<DriveFolder>, EngineError> {
        let parent = parent_id.filter(|p| !p.is_empty());
        let q = format!(
            "'{}' in parents and mimeType = '{FOLDER_MIME}' and trashed = false",
            escape_q(parent.unwrap_or("root"))
        );
        let mut folders = self.folders_matching(&q, usize::MAX).await?;
        if parent.is_none() {
            let mut drives: Vec<DriveFolder> = self
                .drive()?
                .shared_drives()
                .await?
                .into_iter()
                .map(|(id, name)| DriveFolder { id, name, shared_drive: true })
                .collect();
            drives.sort_by_cached_key(|d| d.name.to_lowercase());
            folders.extend(drives);
        }
        Ok(folders)
    }

    /// Folders named like `query`: Drive's search (which matches the start of a word only:
    /// `World` does not find `HelloWorld`) merged with the folders Fanout has already listed,
    /// searched anywhere in the name.
    pub async fn search_folders(&self, query: &str) -> Result<Vec<DriveFolder>, EngineError> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let q = format!("name contains '{}' and mimeType = '{FOLDER_MIME}' and trashed = false", escape_q(query));
        let mut folders = self.folders_matching(&q, SEARCH_LIMIT).await?;
        for (id, name) in self.db.known_folders_named(query, SEARCH_LIMIT as i64).await? {
            if !folders.iter().any(|f| f.id == id) {
                folders.push(DriveFolder { id, name, shared_drive: false });
            }
        }
        folders.sort_by_cached_key(|f| (f.name.to_lowercase(), f.id.clone()));
        folders.truncate(SEARCH_LIMIT);
        Ok(folders)
    }

    async fn folders_matching(&self, q: &str, limit: usize) -> Result<Vec<DriveFolder>, EngineError> {
        let mut folders: Vec<DriveFolder> = self
            .drive()?
            .query_files(q, &Corpus::AllDrives)
            .await?
            .into_iter()
            .map(|f| DriveFolder { id: f.id, name: f.name, shared_drive: false })
            .collect();
        folders.sort_by_cached_key(|f| (f.name.to_lowercase(), f.id.clone()));
        folders.truncate(limit);
        Ok(folders)
    }
}
