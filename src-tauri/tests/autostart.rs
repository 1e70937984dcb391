//! Start at login writes and removes the XDG autostart entry. (Its own test binary: it points
//! HOME at a temporary folder, which no other test may see.)

mod support;

use serde_json::json;

#[test]
fn the_autostart_toggle_writes_and_removes_the_login_entry() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HOME", home.path());
    let d = support::start(1, 10, "", None);
    let entry = home.path().join(".config/autostart/Fanout.desktop");
    assert_eq!(d.ok("autostart_status", json!({})), json!(false));

    assert_eq!(d.ok("set_autostart", json!({ "enabled": true })), json!(true));

    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(text.contains("Exec=") && text.contains("--minimized"), "{text}");
    assert_eq!(d.ok("autostart_status", json!({})), json!(true));

    assert_eq!(d.ok("set_autostart", json!({ "enabled": false })), json!(false));
    assert!(!entry.exists());
}
