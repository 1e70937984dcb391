//! `fanout demo` works on a fresh clone: no account, no configuration.

use assert_cmd::Command;

fn demo(data_dir: &std::path::Path) -> std::process::Output {
    Command::cargo_bin("fanout")
        .unwrap()
        .args(["demo", "--data-dir"])
        .arg(data_dir)
        .env_remove("FANOUT_CONFIG")
        .env_remove("FANOUT_DATA_DIR")
        .env_remove("FANOUT_GOOGLE_ACCESS_TOKEN")
        .output()
        .unwrap()
}

#[test]
fn the_demo_backs_up_the_sample_drive_to_a_folder_and_an_s3_server_with_nothing_configured() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Sync succeeded"), "{stdout}");
    assert!(stdout.contains("demo data"), "the demo labels its data: {stdout}");

    let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/drive/Projects/README.txt")).unwrap();
    let local = dir.path().join("local-backup/google-drive/Projects/README.txt");
    let s3 = dir.path().join("s3-server/fanout-demo/google-drive/Projects/README.txt");
    assert_eq!(std::fs::read(local).unwrap(), sample);
    assert_eq!(std::fs::read(s3).unwrap(), sample);
    assert!(
        dir.path().join("local-backup/google-drive/Projects/Roadmap.docx").is_file(),
        "the Google Doc was exported"
    );
    assert!(
        !dir.path().join("local-backup/google-drive/Personal").exists(),
        "a folder without a policy is never uploaded"
    );

    let again = demo(dir.path());
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 files backed up"));
}
