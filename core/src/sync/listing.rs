//! Drive → file records: everything under the policy folders, with paths, remote names and
//! skip reasons.
//!
//! The first sync of a set of policy folders lists their trees (the changes token is taken
//! *before* the listing, so edits made during it are replayed next time). Later syncs read
//! only the changes feed and apply it to the stored records. Either way the same code turns
//! the resulting Drive items into records, so both paths agree on names and paths.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::config::SyncConfig;
use crate::db::{Database, FileRecord};
use crate::drive::naming::{assign_names, sanitize_component, NameRequest};
use crate::drive::{Change, DriveClient, DriveError, DriveFile, ShortcutDetails, SHORTCUT_MIME};
use crate::policy::{decide, Decision, FolderPolicy};

use super::SyncError;

/// Prefix of every object Fanout writes, under the destination's own prefix.
pub const REMOTE_ROOT: &str = "google-drive";

const TOKEN_KEY: &str = "changes_token";
const ROOTS_KEY: &str = "listed_roots";

/// The state of Drive under the policy folders, ready to store.
pub struct Listing {
    /// Every item in scope, as it is now.
    pub records: Vec<FileRecord>,
    /// The records that differ from what the database holds.
    pub changed: Vec<FileRecord>,
    /// Known items no longer in Drive or no longer in scope.
    pub gone: Vec<String>,
    /// The changes token and listed roots to save once the listing is stored.
    pub token: String,
    pub roots: BTreeSet<String>,
    /// Drive reported no change at all: `records` was left empty (the database has them).
    pub unchanged: bool,
}

type Targets = HashMap<String, Result<DriveFile, String>>;

