//! Pausing a running sync: nothing new is sent while paused, and after the resume the same run
//! completes with every object sent once (counted at the server's door) and every synced pair
//! backed by its object at the server's storage.

use std::sync::Arc;
use std::time::Duration;

use fanout_core::config::Config;
use fanout_core::secrets::MemorySecrets;
use fanout_core::sync::{SyncEvent, SyncOptions};
use fanout_core::Engine;
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::lying_s3::LyingS3Proxy;
use fanout_testkit::s3::S3Server;
use md5::{Digest, Md5};

const FILES: usize = 20;
const MIB: usize = 1024 * 1024;

fn uploads_of_files(proxy: &LyingS3Proxy) -> std::collections::BTreeMap<String, u32> {
    proxy.puts().into_iter().filter(|(key, _)| key.starts_with("google-drive/")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_sync_sends_nothing_new_and_resumed_sends_each_object_once() {
    // Uploads slower than downloads: files wait downloaded when the pause comes.
    pause_and_resume("12M:off").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_sync_holds_its_downloads_and_resumed_downloads_each_file_once() {
    // Downloads slower than uploads: downloads are under way when the pause comes.
    pause_and_resume("off:12M").await;
}

/// A sync of 20 × 8 MiB paused after three objects went out, held 3 s, and resumed.
async fn pause_and_resume(bandwidth_limit: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("drive");
    std::fs::create_dir_all(root.join("Projects")).unwrap();
    let files: Vec<Vec<u8>> = (0..FILES).map(|i| vec![i as u8 + 1; 8 * MIB]).collect();
    for (i, bytes) in files.iter().enumerate() {
        std::fs::write(root.join(format!("Projects/part-{i:02}.bin")), bytes).unwrap();
    }
    let drive = FakeGoogle::serve_dir(&root, None, 0).await.unwrap();
    let rclone = fanout_core::rclone::locate_binary(None).expect("rclone: run scripts/fetch-rclone");
    let server = S3Server::start(&rclone, &dir.path().join("s3"), &["backup"]).unwrap();
    let proxy = LyingS3Proxy::start(&server.endpoint()).await.unwrap();
    // Files of 8 MiB are copied one by one, so a pause falls between two uploads.
    let yaml = format!(
        "google:\n  drive_url: {}\n  retry_base_ms: 20\ndestinations:\n  aws_s3:\n    type: s3_compatible\n    enabled: true\n    \
         bucket: backup\n    endpoint: {}\n    region: us-east-1\nsync:\n  large_file_threshold_mib: 8\n  upload_concurrency: 1\n  \
         bandwidth_limit: \"{bandwidth_limit}\"\n",
        drive.drive_url(),
        proxy.endpoint()
    );
    let secrets = MemorySecrets::default();
    secrets.set("google", "access_token", DEFAULT_TOKEN);
    secrets.set("aws_s3", "access_key_id", &server.access_key);
    secrets.set("aws_s3", "secret_access_key", &server.secret_key);
    let engine =
        Engine::open(Config::parse(&yaml, "test").unwrap(), &dir.path().join("data"), Arc::new(secrets)).await.unwrap();
    engine.add_policy("Projects", &["aws_s3".into()], true).await.unwrap();

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = SyncOptions { progress: Some(tx), ..Default::default() };
    let pause = options.pause.clone();
    let downloaded = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let events = tokio::spawn({
        let downloaded = downloaded.clone();
        async move {
            let mut last = None;
            while let Some(event) = rx.recv().await {
                if let SyncEvent::Progress(p) = event {
                    downloaded.store(p.bytes_downloaded, std::sync::atomic::Ordering::Relaxed);
                    last = Some(p);
                }
            }
            last
        }
    });
    let downloaded_now = || downloaded.load(std::sync::atomic::Ordering::Relaxed);
    let steer = async {
        // Paused once a few objects went out.
        while uploads_of_files(&proxy).len() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(pause.pause());
        // The upload under way may finish; after that, nothing more goes out.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let while_paused = uploads_of_files(&proxy);
        let downloaded_while_paused = downloaded_now();
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(uploads_of_files(&proxy), while_paused, "uploads went on while paused");
        assert_eq!(downloaded_now(), downloaded_while_paused, "downloads went on while paused");
        assert!(while_paused.len() < FILES, "paused too late to tell: {} sent", while_paused.len());
        assert!(pause.resume());
        while_paused.len()
    };
    let (summary, sent_before_resume) = tokio::join!(engine.sync(options), steer);
    let summary = summary.unwrap();
    assert!(summary.all_success, "{summary:?}");
    assert_eq!(summary.destinations["aws_s3"].transferred, FILES as u64, "{summary:?}");
    assert!(sent_before_resume >= 3);

    let sent = uploads_of_files(&proxy);
    assert_eq!(sent.len(), FILES, "{sent:?}");
    assert!(sent.values().all(|&n| n == 1), "an object was sent twice: {sent:?}");
    // Every synced pair has its object, byte for byte, in the server's own storage.
    for (i, bytes) in files.iter().enumerate() {
        let stored = std::fs::read(server.object_path("backup", &format!("google-drive/Projects/part-{i:02}.bin")))
            .unwrap_or_default();
        assert_eq!(hex::encode(Md5::digest(&stored)), hex::encode(Md5::digest(bytes)), "part-{i:02}");
    }
    let page = engine.files(&fanout_core::FileQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(page.rows.len(), FILES);
    for row in &page.rows {
        assert_eq!(row.destinations[0].status, fanout_core::SyncStatus::Synced, "{}", row.drive_path);
    }
    let last = events.await.unwrap().unwrap();
    assert_eq!(last.bytes_downloaded, (FILES * 8 * MIB) as u64, "each file was downloaded once");
}
