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
use crate::drive::tree;
use crate::drive::{Change, Corpus, DriveClient, DriveError, DriveFile, ShortcutDetails, SHORTCUT_MIME};
use crate::policy::{get_destinations_for_file, Decision, FolderPolicy};

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
            // Joining, leaving or renaming a shared drive changes what is in scope and every
            // path in it; it is rare, so the policy folders are listed again (as for a new one).
            Ok((changes, _)) if changes.iter().any(Change::is_about_a_drive) => {
                tracing::info!("a shared drive was joined, renamed or left; listing the policy folders again");
            }
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

/// Lists each policy root, its ancestors (for paths) and its whole tree. A policy on My
/// Drive's root lists all of My Drive.
async fn full_listing(
    drive: &DriveClient,
    roots: &BTreeSet<String>,
    root_id: &str,
) -> Result<(HashMap<String, DriveFile>, Targets), SyncError> {
    let mut items: HashMap<String, DriveFile> = HashMap::new();
    let mut live_roots = Vec::new();
    for root in roots {
        if root == root_id {
            live_roots.push((root.clone(), Corpus::User));
            continue;
        }
        let file = match drive.get_file(root).await {
            Ok(f) => f,
            // The policy's folder was deleted (or unshared): nothing to list under it.
            Err(DriveError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if file.is_folder() && !file.trashed {
            live_roots.push((root.clone(), Corpus::of(file.drive_id.as_deref())));
        }
        items.insert(root.clone(), file);
    }
    fetch_missing_ancestors(drive, &mut items, roots.iter().cloned().collect(), root_id).await?;
    for item in drive.list_tree(&live_roots).await? {
        items.insert(item.id.clone(), item);
    }
    let targets = resolve_targets(drive, items.values().filter(|f| f.is_shortcut())).await?;
    Ok((items, targets))
}

/// Fetches every folder above `starts` that `items` does not hold yet, up to My Drive's root or
/// the top of what the user can see, so paths are never cut at an unknown folder. Both the
/// full listing and the changes feed go through here, so both compute the same paths.
pub(crate) async fn fetch_missing_ancestors(
    drive: &DriveClient,
    items: &mut HashMap<String, DriveFile>,
    starts: Vec<String>,
    root_id: &str,
) -> Result<(), DriveError> {
    let mut inaccessible: BTreeSet<String> = BTreeSet::new();
    for start in starts {
        loop {
            let parent_of = |id: &str| items.get(id).and_then(|f| f.parents.first()).map(String::as_str);
            let chain = tree::ancestors(parent_of(&start), parent_of);
            let Some(top) = chain.last().map(|id| id.to_string()) else { break };
            if top == root_id || items.contains_key(&top) || inaccessible.contains(&top) {
                break;
            }
            match drive.get_file(&top).await {
                Ok(folder) => {
                    items.insert(top, folder);
                }
                // A folder shared with the user whose parent they cannot see: it is a top.
                Err(DriveError::NotFound(_)) => {
                    inaccessible.insert(top);
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
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
                    explicitly_trashed: false,
                    drive_id: None,
                    shortcut_details: None,
                }),
            };
            Some((target_id, target))
        })
        .collect();

    let mut new_folders = Vec::new();
    let mut changed_shortcuts = Vec::new();
    let mut changed_ids = Vec::new();
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
                changed_ids.push(file.id.clone());
                items.insert(file.id.clone(), file);
            }
            _ => {
                let Some(id) = change.file_id else { continue };
                items.remove(&id);
                if targets.contains_key(&id) {
                    targets.insert(id, Err("shortcut target no longer exists".into()));
                }
            }
        }
    }
    // A changed item may now sit under folders never seen before (a policy folder moved).
    fetch_missing_ancestors(drive, &mut items, changed_ids, root_id).await?;
    // A folder that moved into scope brings its contents, which have no changes of their own.
    let entering: Vec<(String, Corpus)> = new_folders
        .into_iter()
        .filter(|id| in_scope(id, &items, roots))
        .map(|id| {
            let corpus = Corpus::of(items.get(&id).and_then(|f| f.drive_id.as_deref()));
            (id, corpus)
        })
        .collect();
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
        trashed: r.drive_trashed,
        explicitly_trashed: r.explicitly_trashed,
        drive_id: None,
        shortcut_details: shortcut
            .then(|| ShortcutDetails { target_id: r.content_id.clone().unwrap_or_default(), target_mime_type: None }),
    }
}

