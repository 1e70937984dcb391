//! Every sync checks the destinations it covers, Drive changed or not: a destination that lost
//! copies gets them back in the same run, one that cannot be used says why and is never
//! reported up to date, and over the runs every copy is looked for (weekly at the latest).

use std::collections::BTreeMap;
use std::sync::Arc;

use fanout_core::config::Config;
use fanout_core::secrets::{MemorySecrets, SecretStore};
use fanout_core::sync::check::SAMPLE;
use fanout_core::{Engine, RunStatus, SyncOptions};
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::s3::S3Server;

struct World {
    dir: tempfile::TempDir,
    _drive: FakeGoogle,
    s3: S3Server,
    secrets: Arc<MemorySecrets>,
    engine: Engine,
    /// Drive path under Projects/ → bytes.
    files: BTreeMap<String, Vec<u8>>,
}

/// `folders` × `per_folder` small files under Projects/, backed up to an S3 server and a folder.
async fn world(folders: usize, per_folder: usize) -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("drive");
    let mut files = BTreeMap::new();
    for f in 0..folders {
        std::fs::create_dir_all(root.join(format!("Projects/f{f:02}"))).unwrap();
        for i in 0..per_folder {
            let path = format!("f{f:02}/doc-{i:03}.txt");
            let bytes = format!("folder {f} file {i}\n").into_bytes();
            std::fs::write(root.join("Projects").join(&path), &bytes).unwrap();
            files.insert(path, bytes);
        }
    }
    let drive = FakeGoogle::serve_dir(&root, None, 0).await.unwrap();
    let rclone = fanout_core::rclone::locate_binary(None).expect("rclone: run scripts/fetch-rclone");
    let s3 = S3Server::start(&rclone, &dir.path().join("s3"), &["backup"]).unwrap();
    std::fs::create_dir_all(dir.path().join("local")).unwrap();
    let yaml = format!(
        "google:\n  drive_url: {}\n  retry_base_ms: 20\ndestinations:\n  aws_s3:\n    type: s3_compatible\n    enabled: true\n    \
         bucket: backup\n    endpoint: {}\n    region: us-east-1\n  local:\n    type: local\n    enabled: true\n    path: {}\n",
        drive.drive_url(),
        s3.endpoint(),
        dir.path().join("local").display()
    );
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set("google", "access_token", DEFAULT_TOKEN);
    secrets.set("aws_s3", "access_key_id", &s3.access_key);
    secrets.set("aws_s3", "secret_access_key", &s3.secret_key);
    let store: Arc<dyn SecretStore> = secrets.clone();
    let engine = Engine::open(Config::parse(&yaml, "test").unwrap(), &dir.path().join("data"), store).await.unwrap();
    engine.add_policy("Projects", &["aws_s3".into(), "local".into()], true).await.unwrap();
    World { dir, _drive: drive, s3, secrets, engine, files }
}

impl World {
    fn at_s3(&self, path: &str) -> std::path::PathBuf {
        self.s3.object_path("backup", &format!("google-drive/Projects/{path}"))
    }

    fn at_local(&self, path: &str) -> std::path::PathBuf {
        self.dir.path().join("local/google-drive/Projects").join(path)
    }

