//! Later syncs read only the Drive changes feed: every kind of change is picked up without
//! listing the policy folders again, new content is uploaded, and nothing is ever deleted at a
//! destination.

mod common;

use bytes::Bytes;
use common::{write_files, Sandbox};
use serde_json::Value;

async fn synced_sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "doc", 5);
    write_files(tree.path(), "Projects/Team", "notes", 3);
    write_files(tree.path(), "Projects/Team/Deep", "deep", 2);
    write_files(tree.path(), "Elsewhere", "other", 2);
    write_files(tree.path(), "Elsewhere/Incoming", "incoming", 2);
    let sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}");
    (tree, sandbox)
}

/// Syncs, and checks the policy folder was not listed again (only the changes feed was read).
async fn incremental_sync(sandbox: &Sandbox) -> Value {
    let projects = sandbox.drive.id_of("Projects").unwrap();
    sandbox.drive.clear_requests();
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    let requests = sandbox.drive.requests();
    assert!(requests.iter().any(|r| r.route == "changes.list"), "the changes feed was not read");
    let relisted = requests
        .iter()
        .filter(|r| r.route == "files.list")
        .any(|r| r.param("q").unwrap_or_default().contains(&format!("'{projects}' in parents")));
    assert!(!relisted, "the policy folder was listed again");
    summary
}

fn object(sandbox: &Sandbox, key: &str, path: &str) -> Option<Vec<u8>> {
    sandbox.objects(key).get(&format!("google-drive/{path}")).cloned()
}

