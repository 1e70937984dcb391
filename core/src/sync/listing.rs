//! Drive listing → file records: paths, remote names and skip reasons for everything under
//! the policy folders.

use std::collections::{HashMap, HashSet};

use crate::config::SyncConfig;
use crate::db::{Database, FileRecord};
use crate::drive::naming::{assign_names, sanitize_component, NameRequest};
use crate::drive::{DriveClient, DriveError, DriveFile};
use crate::policy::{decide, Decision, FolderPolicy};

use super::SyncError;

/// Prefix of every object Fanout writes, under the destination's own prefix.
pub const REMOTE_ROOT: &str = "google-drive";

/// The state of Drive under the policy folders, as records ready to store.
pub struct Listing {
    pub records: Vec<FileRecord>,
    /// Known items missing from this listing (deleted, trashed or moved away).
    pub gone: Vec<String>,
    /// Drive requests made, for diagnostics.
    pub roots: Vec<String>,
}

/// Lists every enabled policy's tree and turns it into records.
pub async fn list_policy_trees(
    drive: &DriveClient,
    db: &Database,
    policies: &HashMap<String, FolderPolicy>,
    sync: &SyncConfig,
) -> Result<Listing, SyncError> {
    let root_id = match db.get_state("root_id").await? {
        Some(id) => id,
        None => {
            let id = drive.root_id().await?;
            db.set_state("root_id", &id).await?;
            id
        }
    };
    let roots: Vec<String> = policies.values().filter(|p| p.enabled).map(|p| p.folder_id.clone()).collect();

    // Each root's own metadata and its ancestors up to My Drive, for paths.
    let mut items: HashMap<String, DriveFile> = HashMap::new();
    let mut live_roots = Vec::new();
    for root in &roots {
        let mut id = root.clone();
        let mut depth = 0;
        while id != root_id && !items.contains_key(&id) && depth < 100 {
            let file = match drive.get_file(&id).await {
                Ok(f) => f,
                Err(DriveError::NotFound(_)) if id == *root => break,
                Err(e) => return Err(e.into()),
            };
            if id == *root && (file.trashed || !file.is_folder()) {
                break;
            }
            if id == *root {
                live_roots.push(root.clone());
            }
            let parent = file.parents.first().cloned();
            items.insert(id.clone(), file);
            match parent {
                Some(p) => id = p,
                None => break,
            }
            depth += 1;
        }
        if items.contains_key(root) && !live_roots.contains(root) {
            live_roots.push(root.clone());
        }
    }
    for item in drive.list_tree(&live_roots).await? {
        items.insert(item.id.clone(), item);
    }

    // Shortcuts to files are followed: the shortcut's name, the target's bytes.
    let mut targets: HashMap<String, Result<DriveFile, String>> = HashMap::new();
    for item in items.values().filter(|f| f.is_shortcut()) {
        let Some(details) = &item.shortcut_details else {
            continue;
        };
        if details.target_mime_type.as_deref() == Some(crate::drive::FOLDER_MIME) {
            continue;
        }
        let target = match drive.get_file(&details.target_id).await {
            Ok(t) => Ok(t),
            Err(DriveError::NotFound(_)) => Err("shortcut target no longer exists".to_string()),
            Err(e) => return Err(e.into()),
        };
        targets.insert(details.target_id.clone(), target);
    }

    let previous: HashMap<String, FileRecord> =
        db.load_files().await?.into_iter().map(|f| (f.file_id.clone(), f)).collect();
    let records = build_records(&items, &targets, &previous, policies, &root_id, sync);

    // Items known under a listed root that this listing no longer shows are gone from Drive.
    let seen: HashSet<&str> = items.keys().map(String::as_str).collect();
    let listed_roots: HashSet<&str> = live_roots.iter().map(String::as_str).collect();
    let mut gone = Vec::new();
    for (id, record) in &previous {
        if record.gone || seen.contains(id.as_str()) {
            continue;
        }
        let mut parent = record.parent_id.as_deref();
        let mut hops = 0;
        while let Some(p) = parent {
            if listed_roots.contains(p) {
                gone.push(id.clone());
                break;
            }
            parent = previous.get(p).and_then(|r| r.parent_id.as_deref());
            hops += 1;
            if hops > 1000 {
                break;
            }
        }
    }
    Ok(Listing { records, gone, roots: live_roots })
}

