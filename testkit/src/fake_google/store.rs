//! The fake Drive's state: items, their bytes, and how a directory tree plus a manifest
//! becomes a Drive with Google Docs, shortcuts, duplicates and trash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{json, Value};
use sha1::Sha1;

pub const FOLDER: &str = "application/vnd.google-apps.folder";
pub const SHORTCUT: &str = "application/vnd.google-apps.shortcut";
pub const ROOT_ID: &str = "0AFakeMyDriveRootFolderUk9PVA";
/// Drive caps `files.export` at 10 MB.
pub const EXPORT_LIMIT: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub enum Content {
    None,
    Memory(Bytes),
    Disk { path: PathBuf, size: u64 },
}

#[derive(Debug, Clone)]
pub struct FileEntry {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    pub parents: Vec<String>,
    pub trashed: bool,
    pub explicitly_trashed: bool,
    pub content: Content,
    pub size: u64,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub version: i64,
    pub created_time: String,
    pub modified_time: String,
    pub shortcut_target: Option<(String, String)>,
    /// Text the fake renders into every export format of a Workspace file.
    pub doc_text: String,
    pub owned_by_me: bool,
    pub can_download: bool,
    /// Exports of this file are over Drive's 10 MB limit.
    pub export_too_large: bool,
    /// The user lost access: the item is invisible and reported as removed.
    pub hidden: bool,
    /// The shared drive holding the item (its root folder's ID is the drive's ID).
    pub drive_id: Option<String>,
}

impl FileEntry {
    pub fn is_workspace(&self) -> bool {
        self.mime_type.starts_with("application/vnd.google-apps.")
            && self.mime_type != FOLDER
            && self.mime_type != SHORTCUT
    }

    /// Every field Drive can return; the `fields` mask trims it.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut v = json!({
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "trashed": self.trashed,
            "explicitlyTrashed": self.explicitly_trashed,
            "version": self.version.to_string(),
            "createdTime": self.created_time,
            "modifiedTime": self.modified_time,
            "ownedByMe": self.owned_by_me,
            "capabilities": { "canDownload": self.can_download },
        });
        if !self.parents.is_empty() {
            v["parents"] = json!(self.parents);
        }
        if let Some(drive) = &self.drive_id {
            v["driveId"] = json!(drive);
        }
        if matches!(self.content, Content::Memory(_) | Content::Disk { .. }) {
            v["size"] = json!(self.size.to_string());
            v["md5Checksum"] = json!(self.md5);
            v["sha1Checksum"] = json!(self.sha1);
            v["headRevisionId"] = json!(format!("rev-{}", self.version));
        }
        if let Some((target, mime)) = &self.shortcut_target {
            v["shortcutDetails"] = json!({ "targetId": target, "targetMimeType": mime });
        }
        if self.is_workspace() {
            let links: serde_json::Map<String, Value> = export_formats(&self.mime_type)
                .iter()
                .map(|m| (m.to_string(), json!(format!("{base_url}/feeds/download/{}?exportFormat={m}", self.id))))
                .collect();
            v["exportLinks"] = Value::Object(links);
        }
        v
    }

    /// What an export to `mime` returns (deterministic, so tests can predict it).
    pub fn render_export(&self, mime: &str) -> Bytes {
        Bytes::from(format!("Fanout fake export of \"{}\" as {mime}\n\n{}\n", self.name, self.doc_text))
    }
}

/// The Workspace types Drive converts an upload of `media` into (a subset of
/// `about.importFormats`).
pub fn import_formats(media: &str) -> &'static [&'static str] {
    const DOCUMENT: &str = "application/vnd.google-apps.document";
    const SPREADSHEET: &str = "application/vnd.google-apps.spreadsheet";
    const PRESENTATION: &str = "application/vnd.google-apps.presentation";
    match media {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.oasis.opendocument.text"
        | "application/rtf"
        | "text/plain"
        | "text/html"
        | "text/markdown" => &[DOCUMENT],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/x-vnd.oasis.opendocument.spreadsheet"
        | "text/csv"
        | "text/tab-separated-values" => &[SPREADSHEET],
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        | "application/vnd.oasis.opendocument.presentation" => &[PRESENTATION],
        _ => &[],
    }
}

/// Export formats Drive offers per Workspace type (a subset of `about.exportFormats`).
pub fn export_formats(mime: &str) -> &'static [&'static str] {
    match mime {
        "application/vnd.google-apps.document" => &[
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.oasis.opendocument.text",
            "application/rtf",
            "application/pdf",
            "text/plain",
            "text/html",
            "application/epub+zip",
            "text/markdown",
        ],
        "application/vnd.google-apps.spreadsheet" => &[
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/x-vnd.oasis.opendocument.spreadsheet",
            "application/pdf",
            "text/csv",
        ],
        "application/vnd.google-apps.presentation" => &[
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.presentation",
            "application/pdf",
            "text/plain",
        ],
        "application/vnd.google-apps.drawing" => &["image/svg+xml", "image/png", "application/pdf", "image/jpeg"],
        "application/vnd.google-apps.script" => &["application/vnd.google-apps.script+json"],
        _ => &[],
    }
}