async fn file_rows(sandbox: &Sandbox) -> Vec<Value> {
    let page: Value = serde_json::from_str(&sandbox.fanout_ok(&["files", "--json", "--limit", "1000"]).await).unwrap();
    page["rows"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Value], drive_path: &str) -> &'a Value {
    rows.iter().find(|r| r["drive_path"] == drive_path).unwrap_or_else(|| panic!("no row for {drive_path}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_modified_and_renamed_files_arrive_through_the_changes_feed() {
    let (_tree, sandbox) = synced_sandbox().await;
    let projects = sandbox.drive.id_of("Projects").unwrap();
    let doc1 = sandbox.drive.id_of("Projects/doc-001.txt").unwrap();
    let doc2 = sandbox.drive.id_of("Projects/doc-002.txt").unwrap();
    let outside = sandbox.drive.id_of("Elsewhere/other-000.txt").unwrap();
    let old_doc2 = object(&sandbox, "aws_s3", "Projects/doc-002.txt").unwrap();
    sandbox.drive.mutate(|d| {
        d.add_file(&projects, "new.txt", Bytes::from_static(b"brand new"));
        d.set_content(&doc1, Bytes::from_static(b"edited"));
        d.rename(&doc2, "doc-two.txt");
        d.set_content(&outside, Bytes::from_static(b"outside every policy"));
    });

    let summary = incremental_sync(&sandbox).await;
    assert_eq!(summary["files_planned"], 3, "{summary:#}");
    for key in ["aws_s3", "local"] {
        assert_eq!(object(&sandbox, key, "Projects/new.txt").as_deref(), Some(&b"brand new"[..]));
        assert_eq!(object(&sandbox, key, "Projects/doc-001.txt").as_deref(), Some(&b"edited"[..]));
        assert_eq!(object(&sandbox, key, "Projects/doc-two.txt").as_ref(), Some(&old_doc2));
        assert_eq!(
            object(&sandbox, key, "Projects/doc-002.txt").as_ref(),
            Some(&old_doc2),
            "the old name's copy stays"
        );
        assert!(!sandbox.objects(key).keys().any(|k| k.contains("Elsewhere")));
    }
    // Nothing changed since: the next sync reads one page of changes and moves nothing.
    let summary = incremental_sync(&sandbox).await;
    assert_eq!(summary["files_planned"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_and_moved_folder_has_its_files_copied_under_the_new_path_and_old_copies_stay() {
    let (_tree, sandbox) = synced_sandbox().await;
    let team = sandbox.drive.id_of("Projects/Team").unwrap();
    let deep = sandbox.drive.id_of("Projects/Team/Deep").unwrap();
    let projects = sandbox.drive.id_of("Projects").unwrap();
    sandbox.drive.mutate(|d| {
        d.rename(&team, "Crew");
        d.move_to(&deep, &projects);
    });
    let summary = incremental_sync(&sandbox).await;
    assert_eq!(summary["files_planned"], 5, "3 files under the renamed folder, 2 under the moved one: {summary:#}");
    let truth: std::collections::BTreeMap<String, Vec<u8>> = common::drive_truth(&sandbox.drive).into_iter().collect();
    let notes = truth.get("Projects/Crew/notes-000.txt").expect("in Drive").clone();
    let deep = truth.get("Projects/Deep/deep-001.txt").expect("in Drive").clone();
    for key in ["aws_s3", "local"] {
        assert_eq!(object(&sandbox, key, "Projects/Crew/notes-000.txt"), Some(notes.clone()), "{key}");
        assert_eq!(object(&sandbox, key, "Projects/Deep/deep-001.txt"), Some(deep.clone()), "{key}");
        let earlier = "earlier copies stay addressable";
        assert_eq!(object(&sandbox, key, "Projects/Team/notes-000.txt"), Some(notes.clone()), "{key}: {earlier}");
        assert_eq!(object(&sandbox, key, "Projects/Team/Deep/deep-001.txt"), Some(deep.clone()), "{key}: {earlier}");
    }
    let rows = file_rows(&sandbox).await;
    let moved = row(&rows, "Projects/Deep/deep-000.txt");
    for pair in moved["destinations"].as_array().unwrap() {
        assert!(pair["remote_path"].as_str().unwrap().ends_with("google-drive/Projects/Deep/deep-000.txt"), "{pair:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trashed_deleted_unshared_and_moved_out_files_are_marked_but_stay_at_destinations() {
    let (_tree, sandbox) = synced_sandbox().await;
    let id = |p: &str| sandbox.drive.id_of(p).unwrap();
    let (trashed, deleted, unshared, moved_out) = (
        id("Projects/doc-000.txt"),
        id("Projects/doc-001.txt"),
        id("Projects/doc-002.txt"),
        id("Projects/doc-003.txt"),
    );
    let elsewhere = id("Elsewhere");
    let before = sandbox.objects("aws_s3");
    sandbox.drive.mutate(|d| {
        d.set_trashed(&trashed, true);
        d.delete(&deleted);
        d.lose_access(&unshared);
        d.move_to(&moved_out, &elsewhere);
    });
    let summary = incremental_sync(&sandbox).await;
    assert_eq!(summary["files_planned"], 0);
    assert_eq!(sandbox.objects("aws_s3"), before, "a backup never deletes");

    let rows = file_rows(&sandbox).await;
    assert_eq!(row(&rows, "Projects/doc-000.txt")["trashed"], true);
    for path in ["Projects/doc-001.txt", "Projects/doc-002.txt", "Projects/doc-003.txt"] {
        let r = row(&rows, path);
        assert_eq!(r["gone"], true, "{r:#}");
        assert!(
            r["destinations"].as_array().unwrap().iter().all(|p| p["status"] == "synced"),
            "its copies are still recorded"
        );
    }

    // Out of the trash, and edited: it is back in scope and its new content is copied.
    sandbox.drive.mutate(|d| {
        d.set_trashed(&trashed, false);
        d.set_content(&trashed, Bytes::from_static(b"restored and edited"));
    });
    let summary = incremental_sync(&sandbox).await;
    assert_eq!(summary["files_planned"], 1);
    assert_eq!(object(&sandbox, "aws_s3", "Projects/doc-000.txt").as_deref(), Some(&b"restored and edited"[..]));
    assert_eq!(row(&file_rows(&sandbox).await, "Projects/doc-000.txt")["trashed"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_moved_into_a_policy_folder_brings_its_files() {
    let (_tree, sandbox) = synced_sandbox().await;
    let incoming = sandbox.drive.id_of("Elsewhere/Incoming").unwrap();
    let projects = sandbox.drive.id_of("Projects").unwrap();
    sandbox.drive.mutate(|d| d.move_to(&incoming, &projects));
    let summary = incremental_sync(&sandbox).await;
    assert_eq!(summary["files_planned"], 2, "{summary:#}");
    let truth: std::collections::BTreeMap<String, Vec<u8>> = common::drive_truth(&sandbox.drive).into_iter().collect();
    let moved_in = truth.get("Projects/Incoming/incoming-001.txt").expect("in Drive").clone();
    for key in ["aws_s3", "local"] {
        assert_eq!(object(&sandbox, key, "Projects/Incoming/incoming-001.txt"), Some(moved_in.clone()), "{key}");
    }
}
