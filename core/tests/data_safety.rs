//! Ways the backup could say "synced" while being wrong, each checked at the destination's
//! own storage (the local folder's files): same-named roots, moved policy folders, a policy on
//! My Drive itself, and a plan that must not hide changes from the next sync.
//!
//! Fixtures (see `support`): a fake Drive and a local-folder destination with a policy on
//! `Projects`.

mod support;

use bytes::Bytes;
use fanout_core::sync::{SyncOptions, SyncSummary};
use support::setup;

async fn sync_ok(engine: &fanout_core::Engine) -> SyncSummary {
    let summary = engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    summary
}

/// Every file under `dir`, as (path relative to it, bytes).
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_drive_named_like_a_my_drive_folder_never_shares_its_keys() {
    let s = setup(&[("Team/Designs/logo.svg", b"MY DRIVE".to_vec())], None, "").await;
    let shared = s.drive.mutate(|store| {
        let team = store.add_shared_drive("Team");
        let designs = store.add_folder(&team, "Designs");
        store.add_file(&designs, "logo.svg", Bytes::from_static(b"SHARED DRIVE"));
        designs
    });
    let mine = s.drive.id_of("Team/Designs").unwrap();
    s.engine.add_policy(&mine, &["local".into()], true).await.unwrap();
    s.engine.add_policy(&shared, &["local".into()], true).await.unwrap();

    sync_ok(&s.engine).await;
    let files = tree(&s.backup.join("google-drive"));
    let bytes: Vec<&[u8]> = files.iter().map(|(_, b)| b.as_slice()).collect();
    assert_eq!(files.len(), 2, "two files, two objects: {files:?}");
    assert!(bytes.contains(&&b"MY DRIVE"[..]) && bytes.contains(&&b"SHARED DRIVE"[..]), "{files:?}");
    assert_eq!(s.backed_up("Team/Designs/logo.svg").as_deref(), Some(&b"MY DRIVE"[..]), "My Drive keeps its path");

    // Stable: the next run (a full listing) copies nothing and moves nothing.
    s.engine.db().set_state("listed_roots", "[]").await.unwrap();
    let again = sync_ok(&s.engine).await;
    assert_eq!(again.destinations["local"].transferred, 0);
    assert_eq!(tree(&s.backup.join("google-drive")), files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_folder_moved_and_renamed_in_drive_lands_at_its_new_path() {
    let s = setup(&[("Work/Reports/a.txt", b"report".to_vec()), ("Archive/old.txt", b"old".to_vec())], None, "").await;
    let reports = s.drive.id_of("Work/Reports").unwrap();
    let archive = s.drive.id_of("Archive").unwrap();
    s.engine.add_policy("Work/Reports", &["local".into()], true).await.unwrap();
    sync_ok(&s.engine).await;
    assert_eq!(s.backed_up("Work/Reports/a.txt").as_deref(), Some(&b"report"[..]));

    // Moved into a folder the database has never seen.
    s.drive.mutate(|store| store.move_to(&reports, &archive));
    sync_ok(&s.engine).await;
    assert_eq!(s.backed_up("Archive/Reports/a.txt").as_deref(), Some(&b"report"[..]));
    assert!(s.backed_up("Reports/a.txt").is_none(), "never cut at the first unknown parent");
    let policy = s.engine.find_policy(&reports).await.unwrap();
    assert_eq!(policy.folder_path, "Archive/Reports");

    // Its new parent renamed and moved, then the policy folder renamed.
    let attic = s.drive.mutate(|store| store.add_folder(store.id_of("").as_deref().unwrap(), "Attic"));
    s.drive.mutate(|store| {
        store.rename(&archive, "Boxes");
        store.move_to(&archive, &attic);
        store.rename(&reports, "Reports 2025");
    });
    sync_ok(&s.engine).await;
    assert_eq!(s.backed_up("Attic/Boxes/Reports 2025/a.txt").as_deref(), Some(&b"report"[..]));
    assert_eq!(s.engine.find_policy(&reports).await.unwrap().folder_path, "Attic/Boxes/Reports 2025");

    // A full listing computes the same paths: nothing is copied a third time.
    s.engine.db().set_state("listed_roots", "[]").await.unwrap();
    let full = sync_ok(&s.engine).await;
    assert_eq!(full.destinations["local"].transferred, 0, "{full:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_on_my_drive_itself_backs_up_my_drive() {
    let s = setup(&[("top.txt", b"top".to_vec()), ("Notes/n.txt", b"note".to_vec())], None, "").await;
    let policy = s.engine.add_policy("root", &["local".into()], true).await.unwrap();
    assert_eq!(policy.folder_path, "My Drive");
    let summary = sync_ok(&s.engine).await;
    assert_eq!(summary.destinations["local"].synced, 2, "{summary:?}");
    assert_eq!(s.backed_up("top.txt").as_deref(), Some(&b"top"[..]));
    assert_eq!(s.backed_up("Notes/n.txt").as_deref(), Some(&b"note"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_never_hides_changes_from_the_next_sync() {
    let s = setup(&[("Projects/a.txt", b"first".to_vec())], None, "").await;
    sync_ok(&s.engine).await;
    let a = s.drive.id_of("Projects/a.txt").unwrap();
    let projects = s.drive.id_of("Projects").unwrap();
    s.drive.mutate(|store| {
        store.set_content(&a, Bytes::from_static(b"edited"));
        store.add_file(&projects, "new.txt", Bytes::from_static(b"brand new"));
    });

    let plan = s.engine.plan().await.unwrap();
    let mut planned: Vec<&str> = plan.files.iter().map(|f| f.drive_path.as_str()).collect();
    planned.sort();
    assert_eq!(planned, ["Projects/a.txt", "Projects/new.txt"]);

    let summary = sync_ok(&s.engine).await;
    assert_eq!(summary.destinations["local"].transferred, 2, "{summary:?}");
    assert_eq!(s.backed_up("Projects/a.txt").as_deref(), Some(&b"edited"[..]));
    assert_eq!(s.backed_up("Projects/new.txt").as_deref(), Some(&b"brand new"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executing_a_printed_plan_copies_exactly_the_pairs_it_lists() {
    let s = setup(&[("Projects/a.txt", b"a".to_vec()), ("Projects/b.txt", b"b".to_vec())], None, "").await;
    let printed = serde_json::to_string(&s.engine.plan().await.unwrap()).unwrap();
    let plan: fanout_core::sync::SyncPlan = serde_json::from_str(&printed).unwrap();
    let mut listed: Vec<(String, Vec<String>)> =
        plan.files.iter().map(|f| (f.drive_path.clone(), f.destinations.clone())).collect();
    listed.sort();
    assert_eq!(
        listed,
        [("Projects/a.txt".into(), vec!["local".into()]), ("Projects/b.txt".into(), vec!["local".into()])]
    );

    // A file added after the plan was printed is not part of it.
    let projects = s.drive.id_of("Projects").unwrap();
    s.drive.mutate(|store| store.add_file(&projects, "later.txt", Bytes::from_static(b"later")));
    let summary = s.engine.execute(plan, SyncOptions::default()).await.unwrap();
    assert_eq!(summary.destinations["local"].transferred, 2, "{summary:?}");
    assert_eq!(
        tree(&s.backup.join("google-drive")),
        [("Projects/a.txt".to_string(), b"a".to_vec()), ("Projects/b.txt".to_string(), b"b".to_vec())]
    );

    // The next sync plans again, and brings the new file.
    let next = sync_ok(&s.engine).await;
    assert_eq!(next.destinations["local"].transferred, 1);
    assert_eq!(s.backed_up("Projects/later.txt").as_deref(), Some(&b"later"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_interrupted_run_only_the_partial_files_fanout_made_are_removed() {
    let name = "clip.mp4.0badf00d.partial";
    let s = setup(&[(&format!("Projects/{name}"), b"a Drive file".to_vec())], None, "").await;
    sync_ok(&s.engine).await;
    let foreign = s.backup.join("another-program.0badf00d.partial");
    std::fs::write(&foreign, "not Fanout's").unwrap();

    // A partial copy Fanout itself was writing when it was killed: recorded before the upload.
    let ours = s.backup.join("google-drive/Projects/big.bin.1234abcd.partial");
    std::fs::write(&ours, "half a file").unwrap();
    let root = s.backup.display().to_string();
    s.engine.db().record_upload_intent("local", &root, &["google-drive/Projects/big.bin".to_string()]).await.unwrap();
    s.engine.db().start_run().await.unwrap(); // a run left "running": the process died

    sync_ok(&s.engine).await;
    assert!(!ours.exists(), "Fanout's own leftover is removed");
    assert_eq!(std::fs::read(&foreign).unwrap(), b"not Fanout's");
    assert_eq!(s.backed_up(&format!("Projects/{name}")).as_deref(), Some(&b"a Drive file"[..]));
}
