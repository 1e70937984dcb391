//! The packaging script builds a .deb holding the app, the `fanout` command, the rclone sidecar
//! and the desktop entry, and what it installs runs: extracted, its programs work from the
//! extracted tree with the system's libraries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The CLI cargo built for the workspace's tests, beside the desktop app in the same folder.
fn built_cli() -> PathBuf {
    let desktop = Path::new(env!("CARGO_BIN_EXE_fanout-desktop"));
    let cli = desktop.with_file_name("fanout");
    assert!(cli.is_file(), "{} is missing: run the workspace's tests (cargo test --workspace)", cli.display());
    cli
}

fn build_deb(out: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let built = Command::new(root.join("scripts/package-deb"))
        .args(["--fast", "--binary", env!("CARGO_BIN_EXE_fanout-desktop"), "--cli"])
        .arg(built_cli())
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    String::from_utf8(built.stdout).unwrap().trim().to_string()
}

/// Runs an extracted program with nothing of the build around it: no rclone or config named
/// by the environment, a home of its own.
fn run_extracted(program: &Path, args: &[&str], home: &Path) -> Output {
    let out =
        Command::new(program).args(args).env_clear().env("PATH", "/usr/bin:/bin").env("HOME", home).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One build of the package (a debug .deb is large), checked for what it holds and that it runs.
#[test]
fn the_deb_holds_the_app_the_cli_the_rclone_sidecar_and_the_desktop_entry_and_they_run() {
    let out = tempfile::tempdir().unwrap();
    let deb = build_deb(out.path());
    the_deb_holds_the_app_the_cli_the_rclone_sidecar_and_the_desktop_entry(&deb);
    the_extracted_package_runs_the_cli_its_demo_and_the_desktop_app(&deb, out.path());
}

fn the_deb_holds_the_app_the_cli_the_rclone_sidecar_and_the_desktop_entry(deb: &str) {
    let listing = Command::new("dpkg-deb").args(["-c", deb]).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    for path in [
        "./usr/bin/fanout-desktop",
        "./usr/bin/fanout",
        "./usr/bin/fanout-rclone",
        "./usr/share/applications/Fanout.desktop",
        "./usr/share/icons/hicolor/128x128/apps/fanout-desktop.png",
    ] {
        assert!(listing.lines().any(|l| l.ends_with(path)), "{path} missing from the .deb:\n{listing}");
    }
    let control = Command::new("dpkg-deb").args(["-f", deb, "Package", "Depends"]).output().unwrap();
    let control = String::from_utf8(control.stdout).unwrap();
    assert!(control.contains("Package: fanout") && control.contains("libwebkit2gtk-4.1-0"), "{control}");
}

fn the_extracted_package_runs_the_cli_its_demo_and_the_desktop_app(deb: &str, out: &Path) {
    let tree = out.join("tree");
    let extracted = Command::new("dpkg-deb").arg("-x").arg(deb).arg(&tree).status().unwrap();
    assert!(extracted.success());
    let bin = tree.join("usr/bin");
    let home = out.join("home");
    std::fs::create_dir_all(&home).unwrap();

    let version = run_extracted(&bin.join("fanout"), &["--version"], &home);
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");

    let data = out.join("demo");
    let demo = run_extracted(&bin.join("fanout"), &["demo", "--data-dir", data.to_str().unwrap()], &home);
    let demo = String::from_utf8_lossy(&demo.stdout);
    assert!(demo.contains("Sync succeeded"), "{demo}");
    let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/drive/Projects/README.txt")).unwrap();
    let copied = std::fs::read(data.join("s3-server/fanout-demo/google-drive/Projects/README.txt")).unwrap();
    assert!(copied == sample, "the demo's copy at the S3 server differs from the sample Drive's file");

    let help = run_extracted(&bin.join("fanout-desktop"), &["--help"], &home);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--demo"), "{help}");
}
