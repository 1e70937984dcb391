//! The packaging script builds a .deb holding the app, its rclone sidecar and desktop entry.

use std::process::Command;

#[test]
fn the_deb_holds_the_app_the_rclone_sidecar_and_the_desktop_entry() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = tempfile::tempdir().unwrap();

    let built = Command::new(root.join("scripts/package-deb"))
        .args(["--fast", "--binary", env!("CARGO_BIN_EXE_fanout-desktop"), "--out"])
        .arg(out.path())
        .output()
        .unwrap();

    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let deb = String::from_utf8(built.stdout).unwrap().trim().to_string();
    let listing = Command::new("dpkg-deb").args(["-c", &deb]).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    for path in [
        "./usr/bin/fanout-desktop",
        "./usr/bin/fanout-rclone",
        "./usr/share/applications/Fanout.desktop",
        "./usr/share/icons/hicolor/128x128/apps/fanout-desktop.png",
    ] {
        assert!(listing.lines().any(|l| l.ends_with(path)), "{path} missing from the .deb:\n{listing}");
    }
    let control = Command::new("dpkg-deb").args(["-f", &deb, "Package", "Depends"]).output().unwrap();
    let control = String::from_utf8(control.stdout).unwrap();
    assert!(control.contains("Package: fanout") && control.contains("libwebkit2gtk-4.1-0"), "{control}");
}
