//! The engine in-process: the rclone daemon's death and a cancelled sync.
//!
//! Fixtures: a fake Drive serving a generated tree, and a local-folder destination, so these
//! tests need nothing but the pinned rclone.

use std::sync::Arc;

use fanout_core::config::Config;
use fanout_core::secrets::MemorySecrets;
use fanout_core::sync::{SyncEvent, SyncOptions};
use fanout_core::Engine;
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use tokio_util::sync::CancellationToken;

struct Setup {
    _dir: tempfile::TempDir,
    _drive: FakeGoogle,
    engine: Engine,
    backup: std::path::PathBuf,
}

async fn setup(files: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("drive/Projects");
    std::fs::create_dir_all(&tree).unwrap();
    for i in 0..files {
        std::fs::write(tree.join(format!("f{i:04}.txt")), format!("file {i}\n").repeat(50)).unwrap();
    }
    let drive = FakeGoogle::serve_dir(&dir.path().join("drive"), None, 0).await.unwrap();
    let backup = dir.path().join("backup");
    let yaml = format!(
        "google:\n  drive_url: {}\ndestinations:\n  local:\n    type: local\n    enabled: true\n    path: {}\nsync:\n  batch_files: 20\n",
        drive.drive_url(),
        backup.display()
    );
    let secrets = MemorySecrets::default();
    secrets.set("google", "access_token", DEFAULT_TOKEN);
    let engine =
        Engine::open(Config::parse(&yaml, "test").unwrap(), &dir.path().join("data"), Arc::new(secrets)).await.unwrap();
    engine.add_policy("Projects", &["local".into()], true).await.unwrap();
    Setup { _dir: dir, _drive: drive, engine, backup }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_rclone_daemon_is_noticed_and_restarted() {
    let s = setup(1).await;
    let storage = s.engine.storage().await.unwrap();
    let staging = tempfile::tempdir().unwrap();
    std::fs::write(staging.path().join("a.txt"), "hello").unwrap();
    let first = storage.daemon().pid().await.unwrap();
    assert!(std::process::Command::new("kill").args(["-9", &first.to_string()]).status().unwrap().success());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let cancel = CancellationToken::new();
    let result = storage.upload_to("local", staging.path(), &["a.txt".into()], "g", &cancel).await;
    assert!(result.is_err(), "an upload through a dead daemon cannot succeed");
    assert!(storage.daemon().ensure_running().await.unwrap(), "the daemon is restarted");
    let second = storage.daemon().pid().await.unwrap();
    assert_ne!(first, second);

    storage.upload_to("local", staging.path(), &["a.txt".into()], "g", &cancel).await.unwrap();
    let object = storage.check_file_exists("local", "a.txt").await.unwrap().unwrap();
    assert_eq!(object.size, 5);
    storage.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sync_records_only_verified_pairs_and_the_next_run_finishes() {
    let s = setup(200).await;
    let cancel = CancellationToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let canceller = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let mut events = Vec::new();
            while let Some(event) = rx.recv().await {
                if matches!(&event, SyncEvent::Progress(p) if p.files_downloaded > 0) {
                    cancel.cancel();
                }
                events.push(event);
            }
            events
        })
    };
    let summary = s.engine.sync(SyncOptions { cancel, progress: Some(tx) }).await.unwrap();
    let events = canceller.await.unwrap();
    assert_eq!(summary.status, "cancelled");
    assert!(matches!(events.first(), Some(SyncEvent::Started { .. })));
    assert!(matches!(events.last(), Some(SyncEvent::Finished(_))));
    let synced = summary.destinations["local"].synced;
    assert!(synced < 200, "cancelled before the end ({synced} synced)");

    // Whatever the ledger calls synced is really there, with its bytes.
    let page = s.engine.files(&fanout_core::db::FileQuery { limit: 1000, ..Default::default() }).await.unwrap();
    for row in &page.rows {
        for pair in row.destinations.iter().filter(|p| p.status == fanout_core::db::SyncStatus::Synced) {
            let path = std::path::Path::new(pair.remote_path.as_deref().unwrap());
            assert_eq!(std::fs::metadata(path).unwrap().len() as i64, pair.size.unwrap());
        }
    }

    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded");
    assert_eq!(summary.destinations["local"].synced, 200);
    assert_eq!(std::fs::read_dir(s.backup.join("google-drive/Projects")).unwrap().count(), 200);
}