/// The parent of each item, as `items` knows it.
fn parent_in<'a>(items: &'a HashMap<String, DriveFile>) -> impl Fn(&str) -> Option<&'a str> + 'a {
    move |id| items.get(id).and_then(|f| f.parents.first()).map(String::as_str)
}

/// Whether `id` is a policy root or lies under one (My Drive's root included).
fn in_scope(id: &str, items: &HashMap<String, DriveFile>, roots: &BTreeSet<String>) -> bool {
    let parent_of = parent_in(items);
    roots.contains(id) || tree::ancestors(parent_of(id), parent_of).iter().any(|a| roots.contains(*a))
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
    items.remove(root_id);
    let mut keep: HashSet<String> = items.keys().filter(|id| in_scope(id, &items, roots)).cloned().collect();
    for root in roots {
        let parent_of = parent_in(&items);
        let above: Vec<String> = tree::ancestors(parent_of(root), &parent_of).into_iter().map(str::to_string).collect();
        keep.extend(above);
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
    let remote_names = remote_names(items, previous, root_id, sync);
    let mut records = Vec::with_capacity(items.len());
    for item in items.values() {
        let parent_of = parent_in(items);
        let ancestors = tree::ancestors(item.parents.first().map(String::as_str), &parent_of);
        let (drive_path, remote_path) = paths_for(item, &ancestors, items, &remote_names);
        let trashed = trashed_here(item, items)
            || ancestors.iter().any(|a| items.get(*a).is_some_and(|f| trashed_here(f, items)));
        let content = if item.is_folder() {
            Content { size: item.size, md5: item.md5_checksum.clone(), content_id: None, skip_reason: None }
        } else {
            content_of(item, &ancestors, targets, policies, sync)
        };
        records.push(FileRecord {
            file_id: item.id.clone(),
            parent_id: item.parents.first().cloned(),
            name: item.name.clone(),
            remote_name: remote_names.get(&item.id).cloned().unwrap_or_else(|| sanitize_component(&item.name)),
            mime_type: item.mime_type.clone(),
            is_folder: item.is_folder(),
            content_id: content.content_id,
            size: content.size,
            md5: content.md5,
            version: item.version,
            modified_time: item.modified_time.clone(),
            drive_path,
            remote_path,
            trashed,
            explicitly_trashed: item.explicitly_trashed,
            drive_trashed: item.trashed,
            gone: false,
            skip_reason: content.skip_reason,
        });
    }
    records
}

/// What a file's backup holds: its bytes (or a shortcut target's), or why it has none.
struct Content {
    size: Option<i64>,
    md5: Option<String>,
    /// Whose bytes to fetch, when not the file's own (a shortcut's target).
    content_id: Option<String>,
    skip_reason: Option<String>,
}

fn content_of(
    item: &DriveFile,
    ancestors: &[&str],
    targets: &Targets,
    policies: &HashMap<String, FolderPolicy>,
    sync: &SyncConfig,
) -> Content {
    let own = || Content { size: item.size, md5: item.md5_checksum.clone(), content_id: None, skip_reason: None };
    let skip = |reason: String| Content { skip_reason: Some(reason), ..own() };
    if let Decision::Skip(reason) = get_destinations_for_file(ancestors, policies) {
        return skip(reason);
    }
    if let Some(details) = item.shortcut_details.as_ref().filter(|_| item.is_shortcut()) {
        const FOLDER_SHORTCUT: &str = "shortcut to a folder: not followed (give the folder its own policy)";
        let skipped = |reason: String| Content { content_id: Some(details.target_id.clone()), ..skip(reason) };
        return match targets.get(&details.target_id) {
            Some(Ok(target)) if target.is_folder() => skipped(FOLDER_SHORTCUT.into()),
            Some(Ok(target)) if target.workspace_kind().is_some() => {
                skipped("shortcut to a Google Workspace file: its original is backed up instead".into())
            }
            Some(Ok(target)) => Content {
                size: target.size,
                md5: target.md5_checksum.clone(),
                content_id: Some(details.target_id.clone()),
                skip_reason: None,
            },
            Some(Err(reason)) => skipped(reason.clone()),
            None => skipped(FOLDER_SHORTCUT.into()),
        };
    }
    match item.workspace_kind() {
        Some(kind) if !sync.export_formats.contains_key(kind) => {
            skip(format!("Google {kind} files cannot be exported; nothing to back up"))
        }
        _ => own(),
    }
}

/// Whether an item is in the trash on its own account: trashed by itself, or, for an item at
/// the top of what Fanout sees, trashed as Drive says (its folders above are not known). The
/// rest of an item's trash state comes from its folders, worked out anew at every listing, so
/// untrashing a folder brings back what is under it.
fn trashed_here(item: &DriveFile, items: &HashMap<String, DriveFile>) -> bool {
    let parent_known = item.parents.first().is_some_and(|p| items.contains_key(p));
    if parent_known {
        item.explicitly_trashed
    } else {
        item.trashed
    }
}

/// Where an item's remote name must be unique: its folder, or, for the items at the top of
/// what Fanout sees (My Drive's children, shared drives, folders shared with the user), one
/// namespace shared by all of them, so two tops with one name never share a key.
fn name_scope<'a>(item: &'a DriveFile, items: &HashMap<String, DriveFile>, root_id: &str) -> &'a str {
    match item.parents.first() {
        Some(parent) if parent != root_id && items.contains_key(parent) => parent,
        _ => "",
    }
}

