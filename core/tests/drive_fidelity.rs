//! The engine against Drive behaviour the fake now has because Google documents it: changes to
//! shared drives themselves, `incompleteSearch` on `allDrives`, rate limits in every documented
//! shape, prefix-only `name contains`, and a folder untrashed with its children.
//!
//! Fixtures (see `support`): a fake Drive and a local-folder destination with a policy on
//! `Projects`; retries wait milliseconds.

mod support;

use bytes::Bytes;
use fanout_core::sync::{SyncOptions, SyncSummary};
use fanout_testkit::fake_google::{Fault, FaultAction, QuotaAnswer};
use support::setup;

async fn sync_ok(engine: &fanout_core::Engine) -> SyncSummary {
    let summary = engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_renaming_and_leaving_a_shared_drive_never_breaks_later_syncs() {
    let s = setup(&[("Projects/a.txt", b"a".to_vec())], None, "").await;
    let (team, designs) = s.drive.mutate(|store| {
        let team = store.add_shared_drive("Team");
        let designs = store.add_folder(&team, "Designs");
        store.add_file(&designs, "logo.svg", Bytes::from_static(b"<svg/>"));
        (team, designs)
    });
    s.engine.add_policy(&designs, &["local".into()], true).await.unwrap();
    sync_ok(&s.engine).await;
    assert_eq!(s.backed_up("Team/Designs/logo.svg").as_deref(), Some(&b"<svg/>"[..]));

    // Renamed: the feed has a `changeType: drive` entry (no fileId); paths follow the new name.
    s.drive.mutate(|store| store.rename_shared_drive(&team, "Studio"));
    sync_ok(&s.engine).await;
    assert_eq!(s.backed_up("Studio/Designs/logo.svg").as_deref(), Some(&b"<svg/>"[..]));
    assert_eq!(s.engine.find_policy(&designs).await.unwrap().folder_path, "Studio/Designs");
    let changes = s.drive.requests().into_iter().filter(|r| r.route == "changes.list").count();
    assert!(changes > 0, "the changes feed was read");

    // Another drive joined: the feed carries it and incremental syncs go on.
    s.drive.mutate(|store| store.add_shared_drive("Other"));
    let projects = s.drive.id_of("Projects").unwrap();
    s.drive.mutate(|store| store.add_file(&projects, "b.txt", Bytes::from_static(b"b")));
    sync_ok(&s.engine).await;
    assert_eq!(s.backed_up("Projects/b.txt").as_deref(), Some(&b"b"[..]));

    // Left: its files are gone from Drive for the user; their copies stay.
    s.drive.mutate(|store| store.leave_shared_drive(&team));
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_ne!(summary.status, "failed", "{:?}", summary.errors);
    assert_eq!(s.backed_up("Studio/Designs/logo.svg").as_deref(), Some(&b"<svg/>"[..]), "a backup keeps copies");
    let row = s.row("Studio/Designs/logo.svg").await;
    assert!(row.gone, "no longer in Drive: {row:?}");

    // And the feed keeps working afterwards.
    s.drive.mutate(|store| store.add_file(&projects, "c.txt", Bytes::from_static(b"c")));
    s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(s.backed_up("Projects/c.txt").as_deref(), Some(&b"c"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_all_drives_search_cannot_stop_a_backup() {
    let s = setup(&[("Projects/a.txt", b"a".to_vec()), ("Projects/Sub/b.txt", b"b".to_vec())], None, "").await;
    let designs = s.drive.mutate(|store| {
        let team = store.add_shared_drive("Team");
        let designs = store.add_folder(&team, "Designs");
        for i in 0..6 {
            store.add_file(&designs, &format!("f{i}.svg"), Bytes::from(format!("<svg id='{i}'/>")));
        }
        designs
    });
    s.engine.add_policy(&designs, &["local".into()], true).await.unwrap();
    s.drive.state().incomplete_all_drives = true;

    let summary = sync_ok(&s.engine).await;
    assert_eq!(summary.destinations["local"].synced, 8, "every file, none lost to a partial search");
    for i in 0..6 {
        assert!(s.backed_up(&format!("Team/Designs/f{i}.svg")).is_some(), "f{i}");
    }
    // The picker's search tolerates it: what Drive found is shown.
    let found = s.engine.search_folders("Sub").await.unwrap();
    assert!(found.iter().any(|f| f.name == "Sub"), "{found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_in_every_documented_shape_are_waited_out_and_bare_refusals_are_not() {
    let s = setup(&[("Projects/a.txt", b"alpha".to_vec())], None, "").await;
    let fault = |action| Fault { route: Some("files.get_media".into()), file_id: None, times: Some(1), action };
    s.drive.inject(fault(FaultAction::StatusWithoutErrors {
        code: 403,
        status: "RESOURCE_EXHAUSTED".into(),
        message: "Quota exceeded".into(),
    }));
    s.drive.inject(fault(FaultAction::Status {
        code: 429,
        reason: "rateLimitExceeded".into(),
        message: "Rate Limit Exceeded".into(),
        retry_after: Some(1),
    }));
    sync_ok(&s.engine).await;
    assert_eq!(s.backed_up("Projects/a.txt").as_deref(), Some(&b"alpha"[..]));
    let statuses: Vec<u16> = s.requests_for("Projects/a.txt", "files.get_media").iter().map(|r| r.status).collect();
    assert_eq!(statuses, [403, 429, 200]);

    // Over the per-user quota, answered as 403 (domain usageLimits) or 429 with Retry-After.
    for answer in [QuotaAnswer::Forbidden, QuotaAnswer::TooManyRequests { retry_after: 1 }] {
        let projects = s.drive.id_of("Projects").unwrap();
        s.drive.mutate(|store| store.add_file(&projects, "more.txt", Bytes::from(format!("{answer:?}"))));
        s.drive.set_quota(3, std::time::Duration::from_secs(1));
        s.drive.state().quota.as_mut().unwrap().answer = answer;
        sync_ok(&s.engine).await;
        s.drive.state().quota = None;
    }

    // A 403 with no errors[] and PERMISSION_DENIED is a refusal: the file fails, no retry loop.
    let projects = s.drive.id_of("Projects").unwrap();
    let id = s.drive.mutate(|store| store.add_file(&projects, "locked.txt", Bytes::from_static(b"locked")));
    s.drive.inject(Fault {
        route: Some("files.get_media".into()),
        file_id: Some(id),
        times: None,
        action: FaultAction::StatusWithoutErrors {
            code: 403,
            status: "PERMISSION_DENIED".into(),
            message: "No".into(),
        },
    });
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.destinations["local"].failed, 1, "{summary:?}");
    assert_eq!(s.requests_for("Projects/locked.txt", "files.get_media").len(), 1, "not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folder_search_finds_a_name_inside_a_word_from_what_was_listed() {
    let s = setup(&[("Projects/HelloWorld/x.txt", b"x".to_vec())], None, "").await;
    // Drive itself matches the start of a word only.
    assert!(s.engine.search_folders("World").await.unwrap().is_empty(), "before any listing");
    assert_eq!(s.engine.search_folders("Hello").await.unwrap().len(), 1);
    sync_ok(&s.engine).await;
    let found = s.engine.search_folders("World").await.unwrap();
    assert_eq!(found.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["HelloWorld"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_untrashed_brings_its_files_back_into_the_backup() {
    let s = setup(&[("Projects/Old/a.txt", b"a".to_vec()), ("Projects/Old/Deep/b.txt", b"b".to_vec())], None, "").await;
    sync_ok(&s.engine).await;
    let old = s.drive.id_of("Projects/Old").unwrap();
    s.drive.mutate(|store| store.set_trashed(&old, true));
    sync_ok(&s.engine).await;
    assert!(s.row("Projects/Old/Deep/b.txt").await.trashed);

    // Untrashed (Drive reports one change, for the folder), then a file inside is edited.
    s.drive.mutate(|store| store.set_trashed(&old, false));
    sync_ok(&s.engine).await;
    assert!(!s.row("Projects/Old/a.txt").await.trashed);
    assert!(!s.row("Projects/Old/Deep/b.txt").await.trashed, "a child stays in the trash");
    let b = s.drive.id_of("Projects/Old/Deep/b.txt").unwrap();
    s.drive.mutate(|store| store.set_content(&b, Bytes::from_static(b"b, edited")));
    let summary = sync_ok(&s.engine).await;
    assert_eq!(summary.destinations["local"].transferred, 1);
    assert_eq!(s.backed_up("Projects/Old/Deep/b.txt").as_deref(), Some(&b"b, edited"[..]));
}
