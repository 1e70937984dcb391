//! What can be restored from each destination: the database's record of its copies; without
//! one (a new computer), the destination's own index; without that (a destination written
//! before indexes existed), its plain objects as a listing finds them.

use std::path::Path;

use crate::db::{CatalogEntry, Database, VersionState};
use crate::storage::providers::HashKind;
use crate::storage::StorageManager;

use super::index::read_index;
use super::RestoreError;

/// Where the catalog of a destination came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogSource {
    Database,
    Index,
    Listing,
}

/// Every copy each destination in `keys` holds. A destination that cannot be read is left
/// out with the reason, unless it is the only one asked for.
pub(super) async fn gather(
    db: &Database,
    storage: &StorageManager,
    keys: &[String],
    scratch: &Path,
) -> Result<(Vec<(String, CatalogEntry)>, Vec<(String, CatalogSource)>, Vec<String>), RestoreError> {
    let from_database = db.has_copies().await?;
    let mut all = Vec::new();
    let mut sources = Vec::new();
    let mut unreadable = Vec::new();
    for key in keys {
        let read = if from_database {
            let root = storage.root_path(key)?;
            db.catalog(key, &root).await.map(|e| (e, CatalogSource::Database)).map_err(RestoreError::from)
        } else {
            from_destination(storage, key, scratch).await
        };
        match read {
            Ok((entries, source)) => {
                sources.push((key.clone(), source));
                all.extend(entries.into_iter().map(|e| (key.clone(), e)));
            }
            Err(e) if keys.len() > 1 => unreadable.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    Ok((all, sources, unreadable))
}

async fn from_destination(
    storage: &StorageManager,
    key: &str,
    scratch: &Path,
) -> Result<(Vec<CatalogEntry>, CatalogSource), RestoreError> {
    if let Some(index) = read_index(storage, key, scratch).await? {
        return Ok((index.entries, CatalogSource::Index));
    }
    tracing::info!(destination = key, "no index at the destination; restoring from its plain objects");
    let kind = storage.hash_kind(key)?;
    let listed = storage.list_objects_recursively(key, crate::sync::listing::REMOTE_ROOT).await?;
    let entries = listed
        .into_iter()
        .map(|(below, object)| {
            let path = format!("{}/{below}", crate::sync::listing::REMOTE_ROOT);
            let name = below.rsplit('/').next().unwrap_or(&below).to_string();
            CatalogEntry {
                // Without Drive's IDs the path is what names a file (the same at every destination).
                file_id: format!("path:{below}"),
                drive_path: below.clone(),
                name,
                mime_type: String::new(),
                location: path.clone(),
                path,
                provider_version: false,
                md5: object.hash.clone().filter(|_| kind == HashKind::Md5),
                remote_hash: object.hash,
                size: Some(object.size),
                drive_version: None,
                modified_time: None,
                copied_at: String::new(),
                last_verified: None,
                state: VersionState::Current,
                gone_from_drive: false,
            }
        })
        .collect();
    Ok((entries, CatalogSource::Listing))
}
