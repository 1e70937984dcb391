//! Running unattended from a terminal: `fanout sync --if-due` (the schedule's rules for a
//! systemd timer or cron line, due by the wall clock from the last recorded run) and
//! `fanout sync --only-failed` (a retry of the failed pairs alone).

mod common;

use bytes::Bytes;
use common::{write_files, Sandbox};
use serde_json::Value;

/// Moves every recorded run's start `hours` into the past (time passing, as the database sees it).
async fn age_runs(sandbox: &Sandbox, hours: i64) {
    let url = format!("sqlite://{}", sandbox.data_dir.join("fanout.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let started =
        (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    sqlx::query("UPDATE sync_runs SET started_at = ?").bind(started).execute(&pool).await.unwrap();
    pool.close().await;
}

async fn run_count(sandbox: &Sandbox) -> i64 {
    let url = format!("sqlite://{}", sandbox.data_dir.join("fanout.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM sync_runs").fetch_one(&pool).await.unwrap();
    pool.close().await;
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_if_due_syncs_only_when_the_schedule_says_so() {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "doc", 3);
    let sandbox = Sandbox::start(tree.path(), None, &[("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "local"]).await;

    // Without a schedule, --if-due is a mistake, and says how to fix it.
    let out = sandbox.fanout(&["sync", "--if-due"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sync.schedule"), "{out:?}");

    let yaml = std::fs::read_to_string(&sandbox.config_path).unwrap() + "sync:\n  schedule: every 6h\n";
    std::fs::write(&sandbox.config_path, yaml).unwrap();

    // Never synced: due at once.
    let out = sandbox.fanout(&["sync", "--if-due", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["all_success"], true, "{summary:#}");
    assert_eq!(sandbox.objects("local").keys().filter(|k| k.starts_with("google-drive/Projects/")).count(), 3);
    assert_eq!(run_count(&sandbox).await, 1);

    // Just synced: not due; nothing runs, nothing is printed, exit 0.
    let projects = sandbox.drive.id_of("Projects").unwrap();
    sandbox.drive.add_file(&projects, "later.txt", Bytes::from_static(b"added after the first run\n"));
    let out = sandbox.fanout(&["sync", "--if-due"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "quiet when not due: {}", String::from_utf8_lossy(&out.stdout));
    let out = sandbox.fanout(&["sync", "--if-due", "--json"]).await;
    let skipped: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(skipped["due"], false, "{skipped:#}");
    let next = chrono::DateTime::parse_from_rfc3339(skipped["next_due"].as_str().unwrap()).unwrap();
    let in_hours = (next.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((5.9..=6.0).contains(&in_hours), "due 6 h after the last run started: {in_hours}");
    assert_eq!(run_count(&sandbox).await, 1, "no run was made");
    assert!(!sandbox.objects("local").contains_key("google-drive/Projects/later.txt"));

    // Seven hours later (by the recorded runs): due, and it syncs.
    age_runs(&sandbox, 7).await;
    let out = sandbox.fanout(&["sync", "--if-due", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(run_count(&sandbox).await, 2);
    assert_eq!(
        sandbox.objects("local").get("google-drive/Projects/later.txt").map(Vec::as_slice),
        Some(&b"added after the first run\n"[..])
    );

    // Two timers firing at once when due: one sync (the sync lock, then the recorded run).
    age_runs(&sandbox, 7).await;
    let (a, b) = tokio::join!(sandbox.fanout(&["sync", "--if-due"]), sandbox.fanout(&["sync", "--if-due"]));
    assert_eq!((a.status.code(), b.status.code()), (Some(0), Some(0)), "{a:?}\n{b:?}");
    assert_eq!(run_count(&sandbox).await, 3, "exactly one more run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_only_failed_copies_the_failed_pairs_and_nothing_else() {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "doc", 3);
    let mut sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    // A price of one per byte-month, so that a few small files cost a figure to compare.
    let yaml = std::fs::read_to_string(&sandbox.config_path).unwrap()
        + "sync:\n  stale_after: 1h\nprices:\n  aws_s3:\n    STANDARD: { per_gb_month: 1073741824, currency: EUR }\n";
    std::fs::write(&sandbox.config_path, yaml).unwrap();
    sandbox.s3("aws_s3").stop();
    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(3), "{summary:#}");
    // Two hours without a good run, over a threshold of one: `status` says backups are overdue.
    age_runs(&sandbox, 2).await;
    let out = sandbox.fanout(&["status", "--json"]).await;
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["overdue"]["since"].is_string() && status["overdue"]["last_success"].is_null(), "{status:#}");
    assert!(status["overdue"]["problem"].as_str().is_some_and(|p| !p.is_empty()), "{status:#}");
    sandbox.s3("aws_s3").resume().unwrap();
    let projects = sandbox.drive.id_of("Projects").unwrap();
    sandbox.drive.add_file(&projects, "new.txt", Bytes::from_static(b"new since the failed run\n"));

    // The plan of a retry is what the retry runs: the three failed pairs.
    let out = sandbox.fanout(&["plan", "--only-failed", "--json"]).await;
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pairs: Vec<(String, Vec<Value>)> = plan["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["drive_path"].as_str().unwrap().to_string(), f["destinations"].as_array().unwrap().clone()))
        .collect();
    assert_eq!(pairs.len(), 3, "{plan:#}");
    assert!(
        pairs.iter().all(|(path, dests)| !path.ends_with("new.txt") && dests == &[Value::from("aws_s3")]),
        "{plan:#}"
    );

    let out = sandbox.fanout(&["sync", "--only-failed", "aws_s3", "--json"]).await;
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The new file is still to copy (by the next sync), so the destination is not complete.
    assert_eq!(out.status.code(), Some(3), "{summary:#}");
    let at = &summary["destinations"]["aws_s3"];
    assert_eq!(
        (at["transferred"].as_u64(), at["failed"].as_u64(), at["pending"].as_u64()),
        (Some(3), Some(0), Some(1)),
        "{summary:#}"
    );
    let at_s3: Vec<String> =
        sandbox.objects("aws_s3").into_keys().filter(|k| k.starts_with("google-drive/Projects/")).collect();
    assert_eq!(at_s3.len(), 3, "{at_s3:?}");
    for key in ["aws_s3", "local"] {
        assert!(
            !sandbox.objects(key).contains_key("google-drive/Projects/new.txt"),
            "{key}: only failed pairs are retried"
        );
    }
    let out = sandbox.fanout(&["sync", "--only-failed", "nowhere"]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"), "the error names it: {out:?}");

    // What it costs: the bytes S3 holds at its price for the storage class; a disk has none.
    let out = sandbox.fanout(&["status", "--json"]).await;
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s3 = status["destinations"].as_array().unwrap().iter().find(|d| d["destination"] == "aws_s3").unwrap();
    let held = s3["synced_bytes"].as_f64().unwrap() + s3["kept_bytes"].as_f64().unwrap();
    assert!(held > 0.0, "{status:#}");
    assert_eq!(s3["monthly_cost"]["amount"].as_f64(), Some(held), "{status:#}");
    assert_eq!(
        (s3["monthly_cost"]["storage_class"].as_str(), s3["monthly_cost"]["currency"].as_str()),
        (Some("STANDARD"), Some("EUR"))
    );
    let folder = &status["folders"][0];
    assert_eq!((folder["folder_path"].as_str(), folder["files"].as_u64()), (Some("Projects"), Some(4)), "{status:#}");
    let folder_bytes = folder["bytes"].as_f64().unwrap();
    assert!(folder_bytes > 0.0, "{status:#}");
    assert_eq!(folder["monthly_costs"]["aws_s3"]["amount"].as_f64(), Some(folder_bytes), "{status:#}");
    assert!(folder["monthly_costs"].get("local").is_none(), "{status:#}");
}

/// The process state letter in /proc (`T` when stopped).
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

fn wait_until(what: &str, timeout: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what} within {timeout:?}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_z_pauses_a_terminal_sync_and_fg_continues_the_same_run() {
    use std::time::Duration;
    const FILES: usize = 12;
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("Projects")).unwrap();
    let files: Vec<Vec<u8>> = (0..FILES).map(|i| vec![i as u8 + 1; 8 << 20]).collect();
    for (i, bytes) in files.iter().enumerate() {
        std::fs::write(tree.path().join(format!("Projects/part-{i:02}.bin")), bytes).unwrap();
    }
    let mut sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3"]).await;
    // Uploads counted at the server's door; 8 MiB files go one by one at 12 MiB/s.
    let endpoint = sandbox.s3("aws_s3").endpoint();
    let proxy = fanout_testkit::lying_s3::LyingS3Proxy::start(&endpoint).await.unwrap();
    let yaml = std::fs::read_to_string(&sandbox.config_path).unwrap().replace(&endpoint, &proxy.endpoint())
        + "sync:\n  large_file_threshold_mib: 8\n  upload_concurrency: 1\n  bandwidth_limit: \"12M:off\"\n";
    std::fs::write(&sandbox.config_path, yaml).unwrap();
    let sent = || -> std::collections::BTreeMap<String, u32> {
        proxy.puts().into_iter().filter(|(key, _)| key.starts_with("google-drive/")).collect()
    };

    let mut cmd = sandbox.command(&["sync", "--json"]);
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let steer = || {
        wait_until("three objects sent", Duration::from_secs(120), || sent().len() >= 3);
        // What a shell's Ctrl-Z sends.
        unsafe { libc::kill(pid as i32, libc::SIGTSTP) };
        wait_until("the process stopped", Duration::from_secs(10), || process_state(pid) == Some('T'));
        // An upload rclone already had may finish; after that nothing goes out.
        std::thread::sleep(Duration::from_secs(1));
        let held = sent();
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(sent(), held, "objects went out while stopped");
        assert!(held.len() < FILES, "stopped too late to tell: {} sent", held.len());
        assert_eq!(process_state(pid), Some('T'), "it stays stopped until continued");
        // What `fg` sends.
        unsafe { libc::kill(pid as i32, libc::SIGCONT) };
    };
    // The proxy serves on the runtime's other worker meanwhile.
    let out = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let steering = scope.spawn(|| {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(steer));
                if outcome.is_err() {
                    // A stopped process would never end: the failed test ends it.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                }
                outcome
            });
            let out = child.wait_with_output().unwrap();
            if let Err(panic) = steering.join().unwrap() {
                std::panic::resume_unwind(panic);
            }
            out
        })
    });

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Sync paused") && stderr.contains("Sync continued"), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["destinations"]["aws_s3"]["transferred"], FILES as u64, "{summary:#}");
    let sent = sent();
    assert_eq!(sent.len(), FILES, "{sent:?}");
    assert!(sent.values().all(|&n| n == 1), "an object was sent twice: {sent:?}");
    let stored = sandbox.objects("aws_s3");
    for (i, bytes) in files.iter().enumerate() {
        let key = format!("google-drive/Projects/part-{i:02}.bin");
        assert!(stored.get(&key) == Some(bytes), "{key} differs at the server's storage");
    }
}
