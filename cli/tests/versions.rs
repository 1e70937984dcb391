//! Versions: a change in Drive never destroys the last good copy at any destination. Checked
//! at each server's own storage: a local folder and `rclone serve s3` (no versioning: Fanout
//! keeps earlier versions in `.fanout/versions/`), moto with Bucket Versioning and Object Lock,
//! and the fake B2 (which always keeps versions).

mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use common::{md5_hex, Dest, Sandbox};
use serde_json::Value;
use sha2::{Digest, Sha256};

const DESTS: &[(&str, &str)] =
    &[("local", "local"), ("aws_s3", "aws_s3"), ("moto", "moto"), ("backblaze_b2", "backblaze_b2")];

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A sandbox with `n` files under Projects, backed up to every kind of destination.
async fn sandbox(n: usize, dests: &[(&str, &str)], extra_yaml: &[(&str, &str)]) -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("Projects")).unwrap();
    for i in 0..n {
        std::fs::write(tree.path().join(format!("Projects/p-{i:03}.txt")), format!("original {i}\n").repeat(40))
            .unwrap();
    }
    let sandbox = Sandbox::start(tree.path(), None, dests).await;
    let mut yaml = std::fs::read_to_string(&sandbox.config_path).unwrap();
    for (key, lines) in extra_yaml {
        yaml = yaml.replace(&format!("  {key}:\n"), &format!("  {key}:\n{lines}"));
    }
    std::fs::write(&sandbox.config_path, yaml).unwrap();
    let keys: Vec<&str> = dests.iter().map(|(k, _)| *k).collect();
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", &keys.join(",")]).await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    (tree, sandbox)
}

