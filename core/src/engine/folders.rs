//! Drive folders for the folder picker: one level at a time, or by name, and what backing one
//! up would cost.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{Engine, EngineError};
use crate::config::DestinationConfig;
use crate::cost::{MonthlyCost, PriceTable};
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

/// A folder's size in Drive and what holding it would cost a month at each destination.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FolderEstimate {
    pub folder_id: String,
    pub folder_path: String,
    pub files: u64,
    pub bytes: u64,
    /// Google Docs and the like: Drive states no size for them (their exports count once synced).
    pub unsized_files: u64,
    /// By destination key; a destination without a known price is absent.
    pub monthly_costs: BTreeMap<String, MonthlyCost>,
}

impl FolderEstimate {
    fn of<'a>(
        folder_id: &str,
        folder_path: &str,
        sizes: impl Iterator<Item = Option<i64>>,
        destinations: impl Iterator<Item = &'a DestinationConfig>,
        prices: &PriceTable,
    ) -> Self {
        let (mut files, mut bytes, mut unsized_files) = (0, 0, 0);
        for size in sizes {
            files += 1;
            match size {
                Some(n) => bytes += n.max(0) as u64,
                None => unsized_files += 1,
            }
        }
        let monthly_costs = destinations.filter_map(|d| Some((d.key.clone(), prices.monthly(d, bytes)?))).collect();
        Self {
            folder_id: folder_id.to_string(),
            folder_path: folder_path.to_string(),
            files,
            bytes,
            unsized_files,
            monthly_costs,
        }
    }
}

/// Whether an item is inside `folder` (directly, or anywhere below when `recursive`).
fn is_under<'a>(parent_of: &HashMap<&'a str, &'a str>, mut id: &'a str, folder: &str, recursive: bool) -> bool {
    // Bounded by the number of items, so a cycle in bad data cannot spin forever.
    for _ in 0..=parent_of.len() {
        match parent_of.get(id) {
            Some(&parent) if parent == folder => return true,
            Some(&parent) if recursive => id = parent,
            _ => return false,
        }
    }
    false
}

impl Engine {
    /// A folder's size as Drive lists it now, and the monthly cost at every enabled destination
    /// (the folder picker shows the ones ticked).
    pub async fn folder_estimate(&self, folder: &str, recursive: bool) -> Result<FolderEstimate, EngineError> {
        let (found, path) = self.resolve_folder(folder).await?;
        let drive = self.drive()?;
        let corpus = Corpus::of(found.drive_id.as_deref());
        let items = if recursive {
            drive.list_tree(&[(found.id.clone(), corpus)]).await?
        } else {
            drive.list_children(std::slice::from_ref(&found.id), &corpus).await?
        };
        let sizes = items.iter().filter(|f| !f.is_folder() && !f.is_shortcut() && !f.trashed).map(|f| f.size);
        Ok(FolderEstimate::of(&found.id, &path, sizes, self.config.enabled_destinations(), &self.config.prices))
    }

    /// For each backed-up folder, its size as last listed and the monthly cost at each of its
    /// destinations (from the local catalog, without asking Drive).
    pub async fn policy_estimates(&self) -> Result<Vec<FolderEstimate>, EngineError> {
        let files = self.db.load_files().await?;
        let parent_of: HashMap<&str, &str> =
            files.iter().filter_map(|f| Some((f.file_id.as_str(), f.parent_id.as_deref()?))).collect();
        let mut estimates = Vec::new();
        for policy in self.db.get_all_folder_policies().await? {
            let sizes = files
                .iter()
                .filter(|f| !f.is_folder && !f.trashed && !f.gone)
                .filter(|f| is_under(&parent_of, &f.file_id, &policy.folder_id, policy.recursive))
                .map(|f| f.size);
            let destinations = policy.destinations.iter().filter_map(|key| self.config.destination(key));
            estimates.push(FolderEstimate::of(
                &policy.folder_id,
                &policy.folder_path,
                sizes,
                destinations,
                &self.config.prices,
            ));
        }
        Ok(estimates)
    }

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