/// Remote names, scope by scope: unique per folder, stable across runs. At the top, My
/// Drive's children keep their plain names first; another top with the same name gets the
/// usual ` (<ID>)` suffix.
fn remote_names(
    items: &HashMap<String, DriveFile>,
    previous: &HashMap<String, FileRecord>,
    root_id: &str,
    sync: &SyncConfig,
) -> HashMap<String, String> {
    let mut scopes: HashMap<&str, Vec<&DriveFile>> = HashMap::new();
    for item in items.values() {
        scopes.entry(name_scope(item, items, root_id)).or_default().push(item);
    }
    let mut names = HashMap::with_capacity(items.len());
    for (scope, members) in &scopes {
        let requests: Vec<NameRequest> = members
            .iter()
            .map(|f| {
                let wanted = match f.workspace_kind().and_then(|k| sync.export_formats.get(k)) {
                    Some(ext) => sanitize_component(&format!("{}.{ext}", f.name)),
                    None => sanitize_component(&f.name),
                };
                let previous = previous
                    .get(&f.id)
                    .filter(|p| p.name == f.name && p.parent_id.as_ref() == f.parents.first())
                    .map(|p| p.remote_name.clone());
                // At the top, what is not in My Drive gives way to what is.
                let yields = scope.is_empty() && f.parents.first().map(String::as_str) != Some(root_id);
                NameRequest { file_id: f.id.clone(), wanted, previous, yields }
            })
            .collect();
        names.extend(assign_names(&requests));
    }
    names
}

