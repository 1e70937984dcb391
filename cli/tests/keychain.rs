//! Secrets in the real OS keychain (Secret Service; the test command runs gnome-keyring under
//! its own D-Bus session), and Google sign-in from the command line.

mod common;

use common::{write_files, Sandbox};

async fn sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "p", 3);
    let sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    (tree, sandbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_set_from_stdin_lands_in_the_keychain_and_clear_removes_it() {
    let (_tree, s) = sandbox().await;

    let set = s.fanout_with_stdin(&["secret", "set", "aws_s3", "secret_access_key"], "s3cr3t-value\n").await;

    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    assert_eq!(s.keychain_value("aws_s3", "secret_access_key").as_deref(), Some("s3cr3t-value"));
    let status: serde_json::Value = serde_json::from_str(&s.fanout_ok(&["secret", "status", "--json"]).await).unwrap();
    let entry = status
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["owner"] == "aws_s3" && e["field"] == "secret_access_key")
        .unwrap();
    assert_eq!(entry["stored"], true);
    assert!(!status.to_string().contains("s3cr3t-value"), "status never shows a value");

    s.fanout_ok(&["secret", "clear", "aws_s3", "secret_access_key"]).await;

    assert_eq!(s.keychain_value("aws_s3", "secret_access_key"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_for_unknown_destinations_or_fields_are_refused() {
    let (_tree, s) = sandbox().await;

    let unknown_key = s.fanout_with_stdin(&["secret", "set", "nowhere", "access_key_id"], "x").await;
    let unknown_field = s.fanout_with_stdin(&["secret", "set", "aws_s3", "password"], "x").await;

    assert_eq!(unknown_key.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown_key.stderr).contains("not a configured destination"));
    assert!(String::from_utf8_lossy(&unknown_field.stderr).contains("access_key_id, secret_access_key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_storing_a_secret_says_what_to_do() {
    let (_tree, s) = sandbox().await;
    let mut cmd = s.command(&["secret", "set", "aws_s3", "access_key_id"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");

    let out = common::run_with_stdin(cmd, "a-key-id").await;

    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keychain is unavailable"), "{stderr}");
    assert!(stderr.contains("environment variables"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_runs_on_keys_and_a_google_sign_in_kept_in_the_keychain_alone() {
    let (_tree, s) = sandbox().await;
    s.move_secrets_to_keychain().await;

    let signed_in = s.sign_in().await;

    assert!(signed_in.status.success(), "{}", String::from_utf8_lossy(&signed_in.stderr));
    assert!(String::from_utf8_lossy(&signed_in.stdout).contains("Signed in as demo@example.com"));
    let refresh = s.keychain_value("google", "refresh_token").expect("refresh token in the keychain");
    assert!(s.drive.is_live_refresh_token(&refresh));
    let status = s.fanout_ok(&["auth", "status"]).await;
    assert!(status.contains("demo@example.com") && status.contains("keychain"), "{status}");

    s.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    let (code, summary, stderr) = s.sync_json().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["all_success"], true);
    assert_eq!(s.objects("aws_s3").len(), 3);

    let logout = s.fanout_ok(&["auth", "logout"]).await;
    assert!(logout.contains("revoked"), "{logout}");
    assert!(!s.drive.is_live_refresh_token(&refresh));
    assert_eq!(s.keychain_value("google", "refresh_token"), None);
    let out = s.fanout(&["sync"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fanout auth google"));
}
