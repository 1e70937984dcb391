//! The engine in-process: the rclone daemon's death and a cancelled sync.
//!
//! Fixtures (see `support`): a fake Drive and a local-folder destination, so these tests
//! need nothing but the pinned rclone.

mod support;

use fanout_core::sync::{SyncEvent, SyncOptions};
use support::{setup, Setup};
use tokio_util::sync::CancellationToken;

async fn setup_files(n: usize) -> Setup {
    let files: Vec<(String, Vec<u8>)> =
        (0..n).map(|i| (format!("Projects/f{i:04}.txt"), format!("file {i}\n").repeat(50).into_bytes())).collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    setup(&refs, None, "  batch_files: 20\n").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_rclone_daemon_is_noticed_and_restarted() {
    let s = setup_files(1).await;
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
    let listed = storage.list_objects("local", "").await.unwrap();
    assert_eq!(listed["a.txt"].size, 5);
    assert_eq!(std::fs::read(s.backup.join("a.txt")).unwrap(), b"hello");
    storage.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sync_records_only_verified_pairs_and_the_next_run_finishes() {
    let s = setup_files(200).await;
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
    let summary = s.engine.sync(SyncOptions { cancel, progress: Some(tx), ..Default::default() }).await.unwrap();
    let events = canceller.await.unwrap();
    assert_eq!(summary.status, "cancelled");
    assert!(matches!(events.first(), Some(SyncEvent::Started { .. })));
    assert!(matches!(events.last(), Some(SyncEvent::Finished(_))));
    let synced = summary.destinations["local"].synced;
    assert!(synced < 200, "cancelled before the end ({synced} synced)");

    // Whatever the ledger calls synced is really there, with its bytes (Drive's, compared whole).
    let page = s.engine.files(&fanout_core::db::FileQuery { limit: 1000, ..Default::default() }).await.unwrap();
    for row in &page.rows {
        for pair in row.destinations.iter().filter(|p| p.status == fanout_core::db::SyncStatus::Synced) {
            let path = std::path::Path::new(pair.remote_path.as_deref().unwrap());
            let stored = std::fs::read(path).unwrap_or_else(|e| panic!("{} is recorded synced: {e}", path.display()));
            let i: usize = row.name.trim_start_matches('f').trim_end_matches(".txt").parse().unwrap();
            assert_eq!(stored, format!("file {i}\n").repeat(50).into_bytes(), "{}", row.drive_path);
        }
    }

    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded");
    assert_eq!(summary.destinations["local"].synced, 200);
    assert_eq!(std::fs::read_dir(s.backup.join("google-drive/Projects")).unwrap().count(), 200);
}
