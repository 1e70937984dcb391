//! Every fault a real Drive throws, against the fake: named after the scenarios of the Drive
//! reference (section 6.5). The engine never records a pair synced that is not at its
//! destination byte for byte, and one file's trouble never stops the others.

mod support;

use fanout_core::db::SyncStatus;
use fanout_core::sync::SyncOptions;
use fanout_testkit::fake_google::{Fault, FaultAction};
use md5::{Digest, Md5};
use support::{setup, setup_with_google};

fn files(n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n).map(|i| (format!("Projects/f{i}.txt"), format!("file {i}\n").repeat(100).into_bytes())).collect()
}

fn refs(v: &[(String, Vec<u8>)]) -> Vec<(&str, Vec<u8>)> {
    v.iter().map(|(p, b)| (p.as_str(), b.clone())).collect()
}

fn status_fault(
    route: &str,
    file_id: Option<String>,
    times: Option<u32>,
    code: u16,
    reason: &str,
    retry_after: Option<u64>,
) -> Fault {
    Fault {
        route: Some(route.into()),
        file_id,
        times,
        action: FaultAction::Status { code, reason: reason.into(), message: format!("fake {reason}"), retry_after },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_13_rate_limits_and_server_errors_are_retried_with_growing_backoff() {
    let fixture = files(4);
    let s = setup(&refs(&fixture), None, "").await;
    let f0 = s.drive.id_of("Projects/f0.txt");
    let f1 = s.drive.id_of("Projects/f1.txt");
    s.drive.clear_requests();
    s.drive.inject(status_fault("files.list", None, Some(3), 403, "userRateLimitExceeded", None));
    s.drive.inject(status_fault("files.get_media", f0, Some(1), 429, "rateLimitExceeded", Some(1)));
    s.drive.inject(status_fault("files.get_media", f1, Some(1), 503, "backendError", None));

    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    for (path, bytes) in &fixture {
        assert_eq!(s.backed_up(path).as_ref(), Some(bytes));
    }

    let lists: Vec<_> = s.drive.requests().into_iter().filter(|r| r.route == "files.list").collect();
    assert_eq!(lists.iter().take(4).map(|r| r.status).collect::<Vec<_>>(), vec![403, 403, 403, 200]);
    let gaps: Vec<u64> = lists.windows(2).take(3).map(|w| w[1].at_ms - w[0].at_ms).collect();
    // Waits are base·2^n plus up to one base of jitter (base 20 ms here): 20+, 40+, 80+ ms.
    assert!(gaps[1] >= 40 && gaps[2] >= 80 && gaps[0] < gaps[2], "backoff must grow: {gaps:?}");

    let media = s.requests_for("Projects/f0.txt", "files.get_media");
    assert_eq!(media.iter().map(|r| r.status).collect::<Vec<_>>(), vec![429, 200]);
    assert!(media[1].at_ms - media[0].at_ms >= 1000, "Retry-After: 1 was not honoured");
    assert_eq!(s.requests_for("Projects/f1.txt", "files.get_media").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_14_non_retryable_403s_fail_only_their_file_at_once() {
    let fixture = files(5);
    let s = setup(&refs(&fixture), None, "").await;
    let reasons = [
        ("Projects/f0.txt", "downloadQuotaExceeded"),
        ("Projects/f1.txt", "insufficientPermissions"),
        ("Projects/f2.txt", "cannotDownloadAbusiveFile"),
    ];
    for (path, reason) in reasons {
        s.drive.inject(status_fault("files.get_media", s.drive.id_of(path), None, 403, reason, None));
    }
    let f3 = s.drive.id_of("Projects/f3.txt").unwrap();
    s.drive.mutate(|d| d.files.get_mut(&f3).unwrap().can_download = false);

    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.destinations["local"].failed, 4);
    assert_eq!(summary.destinations["local"].synced, 1);
    for (path, reason) in reasons.iter().chain([&("Projects/f3.txt", "cannotDownloadFile")]) {
        assert_eq!(s.requests_for(path, "files.get_media").len(), 1, "{path} was retried");
        let row = s.row(path).await;
        let pair = &row.destinations[0];
        assert_eq!(pair.status, SyncStatus::Failed);
        assert!(pair.error_message.as_deref().unwrap().contains(reason), "{pair:?}");
        assert!(s.backed_up(path).is_none());
    }
    assert_eq!(s.backed_up("Projects/f4.txt").as_ref(), Some(&fixture[4].1));
    assert!(s.staging_is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_15_a_corrupt_download_is_retried_once_then_fails_and_reaches_no_destination() {
    let fixture = files(3);
    let s = setup(&refs(&fixture), None, "").await;
    let corrupt = |path: &str, times| Fault {
        route: Some("files.get_media".into()),
        file_id: s.drive.id_of(path),
        times: Some(times),
        action: FaultAction::CorruptBody,
    };
    s.drive.inject(corrupt("Projects/f0.txt", 2));
    s.drive.inject(corrupt("Projects/f1.txt", 1));

    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.destinations["local"].failed, 1);
    assert_eq!(s.requests_for("Projects/f0.txt", "files.get_media").len(), 2, "one re-download, then give up");
    let pair = &s.row("Projects/f0.txt").await.destinations[0];
    assert!(pair.error_message.as_deref().unwrap().contains("do not match Drive's checksum"), "{pair:?}");
    assert!(s.backed_up("Projects/f0.txt").is_none(), "corrupt bytes reached the destination");
    assert_eq!(s.backed_up("Projects/f1.txt").as_ref(), Some(&fixture[1].1), "a second try that is intact is kept");
    assert!(s.staging_is_empty());

    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "the next run repairs it");
    assert_eq!(s.backed_up("Projects/f0.txt").as_ref(), Some(&fixture[0].1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_16_a_dropped_download_resumes_with_range() {
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let s = setup(&[("Projects/big.bin", big.clone())], None, "").await;
    s.drive.inject(Fault {
        route: Some("files.get_media".into()),
        file_id: s.drive.id_of("Projects/big.bin"),
        times: Some(1),
        action: FaultAction::TruncateAfter { bytes: 180_000 },
    });
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    assert_eq!(s.backed_up("Projects/big.bin"), Some(big));
    let media = s.requests_for("Projects/big.bin", "files.get_media");
    assert_eq!(media.len(), 2);
    let range = media[1].range.clone().expect("the second request resumes with Range");
    let from: u64 = range.trim_start_matches("bytes=").trim_end_matches('-').parse().unwrap();
    assert!(from > 0 && from <= 180_000, "{range}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_18_content_changed_after_listing_is_never_stored_under_the_stale_hash() {
    let s = setup(&[("Projects/live.txt", b"version one".to_vec())], None, "").await;
    let id = s.drive.id_of("Projects/live.txt").unwrap();
    s.drive.inject(Fault {
        route: Some("files.get_media".into()),
        file_id: Some(id.clone()),
        times: Some(1),
        action: FaultAction::Latency { ms: 1500 },
    });
    let engine_run = s.engine.sync(SyncOptions::default());
    let mutate = async {
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        s.drive.set_content(&id, b"version two".to_vec());
    };
    let (summary, ()) = tokio::join!(engine_run, mutate);
    let summary = summary.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    assert_eq!(s.backed_up("Projects/live.txt").as_deref(), Some(&b"version two"[..]));
    let pair = &s.row("Projects/live.txt").await.destinations[0];
    assert_eq!(
        pair.md5.as_deref(),
        Some(hex::encode(Md5::digest(b"version two")).as_str()),
        "recorded under the hash of what was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_9_an_export_over_the_size_limit_is_recorded_not_retried() {
    let manifest = "items:\n  - { parent: Projects, name: Huge, kind: document, export_too_large: true }\n  - { parent: Projects, name: Small, kind: document, content: fine }\n";
    let s = setup(&[], Some(manifest), "").await;
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!((summary.destinations["local"].synced, summary.destinations["local"].failed), (1, 1));
    assert_eq!(s.requests_for("Projects/Huge", "files.export").len(), 1, "not retried");
    let pair = &s.row("Projects/Huge").await.destinations[0];
    assert!(pair.error_message.as_deref().unwrap().contains("too large to be exported"), "{pair:?}");
    assert!(s.backed_up("Projects/Small.docx").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_10_shortcuts_are_followed_to_files_never_loop_and_dangling_ones_are_reported() {
    let manifest = r#"
items:
  - { parent: Projects, name: Sub, kind: folder }
  - { parent: Projects/Sub, name: "Up to Projects", kind: shortcut, target: Projects }
  - { parent: Projects, name: "Link to target", kind: shortcut, target: Projects/target.txt }
  - { parent: Projects, name: "Dangling", kind: shortcut, target: Projects/never.txt }
"#;
    let s = setup(&[("Projects/target.txt", b"the target".to_vec())], Some(manifest), "").await;
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    assert_eq!(s.backed_up("Projects/Link to target").as_deref(), Some(&b"the target"[..]));
    assert!(!s.backup.join("google-drive/Projects/Sub/Up to Projects").exists());
    let db = s.engine.db();
    let skip = |path: &str| {
        let id = s.drive.id_of(path).unwrap();
        async move { db.get_file(&id).await.unwrap().unwrap().skip_reason.unwrap_or_default() }
    };
    assert!(skip("Projects/Sub/Up to Projects").await.contains("shortcut to a folder"));
    assert!(skip("Projects/Dangling").await.contains("target no longer exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_11_a_trashed_folder_excludes_everything_under_it() {
    let fixture = vec![
        ("Projects/keep.txt", b"keep".to_vec()),
        ("Projects/Old/a.txt", b"a".to_vec()),
        ("Projects/Old/Deeper/b.txt", b"b".to_vec()),
    ];
    let s = setup(&fixture, Some("trash: [Projects/Old]\n"), "").await;
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.destinations["local"].synced, 1);
    assert!(s.backed_up("Projects/keep.txt").is_some());
    assert!(!s.backup.join("google-drive/Projects/Old").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_on_the_same_data_folder_is_refused_while_one_runs() {
    let s = setup(&[("Projects/slow.txt", b"slow".to_vec())], None, "").await;
    s.drive.inject(Fault {
        route: Some("files.get_media".into()),
        file_id: None,
        times: Some(1),
        action: FaultAction::Latency { ms: 1500 },
    });
    let yaml = format!(
        "google:\n  drive_url: {}\ndestinations:\n  local:\n    type: local\n    enabled: true\n    path: {}\n",
        s.drive.drive_url(),
        s.backup.display()
    );
    let second = support::open_engine(&yaml, &s.dir.path().join("data")).await;
    let first_run = s.engine.sync(SyncOptions::default());
    let second_run = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        second.sync(SyncOptions::default()).await
    };
    let (first, refused) = tokio::join!(first_run, second_run);
    assert_eq!(first.unwrap().status, "succeeded");
    let err = refused.unwrap_err().to_string();
    assert!(err.contains("already running"), "{err}");
    assert_eq!(s.engine.recent_runs(10).await.unwrap().len(), 1, "the refused sync recorded nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_13_an_html_503_from_a_front_end_is_retried_like_any_server_error() {
    let s = setup(&[("Projects/a.txt", b"alpha".to_vec())], None, "").await;
    s.drive.inject(Fault {
        route: Some("files.get_media".into()),
        file_id: None,
        times: Some(1),
        action: FaultAction::Raw {
            code: 503,
            body: "<html><body>Service Unavailable</body></html>".into(),
            content_type: "text/html".into(),
        },
    });
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    let media: Vec<u16> = s.requests_for("Projects/a.txt", "files.get_media").iter().map(|r| r.status).collect();
    assert_eq!(media, [503, 200]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_13_the_clients_own_pacing_never_exceeds_the_quota() {
    let fixture = files(40);
    // At most 20 a second after a burst of 5: never more than 25 in any second.
    let google = "  requests_per_second: 20\n  request_burst: 5\n";
    let s = setup_with_google(&refs(&fixture), None, google, "").await;
    s.drive.set_quota(25, std::time::Duration::from_secs(1));
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    let refused = s.drive.state().quota.as_ref().unwrap().refused;
    assert_eq!(refused, 0, "the quota was hit");
    assert!(s.drive.requests().len() > 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_15_a_stale_md5_in_metadata_fails_the_file_and_its_bytes_reach_no_destination() {
    let s = setup(&[("Projects/a.txt", b"alpha".to_vec()), ("Projects/b.txt", b"bravo".to_vec())], None, "").await;
    s.drive.report_stale_md5(&s.drive.id_of("Projects/a.txt").unwrap());
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "partial");
    let pair = &s.row("Projects/a.txt").await.destinations[0];
    assert_eq!(pair.status, SyncStatus::Failed);
    assert!(pair.error_message.as_deref().unwrap_or_default().contains("checksum"), "{pair:?}");
    assert_eq!(s.backed_up("Projects/a.txt"), None);
    assert_eq!(s.backed_up("Projects/b.txt").as_deref(), Some(&b"bravo"[..]));
    assert!(s.staging_is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_16_a_server_that_ignores_range_makes_the_client_start_over_and_still_verify() {
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 11 % 251) as u8).collect();
    let s = setup(&[("Projects/big.bin", big.clone())], None, "").await;
    let id = s.drive.id_of("Projects/big.bin");
    for action in [FaultAction::TruncateAfter { bytes: 120_000 }, FaultAction::IgnoreRange] {
        s.drive.inject(Fault { route: Some("files.get_media".into()), file_id: id.clone(), times: Some(1), action });
    }
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    assert_eq!(s.backed_up("Projects/big.bin"), Some(big));
    let media = s.requests_for("Projects/big.bin", "files.get_media");
    assert_eq!(media.len(), 2);
    assert!(media[1].range.is_some() && media[1].status == 200, "a Range request answered in full");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_17_a_slow_body_still_arrives_whole() {
    let body: Vec<u8> = (0..64_000u32).map(|i| (i % 251) as u8).collect();
    let s = setup(&[("Projects/slow.bin", body.clone())], None, "").await;
    s.drive.inject(Fault {
        route: Some("files.get_media".into()),
        file_id: None,
        times: Some(1),
        action: FaultAction::Throttle { bytes_per_sec: 128_000 },
    });
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(summary.status, "succeeded", "{:?}", summary.errors);
    assert_eq!(s.backed_up("Projects/slow.bin"), Some(body));
}