/// The manifest: what a plain directory tree cannot say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub items: Vec<ManifestItem>,
    /// Paths (from My Drive) of tree items to mark trashed, with everything under them.
    #[serde(default)]
    pub trash: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestItem {
    /// Folder path from My Drive ("" for My Drive itself).
    #[serde(default)]
    pub parent: String,
    pub name: String,
    /// file (default), folder, document, spreadsheet, presentation, drawing, form, site, map, shortcut.
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub content: String,
    /// For shortcuts: the path of the target.
    pub target: Option<String>,
    #[serde(default)]
    pub trashed: bool,
    #[serde(default)]
    pub export_too_large: bool,
}

fn default_kind() -> String {
    "file".into()
}

/// What one entry of the change log is about: a file, or a shared drive (Drive v3's
/// `changeType` `file` and `drive`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChangeRef {
    File(String),
    Drive(String),
}

#[derive(Debug, Default)]
pub struct Store {
    pub files: BTreeMap<String, FileEntry>,
    /// Append-only change log: (sequence, what changed).
    pub changes: Vec<(u64, ChangeRef)>,
    next_seq: u64,
    clock: i64,
}

fn hashes(bytes: &[u8]) -> (String, String) {
    (hex::encode(Md5::digest(bytes)), hex::encode(Sha1::digest(bytes)))
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String, String)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut md5 = Md5::new();
    let mut sha1 = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha1.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(md5.finalize()), hex::encode(sha1.finalize())))
}

impl Store {
    /// A Drive with nothing but My Drive's root folder.
    pub fn empty() -> Self {
        let mut store = Store::default();
        let root = store.entry(ROOT_ID.into(), "My Drive".into(), FOLDER.into(), vec![]);
        store.files.insert(ROOT_ID.into(), root);
        store
    }

    /// Serves `root` as My Drive: folders are folders, files are files (read from disk).
    pub fn from_dir(root: &Path, manifest: &Manifest) -> anyhow::Result<Self> {
        let mut store = Self::empty();
        store.add_dir(root, ROOT_ID, "")?;
        store.apply_manifest(manifest)?;
        Ok(store)
    }

