//! The backup engine, end to end through the `fanout` binary, against a fake Drive and real
//! S3 servers. Destinations are checked by reading the servers' own storage, not the ledger.

mod common;

use std::collections::BTreeMap;

use common::{drive_truth, md5_hex, standard_destinations, write_files, Sandbox};
use serde_json::Value;

/// A Drive of 200+ files: nested folders, Workspace files, a shortcut, duplicate names,
/// unicode and hostile names, a folder no policy covers.
fn rich_drive(root: &std::path::Path) {
    write_files(root, "Projects", "plan", 30);
    write_files(root, "Projects/Reports/2024", "report", 40);
    write_files(root, "Projects/Reports/2025", "report", 20);
    write_files(root, "Projects/Photos", "photo", 30);
    write_files(root, "Projects/Photos/Trips", "trip", 10);
    write_files(root, "Projects/Private", "secret", 20);
    write_files(root, "Archive", "old", 30);
    write_files(root, "Archive/Deep/Er", "older", 10);
    write_files(root, "Elsewhere", "unrelated", 15);
    std::fs::write(root.join("Projects/Réunion-é.txt"), "unicode name").unwrap();
    std::fs::write(root.join("Projects/Report.pdf"), "upper").unwrap();
    std::fs::write(root.join("Projects/report.pdf"), "lower").unwrap();
}

const RICH_MANIFEST: &str = r#"
items:
  - { parent: Projects, name: Roadmap, kind: document, content: "the plan" }
  - { parent: Projects, name: Budget, kind: spreadsheet, content: "numbers" }
  - { parent: Projects/Reports, name: Pitch, kind: presentation, content: "slides" }
  - { parent: Archive, name: Diagram, kind: drawing, content: "boxes" }
  - { parent: Archive, name: Survey, kind: form }
  - { parent: Projects, name: Roadmap.docx, content: "a real docx next to the Google Doc" }
  - { parent: Projects, name: a.txt, content: "first a" }
  - { parent: Projects, name: a.txt, content: "second a" }
  - { parent: Projects, name: a.txt, content: "third a" }
  - { parent: Projects, name: "a/b", content: "slash in a name" }
  - { parent: Projects, name: "..", content: "dot dot" }
  - { parent: Projects, name: "<script>alert(1)</script>", content: "hostile" }
  - { parent: Projects, name: "e\u0301t\u00e9.txt", content: "nfd name" }
  - { parent: Projects, name: "Shortcut to old", kind: shortcut, target: Archive/old-000.txt }
  - { parent: Projects, name: "Broken shortcut", kind: shortcut, target: Archive/never-existed.txt }
  - { parent: Projects, name: "Gone", content: "in the trash", trashed: true }
"#;

/// Which destinations a Drive path must reach, written independently of the engine.
fn expected_destinations(path: &str) -> Vec<&'static str> {
    if path.starts_with("Projects/Private/") {
        vec![]
    } else if path.starts_with("Projects/Photos/") {
        vec!["backblaze_b2"]
    } else if path.starts_with("Projects/") {
        vec!["aws_s3", "backblaze_b2"]
    } else if path.starts_with("Archive/") {
        vec!["scaleway", "local"]
    } else {
        vec![]
    }
}

async fn rich_sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    rich_drive(tree.path());
    let sandbox = Sandbox::start(tree.path(), Some(RICH_MANIFEST), &standard_destinations()).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,backblaze_b2"]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects/Photos", "--to", "backblaze_b2"]).await;
    sandbox.fanout_ok(&["policy", "add", "Archive", "--to", "scaleway,local"]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects/Private", "--to", "aws_s3"]).await;
    sandbox.fanout_ok(&["policy", "disable", "Projects/Private"]).await;
    (tree, sandbox)
}

/// Multiset of content hashes per destination, as Drive says they should be.
fn expected_contents(sandbox: &Sandbox) -> BTreeMap<String, Vec<String>> {
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in sandbox.dests.keys() {
        expected.insert(key.clone(), Vec::new());
    }
    let truth = drive_truth(&sandbox.drive);
    assert!(truth.len() >= 200, "the fixture must hold at least 200 files, has {}", truth.len());
    for (path, bytes) in truth {
        for dest in expected_destinations(&path) {
            expected.get_mut(dest).unwrap().push(md5_hex(&bytes));
        }
    }
    for v in expected.values_mut() {
        v.sort();
    }
    expected
}

