//! Crashes: `fanout` killed with SIGKILL in the middle of copying large files, and its rclone
//! daemon killed the same way. The next run completes, every destination then equals Drive
//! (read from the servers' own storage), and nothing missing was ever recorded synced.

mod common;

use std::time::{Duration, Instant};

use common::{children_of, drive_truth, Sandbox};

const LARGE_FILES: usize = 6;
const LARGE_SIZE: usize = 8 * 1024 * 1024;

/// Projects/ holds six 8 MiB files (copied one by one) and a few small ones; uploads are
/// throttled so a run lasts long enough to be interrupted.
async fn slow_sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    let dir = tree.path().join("Projects");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..LARGE_FILES {
        let bytes: Vec<u8> = (0..LARGE_SIZE).map(|j| ((j * 31 + i * 7) % 251) as u8).collect();
        std::fs::write(dir.join(format!("video-{i}.bin")), bytes).unwrap();
    }
    for i in 0..10 {
        std::fs::write(dir.join(format!("note-{i}.txt")), format!("note {i}")).unwrap();
    }
    let sandbox =
        Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("scaleway", "scaleway"), ("local", "local")]).await;
    let mut yaml = std::fs::read_to_string(&sandbox.config_path).unwrap();
    yaml += "sync:\n  large_file_threshold_mib: 4\n  bandwidth_limit: 12M\n";
    std::fs::write(&sandbox.config_path, yaml).unwrap();
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,scaleway,local"]).await;
    (tree, sandbox)
}

/// Children of `pid` whose command line contains `needle`.
/// Gone, or a zombie nobody reaped: either way it runs no more.
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) == Some("Z"),
    }
}

fn large_objects_at(sandbox: &Sandbox, key: &str) -> usize {
    sandbox.objects(key).keys().filter(|k| k.contains("video-")).count()
}

/// Starts `fanout sync` and waits until at least one large file has reached a destination.
fn start_sync_and_wait_for_first_copy(sandbox: &Sandbox) -> std::process::Child {
    let mut cmd = sandbox.command(&["sync"]);
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while ["aws_s3", "scaleway", "local"].iter().all(|k| large_objects_at(sandbox, k) == 0) {
        assert!(child.try_wait().unwrap().is_none(), "the sync ended before anything was copied");
        assert!(Instant::now() < deadline, "nothing was copied within two minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Every destination holds exactly Drive's files, byte for byte, under google-drive/.
fn assert_destinations_equal_drive(sandbox: &Sandbox) {
    let truth = drive_truth(&sandbox.drive);
    assert_eq!(truth.len(), LARGE_FILES + 10);
    for key in ["aws_s3", "scaleway", "local"] {
        let objects = sandbox.objects(key);
        assert_eq!(objects.len(), truth.len(), "{key}: {:?}", objects.keys().collect::<Vec<_>>());
        for (path, bytes) in &truth {
            let stored = objects.get(&format!("google-drive/{path}"));
            assert!(stored == Some(bytes), "{key}: {path} missing or different");
        }
    }
}

async fn finish_and_check(sandbox: &Sandbox) {
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    assert_eq!(summary["all_success"], true);
    assert_destinations_equal_drive(sandbox);
    // The ledger agrees with the servers: a full read-back finds nothing missing or corrupt.
    let verify: serde_json::Value =
        serde_json::from_str(&sandbox.fanout_ok(&["verify", "--download", "100", "--json"]).await).unwrap();
    assert_eq!(verify["all_intact"], true, "{verify:#}");
    for key in ["aws_s3", "scaleway", "local"] {
        assert_eq!(verify["destinations"][key]["checked"], (LARGE_FILES + 10) as u64, "{verify:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_killed_mid_copy_leaves_no_daemon_and_the_next_run_makes_every_destination_equal_drive() {
    let (_tree, sandbox) = slow_sandbox().await;

    let (fanout_pid, daemons) = {
        let sandbox = &sandbox;
        tokio::task::block_in_place(|| {
            let mut child = start_sync_and_wait_for_first_copy(sandbox);
            let pid = child.id();
            let daemons = children_of(pid, "rcd");
            child.kill().unwrap(); // SIGKILL: no destructor, no cleanup runs
            child.wait().unwrap();
            (pid, daemons)
        })
    };

    assert_eq!(daemons.len(), 1, "one rclone daemon under fanout {fanout_pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_gone(daemons[0]) {
        assert!(Instant::now() < deadline, "rclone outlived the killed fanout");
        std::thread::sleep(Duration::from_millis(50));
    }
    let total: usize = ["aws_s3", "scaleway", "local"].iter().map(|k| large_objects_at(&sandbox, k)).sum();
    assert!(total < LARGE_FILES * 3, "the kill landed mid-run");

    finish_and_check(&sandbox).await;
    let status = sandbox.fanout_ok(&["status", "--json"]).await;
    assert!(status.contains("\"interrupted\""), "the killed run is shown as interrupted: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_mid_copy_is_survived_and_the_next_run_makes_every_destination_equal_drive() {
    let (_tree, sandbox) = slow_sandbox().await;

    let first = {
        let sandbox = &sandbox;
        tokio::task::block_in_place(|| {
            let child = start_sync_and_wait_for_first_copy(sandbox);
            let daemons = children_of(child.id(), "rcd");
            assert_eq!(daemons.len(), 1);
            std::process::Command::new("kill").args(["-KILL", &daemons[0].to_string()]).status().unwrap();
            child.wait_with_output().unwrap()
        })
    };

    // The run itself ends on its own: succeeded after a restart, or with the pairs it could
    // not finish left failed or pending, never with a crash.
    assert!(matches!(first.status.code(), Some(0) | Some(3)), "{:?}", first.status);
    finish_and_check(&sandbox).await;
}
