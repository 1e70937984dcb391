//! An upload that reports success but leaves no object is never recorded synced: a lying
//! proxy between rclone and a real S3 server answers one file's PutObject with S3's success
//! reply (md5 ETag included) and stores nothing. The sync must find the object missing, say
//! so, and the next sync must put it there.

mod common;

use common::{drive_truth, write_files, Dest, Sandbox};
use fanout_testkit::lying_s3::LyingS3Proxy;
use serde_json::Value;

const LOST_FILE: &str = "Projects/p-003.txt";

/// `fanout files`: each Drive path with its (destination, status, error_message) pairs.
async fn file_pairs(sandbox: &Sandbox) -> Vec<(String, Vec<(String, String, Option<String>)>)> {
    let page: Value = serde_json::from_str(&sandbox.fanout_ok(&["files", "--json", "--limit", "100"]).await).unwrap();
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let pairs = row["destinations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["destination"].as_str().unwrap().to_string(),
                        p["status"].as_str().unwrap().to_string(),
                        p["error_message"].as_str().map(str::to_string),
                    )
                })
                .collect();
            (row["drive_path"].as_str().unwrap().to_string(), pairs)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_reports_success_but_stores_nothing_is_never_recorded_synced() {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "p", 6);
    let sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    let lost_key = format!("google-drive/{LOST_FILE}");

    // Every request from rclone to the aws_s3 server now passes through the lying proxy.
    let Dest::S3 { server, .. } = &sandbox.dests["aws_s3"] else { unreachable!() };
    let proxy = LyingS3Proxy::start(&server.endpoint()).await.unwrap();
    let yaml = std::fs::read_to_string(&sandbox.config_path).unwrap();
    let endpoint_line = format!("endpoint: {}\n", server.endpoint());
    assert_eq!(yaml.matches(&endpoint_line).count(), 1, "{yaml}");
    std::fs::write(&sandbox.config_path, yaml.replace(&endpoint_line, &format!("endpoint: {}\n", proxy.endpoint())))
        .unwrap();
    proxy.swallow("p-003");

    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(3), "a sync that leaves a failed pair exits 3: {summary:#}\n{stderr}");
    assert_eq!(summary["all_success"], false, "{summary:#}");
    assert_eq!(summary["destinations"]["aws_s3"]["synced"], 5, "{summary:#}");
    assert_eq!(summary["destinations"]["aws_s3"]["failed"], 1, "{summary:#}");
    assert_eq!(summary["destinations"]["local"]["synced"], 6, "{summary:#}");

    // The lie was told (rclone got S3's success reply), and the server holds no such object.
    let swallowed = proxy.swallowed();
    assert!(!swallowed.is_empty(), "the upload never reached the proxy");
    assert!(swallowed.iter().all(|k| *k == lost_key), "{swallowed:?}");
    let stored = sandbox.objects("aws_s3");
    assert!(!stored.contains_key(&lost_key), "the proxy let the object through");
    assert_eq!(stored.len(), 5, "{:?}", stored.keys().collect::<Vec<_>>());
    assert!(sandbox.objects("local").contains_key(&lost_key));

    let rows = file_pairs(&sandbox).await;
    assert_eq!(rows.len(), 6, "{rows:?}");
    for (path, pairs) in &rows {
        assert_eq!(pairs.len(), 2, "{path}: {pairs:?}");
        for (dest, status, error) in pairs {
            if path == LOST_FILE && dest == "aws_s3" {
                assert_eq!(status, "failed", "{path} at {dest} was recorded {status}");
                assert!(error.as_deref().is_some_and(|e| !e.is_empty()), "{path} at {dest}: no reason given");
            } else {
                assert_eq!(status, "synced", "{path} at {dest}: {error:?}");
            }
        }
    }

    // The destination tells the truth again: the next sync sends the lost copy, and only it.
    proxy.stop_swallowing();
    let swallowed_before = proxy.swallowed().len();
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    assert_eq!(summary["all_success"], true, "{summary:#}");
    assert_eq!(summary["files_planned"], 1, "only the lost copy is sent again: {summary:#}");
    assert_eq!(proxy.swallowed().len(), swallowed_before, "nothing more was swallowed");

    let stored = sandbox.objects("aws_s3");
    let truth = drive_truth(&sandbox.drive);
    assert_eq!(truth.len(), 6);
    assert_eq!(stored.len(), truth.len(), "{:?}", stored.keys().collect::<Vec<_>>());
    for (path, bytes) in &truth {
        assert_eq!(stored.get(&format!("google-drive/{path}")), Some(bytes), "{path} at aws_s3 differs from Drive");
    }
    for (path, pairs) in file_pairs(&sandbox).await {
        for (dest, status, error) in pairs {
            assert_eq!(status, "synced", "{path} at {dest}: {error:?}");
            assert_eq!(error, None, "{path} at {dest}");
        }
    }
}