async fn history(sandbox: &Sandbox, path: &str) -> Value {
    serde_json::from_str(&sandbox.fanout_ok(&["history", path, "--json"]).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ransomware_overwriting_every_file_leaves_every_original_at_every_destination() {
    let (_tree, sandbox) = sandbox(50, DESTS, &[]).await;
    let originals: BTreeMap<String, Vec<u8>> = (0..50)
        .map(|i| {
            let path = format!("Projects/p-{i:03}.txt");
            let bytes = format!("original {i}\n").repeat(40).into_bytes();
            (path, bytes)
        })
        .collect();

    // Every file overwritten in Drive with random bytes of the same size and name.
    sandbox.drive.mutate(|store| {
        for (path, bytes) in &originals {
            let id = store.id_of(path).unwrap();
            let noise: Vec<u8> = (0..bytes.len()).map(|_| rand::random::<u8>()).collect();
            store.set_content(&id, Bytes::from(noise));
        }
    });
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");

    for (key, _) in DESTS {
        for (path, original) in &originals {
            let object = format!("google-drive/{path}");
            let kept: Vec<String> = sandbox.every_version(key, &object).iter().map(|b| sha256(b)).collect();
            assert!(
                kept.contains(&sha256(original)),
                "{key}: the original of {path} is gone ({} versions)",
                kept.len()
            );
            assert_eq!(kept.len(), 2, "{key}: {path} has its original and the new bytes");
        }
    }
    let h = history(&sandbox, "Projects/p-007.txt").await;
    for (key, _) in DESTS {
        let versions = h["destinations"][key].as_array().unwrap_or_else(|| panic!("{key}: {h:#}"));
        assert_eq!(versions.len(), 2, "{key}: {h:#}");
        assert_eq!(versions[0]["state"], "current");
        assert_eq!(versions[1]["state"], "kept", "{key}: {h:#}");
        assert_eq!(versions[1]["md5"], md5_hex(&originals["Projects/p-007.txt"]), "{key}");
    }

    // Who keeps them, as `destinations test` says.
    let tested = sandbox.fanout_ok(&["destinations", "test"]).await;
    for (key, keeper) in [("local", "Fanout"), ("aws_s3", "Fanout"), ("moto", "itself"), ("backblaze_b2", "itself")] {
        let line = tested.lines().find(|l| l.starts_with(&format!("{key}: ok"))).unwrap_or_else(|| panic!("{tested}"));
        assert!(line.contains(keeper), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_changes_make_four_versions_listed_newest_first() {
    let (_tree, sandbox) = sandbox(2, DESTS, &[]).await;
    let id = sandbox.drive.id_of("Projects/p-000.txt").unwrap();
    let mut contents = vec![format!("original {}\n", 0).repeat(40).into_bytes()];
    for round in 1..=3 {
        let bytes = format!("edit number {round}").into_bytes();
        sandbox.drive.set_content(&id, bytes.clone());
        contents.push(bytes);
        let (code, summary, stderr) = sandbox.sync_json().await;
        assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    }
    let expected: Vec<String> = contents.iter().rev().map(|b| md5_hex(b)).collect();
    let h = history(&sandbox, "Projects/p-000.txt").await;
    for (key, _) in DESTS {
        let md5s: Vec<&str> =
            h["destinations"][key].as_array().unwrap().iter().map(|v| v["md5"].as_str().unwrap()).collect();
        assert_eq!(md5s, expected, "{key}: {h:#}");
        let stored: Vec<String> =
            sandbox.every_version(key, "google-drive/Projects/p-000.txt").iter().map(|b| md5_hex(b)).collect();
        let mut stored_sorted = stored.clone();
        stored_sorted.sort();
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        assert_eq!(stored_sorted, expected_sorted, "{key}: four versions at the server");
    }
    // The plain-text history says where each one is.
    let text = sandbox.fanout_ok(&["history", "Projects/p-000.txt"]).await;
    assert!(text.contains("kept at") && text.contains("current"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_only_the_versions_retention_lets_go_and_never_a_locked_one() {
    let keep = "    keep_versions:\n      count: 2\n";
    let dests = [("local", "local"), ("moto", "moto")];
    let (_tree, sandbox) = sandbox(2, &dests, &[("local", keep), ("moto", keep)]).await;
    let id = sandbox.drive.id_of("Projects/p-000.txt").unwrap();
    let mut md5s = vec![md5_hex(format!("original {}\n", 0).repeat(40).as_bytes())];
    for round in 1..=3 {
        let bytes = format!("edit {round}").into_bytes();
        md5s.push(md5_hex(&bytes));
        sandbox.drive.set_content(&id, bytes);
        // Each version in a second of its own, so each has its own name (the test below
        // covers versions that share one).
        next_second().await;
        assert_eq!(sandbox.sync_json().await.0, Some(0));
    }
    let before_local = sandbox.all_objects("local");
    let Dest::Moto { server, bucket } = &sandbox.dests["moto"] else { unreachable!() };
    let before_moto = server.all_versions(bucket).unwrap();

    let dry: Value = serde_json::from_str(&sandbox.fanout_ok(&["prune", "--dry-run", "--json"]).await).unwrap();
    for (key, _) in dests {
        let listed: Vec<&str> = dry["destinations"][key]["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["md5"].as_str().unwrap())
            .collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort();
        let mut oldest = vec![md5s[0].as_str(), md5s[1].as_str()];
        oldest.sort();
        assert_eq!(listed_sorted, oldest, "{key}: exactly the two oldest: {dry:#}");
    }
    assert_eq!(sandbox.all_objects("local"), before_local, "a dry run removes nothing");
    assert_eq!(server.all_versions(bucket).unwrap(), before_moto);

    // The oldest version at moto is under Object Lock: prune skips it and says why.
    let versions = server.versions(bucket, "google-drive/Projects/p-000.txt").unwrap();
    let (oldest_id, _) = versions.last().unwrap();
    server.lock_version(bucket, "google-drive/Projects/p-000.txt", oldest_id, "2099-01-01T00:00:00Z").unwrap();
    let out = sandbox.fanout_ok(&["prune"]).await;
    assert!(out.contains("locked by Object Lock until"), "{out}");

    let after_local = sandbox.all_objects("local");
    let removed_local: Vec<&String> = before_local.keys().filter(|k| !after_local.contains_key(*k)).collect();
    assert_eq!(removed_local.len(), 2, "{removed_local:?}");
    assert!(removed_local.iter().all(|k| k.starts_with(".fanout/versions/")), "only kept versions: {removed_local:?}");
    for (k, bytes) in &after_local {
        assert_eq!(before_local.get(k), Some(bytes), "{k} changed");
    }
    let after_moto = server.all_versions(bucket).unwrap();
    let removed_moto: Vec<_> = before_moto.iter().filter(|v| !after_moto.contains(v)).collect();
    assert_eq!(removed_moto.len(), 1, "one removed, the locked one kept: {removed_moto:?}");
    assert!(after_moto.iter().all(|v| before_moto.contains(v)));
    assert!(after_moto.iter().any(|(_, id, _)| id == oldest_id), "the locked version stays");
    let h = history(&sandbox, "Projects/p-000.txt").await;
    let pruned = h["destinations"]["local"].as_array().unwrap().iter().filter(|v| v["state"] == "pruned").count();
    assert_eq!(pruned, 2, "every removal is in the ledger: {h:#}");
}

/// Waits until the wall clock (the S3 server's too: same machine) starts its next second.
async fn next_second() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    tokio::time::sleep(std::time::Duration::from_nanos(1_000_000_000 - u64::from(now.subsec_nanos()))).await;
}

/// S3 lists version times in whole seconds, so versions written within one second get one
/// name in rclone's versions view, and a delete by that name reaches only the first of them.
/// Prune must never remove a version the retention keeps in place of one it lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_written_within_one_second_are_never_removed_in_place_of_each_other() {
    let keep = |count: u32| format!("    keep_versions:\n      count: {count}\n");
    let (_tree, sandbox) = sandbox(1, &[("moto", "moto_slow_clock")], &[("moto", &keep(2))]).await;
    let id = sandbox.drive.id_of("Projects/p-000.txt").unwrap();
    let mut bodies = vec![format!("original {}\n", 0).repeat(40).into_bytes()];
    let mut while_edit_1 = String::new();
    for round in 1..=3 {
        bodies.push(format!("edit {round}").into_bytes());
        sandbox.drive.set_content(&id, bodies[round].clone());
        assert_eq!(sandbox.sync_json().await.0, Some(0));
        if round == 1 {
            next_second().await;
            while_edit_1 = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            next_second().await;
        }
    }
    let Dest::Moto { server, bucket } = &sandbox.dests["moto"] else { unreachable!() };
    let key = "google-drive/Projects/p-000.txt";
    let stored = || -> Vec<Vec<u8>> { server.versions(bucket, key).unwrap().into_iter().map(|(_, b)| b).collect() };
    let newest_first: Vec<Vec<u8>> = bodies.iter().rev().cloned().collect();
    let held: Vec<String> =
        stored().iter().map(|b| String::from_utf8_lossy(&b[..b.len().min(12)]).into_owned()).collect();
    assert!(stored() == newest_first, "moto holds every version, newest first: {held:?}");

    // A restore as of edit 1 reaches edit 2 by that name: it says so, and writes nothing.
    let target = sandbox.dir.path().join("as-of-edit-1");
    let args = ["restore", "Projects", "--from", "moto", "--at", &while_edit_1, "--to", target.to_str().unwrap()];
    let out = sandbox.fanout(&[&args[..], &["--json"]].concat()).await;
    let restored: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(out.status.code(), Some(0), "{restored:#}");
    let reason = restored["failures"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("differ from those recorded"), "{restored:#}");
    assert_eq!(files_under(&target), 0, "no wrong bytes are written");

    // Keeping two: the two older versions are due, but their name reaches the newer one.
    let report: Value = serde_json::from_str(&sandbox.fanout_ok(&["prune", "--json"]).await).unwrap();
    assert!(stored() == newest_first, "nothing the retention keeps (nor anything else) was removed: {report:#}");
    let skipped = report["destinations"]["moto"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{report:#}");
    assert!(skipped.iter().all(|s| s["skipped"].as_str().unwrap().contains("written within the same second")));
    let verified: Value = serde_json::from_str(&sandbox.fanout_ok(&["verify", "--versions", "--json"]).await).unwrap();
    assert_eq!(verified["versions"]["moto"]["missing"], 0, "each kept version is found: {verified:#}");
    assert_eq!(verified["versions"]["moto"]["intact"], 3, "{verified:#}");

    // Keeping one: all three earlier versions go, newest first, each reached in its turn.
    let yaml = std::fs::read_to_string(&sandbox.config_path).unwrap();
    std::fs::write(&sandbox.config_path, yaml.replace(&keep(2), &keep(1))).unwrap();
    let report: Value = serde_json::from_str(&sandbox.fanout_ok(&["prune", "--json"]).await).unwrap();
    assert!(stored() == newest_first[..1], "only the current version is left: {report:#}");
    let h = history(&sandbox, "Projects/p-000.txt").await;
    let pruned = h["destinations"]["moto"].as_array().unwrap().iter().filter(|v| v["state"] == "pruned").count();
    assert_eq!(pruned, 3, "every removal is in the ledger: {h:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_fanout_or_rclone_while_versions_are_kept_loses_no_version() {
    let dests = [("local", "local"), ("aws_s3", "aws_s3")];
    let (_tree, sandbox) = sandbox(30, &dests, &[]).await;
    for round in 1..=2 {
        sandbox.drive.mutate(|store| {
            for i in 0..30 {
                let id = store.id_of(&format!("Projects/p-{i:03}.txt")).unwrap();
                store.set_content(&id, Bytes::from(format!("round {round} file {i}\n").repeat(20_000)));
            }
        });
        let config = std::fs::read_to_string(&sandbox.config_path).unwrap();
        let slow = sandbox.dir.path().join("slow.yaml");
        std::fs::write(&slow, format!("{config}sync:\n  bandwidth_limit: 2M\n  batch_files: 8\n")).unwrap();
        let mut cmd = sandbox.command_with_config(&slow, &["sync"]);
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let versions_dir = local_folder(&sandbox).join(".fanout/versions");
        let kept_before = files_under(&versions_dir);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        // Killed once this round has kept its first previous copy, while it keeps the others.
        while files_under(&versions_dir) == kept_before && child.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "no version was kept within two minutes");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if round == 1 {
            child.kill().unwrap(); // SIGKILL fanout itself
        } else {
            for pid in common::children_of(child.id(), "fanout-rclone") {
                let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
        let _ = child.wait();
        let (code, summary, stderr) = sandbox.sync_json().await;
        assert_eq!(code, Some(0), "round {round}: {summary:#}\n{stderr}");
        for (key, _) in dests {
            for i in 0..30 {
                let object = format!("google-drive/Projects/p-{i:03}.txt");
                let versions = sandbox.every_version(key, &object);
                assert_eq!(versions.len(), round + 1, "{key}: {object} after round {round}");
                let original = format!("original {i}\n").repeat(40).into_bytes();
                assert!(versions.contains(&original), "{key}: {object}'s original is lost");
            }
        }
    }
}

fn local_folder(sandbox: &Sandbox) -> std::path::PathBuf {
    let Dest::Local { path } = &sandbox.dests["local"] else { unreachable!() };
    path.clone()
}

fn files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.filter_map(Result::ok).map(|e| if e.path().is_dir() { files_under(&e.path()) } else { 1 }).sum()
}
