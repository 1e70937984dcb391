//! A destination whose server stops answering mid-run (SIGSTOP: connections are taken, nothing
//! comes back) is given up after the stall time: its pairs stay pending with the reason, the
//! window hears it is not responding, and the other destination completes. A cancel ends such a
//! run within seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fanout_core::config::Config;
use fanout_core::secrets::MemorySecrets;
use fanout_core::{Engine, FileQuery, RunStatus, SyncEvent, SyncOptions, SyncStatus};
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::s3::S3Server;

const FILES: usize = 6;
const MIB: usize = 1024 * 1024;

struct World {
    dir: tempfile::TempDir,
    _drive: FakeGoogle,
    s3: S3Server,
    engine: Engine,
    files: Vec<Vec<u8>>,
}

/// Six 2 MiB files, uploaded one by one at 4 MiB/s, to a folder and an S3 server.
async fn world(sync_yaml: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("drive/Projects");
    std::fs::create_dir_all(&root).unwrap();
    let files: Vec<Vec<u8>> = (0..FILES).map(|i| vec![b'a' + i as u8; 2 * MIB]).collect();
    for (i, bytes) in files.iter().enumerate() {
        std::fs::write(root.join(format!("part-{i}.bin")), bytes).unwrap();
    }
    let drive = FakeGoogle::serve_dir(&dir.path().join("drive"), None, 0).await.unwrap();
    let rclone = fanout_core::rclone::locate_binary(None).expect("rclone: run scripts/fetch-rclone");
    let s3 = S3Server::start(&rclone, &dir.path().join("s3"), &["backup"]).unwrap();
    std::fs::create_dir_all(dir.path().join("local")).unwrap();
    let yaml = format!(
        "google:\n  drive_url: {}\n  retry_base_ms: 20\ndestinations:\n  aws_s3:\n    type: s3_compatible\n    enabled: true\n    \
         bucket: backup\n    endpoint: {}\n    region: us-east-1\n  local:\n    type: local\n    enabled: true\n    path: {}\n\
         sync:\n  large_file_threshold_mib: 1\n  upload_concurrency: 1\n  bandwidth_limit: \"4M:off\"\n{sync_yaml}",
        drive.drive_url(),
        s3.endpoint(),
        dir.path().join("local").display()
    );
    let secrets = MemorySecrets::default();
    secrets.set("google", "access_token", DEFAULT_TOKEN);
    secrets.set("aws_s3", "access_key_id", &s3.access_key);
    secrets.set("aws_s3", "secret_access_key", &s3.secret_key);
    let engine =
        Engine::open(Config::parse(&yaml, "test").unwrap(), &dir.path().join("data"), Arc::new(secrets)).await.unwrap();
    engine.add_policy("Projects", &["aws_s3".into(), "local".into()], true).await.unwrap();
    World { dir, _drive: drive, s3, engine, files }
}

impl World {
    fn objects_at_s3(&self) -> usize {
        std::fs::read_dir(self.s3.object_path("backup", "google-drive/Projects")).map_or(0, |r| r.count())
    }

    /// Every S3 pair not synced is pending (not failed), with `reason` in its error.
    async fn assert_unsynced_pairs_pending_because(&self, reason: &str) {
        let query = FileQuery { destination: Some("aws_s3".into()), limit: 50, ..Default::default() };
        for row in self.engine.files(&query).await.unwrap().rows {
            let pair = row.destinations.iter().find(|d| d.destination == "aws_s3").unwrap();
            if pair.status != SyncStatus::Synced {
                assert_eq!(pair.status, SyncStatus::Pending, "{}", row.drive_path);
                assert!(pair.error_message.as_deref().unwrap_or("").contains(reason), "{pair:?}");
            }
        }
    }