/// The Drive path (names) and the remote path (`google-drive/<remote names>`) of an item whose
/// folders are `ancestors` (nearest first).
fn paths_for(
    item: &DriveFile,
    ancestors: &[&str],
    items: &HashMap<String, DriveFile>,
    remote_names: &HashMap<String, String>,
) -> (String, String) {
    let mut chain: Vec<&DriveFile> = vec![item];
    chain.extend(ancestors.iter().map_while(|id| items.get(*id)));
    chain.reverse();
    let drive: Vec<&str> = chain.iter().map(|f| f.name.as_str()).collect();
    let remote: Vec<String> =
        chain.iter().map(|f| remote_names.get(&f.id).cloned().unwrap_or_else(|| sanitize_component(&f.name))).collect();
    (drive.join("/"), format!("{REMOTE_ROOT}/{}", remote.join("/")))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use proptest::prelude::*;

    use super::*;
    use crate::drive::FOLDER_MIME;

    const ROOT: &str = "my-drive-root";

    /// Names that collide once sanitised, normalised, lower-cased or cut to length.
    fn hostile_names() -> Vec<String> {
        let long = "x".repeat(230);
        vec![
            "a.txt".into(),
            "A.TXT".into(),
            "\u{e9}.txt".into(),
            "e\u{301}.txt".into(),
            "..".into(),
            "a/b".into(),
            "a_b".into(),
            "Team".into(),
            "team".into(),
            "con".into(),
            "x.".into(),
            "x_".into(),
            format!("{long}-one.txt"),
            format!("{long}-two.txt"),
        ]
    }

    /// One generated item: a name, whether it is a folder, and where it hangs: `Ok(i)` under
    /// the i-th earlier folder (if any), `Err(0)` in My Drive, `Err(1)` parentless (a shared
    /// drive), `Err(n)` under an unseen folder `unseen-n` (shared with the user).
    type Node = (usize, bool, Result<usize, usize>);

    fn arb_tree() -> impl Strategy<Value = Vec<Node>> {
        let node = (
            0..hostile_names().len(),
            any::<bool>(),
            prop_oneof![(0usize..40).prop_map(Ok), (0usize..4).prop_map(Err)],
        );
        proptest::collection::vec(node, 1..60)
    }

    fn build(nodes: &[Node]) -> HashMap<String, DriveFile> {
        let names = hostile_names();
        let mut items = HashMap::new();
        let mut folders: Vec<String> = Vec::new();
        for (i, (name, folder, place)) in nodes.iter().enumerate() {
            let id = format!("id{i:03}");
            let parents = match place {
                Ok(k) if !folders.is_empty() => vec![folders[k % folders.len()].clone()],
                Ok(_) | Err(0) => vec![ROOT.to_string()],
                Err(1) => vec![],
                Err(n) => vec![format!("unseen-{n}")],
            };
            let file = DriveFile {
                id: id.clone(),
                name: names[*name].clone(),
                mime_type: if *folder { FOLDER_MIME.into() } else { "text/plain".into() },
                parents,
                size: Some(1),
                md5_checksum: Some("m".into()),
                version: Some(1),
                modified_time: None,
                trashed: false,
                explicitly_trashed: false,
                drive_id: None,
                shortcut_details: None,
            };
            if *folder {
                folders.push(id.clone());
            }
            items.insert(id, file);
        }
        items
    }

    fn everything_in_scope(items: &HashMap<String, DriveFile>) -> (HashMap<String, FolderPolicy>, BTreeSet<String>) {
        let mut roots: BTreeSet<String> = [ROOT.to_string()].into();
        roots.extend(items.values().flat_map(|f| f.parents.iter()).filter(|p| p.starts_with("unseen")).cloned());
        roots.extend(items.values().filter(|f| f.parents.is_empty()).map(|f| f.id.clone()));
        let policies = roots
            .iter()
            .map(|id| {
                let policy = FolderPolicy {
                    folder_id: id.clone(),
                    folder_name: id.clone(),
                    folder_path: id.clone(),
                    destinations: vec!["local".into()],
                    recursive: true,
                    enabled: true,
                    created_at: String::new(),
                    updated_at: String::new(),
                };
                (id.clone(), policy)
            })
            .collect();
        (policies, roots)
    }

    fn sync_config() -> SyncConfig {
        crate::config::Config::default_config().unwrap().sync
    }

    fn listing(items: HashMap<String, DriveFile>, previous: &HashMap<String, FileRecord>) -> Listing {
        let (policies, roots) = everything_in_scope(&items);
        finish(items, Targets::new(), previous, &policies, &roots, ROOT, &sync_config(), String::new())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn no_two_drive_items_ever_map_to_one_key_and_the_mapping_is_stable(nodes in arb_tree()) {
            let first = listing(build(&nodes), &HashMap::new());
            // Injective on case-insensitive, normalising filesystems too (keys are NFC already).
            let mut keys = HashSet::new();
            for record in &first.records {
                prop_assert!(keys.insert(record.remote_path.to_lowercase()), "{} is used twice", record.remote_path);
                for component in record.remote_path.split('/') {
                    prop_assert!(!component.is_empty() && component != "." && component != "..", "{}", record.remote_path);
                }
            }
            prop_assert_eq!(first.records.len(), nodes.len());

            // Stable: the next run, from what was stored, gives every item the same key.
            let previous: HashMap<String, FileRecord> =
                first.records.iter().map(|r| (r.file_id.clone(), r.clone())).collect();
            let second = listing(build(&nodes), &previous);
            let paths = |l: &Listing| -> BTreeMap<String, String> {
                l.records.iter().map(|r| (r.file_id.clone(), r.remote_path.clone())).collect()
            };
            prop_assert_eq!(paths(&first), paths(&second));
        }
    }

    #[test]
    fn my_drive_keeps_its_plain_names_when_a_shared_drive_has_the_same_name() {
        let nodes: Vec<Node> = vec![(7, true, Err(1)), (7, true, Err(0))];
        let records = listing(build(&nodes), &HashMap::new()).records;
        let path = |id: &str| records.iter().find(|r| r.file_id == id).map(|r| r.remote_path.clone()).unwrap();
        assert_eq!(path("id001"), "google-drive/Team");
        assert_eq!(path("id000"), "google-drive/Team (id000)");
    }
}
