//! Drive behaviours the engine must get right beyond faults, named after the scenarios of the
//! Drive reference (section 6.5): the OR'd-parents bug, fields honesty, hostile and duplicate
//! names, Workspace exports, and the changes feed's ordering, paging and replay.

mod support;

use std::collections::BTreeSet;

use fanout_core::db::{FileQuery, SyncStatus};
use fanout_core::drive::FILE_FIELDS;
use fanout_core::sync::SyncOptions;
use fanout_testkit::fake_google::{Fault, FaultAction};
use support::setup;

/// The copies at a local destination (Fanout's own `.fanout/` area, its index, aside).
fn backup_files(root: &std::path::Path) -> BTreeSet<String> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out.retain(|p| !p.starts_with(".fanout/"));
    out
}

async fn sync_ok(engine: &fanout_core::Engine) -> fanout_core::sync::SyncSummary {
    let summary = engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    summary
}

/// Sixty folders of one file each: more than one listing batch of 50 parents.
fn many_folders() -> Vec<(String, Vec<u8>)> {
    (0..60).map(|i| (format!("Projects/d{i:02}/f.txt"), format!("in folder {i}").into_bytes())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_5_folders_missed_by_the_or_parents_bug_are_listed_again_alone() {
    for keep_parents in [0, 7] {
        let files = many_folders();
        let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
        let s = setup(&refs, None, "").await;
        s.drive.inject(Fault {
            route: Some("files.list".into()),
            file_id: None,
            times: None,
            action: FaultAction::FastListOrBug { keep_parents },
        });

        sync_ok(&s.engine).await;

        for (path, bytes) in &files {
            let rel = path.as_str();
            assert_eq!(s.backed_up(rel).as_ref(), Some(bytes), "{rel} missing with keep_parents={keep_parents}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_6_every_field_the_engine_reads_is_asked_for() {
    let s = setup(&[("Projects/a.txt", b"a".to_vec())], None, "").await;
    sync_ok(&s.engine).await;
    let id = s.drive.id_of("Projects/a.txt").unwrap();
    s.drive.set_content(&id, &b"changed"[..]);
    sync_ok(&s.engine).await;

    let needed = ["id", "name", "mimeType", "parents", "size", "md5Checksum", "version", "trashed", "shortcutDetails"];
    for field in needed {
        assert!(FILE_FIELDS.split(',').any(|f| f == field), "FILE_FIELDS lacks {field}");
    }
    let metadata_routes = ["files.list", "files.get", "changes.list"];
    let requests: Vec<_> =
        s.drive.requests().into_iter().filter(|r| metadata_routes.contains(&r.route.as_str())).collect();
    assert!(requests.iter().any(|r| r.route == "changes.list"), "the second sync reads the changes feed");
    for r in &requests {
        let fields = r.param("fields").unwrap_or_else(|| panic!("{} without fields", r.route));
        for field in needed {
            assert!(fields.contains(field), "{} asked for `{fields}`, which lacks {field}", r.route);
        }
    }
    // And the fake is honest: it sends only what was asked for.
    let (_, token, _) = s.drive.oauth_urls();
    let base = token.trim_end_matches("/token").to_string();
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/drive/v3/files/{id}"))
        .query(&[("fields", "id")])
        .bearer_auth(fanout_testkit::fake_google::DEFAULT_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!({ "id": id }));
}

const NAMES_MANIFEST: &str = r#"
items:
  - { parent: Projects, name: a.txt, content: "first a" }
  - { parent: Projects, name: a.txt, content: "second a" }
  - { parent: Projects, name: a.txt, content: "third a" }
  - { parent: Projects, name: Report.pdf, content: "upper" }
  - { parent: Projects, name: report.pdf, content: "lower" }
  - { parent: Projects, name: "a/b", content: "slash" }
  - { parent: Projects, name: "..", content: "dot dot" }
  - { parent: Projects, name: ".", content: "dot" }
  - { parent: Projects, name: "con", content: "reserved on Windows" }
  - { parent: Projects, name: "x.", content: "trailing dot" }
  - { parent: Projects, name: "\u00e9t\u00e9.txt", content: "nfc" }
  - { parent: Projects, name: "e\u0301te\u0301.txt", content: "nfd" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_7_duplicate_and_hostile_names_get_distinct_safe_stable_names() {
    let s = setup(&[], Some(NAMES_MANIFEST), "").await;

    sync_ok(&s.engine).await;

    let stored = backup_files(&s.backup);
    assert_eq!(stored.len(), 12, "every item kept apart: {stored:#?}");
    for name in &stored {
        let rel = name.strip_prefix("google-drive/Projects/").unwrap_or_else(|| panic!("{name} escaped its folder"));
        assert!(!rel.contains('/') && rel != "." && rel != "..", "{name}");
    }
    let mut contents: Vec<String> =
        stored.iter().map(|n| String::from_utf8(std::fs::read(s.backup.join(n)).unwrap()).unwrap()).collect();
    contents.sort();
    let mut expected =
        ["first a", "second a", "third a", "upper", "lower", "slash", "dot dot", "dot", "reserved on Windows"].to_vec();
    expected.extend(["trailing dot", "nfc", "nfd"]);
    expected.sort();
    assert_eq!(contents, expected);

    // A second full look at Drive renames nothing and copies nothing.
    let before = s.engine.files(&FileQuery { limit: 100, ..Default::default() }).await.unwrap().rows;
    s.engine.db().set_state("changes_token", "").await.unwrap();
    let summary = sync_ok(&s.engine).await;
    let after = s.engine.files(&FileQuery { limit: 100, ..Default::default() }).await.unwrap().rows;
    let paths = |rows: &[fanout_core::db::FileRow]| -> Vec<Option<String>> {
        rows.iter().map(|r| r.destinations[0].remote_path.clone()).collect()
    };
    assert_eq!(paths(&before), paths(&after));
    assert_eq!(summary.destinations["local"].transferred, 0);
    assert_eq!(backup_files(&s.backup), stored);
}

const WORKSPACE_MANIFEST: &str = r#"
items:
  - { parent: Projects, name: Report, kind: document, content: "the doc" }
  - { parent: Projects, name: Report.docx, content: "a real docx beside it" }
  - { parent: Projects, name: Budget, kind: spreadsheet, content: "numbers" }
  - { parent: Projects, name: Pitch, kind: presentation, content: "slides" }
  - { parent: Projects, name: Diagram, kind: drawing, content: "boxes" }
  - { parent: Projects, name: Macros, kind: script, content: "function f() {}" }
  - { parent: Projects, name: Survey, kind: form }
  - { parent: Projects, name: Intranet, kind: site }
  - { parent: Projects, name: Places, kind: map }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_8_workspace_files_are_exported_never_downloaded_and_unexportable_ones_are_skipped() {
    let s = setup(&[], Some(WORKSPACE_MANIFEST), "").await;

    let summary = sync_ok(&s.engine).await;

    let stored = backup_files(&s.backup);
    for name in ["Budget.xlsx", "Pitch.pptx", "Diagram.svg", "Macros.json"] {
        assert!(stored.contains(&format!("google-drive/Projects/{name}")), "{name} not in {stored:#?}");
    }
    let docx: Vec<&String> = stored.iter().filter(|n| n.contains("Report")).collect();
    assert_eq!(docx.len(), 2, "the Doc and the real .docx both kept: {docx:?}");
    assert_eq!(s.backed_up("Projects/Report.docx").as_deref(), Some(&b"a real docx beside it"[..]));
    assert_eq!(summary.files_skipped, 3, "form, site and map have no export format");
    for name in ["Report", "Budget", "Pitch", "Diagram", "Macros", "Survey", "Intranet", "Places"] {
        let path = format!("Projects/{name}");
        assert!(s.requests_for(&path, "files.get_media").is_empty(), "alt=media used on Workspace file {name}");
    }
    for name in ["Survey", "Intranet", "Places"] {
        assert!(s.requests_for(&format!("Projects/{name}"), "files.export").is_empty(), "{name} was exported");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_19_the_changes_feed_is_read_page_by_page_in_order_and_replaying_it_is_harmless() {
    let files: Vec<(String, Vec<u8>)> =
        (0..8).map(|i| (format!("Projects/f{i}.txt"), vec![b'a' + i as u8; 10])).collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    let s = setup(&refs, None, "").await;
    s.drive.clear_requests(); // resolving the policy's folder is not part of the sync
    sync_ok(&s.engine).await;
    let first = s.drive.requests();
    let token_at = first.iter().position(|r| r.route == "changes.getStartPageToken").expect("a start token");
    let list_at = first.iter().position(|r| r.route == "files.list").expect("a listing");
    assert!(token_at < list_at, "the start token is taken before the full listing");

    // Five changes, read three per page.
    let token_before = s.engine.db().get_state("changes_token").await.unwrap().unwrap();
    for i in 0..5 {
        let id = s.drive.id_of(&format!("Projects/f{i}.txt")).unwrap();
        s.drive.set_content(&id, format!("edit {i}").into_bytes());
    }
    s.drive.state().max_page_size = Some(3);
    s.drive.clear_requests();
    let summary = sync_ok(&s.engine).await;
    let pages: Vec<_> = s.drive.requests().into_iter().filter(|r| r.route == "changes.list").collect();
    assert!(pages.len() >= 2, "several pages: {}", pages.len());
    assert!(!s.drive.requests().iter().any(|r| r.route == "files.list"), "no full re-listing");
    assert_eq!(summary.destinations["local"].transferred, 5);
    for i in 0..5 {
        assert_eq!(s.backed_up(&format!("Projects/f{i}.txt")), Some(format!("edit {i}").into_bytes()));
    }

    // A crash before the new token was saved means the same changes arrive again: nothing
    // is copied twice and the ledger does not move.
    let ledger = s.engine.files(&FileQuery { limit: 100, ..Default::default() }).await.unwrap().rows;
    s.engine.db().set_state("changes_token", &token_before).await.unwrap();
    s.engine.db().set_state("clean_plan", "").await.unwrap();
    let replay = sync_ok(&s.engine).await;
    assert_eq!(replay.destinations["local"].transferred, 0);
    let again = s.engine.files(&FileQuery { limit: 100, ..Default::default() }).await.unwrap().rows;
    let statuses = |rows: &[fanout_core::db::FileRow]| -> Vec<(String, SyncStatus, Option<String>)> {
        rows.iter()
            .map(|r| (r.drive_path.clone(), r.destinations[0].status, r.destinations[0].remote_path.clone()))
            .collect()
    };
    assert_eq!(statuses(&ledger), statuses(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_12_a_shared_drive_folder_is_listed_backed_up_and_followed_with_the_right_flags() {
    let s = setup(&[("Projects/a.txt", b"alpha".to_vec())], None, "").await;
    let (team, designs) = s.drive.mutate(|store| {
        let team = store.add_shared_drive("Team");
        let designs = store.add_folder(&team, "Designs");
        store.add_file(&designs, "logo.svg", bytes::Bytes::from_static(b"<svg/>"));
        (team, designs)
    });

    let top = s.engine.drive_folders(None).await.unwrap();
    assert!(top.iter().any(|f| f.id == team && f.name == "Team" && f.shared_drive), "{top:?}");
    let inside = s.engine.drive_folders(Some(&team)).await.unwrap();
    assert_eq!(inside.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["Designs"]);
    let policy = s.engine.add_policy(&designs, &["local".into()], true).await.unwrap();
    assert_eq!(policy.folder_path, "Team/Designs");
    s.drive.clear_requests(); // the picker's browsing above searches all drives; a backup never
    sync_ok(&s.engine).await;

    assert_eq!(s.backed_up("Team/Designs/logo.svg").as_deref(), Some(&b"<svg/>"[..]));
    // Each drive is listed on its own (rclone's way): only `allDrives` can come back
    // incomplete, and a backup's listing must never be.
    let lists: Vec<_> = s.drive.requests().into_iter().filter(|r| r.route == "files.list").collect();
    assert!(lists.iter().any(|r| r.param("corpora") == Some("drive")), "the shared drive was listed");
    for r in &lists {
        assert_eq!(r.param("supportsAllDrives"), Some("true"));
        match r.param("corpora") {
            Some("drive") => {
                assert_eq!(r.param("driveId"), Some(team.as_str()));
                assert_eq!(r.param("includeItemsFromAllDrives"), Some("true"));
            }
            Some("user") => assert_eq!(r.param("driveId"), None),
            other => panic!("a backup listing asked corpora {other:?}"),
        }
    }

    // A file added in the shared drive arrives through the changes feed.
    s.drive.clear_requests();
    s.drive.mutate(|store| store.add_file(&designs, "icon.svg", bytes::Bytes::from_static(b"<svg id='i'/>")));
    sync_ok(&s.engine).await;
    assert_eq!(s.backed_up("Team/Designs/icon.svg").as_deref(), Some(&b"<svg id='i'/>"[..]));
    assert!(!s.drive.requests().iter().any(|r| r.route == "files.list"), "no full re-listing");
    let feed = s.drive.requests().into_iter().find(|r| r.route == "changes.list").unwrap();
    assert_eq!(feed.param("includeItemsFromAllDrives"), Some("true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_4_short_empty_repeated_and_refused_pages_still_give_the_whole_tree() {
    let files: Vec<(String, Vec<u8>)> =
        (0..30).map(|i| (format!("Projects/d{}/f{i:02}.txt", i % 3), format!("file {i}").into_bytes())).collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    let s = setup(&refs, None, "").await;
    s.drive.state().max_page_size = Some(7);
    let list = |action| Fault { route: Some("files.list".into()), file_id: None, times: Some(1), action };
    // Requests in order: Projects' folders (whole); the files' first page comes back empty with
    // a token; the page after repeats an item of the page before; the next token is refused.
    for action in [
        FaultAction::Latency { ms: 0 },
        FaultAction::EmptyPageWithToken,
        FaultAction::Latency { ms: 0 },
        FaultAction::DuplicateAcrossPages,
        FaultAction::RejectPageToken,
    ] {
        s.drive.inject(list(action));
    }
    s.drive.clear_requests();

    sync_ok(&s.engine).await;

    for (path, bytes) in &files {
        assert_eq!(s.backed_up(path).as_ref(), Some(bytes), "{path}");
    }
    let rows = s.engine.files(&FileQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(rows.total, 30, "each file once");
    let statuses: Vec<u16> = s.drive.requests().iter().filter(|r| r.route == "files.list").map(|r| r.status).collect();
    assert!(statuses.contains(&400), "a page token was refused: {statuses:?}");
}