    async fn sync(&self) -> fanout_core::SyncSummary {
        self.engine.sync(SyncOptions::default()).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_deleted_at_a_destination_come_back_in_the_next_sync_though_drive_did_not_change() {
    let w = world(2, 10).await;
    assert!(w.sync().await.all_success);
    let deleted: Vec<&String> = w.files.keys().step_by(3).take(5).collect();
    // Through the S3 API, as someone holding the keys would (the server's caches stay true).
    for path in &deleted {
        w.s3.delete_object("backup", &format!("google-drive/Projects/{path}")).unwrap();
        assert!(!w.at_s3(path).exists());
    }
    std::fs::remove_file(w.at_local(&deleted[0].clone())).unwrap();

    let summary = w.sync().await;

    assert!(summary.all_success, "{summary:#?}");
    let s3 = &summary.checks["aws_s3"];
    assert_eq!((s3.checked, s3.missing, s3.copies), (20, 5, 20), "{s3:#?}");
    assert!(s3.problem.is_none(), "{s3:#?}");
    assert_eq!(summary.destinations["aws_s3"].transferred, 5, "only what was missing is sent");
    assert_eq!((summary.checks["local"].missing, summary.destinations["local"].transferred), (1, 1));
    for (path, bytes) in &w.files {
        assert!(std::fs::read(w.at_s3(path)).ok().as_ref() == Some(bytes), "{path} at the S3 server's storage");
        assert!(std::fs::read(w.at_local(path)).ok().as_ref() == Some(bytes), "{path} in the local folder");
    }
    let stats = w.engine.stats().await.unwrap();
    let s3_stats = stats.iter().find(|s| s.destination == "aws_s3").unwrap();
    assert_eq!(s3_stats.last_check.as_ref(), Some(s3), "the card reads the same check");
    assert_eq!(s3_stats.synced, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_cannot_be_used_says_why_and_the_run_does_not_succeed() {
    let w = world(1, 4).await;
    assert!(w.sync().await.all_success);
    // The backup folder replaced by a file, and the S3 server's keys cleared.
    let local = w.dir.path().join("local");
    std::fs::remove_dir_all(&local).unwrap();
    std::fs::write(&local, "not a folder").unwrap();
    w.secrets.delete("aws_s3", "secret_access_key").unwrap();

    let summary = w.sync().await;

    assert_eq!(summary.status, RunStatus::Failed, "{summary:#?}");
    assert!(!summary.all_success && !summary.any_success);
    let local_problem = summary.checks["local"].problem.clone().unwrap_or_default();
    assert!(local_problem.contains("is a file, not a folder"), "{local_problem}");
    let s3_problem = summary.checks["aws_s3"].problem.clone().unwrap_or_default();
    assert!(s3_problem.contains("aws_s3") && s3_problem.contains("key"), "{s3_problem}");
    assert!(summary.errors.contains(&local_problem) && summary.errors.contains(&s3_problem), "{:?}", summary.errors);
    for key in ["aws_s3", "local"] {
        assert!(!summary.destinations[key].success, "{key}: {summary:#?}");
        assert_eq!(summary.checks[key].checked, 0, "{key}: nothing could be looked for");
    }
    let stats = w.engine.stats().await.unwrap();
    assert!(stats.iter().all(|s| s.last_check.as_ref().is_some_and(|c| c.problem.is_some())), "{stats:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_looks_at_a_share_of_the_copies_in_turn_and_a_week_unseen_brings_a_full_check() {
    // Ten folders of 70: a run looks at whole folders until at least SAMPLE copies were seen.
    let w = world(10, 70).await;
    let copies = w.files.len() as u64;
    assert!(w.sync().await.all_success);
    let seen_by_sync = w.engine.stats().await.unwrap()[0].last_check.clone().unwrap();
    assert_eq!(seen_by_sync.checked, 0, "nothing was copied yet when the first run looked");
    // Seen at the sync, folder after folder a minute apart (f00 longest ago).
    let url = format!("sqlite://{}", w.dir.path().join("data/fanout.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for f in 0..10 {
        let seen = chrono::Utc::now() - chrono::Duration::minutes(20 - f);
        sqlx::query("UPDATE file_destinations SET last_verified = ? WHERE remote_path LIKE ?")
            .bind(seen.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .bind(format!("%/f{f:02}/%"))
            .execute(&pool)
            .await
            .unwrap();
    }

    let mut looked = 0;
    let mut runs = 0;
    let first_check = fanout_core::db::now();
    loop {
        let summary = w.sync().await;
        runs += 1;
        let check = &summary.checks["aws_s3"];
        // Five folders hold the 300 least recently seen: all 350 of their copies are looked at.
        assert_eq!(check.checked, 350, "whole folders, the least recently seen: {check:#?}");
        assert!(check.checked as usize >= SAMPLE);
        assert_eq!(check.missing, 0);
        looked += check.checked;
        if check.all_seen_since.as_deref().is_some_and(|since| since >= first_check.as_str()) {
            break;
        }
        assert!(runs < 4, "{runs} runs and not every copy was looked at: {check:#?}");
    }
    assert!(looked >= copies, "{looked} looks over {runs} runs");

    // A week without being seen: the next run looks at every copy.
    sqlx::query("UPDATE file_destinations SET last_verified = '2026-01-01T00:00:00Z'").execute(&pool).await.unwrap();
    pool.close().await;
    let summary = w.sync().await;
    for key in ["aws_s3", "local"] {
        assert_eq!(summary.checks[key].checked, copies, "{key}: the weekly full check");
    }
}
