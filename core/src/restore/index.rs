//! Each destination's own index, `<root>/.fanout/index.jsonl`: enough to restore from it, or
//! to rebuild the ledger, with nothing but the destination and its keys (the computer with
//! Fanout's database may be gone).
//!
//! JSON Lines, readable with any tool: a first line describing the index (format, the
//! destination, when, and the folder policies that send files there), then one line per copy
//! (a [`CatalogEntry`]). No secrets are in it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::db::{CatalogEntry, Database};
use crate::policy::FolderPolicy;
use crate::storage::{StorageError, StorageManager};

/// Where the index lives under a destination's root.
pub const INDEX_PATH: &str = ".fanout/index.jsonl";
const FORMAT: u32 = 1;

/// The first line of an index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexHeader {
    pub fanout_index: u32,
    pub destination: String,
    pub written_at: String,
    /// The policies that send files to this destination, so a new machine can take them up.
    pub policies: Vec<FolderPolicy>,
}

/// An index as read back.
#[derive(Debug, Clone)]
pub struct DestinationIndex {
    pub header: IndexHeader,
    pub entries: Vec<CatalogEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("cannot write the index for `{0}` locally: {1}")]
    Local(String, std::io::Error),
    #[error("the index at `{0}` cannot be read (line {1}); restore from its plain copies instead (without the index)")]
    Unreadable(String, usize),
}

/// Writes `key`'s index from the database, through a file in `scratch`.
pub async fn write_index(
    db: &Database,
    storage: &StorageManager,
    key: &str,
    scratch: &Path,
) -> Result<usize, IndexError> {
    let root = storage.root_path(key)?;
    let entries = db.catalog(key, &root).await?;
    let policies =
        db.get_all_folder_policies().await?.into_iter().filter(|p| p.destinations.iter().any(|d| d == key)).collect();
    let header =
        IndexHeader { fanout_index: FORMAT, destination: key.to_string(), written_at: crate::db::now(), policies };
    let mut text = serde_json::to_string(&header).unwrap_or_default();
    text.push('\n');
    for entry in &entries {
        text.push_str(&serde_json::to_string(entry).unwrap_or_default());
        text.push('\n');
    }
    let local_error = |e| IndexError::Local(key.to_string(), e);
    tokio::fs::create_dir_all(scratch).await.map_err(local_error)?;
    let name = format!("index-{key}.jsonl");
    tokio::fs::write(scratch.join(&name), text).await.map_err(local_error)?;
    let sent = storage.upload_file(key, scratch, &name, INDEX_PATH).await;
    let _ = tokio::fs::remove_file(scratch.join(&name)).await;
    sent?;
    Ok(entries.len())
}

/// Reads `key`'s index, if it has one.
pub async fn read_index(
    storage: &StorageManager,
    key: &str,
    scratch: &Path,
) -> Result<Option<DestinationIndex>, IndexError> {
    let local_error = |e| IndexError::Local(key.to_string(), e);
    tokio::fs::create_dir_all(scratch).await.map_err(local_error)?;
    let name = format!("index-{key}.jsonl");
    let Some(file) = storage.download_if_present(key, INDEX_PATH, scratch, &name).await? else {
        return Ok(None);
    };
    let text = tokio::fs::read_to_string(&file).await.map_err(local_error)?;
    let _ = tokio::fs::remove_file(&file).await;
    let unreadable = |line| IndexError::Unreadable(key.to_string(), line);
    let mut lines = text.lines();
    let header: IndexHeader =
        serde_json::from_str(lines.next().ok_or_else(|| unreadable(1))?).map_err(|_| unreadable(1))?;
    let mut entries = Vec::new();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        entries.push(serde_json::from_str(line).map_err(|_| unreadable(i + 2))?);
    }
    Ok(Some(DestinationIndex { header, entries }))
}