fn build_records(
    items: &HashMap<String, DriveFile>,
    targets: &HashMap<String, Result<DriveFile, String>>,
    previous: &HashMap<String, FileRecord>,
    policies: &HashMap<String, FolderPolicy>,
    root_id: &str,
    sync: &SyncConfig,
) -> Vec<FileRecord> {
    // Remote names, folder by folder.
    let mut children: HashMap<&str, Vec<&DriveFile>> = HashMap::new();
    for item in items.values() {
        if let Some(parent) = item.parents.first() {
            children.entry(parent.as_str()).or_default().push(item);
        }
    }
    let mut remote_names: HashMap<String, String> = HashMap::new();
    for (parent, kids) in &children {
        let requests: Vec<NameRequest> = kids
            .iter()
            .map(|f| {
                let mut wanted = sanitize_component(&f.name);
                if let Some(ext) = f.workspace_kind().and_then(|k| sync.export_formats.get(k)) {
                    wanted = sanitize_component(&format!("{}.{ext}", f.name));
                }
                let previous = previous
                    .get(&f.id)
                    .filter(|p| p.name == f.name && p.parent_id.as_deref() == Some(*parent))
                    .map(|p| p.remote_name.clone());
                NameRequest { file_id: f.id.clone(), wanted, previous }
            })
            .collect();
        remote_names.extend(assign_names(&requests));
    }

    let mut records = Vec::with_capacity(items.len());
    for item in items.values() {
        let ancestors = ancestors_of(item, items, root_id);
        let (drive_path, remote_path) = paths_for(item, items, &remote_names, root_id);
        let mut size = item.size;
        let mut md5 = item.md5_checksum.clone();
        let mut content_id = None;
        let mut skip_reason = None;
        if !item.is_folder() {
            let refs: Vec<&str> = ancestors.iter().map(String::as_str).collect();
            if let Decision::Skip(reason) = decide(&refs, policies) {
                skip_reason = Some(reason);
            } else if item.is_shortcut() {
                match item.shortcut_details.as_ref().map(|d| (d, targets.get(&d.target_id))) {
                    Some((_, Some(Ok(target)))) if target.is_folder() => {
                        skip_reason =
                            Some("shortcut to a folder: not followed (its folder can have its own policy)".into())
                    }
                    Some((d, Some(Ok(target)))) => {
                        content_id = Some(d.target_id.clone());
                        size = target.size;
                        md5 = target.md5_checksum.clone();
                        if target.workspace_kind().is_some() {
                            skip_reason =
                                Some("shortcut to a Google Workspace file: back up the original instead".into());
                        }
                    }
                    Some((_, Some(Err(reason)))) => skip_reason = Some(reason.clone()),
                    _ => {
                        skip_reason =
                            Some("shortcut to a folder: not followed (its folder can have its own policy)".into())
                    }
                }
            } else if let Some(kind) = item.workspace_kind() {
                if !sync.export_formats.contains_key(kind) {
                    skip_reason = Some(format!("Google {kind} files cannot be exported; nothing to back up"));
                }
            }
        }
        records.push(FileRecord {
            file_id: item.id.clone(),
            parent_id: item.parents.first().cloned(),
            name: item.name.clone(),
            remote_name: remote_names.get(&item.id).cloned().unwrap_or_else(|| sanitize_component(&item.name)),
            mime_type: item.mime_type.clone(),
            is_folder: item.is_folder(),
            content_id,
            size,
            md5,
            version: item.version,
            modified_time: item.modified_time.clone(),
            drive_path,
            remote_path,
            trashed: item.trashed,
            gone: false,
            skip_reason,
        });
    }
    records
}

/// Parent, grandparent, ... up to (not including) My Drive's root.
fn ancestors_of(item: &DriveFile, items: &HashMap<String, DriveFile>, root_id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut parent = item.parents.first();
    while let Some(p) = parent {
        if p == root_id || out.contains(p) || out.len() > 1000 {
            break;
        }
        out.push(p.clone());
        parent = items.get(p).and_then(|f| f.parents.first());
    }
    out
}

fn paths_for(
    item: &DriveFile,
    items: &HashMap<String, DriveFile>,
    remote_names: &HashMap<String, String>,
    root_id: &str,
) -> (String, String) {
    let mut chain = vec![item];
    let mut parent = item.parents.first();
    while let Some(p) = parent {
        if p == root_id || chain.len() > 1000 {
            break;
        }
        match items.get(p) {
            Some(f) => {
                chain.push(f);
                parent = f.parents.first();
            }
            None => break,
        }
    }
    chain.reverse();
    let drive: Vec<&str> = chain.iter().map(|f| f.name.as_str()).collect();
    let remote: Vec<String> =
        chain.iter().map(|f| remote_names.get(&f.id).cloned().unwrap_or_else(|| sanitize_component(&f.name))).collect();
    (drive.join("/"), format!("{REMOTE_ROOT}/{}", remote.join("/")))
}
