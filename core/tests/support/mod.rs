//! Fixtures for the engine's in-process tests: a fake Drive serving a tree written for the
//! test (plus an optional manifest), a local-folder destination, and an engine over a fresh
//! data folder with a policy on `Projects`. Drive retries wait milliseconds, not seconds.

#![allow(dead_code)] // each test binary uses a different part

use std::path::PathBuf;
use std::sync::Arc;

use fanout_core::config::Config;
use fanout_core::db::{FileQuery, FileRow};
use fanout_core::secrets::MemorySecrets;
use fanout_core::Engine;
use fanout_testkit::fake_google::{FakeGoogle, RequestRecord, DEFAULT_TOKEN};

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub drive: FakeGoogle,
    pub engine: Engine,
    pub backup: PathBuf,
}

pub async fn setup(files: &[(&str, Vec<u8>)], manifest: Option<&str>, sync_yaml: &str) -> Setup {
    setup_with_google(files, manifest, "", sync_yaml).await
}

/// Like [`setup`], with extra `google:` settings (indented lines, e.g. pacing).
pub async fn setup_with_google(
    files: &[(&str, Vec<u8>)],
    manifest: Option<&str>,
    google_yaml: &str,
    sync_yaml: &str,
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("drive");
    std::fs::create_dir_all(root.join("Projects")).unwrap();
    for (path, bytes) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let manifest_path = manifest.map(|m| {
        let p = dir.path().join("manifest.yaml");
        std::fs::write(&p, m).unwrap();
        p
    });
    let drive = FakeGoogle::serve_dir(&root, manifest_path.as_deref(), 0).await.unwrap();
    let backup = dir.path().join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    let yaml = format!(
        "google:\n  drive_url: {}\n  retry_base_ms: 20\n{google_yaml}destinations:\n  local:\n    type: local\n    enabled: true\n    path: {}\nsync:\n{sync_yaml}",
        drive.drive_url(),
        backup.display()
    );
    let engine = open_engine(&yaml, &dir.path().join("data")).await;
    engine.add_policy("Projects", &["local".into()], true).await.unwrap();
    Setup { dir, drive, engine, backup }
}

pub async fn open_engine(yaml: &str, data: &std::path::Path) -> Engine {
    let secrets = MemorySecrets::default();
    secrets.set("google", "access_token", DEFAULT_TOKEN);
    Engine::open(Config::parse(yaml, "test").unwrap(), data, Arc::new(secrets)).await.unwrap()
}

impl Setup {
    pub fn backed_up(&self, path: &str) -> Option<Vec<u8>> {
        std::fs::read(self.backup.join("google-drive").join(path)).ok()
    }

    pub async fn row(&self, drive_path: &str) -> FileRow {
        let page = self
            .engine
            .files(&FileQuery { search: Some(drive_path.into()), limit: 10, ..Default::default() })
            .await
            .unwrap();
        page.rows.into_iter().find(|r| r.drive_path == drive_path).unwrap_or_else(|| panic!("no row for {drive_path}"))
    }

    pub fn requests_for(&self, path: &str, route: &str) -> Vec<RequestRecord> {
        let id = self.drive.id_of(path).unwrap();
        self.drive
            .requests()
            .into_iter()
            .filter(|r| r.route == route && r.file_id.as_deref() == Some(id.as_str()))
            .collect()
    }

    /// Nothing left in staging: no partial file survives a run.
    pub fn staging_is_empty(&self) -> bool {
        let staging = self.dir.path().join("data/staging");
        walk_count(&staging) == 0
    }
}

fn walk_count(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { walk_count(&e.path()) } else { 1 }).sum()
}
