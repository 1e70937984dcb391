//! `fanout verify` finds copies lost or damaged at a destination after a sync, and the next
//! sync repairs them.

mod common;

use common::{write_files, Sandbox};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_loss_is_found_by_verify_and_repaired_by_the_next_sync() {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "p", 6);
    let sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    assert_eq!(sandbox.sync_json().await.0, Some(0));

    let intact: Value =
        serde_json::from_str(&sandbox.fanout_ok(&["verify", "--json", "--download", "100"]).await).unwrap();
    assert_eq!(intact["all_intact"], true);
    assert_eq!(intact["destinations"]["aws_s3"]["checked"], 6);
    assert_eq!(intact["destinations"]["aws_s3"]["downloaded"], 6, "every copy was read back");

    // Damage: one object deleted at the S3 server, one byte flipped in a local copy.
    let deleted = sandbox.storage_root("aws_s3").join("google-drive/Projects/p-000.txt");
    let common::Dest::S3 { server, bucket } = &sandbox.dests["aws_s3"] else { unreachable!() };
    server.delete_object(bucket, "google-drive/Projects/p-000.txt").unwrap();
    assert!(!deleted.exists());
    let flipped = sandbox.storage_root("local").join("google-drive/Projects/p-001.txt");
    let mut bytes = std::fs::read(&flipped).unwrap();
    let original = bytes.clone();
    bytes[0] ^= 0x20;
    std::fs::write(&flipped, &bytes).unwrap();

    let out = sandbox.fanout(&["verify", "--json"]).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "verify exits non-zero when it finds damage: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["destinations"]["aws_s3"]["missing"], 1, "{report:#}");
    assert_eq!(report["destinations"]["local"]["corrupt"], 1, "{report:#}");

    let pending: Value =
        serde_json::from_str(&sandbox.fanout_ok(&["files", "--json", "--status", "pending"]).await).unwrap();
    assert_eq!(pending["total"], 2);
    for row in pending["rows"].as_array().unwrap() {
        let bad = row["destinations"].as_array().unwrap().iter().find(|p| p["status"] == "pending").unwrap();
        assert!(bad["error_message"].as_str().unwrap().starts_with("verify:"), "{bad:#}");
    }

    let (code, summary, _) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}");
    assert_eq!(summary["files_planned"], 2, "only the damaged copies are sent again");
    assert!(deleted.is_file());
    assert_eq!(std::fs::read(&flipped).unwrap(), original);

    assert!(sandbox.fanout(&["verify"]).await.status.success());
    let status: Value = serde_json::from_str(&sandbox.fanout_ok(&["status", "--json"]).await).unwrap();
    for dest in status["destinations"].as_array().unwrap() {
        assert!(dest["last_verified"].is_string(), "{dest:#}");
    }
}
