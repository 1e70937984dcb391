//! Restore: Drive folders back from their copies, checked byte for byte against Drive's own
//! bytes (sha256), from every kind of destination (a local folder, `rclone serve s3`, the fake
//! B2, moto), as of a time before a ransomware overwrite, around a corrupted copy, after a
//! SIGKILL, and on a new computer with nothing but the destination and its keys.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{children_of, write_files, Dest, Sandbox};
use fanout_testkit::fake_google::store::{FOLDER, ROOT_ID};
use fanout_testkit::fake_google::{Fault, FaultAction};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every file under `dir` (relative path → bytes), and whether anything is not a plain file.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                // A killed restore's rclone may still rename a part file away meanwhile; what
                // vanished is absent here, so a comparison still sees it missing.
                match std::fs::read(&path) {
                    Ok(bytes) => drop(out.insert(rel, bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => panic!("{}: {e}", path.display()),
                }
            }
        }
    }
    out
}

/// Drive's files under `folder`: (Drive path, bytes), from the fake's own state. A list, not a
/// map: Drive lets two files in one folder have the same name.
fn drive_files(sandbox: &Sandbox, folder: &str) -> Vec<(String, Vec<u8>)> {
    common::drive_truth(&sandbox.drive)
        .into_iter()
        .filter(|(path, _)| path.starts_with(&format!("{folder}/")))
        .collect()
}

fn bytes_at<'a>(files: &'a [(String, Vec<u8>)], path: &str) -> Option<&'a Vec<u8>> {
    files.iter().find(|(p, _)| p == path).map(|(_, b)| b)
}

/// The restored tree holds exactly Drive's files: the same bytes (every file's content is
/// unique, so bytes name the file), each once, and nothing else.
fn assert_same_files(restored: &BTreeMap<String, Vec<u8>>, drive: &[(String, Vec<u8>)], what: &str) {
    let mut want: Vec<String> = drive.iter().map(|(_, b)| sha256(b)).collect();
    let mut got: Vec<String> = restored.values().map(|b| sha256(b)).collect();
    want.sort();
    got.sort();
    assert_eq!(got.len(), want.len(), "{what}: {:?}", restored.keys().collect::<Vec<_>>());
    assert_eq!(got, want, "{what}: the restored bytes are Drive's");
}

/// Projects/ with `plain` ordinary files in two subfolders and the hostile names Drive allows:
/// duplicates, NFC/NFD twins, `..`, a slash, a 200-byte name, emoji. Every content is unique.
async fn hostile_sandbox(plain: usize, dests: &[(&str, &str)]) -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    for i in 0..plain {
        let dir = tree.path().join(format!("Projects/part-{}", i % 2));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("file-{i:03}.txt")), format!("plain file {i}\n").repeat(30)).unwrap();
    }
    let sandbox = Sandbox::start(tree.path(), None, dests).await;
    let projects = sandbox.drive.id_of("Projects").unwrap();
    let long = format!("{}.txt", "l".repeat(196));
    for (i, name) in [
        "same.txt",
        "same.txt",
        "\u{e9}t\u{e9}.txt",
        "e\u{301}te\u{301}.txt",
        "..",
        "a/b",
        &long,
        "🎉 party.txt",
        "CON",
    ]
    .iter()
    .enumerate()
    {
        sandbox.drive.add_file(&projects, name, Bytes::from(format!("hostile {i}: {name}\n")));
    }
    let keys: Vec<&str> = dests.iter().map(|(k, _)| *k).collect();
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", &keys.join(",")]).await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    (tree, sandbox)
}

/// Flips the byte at `at` of `object` at the destination's own storage (size unchanged).
fn flip_byte(sandbox: &Sandbox, key: &str, object: &str, at: usize) {
    let path = sandbox.storage_root(key).join(object);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
}

