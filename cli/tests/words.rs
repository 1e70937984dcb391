//! What the CLI says, tried as a new user would: one sentence a person can act on, said once,
//! with the raw detail in the log (`fanout.log` in the data folder), no colour codes when not
//! on a terminal, and the exit statuses the README promises.

mod common;

use common::{write_files, Sandbox};

async fn sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "p", 2);
    let sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    (tree, sandbox)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_with_no_folder_set_up_says_how_to_add_one_and_fails() {
    let (_tree, sandbox) = sandbox().await;
    let out = sandbox.fanout(&["sync"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "error: no folder is set up for backup: fanout policy add FOLDER --to DESTINATION\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_end_with_what_to_do_as_a_command() {
    let (_tree, sandbox) = sandbox().await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "local"]).await;
    let twice = sandbox.fanout(&["policy", "add", "Projects", "--to", "aws_s3"]).await;
    assert_eq!(twice.status.code(), Some(1));
    let stderr = text(&twice.stderr);
    assert!(stderr.contains("already has a policy: change it with `fanout policy update \"Projects\"`"), "{stderr}");
    let unknown = sandbox.fanout(&["destinations", "test", "nowhere"]).await;
    let stderr = text(&unknown.stderr);
    assert!(stderr.contains("`fanout destinations` lists the configured ones"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_is_down_is_one_plain_sentence_with_the_detail_in_the_log() {
    let (_tree, mut sandbox) = sandbox().await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    sandbox.s3("aws_s3").stop();
    let out = sandbox.fanout(&["sync"]).await;
    assert_eq!(out.status.code(), Some(3));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stderr.contains('\u{1b}') && !stdout.contains('\u{1b}'), "colour codes off a terminal: {stderr:?}");
    assert!(!stderr.contains("WARN"), "log lines repeat what the summary says: {stderr}");
    let line = stdout.lines().find(|l| l.contains("error:")).unwrap_or_else(|| panic!("no error line: {stdout}"));
    assert!(
        line.contains("aws_s3: cannot reach") && line.ends_with("check the endpoint and the network connection."),
        "{line}"
    );
    for raw in ["StatusCode", "exceeded maximum number of attempts", "dial tcp", "https response error"] {
        assert!(!stdout.contains(raw), "rclone's own text in the output: {stdout}");
    }
    let log =
        std::fs::read_to_string(sandbox.data_dir.join("fanout.log")).expect("the engine's log in the data folder");
    assert!(log.contains("aws_s3") && log.contains("detail="), "the raw detail is kept in the log: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_called_missing_not_unreachable() {
    let (_tree, sandbox) = sandbox().await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    let mut cmd = sandbox.command(&["sync"]);
    cmd.env_remove("FANOUT_AWS_S3_SECRET_ACCESS_KEY");
    let out = common::run(cmd).await;
    assert_eq!(out.status.code(), Some(3));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("no secret_access_key is stored for destination `aws_s3`"), "{all}");
    assert!(all.contains("`fanout secret set aws_s3 FIELD` (access_key_id, secret_access_key)"), "says how: {all}");
    assert!(!all.to_lowercase().contains("unreachable"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_destination_test_is_said_once() {
    let (_tree, mut sandbox) = sandbox().await;
    sandbox.s3("aws_s3").stop();
    let out = sandbox.fanout(&["destinations", "test", "aws_s3"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: aws_s3: cannot reach"), "{stderr}");
    assert!(!text(&out.stdout).contains("cannot reach"), "said twice: {}", text(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_status_filter_is_a_usage_error() {
    let (_tree, sandbox) = sandbox().await;
    let out = sandbox.fanout(&["files", "--status", "bogus"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("synced, failed, pending"), "{}", text(&out.stderr));
}