impl Listing {
    /// Saves the listing and, only then, the changes token: a crash in between replays the
    /// same changes next time, which is harmless because applying them is idempotent.
    pub async fn save(&self, db: &Database) -> Result<(), SyncError> {
        db.save_listing(&self.changed, &self.gone).await?;
        let roots = serde_json::to_string(&self.roots).unwrap_or_else(|_| "[]".into());
        db.set_state(ROOTS_KEY, &roots).await?;
        db.set_state(TOKEN_KEY, &self.token).await?;
        Ok(())
    }
}

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
    let roots: BTreeSet<String> = policies.values().filter(|p| p.enabled).map(|p| p.folder_id.clone()).collect();
    let listed: BTreeSet<String> =
        db.get_state(ROOTS_KEY).await?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();

    // The changes feed first: when nothing changed, the stored records are not even loaded.
    let mut feed = None;
    if let Some(token) = db.get_state(TOKEN_KEY).await?.filter(|_| roots.is_subset(&listed)) {
        match drive.changes_since(&token).await {
            Ok((changes, new_token)) if changes.is_empty() => {
                return Ok(Listing {
                    records: Vec::new(),
                    changed: Vec::new(),
                    gone: Vec::new(),
                    token: new_token,
                    roots,
                    unchanged: true,
                });
            }
            Ok(found) => feed = Some(found),
            // A stored token Drive no longer accepts: start over with a full listing.
            Err(DriveError::Api { status: 400..=499, .. }) | Err(DriveError::NotFound(_)) => {
                tracing::warn!("the saved changes token was refused; listing everything again");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let previous: HashMap<String, FileRecord> =
        db.load_files().await?.into_iter().map(|f| (f.file_id.clone(), f)).collect();
    if let Some((changes, new_token)) = feed {
        let (items, targets) = apply_changes(drive, &previous, &roots, &root_id, changes).await?;
        return Ok(finish(items, targets, &previous, policies, &roots, &root_id, sync, new_token));
    }

    let token = drive.start_page_token().await?;
    let (items, targets) = full_listing(drive, &roots, &root_id).await?;
    Ok(finish(items, targets, &previous, policies, &roots, &root_id, sync, token))
}

/// Lists each policy root's ancestors (for paths) and its whole tree.
async fn full_listing(
    drive: &DriveClient,
    roots: &BTreeSet<String>,
    root_id: &str,
) -> Result<(HashMap<String, DriveFile>, Targets), SyncError> {
    let mut items: HashMap<String, DriveFile> = HashMap::new();
    let mut live_roots = Vec::new();
    for root in roots {
        let mut id = root.clone();
        let mut depth = 0;
        while id != root_id && !items.contains_key(&id) && depth < 100 {
            let file = match drive.get_file(&id).await {
                Ok(f) => f,
                Err(DriveError::NotFound(_)) if id == *root => break,
                Err(e) => return Err(e.into()),
            };
            let parent = file.parents.first().cloned();
            items.insert(id.clone(), file);
            match parent {
                Some(p) => id = p,
                None => break,
            }
            depth += 1;
        }
        if items.get(root).is_some_and(|f| f.is_folder() && !f.trashed) {
            live_roots.push(root.clone());
        }
    }
    for item in drive.list_tree(&live_roots).await? {
        items.insert(item.id.clone(), item);
    }
    let targets = resolve_targets(drive, items.values().filter(|f| f.is_shortcut())).await?;
    Ok((items, targets))
}

/// Fetches the targets of file shortcuts (folder shortcuts are not followed).
async fn resolve_targets<'a>(
    drive: &DriveClient,
    shortcuts: impl Iterator<Item = &'a DriveFile>,
) -> Result<Targets, SyncError> {
    let mut targets = Targets::new();
    for item in shortcuts {
        let Some(details) = &item.shortcut_details else { continue };
        if details.target_mime_type.as_deref() == Some(crate::drive::FOLDER_MIME)
            || targets.contains_key(&details.target_id)
        {
            continue;
        }
        let target = match drive.get_file(&details.target_id).await {
            Ok(t) => Ok(t),
            Err(DriveError::NotFound(_)) => Err("shortcut target no longer exists".to_string()),
            Err(e) => return Err(e.into()),
        };
        targets.insert(details.target_id.clone(), target);
    }
    Ok(targets)
}

/// Applies the changes feed to the stored records.
async fn apply_changes(
    drive: &DriveClient,
    previous: &HashMap<String, FileRecord>,
    roots: &BTreeSet<String>,
    root_id: &str,
    changes: Vec<Change>,
) -> Result<(HashMap<String, DriveFile>, Targets), DriveError> {
    let mut items: HashMap<String, DriveFile> =
        previous.values().filter(|r| !r.gone).map(|r| (r.file_id.clone(), to_drive_file(r))).collect();
    let mut targets: Targets = previous
        .values()
        .filter(|r| !r.gone && r.mime_type == SHORTCUT_MIME)
        .filter_map(|r| {
            let target_id = r.content_id.clone()?;
            let target = match &r.skip_reason {
                Some(reason) => Err(reason.clone()),
                None => Ok(DriveFile {
                    id: target_id.clone(),
                    name: r.name.clone(),
                    mime_type: "application/octet-stream".into(),
                    parents: Vec::new(),
                    size: r.size,
                    md5_checksum: r.md5.clone(),
                    version: r.version,
                    modified_time: r.modified_time.clone(),
                    trashed: false,
                    shortcut_details: None,
                }),
            };
            Some((target_id, target))
        })
        .collect();

    let mut new_folders = Vec::new();
    let mut changed_shortcuts = Vec::new();
    for change in changes {
        match change.file {
            Some(file) if !change.removed => {
                let known = previous.get(&file.id).map(|r| !r.gone).unwrap_or(false);
                if file.is_folder() && !known {
                    new_folders.push(file.id.clone());
                }
                if file.is_shortcut() {
                    changed_shortcuts.push(file.clone());
                }
                // A shortcut's target changed: its bytes are the shortcut's bytes.
                if targets.contains_key(&file.id) {
                    targets.insert(file.id.clone(), Ok(file.clone()));
                }
                items.insert(file.id.clone(), file);
            }
            _ => {
                items.remove(&change.file_id);
                if targets.contains_key(&change.file_id) {
                    targets.insert(change.file_id.clone(), Err("shortcut target no longer exists".into()));
                }
            }
        }
    }
    // A folder that moved into scope brings its contents, which have no changes of their own.
    let entering: Vec<String> = new_folders.into_iter().filter(|id| in_scope(id, &items, roots, root_id)).collect();
    if !entering.is_empty() {
        for item in drive.list_tree(&entering).await? {
            if item.is_shortcut() {
                changed_shortcuts.push(item.clone());
            }
            items.insert(item.id.clone(), item);
        }
    }
    for shortcut in &changed_shortcuts {
        if let Some(d) = &shortcut.shortcut_details {
            targets.remove(&d.target_id);
        }
    }
    match resolve_targets(drive, changed_shortcuts.iter()).await {
        Ok(resolved) => targets.extend(resolved),
        Err(SyncError::Drive(e)) => return Err(e),
        Err(e) => return Err(DriveError::BadResponse(e.to_string())),
    }
    Ok((items, targets))
}

fn to_drive_file(r: &FileRecord) -> DriveFile {
    let shortcut = r.mime_type == SHORTCUT_MIME;
    DriveFile {
        id: r.file_id.clone(),
        name: r.name.clone(),
        mime_type: r.mime_type.clone(),
        parents: r.parent_id.iter().cloned().collect(),
        size: if shortcut { None } else { r.size },
        md5_checksum: if shortcut { None } else { r.md5.clone() },
        version: r.version,
        modified_time: r.modified_time.clone(),
        trashed: r.trashed,
        shortcut_details: shortcut
            .then(|| ShortcutDetails { target_id: r.content_id.clone().unwrap_or_default(), target_mime_type: None }),
    }
}

/// Whether walking up from `id` reaches a policy root.
fn in_scope(id: &str, items: &HashMap<String, DriveFile>, roots: &BTreeSet<String>, root_id: &str) -> bool {
    let mut current = Some(id.to_string());
    let mut hops = 0;
    while let Some(c) = current {
        if roots.contains(&c) {
            return true;
        }
        if c == root_id || hops > 1000 {
            return false;
        }
        current = items.get(&c).and_then(|f| f.parents.first().cloned());
        hops += 1;
    }
    false
}

#[allow(clippy::too_many_arguments)]
fn finish(
    mut items: HashMap<String, DriveFile>,
    targets: Targets,
    previous: &HashMap<String, FileRecord>,
    policies: &HashMap<String, FolderPolicy>,
    roots: &BTreeSet<String>,
    root_id: &str,
    sync: &SyncConfig,
    token: String,
) -> Listing {
    // Keep what is under a policy root, and the roots' ancestors (they make the paths).
    let mut keep: HashSet<String> = items.keys().filter(|id| in_scope(id, &items, roots, root_id)).cloned().collect();
    for root in roots {
        let mut current = items.get(root).and_then(|f| f.parents.first().cloned());
        while let Some(c) = current {
            if c == root_id || !keep.insert(c.clone()) {
                break;
            }
            current = items.get(&c).and_then(|f| f.parents.first().cloned());
        }
    }
    items.retain(|id, _| keep.contains(id));

    let records = build_records(&items, &targets, previous, policies, root_id, sync);
    let changed = records.iter().filter(|r| previous.get(&r.file_id) != Some(*r)).cloned().collect();
    let gone =
        previous.values().filter(|r| !r.gone && !items.contains_key(&r.file_id)).map(|r| r.file_id.clone()).collect();
    Listing { records, changed, gone, token, roots: roots.clone(), unchanged: false }
}

fn build_records(
    items: &HashMap<String, DriveFile>,
    targets: &Targets,
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
                let wanted = match f.workspace_kind().and_then(|k| sync.export_formats.get(k)) {
                    Some(ext) => sanitize_component(&format!("{}.{ext}", f.name)),
                    None => sanitize_component(&f.name),
                };
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
        let trashed = item.trashed || ancestors.iter().any(|a| items.get(a).map(|f| f.trashed).unwrap_or(false));
        let mut size = item.size;
        let mut md5 = item.md5_checksum.clone();
        let mut content_id = None;
        let mut skip_reason = None;
        if !item.is_folder() {
            let refs: Vec<&str> = ancestors.iter().map(String::as_str).collect();
            if let Decision::Skip(reason) = decide(&refs, policies) {
                skip_reason = Some(reason);
            } else if let Some(details) = item.shortcut_details.as_ref().filter(|_| item.is_shortcut()) {
                content_id = Some(details.target_id.clone());
                const FOLDER_SHORTCUT: &str = "shortcut to a folder: not followed (give the folder its own policy)";
                match targets.get(&details.target_id) {
                    Some(Ok(target)) if target.is_folder() => skip_reason = Some(FOLDER_SHORTCUT.into()),
                    Some(Ok(target)) if target.workspace_kind().is_some() => {
                        skip_reason =
                            Some("shortcut to a Google Workspace file: its original is backed up instead".into())
                    }
                    Some(Ok(target)) => {
                        size = target.size;
                        md5 = target.md5_checksum.clone();
                    }
                    Some(Err(reason)) => skip_reason = Some(reason.clone()),
                    None => skip_reason = Some(FOLDER_SHORTCUT.into()),
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
            trashed,
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
