//! Ways the backup could be wrong or lose bytes, tried with the real `fanout` binary and
//! checked at the destinations' own storage: an unplugged disk, names over a provider's
//! limit, stray rclone variables, and `verify --against drive`.

mod common;

use bytes::Bytes;
use common::{write_files, Dest, Sandbox};

async fn sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "p", 4);
    let sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    (tree, sandbox)
}

fn local_folder(sandbox: &Sandbox) -> std::path::PathBuf {
    let Dest::Local { path } = &sandbox.dests["local"] else { unreachable!() };
    path.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_folder_that_is_not_there_gets_no_backup_until_it_is_added_again() {
    let (_tree, sandbox) = sandbox().await;
    let folder = local_folder(&sandbox);
    std::fs::remove_dir(&folder).unwrap(); // the disk is unplugged

    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(3), "{summary:#}");
    assert!(!folder.exists(), "the missing folder was made on the system disk");
    assert_eq!(summary["destinations"]["local"]["synced"], 0, "{summary:#}");
    assert_eq!(summary["destinations"]["aws_s3"]["success"], true, "the other destination is unaffected");
    let errors = summary["errors"].to_string();
    assert!(errors.contains("does not exist (is the disk connected?)"), "{errors}");

    let test = sandbox.fanout(&["destinations", "test", "local"]).await;
    assert_eq!(test.status.code(), Some(1));
    assert!(!folder.exists());
    let create = sandbox.fanout(&["destinations", "test", "local", "--create"]).await;
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stdout));
    assert!(folder.is_dir());
    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}");
    assert_eq!(sandbox.objects("local").len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_over_the_buckets_limit_fails_only_there_and_says_why() {
    let (_tree, sandbox) = sandbox().await;
    let projects = sandbox.drive.id_of("Projects").unwrap();
    let long = "n".repeat(250);
    sandbox.drive.mutate(|store| {
        let mut parent = projects.clone();
        // Each name is cut to 200 bytes at the destination: six levels are over 1,024.
        for _ in 0..6 {
            parent = store.add_folder(&parent, &long);
        }
        store.add_file(&parent, "deep.txt", Bytes::from_static(b"deep"));
    });

    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(3), "{summary:#}");
    let deep = |key: &str| sandbox.objects(key).into_iter().find(|(k, _)| k.ends_with("deep.txt"));
    assert_eq!(deep("local").map(|(_, b)| b).as_deref(), Some(&b"deep"[..]), "the local copy is made");
    assert!(deep("aws_s3").is_none(), "nothing over the limit reaches the bucket");
    let files: serde_json::Value =
        serde_json::from_str(&sandbox.fanout_ok(&["files", "--json", "--status", "failed"]).await).unwrap();
    let error =
        files["rows"][0]["destinations"].as_array().unwrap().iter().find(|p| p["destination"] == "aws_s3").unwrap()
            ["error_message"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(error.contains("over this destination's limit of 1024 bytes"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_rclone_and_aws_variables_do_not_change_what_is_copied() {
    let (_tree, sandbox) = sandbox().await;
    let mut cmd = sandbox.command(&["sync", "--json"]);
    cmd.env("RCLONE_DRY_RUN", "true").env("RCLONE_MAX_TRANSFER", "1").env("AWS_PROFILE", "nobody");
    let out = common::run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    for key in ["aws_s3", "local"] {
        assert_eq!(sandbox.objects(key).len(), 4, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_against_drive_finds_what_is_missing_whatever_the_ledger_says() {
    let (_tree, sandbox) = sandbox().await;
    let (code, _, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0));
    let Dest::S3 { server, bucket } = &sandbox.dests["aws_s3"] else { unreachable!() };
    server.delete_object(bucket, "google-drive/Projects/p-001.txt").unwrap();
    // A file the ledger has never heard of (added in Drive, not yet synced).
    let projects = sandbox.drive.id_of("Projects").unwrap();
    sandbox.drive.mutate(|store| store.add_file(&projects, "unsynced.txt", Bytes::from_static(b"new")));

    let ledger_only = sandbox.fanout(&["verify", "aws_s3", "--json"]).await;
    let report: serde_json::Value = serde_json::from_slice(&ledger_only.stdout).unwrap();
    assert_eq!(report["destinations"]["aws_s3"]["missing"], 1, "{report:#}");

    let out = sandbox.fanout(&["verify", "--against", "drive", "--json"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s3 = &report["destinations"]["aws_s3"];
    assert_eq!((s3["checked"].as_u64(), s3["missing"].as_u64()), (Some(5), Some(2)), "{report:#}");
    let problems = s3["problems"].to_string();
    assert!(problems.contains("Projects/p-001.txt") && problems.contains("Projects/unsynced.txt"), "{problems}");
    let local = &report["destinations"]["local"];
    assert_eq!((local["checked"].as_u64(), local["missing"].as_u64()), (Some(5), Some(1)), "{report:#}");

    // The next sync repairs both.
    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}");
    let objects = sandbox.objects("aws_s3");
    assert!(objects.contains_key("google-drive/Projects/p-001.txt"));
    assert_eq!(objects.get("google-drive/Projects/unsynced.txt").map(Vec::as_slice), Some(&b"new"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_printed_by_fanout_plan_is_exactly_what_sync_plan_copies() {
    let (_tree, sandbox) = sandbox().await;
    let printed = sandbox.fanout_ok(&["plan", "--json"]).await;
    let plan: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let listed: Vec<String> =
        plan["files"].as_array().unwrap().iter().map(|f| f["remote_path"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed.len(), 4);
    let plan_file = sandbox.dir.path().join("plan.json");
    std::fs::write(&plan_file, &printed).unwrap();

    // Drive changes after the plan was printed: the printed plan does not include it.
    let projects = sandbox.drive.id_of("Projects").unwrap();
    sandbox.drive.mutate(|store| store.add_file(&projects, "later.txt", Bytes::from_static(b"later")));
    let out = sandbox.fanout(&["sync", "--json", "--plan", plan_file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for key in ["aws_s3", "local"] {
        let mut stored: Vec<String> = sandbox.objects(key).into_keys().collect();
        stored.sort();
        let mut expected = listed.clone();
        expected.sort();
        assert_eq!(stored, expected, "{key} holds exactly the planned files");
    }
    let garbage = sandbox.dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not a plan").unwrap();
    let out = sandbox.fanout(&["sync", "--plan", garbage.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a plan printed by `fanout plan --json`"));
}