async fn restore_json(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["restore"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = sandbox.fanout(&all).await;
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "restore --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_of_hostile_names_comes_back_byte_for_byte_from_every_kind_of_destination() {
    let dests = [("local", "local"), ("aws_s3", "aws_s3"), ("backblaze_b2", "backblaze_b2"), ("moto", "moto")];
    let (_tree, sandbox) = hostile_sandbox(191, &dests).await;
    let drive = drive_files(&sandbox, "Projects");
    assert_eq!(drive.len(), 200);
    let out = tempfile::tempdir().unwrap();

    // A dry run says what and from where, and writes nothing.
    let target = out.path().join("dry");
    let (code, dry) = restore_json(&sandbox, &["Projects", "--to", target.to_str().unwrap(), "--dry-run"]).await;
    assert_eq!(code, Some(0), "{dry:#}");
    assert_eq!(dry["files"], 200);
    let egress: u64 = dry["egress"].as_object().unwrap().values().map(|e| e["files"].as_u64().unwrap()).sum();
    assert_eq!(egress, 200, "{dry:#}");
    assert!(!target.exists(), "a dry run wrote nothing");

    for (key, _) in dests {
        let target = out.path().join(key);
        let (code, report) =
            restore_json(&sandbox, &["Projects", "--from", key, "--to", target.to_str().unwrap()]).await;
        assert_eq!(code, Some(0), "{key}: {report:#}");
        assert_eq!(report["restored"].as_array().unwrap().len(), 200, "{key}");
        assert!(report["restored"].as_array().unwrap().iter().all(|f| f["from"] == key && f["checked_by"] != "size"));
        let restored = tree(&target);
        assert_same_files(&restored, &drive, key);
        // The tree is Drive's: plain names keep their Drive paths under the target.
        assert_eq!(
            restored.get("Projects/part-1/file-007.txt"),
            bytes_at(&drive, "Projects/part-1/file-007.txt"),
            "{key}"
        );
        // The names that could not be file names are listed with the name used.
        let renamed: Vec<&str> =
            report["renamed"].as_array().unwrap().iter().map(|r| r["drive_name"].as_str().unwrap()).collect();
        assert!(renamed.contains(&"a/b") && renamed.contains(&".."), "{key}: {renamed:?}");
    }
    // Nothing was written outside the target folders.
    let top: Vec<String> =
        std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(top.len(), dests.len(), "{top:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_at_a_time_before_the_ransomware_returns_the_originals_from_every_destination() {
    let dests = [("local", "local"), ("aws_s3", "aws_s3"), ("backblaze_b2", "backblaze_b2"), ("moto", "moto")];
    let (_tree, sandbox) = hostile_sandbox(20, &dests).await;
    let originals = drive_files(&sandbox, "Projects");
    std::thread::sleep(Duration::from_millis(1100));
    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::thread::sleep(Duration::from_millis(1100));
    sandbox.drive.mutate(|store| {
        let ids: Vec<String> =
            store.files.values().filter(|f| f.id != ROOT_ID && f.mime_type != FOLDER).map(|f| f.id.clone()).collect();
        for id in ids {
            let noise: Vec<u8> = (0..64).map(|_| rand::random::<u8>()).collect();
            store.set_content(&id, Bytes::from(noise));
        }
    });
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    let encrypted = drive_files(&sandbox, "Projects");
    assert!(originals.iter().all(|(_, b)| !encrypted.iter().any(|(_, e)| e == b)), "every file was overwritten");

    let out = tempfile::tempdir().unwrap();
    for (key, _) in dests {
        let target = out.path().join(key);
        let args = ["Projects", "--from", key, "--at", &before, "--to", target.to_str().unwrap()];
        let (code, report) = restore_json(&sandbox, &args).await;
        assert_eq!(code, Some(0), "{key}: {report:#}");
        assert_same_files(&tree(&target), &originals, &format!("{key} as of {before}"));
    }
    // Without --at, the newest copies: what Drive holds now.
    let now = out.path().join("now");
    let (code, report) = restore_json(&sandbox, &["--all", "--to", now.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_same_files(&tree(&now), &encrypted, "newest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_copy_fails_from_its_destination_and_comes_from_another_by_default() {
    let dests = [("aws_s3", "aws_s3"), ("local", "local")];
    let (_tree, sandbox) = hostile_sandbox(10, &dests).await;
    let drive = drive_files(&sandbox, "Projects");
    flip_byte(&sandbox, "aws_s3", "google-drive/Projects/part-0/file-004.txt", 3);

    let out = tempfile::tempdir().unwrap();
    let from_s3 = out.path().join("from-s3");
    let (code, report) =
        restore_json(&sandbox, &["Projects", "--from", "aws_s3", "--to", from_s3.to_str().unwrap()]).await;
    assert_eq!(code, Some(3), "{report:#}");
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{report:#}");
    assert_eq!(failures[0]["drive_path"], "Projects/part-0/file-004.txt");
    let restored = tree(&from_s3);
    assert_eq!(restored.len(), drive.len() - 1, "no partial or unchecked file is left: {:?}", restored.keys());
    assert!(!restored.keys().any(|k| k.contains("file-004")));

    let best = out.path().join("best");
    let (code, report) = restore_json(&sandbox, &["Projects", "--to", best.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_same_files(&tree(&best), &drive, "best copy");
    let came_from: Vec<&str> = report["restored"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["drive_path"] == "Projects/part-0/file-004.txt")
        .map(|f| f["from"].as_str().unwrap())
        .collect();
    assert_eq!(came_from, ["local"], "{report:#}");

    // An existing file with other bytes is kept; the restored one goes beside it.
    std::fs::write(best.join("Projects/part-1/file-001.txt"), b"my own edit").unwrap();
    let (code, report) = restore_json(&sandbox, &["Projects", "--to", best.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["already_restored"], drive.len() as u64 - 1, "{report:#}");
    assert_eq!(std::fs::read(best.join("Projects/part-1/file-001.txt")).unwrap(), b"my own edit");
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let beside = best.join(format!("Projects/part-1/file-001 (restored {day}).txt"));
    assert_eq!(Some(&std::fs::read(&beside).unwrap()), bytes_at(&drive, "Projects/part-1/file-001.txt"));
}

/// A folder holding enough bytes that restore relies on rclone's check of each download
/// against the hash the destination lists, rather than reading the file a second time: a copy
/// whose bytes changed at the server's storage is still refused, by Fanout's own comparison.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_copy_changed_at_its_destination_is_refused_though_it_is_read_only_once() {
    let drive_root = tempfile::tempdir().unwrap();
    let dir = drive_root.path().join("Big");
    std::fs::create_dir_all(&dir).unwrap();
    let big: Vec<u8> = (0..65u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    std::fs::write(dir.join("small.txt"), b"small and read twice\n").unwrap();
    let sandbox = Sandbox::start(drive_root.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Big", "--to", "aws_s3,local"]).await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");

    let out = tempfile::tempdir().unwrap();
    let intact = out.path().join("intact");
    let (code, report) = restore_json(&sandbox, &["Big", "--from", "aws_s3", "--to", intact.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert!(std::fs::read(intact.join("Big/big.bin")).unwrap() == big, "the restored bytes are Drive's");

    // One byte changed at the S3 server's own storage: it now lists that file's new md5.
    flip_byte(&sandbox, "aws_s3", "google-drive/Big/big.bin", 40 << 20);
    let changed = out.path().join("changed");
    let (code, report) = restore_json(&sandbox, &["Big", "--from", "aws_s3", "--to", changed.to_str().unwrap()]).await;
    assert_eq!(code, Some(3), "{report:#}");
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{report:#}");
    assert_eq!(failures[0]["drive_path"], "Big/big.bin");
    assert!(
        failures[0]["reason"].as_str().unwrap().contains("differ from those recorded"),
        "refused by the comparison with the recorded md5: {report:#}"
    );
    assert_eq!(tree(&changed).keys().collect::<Vec<_>>(), ["Big/small.txt"], "no unchecked file is left");

    let best = out.path().join("best");
    let (code, report) = restore_json(&sandbox, &["Big", "--to", best.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert!(std::fs::read(best.join("Big/big.bin")).unwrap() == big, "the intact copy at the local folder");
}

/// More files than one transfer job takes: the jobs run one after another while the files of
/// the previous one are checked and moved into place, and a bad copy in a later job is still
/// refused and, by default, taken from the other destination.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_of_several_jobs_checks_every_file_of_each() {
    let drive_root = tempfile::tempdir().unwrap();
    for part in 0..3 {
        write_files(drive_root.path(), &format!("Many/part-{part}"), "note", 700);
    }
    let sandbox = Sandbox::start(drive_root.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Many", "--to", "aws_s3,local"]).await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    let drive = drive_files(&sandbox, "Many");
    assert_eq!(drive.len(), 2100);
    flip_byte(&sandbox, "aws_s3", "google-drive/Many/part-2/note-650.txt", 0);

    let out = tempfile::tempdir().unwrap();
    let from_s3 = out.path().join("from-s3");
    let (code, report) = restore_json(&sandbox, &["Many", "--from", "aws_s3", "--to", from_s3.to_str().unwrap()]).await;
    assert_eq!(code, Some(3), "{report:#}");
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{report:#}");
    assert_eq!(failures[0]["drive_path"], "Many/part-2/note-650.txt");
    let restored = tree(&from_s3);
    assert_eq!(restored.len(), 2099);
    let intact: Vec<(String, Vec<u8>)> =
        drive.iter().filter(|(path, _)| path != "Many/part-2/note-650.txt").cloned().collect();
    assert_same_files(&restored, &intact, "from S3");

    let best = out.path().join("best");
    let (code, report) = restore_json(&sandbox, &["Many", "--to", best.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_same_files(&tree(&best), &drive, "best copies");
}

/// Downloads of backed-up objects the fake B2 has served.
fn b2_downloads(sandbox: &Sandbox) -> usize {
    let Dest::B2 { server, .. } = &sandbox.dests["backblaze_b2"] else { unreachable!() };
    server
        .requests()
        .iter()
        .filter(|r| r.route == "download" && r.method == "GET")
        .filter(|r| r.file_name.as_deref().is_some_and(|n| n.starts_with("google-drive/")))
        .count()
}

fn clear_b2_requests(sandbox: &Sandbox) {
    let Dest::B2 { server, .. } = &sandbox.dests["backblaze_b2"] else { unreachable!() };
    server.clear_requests();
}

/// A child process that cannot outlive a failed test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Files a restore has fetched whole so far: in place, or staged (rclone writes each file
/// under a temporary name and renames it when complete).
fn fetched_whole(target: &Path) -> usize {
    // (The staging folder also holds the list of files each job fetches.)
    tree(target).keys().filter(|k| !k.ends_with(".partial") && !k.ends_with(".files-from")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_restore_resumes_and_fetches_only_what_it_had_not_yet_fetched() {
    const FILES: usize = 24;
    let tree_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree_dir.path().join("Media")).unwrap();
    for i in 0..FILES {
        let bytes: Vec<u8> = (0..256 * 1024).map(|j| ((j * 7 + i * 13) % 251) as u8).collect();
        std::fs::write(tree_dir.path().join(format!("Media/clip-{i:02}.bin")), bytes).unwrap();
    }
    let sandbox = Sandbox::start(tree_dir.path(), None, &[("backblaze_b2", "backblaze_b2")]).await;
    sandbox.fanout_ok(&["policy", "add", "Media", "--to", "backblaze_b2"]).await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    // Slow enough to be interrupted: 6 MiB at 1 MiB/s.
    let yaml = std::fs::read_to_string(&sandbox.config_path).unwrap()
        + "sync:\n  bandwidth_limit: 1M\n  upload_concurrency: 2\n";
    std::fs::write(&sandbox.config_path, yaml).unwrap();
    let drive = drive_files(&sandbox, "Media");

    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("restored");
    clear_b2_requests(&sandbox);
    let mut cmd = sandbox.command(&["restore", "Media", "--to", target.to_str().unwrap()]);
    let mut child = KillOnDrop(cmd.stdout(std::process::Stdio::null()).spawn().unwrap());
    let child = &mut child.0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !target.exists() || fetched_whole(&target) < 4 {
        assert!(child.try_wait().unwrap().is_none(), "the restore ended before it could be interrupted");
        assert!(Instant::now() < deadline, "nothing was restored within a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    let daemons = children_of(child.id(), "rcd");
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while daemons.iter().any(|pid| {
        Path::new(&format!("/proc/{pid}/cmdline")).exists()
            && std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| !s.contains(") Z ")).unwrap_or(false)
    }) {
        assert!(Instant::now() < deadline, "rclone outlived the killed restore");
        std::thread::sleep(Duration::from_millis(50));
    }
    let done_before = fetched_whole(&target);
    assert!(done_before < FILES, "the kill landed mid-restore");
    let first_run = b2_downloads(&sandbox);
    assert!(first_run >= done_before);

    clear_b2_requests(&sandbox);
    let (code, report) = restore_json(&sandbox, &["Media", "--to", target.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(b2_downloads(&sandbox), FILES - done_before, "only what was not fetched whole is fetched again");
    assert_same_files(&tree(&target), &drive, "resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_new_computer_the_destination_alone_restores_and_rebuilds_the_ledger() {
    let dests = [("aws_s3", "aws_s3"), ("backblaze_b2", "backblaze_b2"), ("local", "local")];
    let (_tree, sandbox) = hostile_sandbox(30, &dests).await;
    let drive = drive_files(&sandbox, "Projects");
    let out = tempfile::tempdir().unwrap();
    let with_db = out.path().join("with-db");
    let (code, _) = restore_json(&sandbox, &["--all", "--from", "aws_s3", "--to", with_db.to_str().unwrap()]).await;
    assert_eq!(code, Some(0));

    // The computer is lost: no database, no data folder. Only config.yaml and the keys.
    std::fs::remove_dir_all(&sandbox.data_dir).unwrap();
    for (key, _) in dests {
        let target = out.path().join(format!("new-{key}"));
        let (code, report) = restore_json(&sandbox, &["--all", "--from", key, "--to", target.to_str().unwrap()]).await;
        assert_eq!(code, Some(0), "{key}: {report:#}");
        assert_eq!(report["catalogs"][key], "index", "{report:#}");
        assert_eq!(tree(&target), tree(&with_db), "{key}: the same tree as with the database");
        assert_same_files(&tree(&target), &drive, key);
    }

    // Without an index (a destination written by an older Fanout), the plain objects do.
    std::fs::remove_file(sandbox.storage_root("local").join(".fanout/index.jsonl")).unwrap();
    let plain = out.path().join("plain");
    let (code, report) = restore_json(&sandbox, &["--all", "--from", "local", "--to", plain.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["catalogs"]["local"], "listing");
    assert_eq!(tree(&plain), tree(&with_db));

    // rebuild takes the policies and the ledger from the indexes; a sync then copies nothing.
    let rebuilt: Value = serde_json::from_str(&sandbox.fanout_ok(&["rebuild", "--json"]).await).unwrap();
    assert_eq!(rebuilt["policies_added"], serde_json::json!(["Projects"]), "{rebuilt:#}");
    assert_eq!(rebuilt["without_index"], serde_json::json!(["local"]), "{rebuilt:#}");
    let marks = sandbox.write_marks("aws_s3");
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    assert_eq!(summary["destinations"]["aws_s3"]["transferred"], 0, "{summary:#}");
    assert_eq!(summary["destinations"]["backblaze_b2"]["transferred"], 0, "{summary:#}");
    assert_eq!(sandbox.write_marks("aws_s3"), marks, "nothing at aws_s3 was written again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_drive_as_a_new_folder_resuming_a_cut_upload_and_stopping_cleanly_at_the_upload_limit() {
    let tree_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree_dir.path().join("Projects/notes")).unwrap();
    for i in 0..5 {
        std::fs::write(tree_dir.path().join(format!("Projects/notes/n-{i}.txt")), format!("note {i}\n").repeat(50))
            .unwrap();
    }
    // 12 MiB: a resumable upload in two chunks.
    let big: Vec<u8> = (0..12 * 1024 * 1024).map(|j: usize| (j % 253) as u8).collect();
    std::fs::write(tree_dir.path().join("Projects/big.bin"), &big).unwrap();
    let sandbox = Sandbox::start(tree_dir.path(), None, &[("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "local"]).await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    let original = drive_files(&sandbox, "Projects");
    assert_eq!(original.len(), 6);

    // The big file's first chunk is cut after 1 MiB; Drive then takes 3 uploads and refuses more.
    sandbox.drive.inject(Fault {
        route: Some("files.upload_chunk".into()),
        file_id: None,
        times: Some(1),
        action: FaultAction::AcceptPartOfUpload { bytes: 1 << 20 },
    });
    sandbox.drive.limit_uploads(3, "uploadLimitExceeded");
    let (code, report) = restore_json(&sandbox, &["Projects", "--to-drive", "Back from Fanout"]).await;
    assert_eq!(code, Some(3), "{report:#}");
    let stopped = report["drive"]["stopped"].as_str().unwrap_or_default();
    assert!(stopped.contains("run the same command again"), "{report:#}");
    assert_eq!(report["drive"]["uploaded"].as_array().unwrap().len(), 3, "{report:#}");
    let requests = sandbox.drive.requests();
    let chunks: Vec<u16> = requests.iter().filter(|r| r.route == "files.upload_chunk").map(|r| r.status).collect();
    assert_eq!(chunks.first(), Some(&503), "the first chunk was cut: {chunks:?}");
    assert_eq!(chunks.last(), Some(&200), "the upload resumed and finished: {chunks:?}");

    sandbox.drive.lift_upload_limit();
    let (code, report) = restore_json(&sandbox, &["Projects", "--to-drive", "Back from Fanout"]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["drive"]["already_in_drive"], 3, "{report:#}");
    assert_eq!(report["drive"]["uploaded"].as_array().unwrap().len(), 3, "{report:#}");

    // The fake Drive's own files: the restore folder holds the same bytes, in the same tree.
    let restored: BTreeMap<String, Vec<u8>> = drive_files(&sandbox, "Back from Fanout").into_iter().collect();
    assert_same_files(&restored, &original, "in Drive");
    assert_eq!(restored.get("Back from Fanout/Projects/big.bin"), Some(&big));
    // Nothing that was in Drive was touched.
    assert_eq!(drive_files(&sandbox, "Projects"), original);
    let folders = sandbox.drive.mutate(|store| {
        store
            .files
            .values()
            .filter(|f| f.name == "Back from Fanout" && f.parents.first().map(String::as_str) == Some(ROOT_ID))
            .count()
    });
    assert_eq!(folders, 1, "the second run continued in the first run's folder");
}

/// A Google Doc and a Sheet backed up as their exports (.docx, .xlsx) beside a plain file.
const WORKSPACE_MANIFEST: &str = "items:\n  - parent: Projects\n    name: Roadmap\n    kind: document\n    content: \"Q3: ship it.\"\n  - parent: Projects\n    name: Budget\n    kind: spreadsheet\n    content: \"rent,1200\"\n";

/// The items directly in the Drive folder at `path`: (name, MIME type, the text a Google file
/// holds or the bytes of a plain one).
fn drive_children(sandbox: &Sandbox, path: &str) -> BTreeMap<String, (String, Vec<u8>)> {
    let folder = sandbox.drive.id_of(path).unwrap_or_else(|| panic!("{path} is not in Drive"));
    sandbox.drive.mutate(|store| {
        store
            .files
            .values()
            .filter(|f| f.parents.first() == Some(&folder) && !f.trashed)
            .map(|f| {
                let held = match &f.content {
                    fanout_testkit::fake_google::store::Content::Memory(b) => b.to_vec(),
                    _ => f.doc_text.clone().into_bytes(),
                };
                (f.name.clone(), (f.mime_type.clone(), held))
            })
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_drive_exported_google_files_come_back_as_exports_or_converted_into_google_files() {
    let tree_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree_dir.path().join("Projects")).unwrap();
    std::fs::write(tree_dir.path().join("Projects/plain.txt"), "plain bytes\n").unwrap();
    let sandbox = Sandbox::start(tree_dir.path(), Some(WORKSPACE_MANIFEST), &[("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "local"]).await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    let copies = sandbox.storage_root("local").join("google-drive/Projects");
    let docx = std::fs::read(copies.join("Roadmap.docx")).unwrap();
    let xlsx = std::fs::read(copies.join("Budget.xlsx")).unwrap();

    // By default: the exports themselves, byte for byte.
    let (code, report) = restore_json(&sandbox, &["Projects", "--to-drive", "As exports"]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["drive"]["converted"], serde_json::json!([]), "{report:#}");
    let exports = drive_children(&sandbox, "As exports/Projects");
    assert_eq!(exports.keys().collect::<Vec<_>>(), ["Budget.xlsx", "Roadmap.docx", "plain.txt"]);
    assert_eq!(exports["Roadmap.docx"].1, docx);
    assert_eq!(exports["Budget.xlsx"].1, xlsx);

    // With --convert: Google files again, under their Drive names, made from the exports' bytes.
    let (code, report) = restore_json(&sandbox, &["Projects", "--to-drive", "Converted", "--convert"]).await;
    assert_eq!(code, Some(0), "{report:#}");
    let mut converted: Vec<String> =
        report["drive"]["converted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    converted.sort();
    assert_eq!(converted, ["Projects/Budget.xlsx", "Projects/Roadmap.docx"], "{report:#}");
    let google = drive_children(&sandbox, "Converted/Projects");
    assert_eq!(google.keys().collect::<Vec<_>>(), ["Budget", "Roadmap", "plain.txt"]);
    assert_eq!(google["Roadmap"], ("application/vnd.google-apps.document".to_string(), docx));
    assert_eq!(google["Budget"], ("application/vnd.google-apps.spreadsheet".to_string(), xlsx));
    assert_eq!(google["plain.txt"].1, b"plain bytes\n");

    // Run again: everything is there already, nothing is uploaded twice.
    let (code, report) = restore_json(&sandbox, &["Projects", "--to-drive", "Converted", "--convert"]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["drive"]["already_in_drive"], 3, "{report:#}");
    assert_eq!(report["drive"]["uploaded"], serde_json::json!([]), "{report:#}");
    assert_eq!(drive_children(&sandbox, "Converted/Projects").len(), 3);
}