    fn add_dir(&mut self, dir: &Path, parent_id: &str, rel: &str) -> anyhow::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel_path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let id = self.new_id(&rel_path);
            if e.file_type()?.is_dir() {
                let entry = self.entry(id.clone(), name, FOLDER.into(), vec![parent_id.into()]);
                self.files.insert(id.clone(), entry);
                self.add_dir(&e.path(), &id, &rel_path)?;
            } else {
                let (size, md5, sha1) = hash_file(&e.path())?;
                let mut entry = self.entry(id.clone(), name, mime_for(&rel_path).into(), vec![parent_id.into()]);
                entry.content = Content::Disk { path: e.path(), size };
                entry.size = size;
                entry.md5 = Some(md5);
                entry.sha1 = Some(sha1);
                self.files.insert(id, entry);
            }
        }
        Ok(())
    }

    fn apply_manifest(&mut self, manifest: &Manifest) -> anyhow::Result<()> {
        for item in &manifest.items {
            let parent = self
                .id_of(&item.parent)
                .ok_or_else(|| anyhow::anyhow!("manifest: parent folder `{}` not found", item.parent))?;
            let mime = match item.kind.as_str() {
                "file" => mime_for(&item.name).to_string(),
                "folder" => FOLDER.to_string(),
                "shortcut" => SHORTCUT.to_string(),
                kind @ ("document" | "spreadsheet" | "presentation" | "drawing" | "form" | "site" | "map"
                | "script") => {
                    format!("application/vnd.google-apps.{kind}")
                }
                other => anyhow::bail!("manifest: unknown kind `{other}` for `{}`", item.name),
            };
            let rel = if item.parent.is_empty() { item.name.clone() } else { format!("{}/{}", item.parent, item.name) };
            let id = self.new_id(&rel);
            let mut entry = self.entry(id.clone(), item.name.clone(), mime.clone(), vec![parent]);
            match item.kind.as_str() {
                "file" => entry.set_bytes(Bytes::from(item.content.clone().into_bytes())),
                "shortcut" => {
                    let target_path = item.target.as_deref().unwrap_or_default();
                    // A dangling shortcut names a target ID that does not exist.
                    let (target, target_mime) = match self.id_of(target_path) {
                        Some(t) => (t.clone(), self.files[&t].mime_type.clone()),
                        None => (format!("missing-{target_path}"), "text/plain".to_string()),
                    };
                    entry.shortcut_target = Some((target, target_mime));
                }
                _ => entry.doc_text = item.content.clone(),
            }
            entry.trashed = item.trashed;
            entry.explicitly_trashed = item.trashed;
            entry.export_too_large = item.export_too_large;
            self.files.insert(id, entry);
        }
        for path in &manifest.trash {
            let id = self.id_of(path).ok_or_else(|| anyhow::anyhow!("manifest: cannot trash `{path}`: not found"))?;
            self.set_trashed(&id, true);
        }
        Ok(())
    }

    fn entry(&mut self, id: String, name: String, mime_type: String, parents: Vec<String>) -> FileEntry {
        let time = self.tick();
        FileEntry {
            id,
            name,
            mime_type,
            parents,
            trashed: false,
            explicitly_trashed: false,
            content: Content::None,
            size: 0,
            md5: None,
            sha1: None,
            version: 1,
            created_time: time.clone(),
            modified_time: time,
            shortcut_target: None,
            doc_text: String::new(),
            owned_by_me: true,
            can_download: true,
            export_too_large: false,
            hidden: false,
            drive_id: None,
        }
    }

    /// Deterministic IDs: the same tree gives the same IDs on every run.
    fn new_id(&self, rel_path: &str) -> String {
        let mut n = 0;
        loop {
            let digest = hex::encode(Sha1::digest(format!("{rel_path}#{n}").as_bytes()));
            let id = format!("1{}", &digest[..32]);
            if !self.files.contains_key(&id) {
                return id;
            }
            n += 1;
        }
    }

    fn tick(&mut self) -> String {
        self.clock += 1;
        let t = chrono::DateTime::from_timestamp(1_767_225_600 + self.clock, 0).unwrap_or_default();
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// The ID of the first item at a path of names from My Drive.
    pub fn id_of(&self, path: &str) -> Option<String> {
        let mut current = ROOT_ID.to_string();
        for name in path.split('/').filter(|c| !c.is_empty()) {
            current = self.files.values().find(|f| f.name == name && f.parents.first() == Some(&current))?.id.clone();
        }
        Some(current)
    }

    fn log_change(&mut self, id: &str) {
        self.next_seq += 1;
        self.changes.push((self.next_seq, ChangeRef::File(id.to_string())));
    }

    /// A shared drive was joined, renamed or left: one `drive` change, no file changes
    /// (Drive's changes feed reports the drive itself).
    fn log_drive_change(&mut self, drive_id: &str) {
        self.next_seq += 1;
        self.changes.push((self.next_seq, ChangeRef::Drive(drive_id.to_string())));
    }

    fn touch(&mut self, id: &str) {
        let time = self.tick();
        if let Some(f) = self.files.get_mut(id) {
            f.version += 1;
            f.modified_time = time;
        }
        self.log_change(id);
    }

    /// Replaces a file's bytes (a user editing it in Drive).
    pub fn set_content(&mut self, id: &str, bytes: Bytes) -> bool {
        let Some(f) = self.files.get_mut(id) else {
            return false;
        };
        f.set_bytes(bytes);
        self.touch(id);
        true
    }

    /// Adds a shared drive the user is a member of; returns its ID (also its root folder's).
    pub fn add_shared_drive(&mut self, name: &str) -> String {
        let id = format!("0A{}", self.new_id(&format!("drive:{name}")));
        let mut root = self.entry(id.clone(), name.into(), FOLDER.into(), Vec::new());
        root.drive_id = Some(id.clone());
        self.files.insert(id.clone(), root);
        self.log_drive_change(&id);
        id
    }

    /// Renames a shared drive (its root folder takes the new name).
    pub fn rename_shared_drive(&mut self, drive_id: &str, name: &str) -> bool {
        let Some(root) = self.files.get_mut(drive_id) else { return false };
        root.name = name.into();
        self.log_drive_change(drive_id);
        true
    }

    /// The user leaves (or is removed from) a shared drive: it and everything in it vanish
    /// for them, and the feed reports the drive as removed.
    pub fn leave_shared_drive(&mut self, drive_id: &str) -> bool {
        if !self.files.contains_key(drive_id) {
            return false;
        }
        for f in self.files.values_mut().filter(|f| f.drive_id.as_deref() == Some(drive_id)) {
            f.hidden = true;
        }
        self.log_drive_change(drive_id);
        true
    }

    /// Adds a folder under a folder (in the parent's drive); returns its ID.
    pub fn add_folder(&mut self, parent_id: &str, name: &str) -> String {
        let id = self.new_id(&format!("{parent_id}/{name}/"));
        let mut entry = self.entry(id.clone(), name.into(), FOLDER.into(), vec![parent_id.into()]);
        entry.drive_id = self.files.get(parent_id).and_then(|p| p.drive_id.clone());
        self.files.insert(id.clone(), entry);
        self.log_change(&id);
        id
    }

    /// The shared drives: (ID, name).
    pub fn shared_drives(&self) -> Vec<(String, String)> {
        self.files
            .values()
            .filter(|f| f.drive_id.as_deref() == Some(f.id.as_str()))
            .map(|f| (f.id.clone(), f.name.clone()))
            .collect()
    }

    /// Adds a Google Workspace file (`mime`) holding `text` under a folder; returns its ID.
    pub fn add_workspace_file(&mut self, parent_id: &str, name: &str, mime: &str, text: String) -> String {
        let id = self.new_id(&format!("{parent_id}/{name}"));
        let mut entry = self.entry(id.clone(), name.into(), mime.into(), vec![parent_id.into()]);
        entry.drive_id = self.files.get(parent_id).and_then(|p| p.drive_id.clone());
        entry.doc_text = text;
        self.files.insert(id.clone(), entry);
        self.log_change(&id);
        id
    }

    /// Adds a file with bytes under a folder; returns its ID.
    pub fn add_file(&mut self, parent_id: &str, name: &str, bytes: Bytes) -> String {
        let id = self.new_id(&format!("{parent_id}/{name}"));
        let mut entry = self.entry(id.clone(), name.into(), mime_for(name).into(), vec![parent_id.into()]);
        entry.drive_id = self.files.get(parent_id).and_then(|p| p.drive_id.clone());
        entry.set_bytes(bytes);
        self.files.insert(id.clone(), entry);
        self.log_change(&id);
        id
    }

    pub fn rename(&mut self, id: &str, name: &str) -> bool {
        let Some(f) = self.files.get_mut(id) else {
            return false;
        };
        f.name = name.into();
        self.touch(id);
        true
    }

    /// Trashes (or restores) an item and, implicitly, everything under it.
    pub fn set_trashed(&mut self, id: &str, trashed: bool) -> bool {
        if !self.files.contains_key(id) {
            return false;
        }
        let mut stack = vec![id.to_string()];
        while let Some(current) = stack.pop() {
            let children: Vec<String> =
                self.files.values().filter(|f| f.parents.contains(&current)).map(|f| f.id.clone()).collect();
            if let Some(f) = self.files.get_mut(&current) {
                f.trashed = trashed;
                f.explicitly_trashed = trashed && current == id;
            }
            stack.extend(children);
        }
        self.touch(id);
        true
    }

    /// Deletes an item for good, with everything under it; each gets a change.
    pub fn delete(&mut self, id: &str) -> bool {
        if !self.files.contains_key(id) {
            return false;
        }
        for gone in self.subtree(id) {
            self.files.remove(&gone);
            self.log_change(&gone);
        }
        true
    }

    /// Moves an item to another folder (one change, for the item only).
    pub fn move_to(&mut self, id: &str, new_parent: &str) -> bool {
        let Some(f) = self.files.get_mut(id) else { return false };
        f.parents = vec![new_parent.to_string()];
        self.touch(id);
        true
    }

    /// The user loses access to an item and everything under it (unshared).
    pub fn lose_access(&mut self, id: &str) -> bool {
        if !self.files.contains_key(id) {
            return false;
        }
        for hidden in self.subtree(id) {
            if let Some(f) = self.files.get_mut(&hidden) {
                f.hidden = true;
            }
            self.log_change(&hidden);
        }
        true
    }

    /// An item and all its descendants, the item first.
    pub fn subtree(&self, id: &str) -> Vec<String> {
        let mut out = vec![id.to_string()];
        let mut i = 0;
        while i < out.len() {
            let current = out[i].clone();
            out.extend(self.files.values().filter(|f| f.parents.contains(&current)).map(|f| f.id.clone()));
            i += 1;
        }
        out
    }

    /// The newest change's sequence number (a start page token).
    pub fn latest_change(&self) -> u64 {
        self.next_seq
    }
}

impl FileEntry {
    fn set_bytes(&mut self, bytes: Bytes) {
        let (md5, sha1) = hashes(&bytes);
        self.size = bytes.len() as u64;
        self.md5 = Some(md5);
        self.sha1 = Some(sha1);
        self.content = Content::Memory(bytes);
    }
}

fn mime_for(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).as_deref() {
        Some("txt") | Some("md") => "text/plain",
        Some("pdf") => "application/pdf",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("html") => "text/html",
        _ => "application/octet-stream",
    }
}
