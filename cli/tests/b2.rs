//! Backblaze B2 through rclone's native `b2` backend, against the fake B2 API: uploads
//! (large files in parts included), listing with SHA-1s, verification, and its faults.

mod common;

use common::{drive_truth, Dest, Sandbox};
use fanout_testkit::fake_b2::{Fault, FaultAction};

/// Projects/ with a few notes and one 12 MiB file; rclone is told to use B2's large-file
/// API above 5 MiB (in 5 MiB parts), as it does above 200 MiB by default.
async fn b2_sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    let dir = tree.path().join("Projects");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..5 {
        std::fs::write(dir.join(format!("note-{i}.txt")), format!("note {i}").repeat(50)).unwrap();
    }
    let big: Vec<u8> = (0..12 * 1024 * 1024).map(|i: usize| (i * 13 % 251) as u8).collect();
    std::fs::write(dir.join("archive.bin"), big).unwrap();
    let sandbox = Sandbox::start(tree.path(), None, &[("backblaze_b2", "backblaze_b2")]).await;
    // Large files from 5 MiB on (the least B2 allows), set in config.yaml as a user would.
    let yaml = std::fs::read_to_string(&sandbox.config_path).unwrap();
    let yaml = yaml
        .replace("    bucket: bucket-backblaze-b2\n", "    bucket: bucket-backblaze-b2\n    multipart_from_mib: 5\n");
    assert!(yaml.contains("multipart_from_mib"), "{yaml}");
    std::fs::write(&sandbox.config_path, yaml).unwrap();
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "backblaze_b2"]).await;
    (tree, sandbox)
}

fn fake_b2(sandbox: &Sandbox) -> &fanout_testkit::fake_b2::FakeB2 {
    match &sandbox.dests["backblaze_b2"] {
        Dest::B2 { server, .. } => server,
        _ => unreachable!(),
    }
}

async fn sync(sandbox: &Sandbox) -> (Option<i32>, serde_json::Value) {
    let out = common::run(sandbox.command(&["sync", "--json"])).await;
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), json)
}

fn assert_b2_equals_drive(sandbox: &Sandbox) {
    let objects = sandbox.objects("backblaze_b2");
    let truth = drive_truth(&sandbox.drive);
    assert_eq!(objects.len(), truth.len(), "{:?}", objects.keys().collect::<Vec<_>>());
    for (path, bytes) in truth {
        assert!(objects.get(&format!("google-drive/{path}")) == Some(&bytes), "{path} missing or different");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_to_backblaze_b2_uploads_in_parts_lists_and_verifies_through_the_native_api() {
    let (_tree, sandbox) = b2_sandbox().await;

    let (code, summary) = sync(&sandbox).await;

    assert_eq!(code, Some(0), "{summary:#}");
    assert_b2_equals_drive(&sandbox);
    let b2 = fake_b2(&sandbox);
    assert_eq!(b2.large_files_finished(), 1, "the 12 MiB file went up as a B2 large file");
    let routes: Vec<String> = b2.requests().into_iter().map(|r| r.route).collect();
    assert!(routes.iter().filter(|r| *r == "b2_upload_part").count() >= 3, "{routes:?}");
    assert!(routes.iter().any(|r| r == "b2_list_file_names"), "objects were listed to verify them");

    let verify: serde_json::Value =
        serde_json::from_str(&sandbox.fanout_ok(&["verify", "--download", "100", "--json"]).await).unwrap();
    assert_eq!(verify["all_intact"], true, "{verify:#}");
    assert_eq!(verify["destinations"]["backblaze_b2"]["checked"], 6);

    // A byte flipped inside B2 is caught by reading it back, and the next sync repairs it.
    let Dest::B2 { bucket, .. } = &sandbox.dests["backblaze_b2"] else { unreachable!() };
    assert!(b2.corrupt_object(bucket, "google-drive/Projects/note-3.txt"));
    let out = sandbox.fanout(&["verify", "--download", "100", "--json"]).await;
    let verify: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verify["destinations"]["backblaze_b2"]["corrupt"], 1, "{verify:#}");
    let (code, summary) = sync(&sandbox).await;
    assert_eq!(code, Some(0));
    assert_eq!(summary["destinations"]["backblaze_b2"]["transferred"], 1, "{summary:#}");
    assert_b2_equals_drive(&sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2_outages_expired_tokens_and_corrupted_uploads_never_leave_a_false_synced() {
    let (_tree, sandbox) = b2_sandbox().await;
    let b2 = fake_b2(&sandbox);
    let fault = |route: &str, times, action| Fault { route: Some(route.into()), times: Some(times), action };
    b2.inject(fault("b2_upload_file", 2, FaultAction::ServiceUnavailable));
    b2.inject(fault("b2_list_file_names", 1, FaultAction::ExpiredToken));
    b2.inject(fault("b2_upload_part", 1, FaultAction::Sha1Mismatch));
    b2.inject(fault("b2_upload_file", 1, FaultAction::Sha1Mismatch));

    let (first_code, first) = sync(&sandbox).await;

    // Whatever the first run says is synced is really there, byte for byte.
    assert!(matches!(first_code, Some(0) | Some(3)), "{first:#}");
    let files: serde_json::Value =
        serde_json::from_str(&sandbox.fanout_ok(&["files", "--json", "--limit", "100"]).await).unwrap();
    let objects = sandbox.objects("backblaze_b2");
    let truth: std::collections::BTreeMap<String, Vec<u8>> = drive_truth(&sandbox.drive).into_iter().collect();
    for row in files["rows"].as_array().unwrap() {
        let pair = &row["destinations"][0];
        if pair["status"] == "synced" {
            let path = row["drive_path"].as_str().unwrap();
            assert!(objects.get(&format!("google-drive/{path}")) == truth.get(path), "{path} recorded synced wrongly");
        }
    }
    let statuses: Vec<u16> = b2.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&503) && statuses.contains(&401) && statuses.contains(&400), "{statuses:?}");

    // The next run converges.
    let (code, summary) = sync(&sandbox).await;
    assert_eq!(code, Some(0), "{summary:#}");
    assert_b2_equals_drive(&sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_b2_cap_is_named_as_such_and_a_busy_upload_url_is_replaced() {
    let (_tree, sandbox) = b2_sandbox().await;
    let b2 = fake_b2(&sandbox);
    let fault = |route: &str, times, action| Fault { route: Some(route.into()), times: Some(times), action };
    b2.inject(fault("b2_upload_file", 200, FaultAction::CapExceeded));
    b2.inject(fault("b2_upload_part", 200, FaultAction::CapExceeded));
    let (code, summary) = sync(&sandbox).await;
    assert_eq!(code, Some(3), "{summary:#}");
    let errors = summary["errors"].to_string();
    assert!(errors.contains("your Backblaze B2 account's daily cap is reached"), "{errors}");
    assert!(!errors.contains("cap_exceeded"), "B2's own code leaked into the sentence: {errors}");

    b2.clear_faults();
    b2.clear_requests();
    b2.inject(fault("b2_upload_file", 1, FaultAction::ServiceUnavailable));
    let (code, summary) = sync(&sandbox).await;
    assert_eq!(code, Some(0), "{summary:#}");
    assert_b2_equals_drive(&sandbox);
    let urls: Vec<String> =
        b2.requests().into_iter().filter(|r| r.route == "b2_get_upload_url").map(|r| r.path).collect();
    assert!(urls.len() >= 2, "a new upload URL was fetched after the 503: {urls:?}");
}