    async fn after_first_object(&self) {
        while self.objects_at_s3() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn freeze_after_first_object(&self) {
        self.after_first_object().await;
        self.s3.freeze();
    }

    /// The server killed once the first object reached it: it refuses connections from then on.
    async fn kill_after_first_object(&self) {
        self.after_first_object().await;
        let pid = self.s3.pid().unwrap();
        // SAFETY: kill() only sends a signal, to the server this test started.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_stops_answering_is_given_up_and_the_other_completes() {
    let w = world("  stall_timeout: 6s\n").await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = SyncOptions { progress: Some(tx), ..Default::default() };
    let said_not_responding = tokio::spawn(async move {
        let mut said = false;
        while let Some(event) = rx.recv().await {
            if let SyncEvent::Progress(p) = event {
                said |= p.destinations.get("aws_s3").is_some_and(|d| d.not_responding);
            }
        }
        said
    });
    let steer = async {
        w.freeze_after_first_object().await;
        // Halfway to the stall time, the folder's part of the stuck batch is already recorded.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let synced_at = |dest: &str| FileQuery {
            destination: Some(dest.into()),
            status: Some(SyncStatus::Synced),
            limit: 50,
            ..Default::default()
        };
        let local = w.engine.files(&synced_at("local")).await.unwrap().total;
        let s3 = w.engine.files(&synced_at("aws_s3")).await.unwrap().total;
        (local, s3)
    };
    let (summary, synced_while_stuck) =
        tokio::join!(tokio::time::timeout(Duration::from_secs(180), w.engine.sync(options)), steer);
    w.s3.thaw();
    let summary = summary.expect("the run never ended").unwrap();
    let (local_then, s3_then) = synced_while_stuck;
    assert!(local_then > s3_then, "the folder's copies waited for the stuck server: {local_then} vs {s3_then}");

    assert_eq!(summary.status, RunStatus::Partial, "{summary:#?}");
    assert!(said_not_responding.await.unwrap(), "the window was never told aws_s3 is not responding");
    let local = &summary.destinations["local"];
    assert!(local.success && local.transferred == FILES as u64, "{summary:#?}");
    for (i, bytes) in w.files.iter().enumerate() {
        let copy = std::fs::read(w.dir.path().join(format!("local/google-drive/Projects/part-{i}.bin"))).unwrap();
        assert!(copy == *bytes, "part-{i} differs in the local folder");
    }
    let s3 = &summary.destinations["aws_s3"];
    assert!(s3.pending > 0 && s3.failed == 0, "{summary:#?}");
    assert!(summary.errors.iter().any(|e| e.contains("aws_s3 is not responding")), "{:?}", summary.errors);
    w.assert_unsynced_pairs_pending_because("not responding").await;

    // Answering again: the next run copies what was left.
    let next = w.engine.sync(SyncOptions::default()).await.unwrap();
    assert!(next.all_success, "{next:#?}");
    assert_eq!(w.objects_at_s3(), FILES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_ends_a_run_within_seconds_while_a_destination_hangs() {
    let w = world("").await; // the default stall time (60 s) is far longer than the wait
    let options = SyncOptions::default();
    let cancel = options.cancel.clone();
    let steer = async {
        w.freeze_after_first_object().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        cancel.cancel();
        Instant::now()
    };
    let (summary, cancelled_at) =
        tokio::join!(tokio::time::timeout(Duration::from_secs(120), w.engine.sync(options)), steer);
    let took = cancelled_at.elapsed();
    w.s3.thaw();
    let summary = summary.expect("the run never ended").unwrap();
    assert_eq!(summary.status, RunStatus::Cancelled, "{summary:#?}");
    assert!(took < Duration::from_secs(5), "the run ended {took:?} after the cancel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_killed_mid_run_is_given_up_with_its_pairs_pending_and_the_other_completes() {
    let mut w = world("").await; // the default stall time: a refused connection is told sooner
    let (summary, ()) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(180), w.engine.sync(SyncOptions::default())),
        w.kill_after_first_object()
    );
    let summary = summary.expect("the run never ended").unwrap();

    assert_eq!(summary.status, RunStatus::Partial, "{summary:#?}");
    let local = &summary.destinations["local"];
    assert!(local.success && local.transferred == FILES as u64, "{summary:#?}");
    let s3 = &summary.destinations["aws_s3"];
    assert!(s3.pending > 0 && s3.failed == 0, "given up, not failed: {summary:#?}");
    w.assert_unsynced_pairs_pending_because("cannot reach").await;

    w.s3.resume().unwrap();
    let next = w.engine.sync(SyncOptions::default()).await.unwrap();
    assert!(next.all_success, "{next:#?}");
    // Byte for byte (a server killed mid-write may keep a partial file of its own beside them).
    for (i, bytes) in w.files.iter().enumerate() {
        let stored = std::fs::read(w.s3.object_path("backup", &format!("google-drive/Projects/part-{i}.bin")));
        assert!(stored.ok().as_ref() == Some(bytes), "part-{i} at the S3 server's storage");
    }
}
