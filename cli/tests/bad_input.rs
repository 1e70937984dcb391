//! Bad input gets one clear line on stderr, a non-zero exit, and changes nothing.

mod common;

use common::{run, write_files, Sandbox};

async fn sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "p", 3);
    let sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3"]).await;
    (tree, sandbox)
}

/// Everything the database can tell: policies, ledger, runs.
async fn database_state(sandbox: &Sandbox) -> String {
    let mut state = String::new();
    for args in [&["policy", "list", "--json"][..], &["files", "--json"], &["status", "--json"]] {
        state += &sandbox.fanout_ok(args).await;
    }
    state
}

fn assert_one_line_error(out: &std::process::Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(expected), "expected `{expected}` in: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_one_line_and_changes_nothing() {
    let (_tree, sandbox) = sandbox().await;
    assert_eq!(sandbox.sync_json().await.0, Some(0));
    let before = database_state(&sandbox).await;

    let malformed = sandbox.dir.path().join("malformed.yaml");
    std::fs::write(&malformed, "destinations:\n  aws_s3: [unclosed\n").unwrap();
    let out = run(sandbox.command_with_config(&malformed, &["sync"])).await;
    assert_one_line_error(&out, "malformed.yaml is not valid");

    let misspelt = sandbox.dir.path().join("misspelt.yaml");
    std::fs::write(&misspelt, "destinations:\n  aws_s3:\n    enabled: true\n    buckett: x\n").unwrap();
    let out = run(sandbox.command_with_config(&misspelt, &["policy", "list"])).await;
    assert_one_line_error(&out, "buckett");

    let out = sandbox.fanout(&["policy", "add", "Projects", "--to", "dropbox"]).await;
    assert_one_line_error(&out, "unknown destination `dropbox`");

    let out = sandbox.fanout(&["policy", "add", "Projects", "--to", ""]).await;
    assert_one_line_error(&out, "needs at least one destination");

    let out = sandbox.fanout(&["policy", "add", "No/Such/Folder", "--to", "local"]).await;
    assert_one_line_error(&out, "`No/Such/Folder` does not exist");

    let out = sandbox.fanout(&["policy", "add", "1doesnotexist", "--to", "local"]).await;
    assert_one_line_error(&out, "does not exist");

    let out = sandbox.fanout(&["policy", "remove", "Elsewhere"]).await;
    assert_one_line_error(&out, "no policy for folder `Elsewhere`");

    let mut wrong_key = sandbox.command(&["destinations", "test", "aws_s3"]);
    wrong_key.env("FANOUT_AWS_S3_SECRET_ACCESS_KEY", "not-the-secret");
    let out = run(wrong_key).await;
    assert_one_line_error(&out, "credentials were rejected");

    let no_bucket = sandbox.dir.path().join("no-bucket.yaml");
    let config = std::fs::read_to_string(&sandbox.config_path)
        .unwrap()
        .replace("bucket: bucket-aws-s3", "bucket: no-such-bucket");
    std::fs::write(&no_bucket, config).unwrap();
    let out = run(sandbox.command_with_config(&no_bucket, &["destinations", "test", "aws_s3"])).await;
    assert_one_line_error(&out, "bucket `no-such-bucket` does not exist");

    assert_eq!(before, database_state(&sandbox).await, "a refused command changed the database");
    // And the good path still says ok.
    let out = sandbox.fanout_ok(&["destinations", "test"]).await;
    assert!(out.contains("aws_s3: ok") && out.contains("local: ok"), "{out}");
}