fn actual_contents(sandbox: &Sandbox, key: &str) -> Vec<String> {
    let mut v: Vec<String> = sandbox.objects(key).values().map(|b| md5_hex(b)).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_destination_holds_exactly_what_its_policies_say_byte_for_byte() {
    let (_tree, sandbox) = rich_sandbox().await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    assert_eq!(summary["all_success"], true);

    let expected = expected_contents(&sandbox);
    for (key, want) in &expected {
        let got = actual_contents(&sandbox, key);
        assert_eq!(got.len(), want.len(), "{key}: object count");
        assert_eq!(&got, want, "{key}: contents differ from Drive");
    }

    // Layout: <bucket>/google-drive/<path>, names sanitised, duplicates kept apart.
    let aws = sandbox.objects("aws_s3");
    assert!(aws.contains_key("google-drive/Projects/Reports/2024/report-000.txt"));
    assert!(
        aws.contains_key("google-drive/Projects/Roadmap.docx"),
        "the Google Doc or the real docx keeps the plain name"
    );
    assert_eq!(
        aws.keys().filter(|k| k.starts_with("google-drive/Projects/Roadmap")).count(),
        2,
        "a Doc beside a real .docx: no overwrite"
    );
    assert_eq!(
        aws.keys().filter(|k| k.starts_with("google-drive/Projects/a ") || *k == "google-drive/Projects/a.txt").count(),
        3
    );
    assert!(aws.contains_key("google-drive/Projects/a_b"));
    assert!(aws.contains_key("google-drive/Projects/__"));
    assert!(aws.keys().all(|k| !k.split('/').any(|c| c == ".." || c == "." || c.is_empty())));
    assert!(aws.keys().any(|k| k.ends_with("Budget.xlsx")) && aws.keys().any(|k| k.ends_with("Pitch.pptx")));
    assert!(sandbox.objects("local").keys().any(|k| k.ends_with("Archive/Diagram.svg")));
    assert!(
        !aws.keys().any(|k| k.contains("Private") || k.contains("Photos")),
        "Private is excluded, Photos goes to B2 only"
    );
    assert!(!aws.keys().any(|k| k.contains("Gone")));

    // Docs were exported, never fetched with alt=media.
    let requests = sandbox.drive.requests();
    assert!(requests.iter().any(|r| r.route == "files.export"));
    for r in requests.iter().filter(|r| r.route == "files.get_media") {
        let id = r.file_id.clone().unwrap();
        let state = sandbox.drive.state();
        assert!(!state.store.files[&id].is_workspace(), "alt=media on a Workspace file");
    }
    // Listing asked for only what it reads, in big batched pages.
    for r in requests.iter().filter(|r| r.route == "files.list") {
        assert_eq!(r.param("pageSize"), Some("1000"));
        assert!(r.param("fields").unwrap().contains("md5Checksum"));
    }

    // Every pair the ledger calls synced is on its server with the recorded hash.
    let page: Value = serde_json::from_str(&sandbox.fanout_ok(&["files", "--json", "--limit", "1000"]).await).unwrap();
    let mut checked = 0;
    for row in page["rows"].as_array().unwrap() {
        for pair in row["destinations"].as_array().unwrap() {
            assert_eq!(pair["status"], "synced", "{row:#}");
            let key = pair["destination"].as_str().unwrap();
            let remote = pair["remote_path"].as_str().unwrap();
            let root = sandbox.storage_root(key);
            let on_disk = match &sandbox.dests[key] {
                common::Dest::S3 { server, .. } => server.dir.join(remote),
                common::Dest::Local { .. } => std::path::PathBuf::from(remote),
                common::Dest::B2 { .. } | common::Dest::Moto { .. } => {
                    unreachable!("this sandbox has only rclone S3 servers and a folder")
                }
            };
            assert!(on_disk.starts_with(&root), "{remote}");
            let bytes = std::fs::read(&on_disk).unwrap_or_else(|e| panic!("{key} lacks {remote}: {e}"));
            assert_eq!(Some(md5_hex(&bytes).as_str()), pair["md5"].as_str(), "{remote}");
            checked += 1;
        }
    }
    assert!(checked > 300, "checked {checked} pairs");
    // The unsupported form and the dangling shortcut are skipped with reasons, not failed.
    assert!(summary["files_skipped"].as_u64().unwrap() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_destination_fails_only_its_own_pairs_and_the_next_run_retries_only_those() {
    let (_tree, mut sandbox) = rich_sandbox().await;
    sandbox.s3("backblaze_b2").stop();

    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(3), "a run with failures exits non-zero: {summary:#}");
    assert_eq!(summary["all_success"], false);
    assert_eq!(summary["any_success"], true);
    let b2 = &summary["destinations"]["backblaze_b2"];
    assert_eq!(b2["synced"], 0);
    assert!(b2["failed"].as_u64().unwrap() > 100);
    for other in ["aws_s3", "scaleway", "local"] {
        assert_eq!(summary["destinations"][other]["success"], true, "{other}: {summary:#}");
    }
    let expected = expected_contents(&sandbox);
    assert_eq!(actual_contents(&sandbox, "aws_s3"), expected["aws_s3"]);

    // The failure is recorded per pair, with an error that says what to do.
    let failed: Value =
        serde_json::from_str(&sandbox.fanout_ok(&["files", "--json", "--status", "failed", "--limit", "1000"]).await)
            .unwrap();
    assert_eq!(failed["total"].as_u64(), b2["failed"].as_u64());
    for row in failed["rows"].as_array().unwrap() {
        for pair in row["destinations"].as_array().unwrap() {
            if pair["destination"] == "backblaze_b2" {
                assert_eq!(pair["status"], "failed");
                assert!(pair["error_message"].as_str().unwrap().contains("cannot reach"), "{pair:#}");
            } else {
                assert_eq!(pair["status"], "synced");
            }
        }
    }

    // Back up: only B2's pairs move. Nothing at the other servers is rewritten.
    sandbox.s3("backblaze_b2").resume().unwrap();
    let marks: Vec<_> = ["aws_s3", "scaleway", "local"].iter().map(|k| sandbox.write_marks(k)).collect();
    sandbox.drive.clear_requests();
    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}");
    assert_eq!(summary["destinations"]["aws_s3"]["transferred"], 0);
    assert_eq!(summary["destinations"]["backblaze_b2"]["transferred"], b2["failed"]);
    let after: Vec<_> = ["aws_s3", "scaleway", "local"].iter().map(|k| sandbox.write_marks(k)).collect();
    assert_eq!(marks, after, "objects at healthy destinations were rewritten");
    assert_eq!(actual_contents(&sandbox, "backblaze_b2"), expected["backblaze_b2"]);
    // Files already everywhere were not downloaded again.
    let downloads =
        sandbox.drive.requests().iter().filter(|r| r.route == "files.get_media" || r.route == "files.export").count()
            as u64;
    assert_eq!(downloads, summary["files_planned"].as_u64().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_with_no_drive_changes_downloads_and_transfers_nothing() {
    let (_tree, sandbox) = rich_sandbox().await;
    let (code, _, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0));
    let marks: Vec<_> = sandbox.dests.keys().map(|k| sandbox.write_marks(k)).collect();
    sandbox.drive.clear_requests();

    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0));
    assert_eq!(summary["files_planned"], 0);
    let requests = sandbox.drive.requests();
    assert!(requests.iter().all(|r| r.route != "files.get_media" && r.route != "files.export"), "a download happened");
    assert_eq!(sandbox.drive.bytes_served(), 0);
    let after: Vec<_> = sandbox.dests.keys().map(|k| sandbox.write_marks(k)).collect();
    assert_eq!(marks, after, "an object was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_is_the_only_thing_copied_again() {
    let (_tree, sandbox) = rich_sandbox().await;
    assert_eq!(sandbox.sync_json().await.0, Some(0));
    let id = sandbox.drive.id_of("Projects/plan-003.txt").unwrap();
    sandbox.drive.set_content(&id, "edited in Drive".as_bytes().to_vec());
    sandbox.drive.clear_requests();
    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0));
    assert_eq!(summary["files_planned"], 1);
    assert_eq!(summary["destinations"]["aws_s3"]["transferred"], 1);
    assert_eq!(summary["destinations"]["backblaze_b2"]["transferred"], 1);
    for key in ["aws_s3", "backblaze_b2"] {
        assert_eq!(sandbox.objects(key)["google-drive/Projects/plan-003.txt"], b"edited in Drive");
    }
    assert_eq!(
        sandbox.drive.requests().iter().filter(|r| r.route == "files.get_media").count(),
        1,
        "downloaded once for two destinations"
    );
}
