//! Every window command through Tauri's IPC layer (mock runtime), with the real engine,
//! a fake Drive and a real S3 server behind it.

mod support;

use std::sync::Arc;
use std::time::Duration;

use fanout_core::db::FileQuery;
use fanout_core::secrets::{KeychainSecrets, LayeredSecrets, MemorySecrets, SecretStore};
use fanout_desktop::runner::{EVENT_FINISHED, EVENT_PROGRESS, EVENT_STARTED};
use fanout_desktop::state::AppState;
use serde_json::json;
use support::start;
use tauri::Manager;

#[test]
fn folder_policies_are_created_changed_and_removed_and_bad_input_is_refused() {
    let d = start(3, 100, "", None);
    assert_eq!(d.ok("list_policies", json!({})), json!([]));

    let folders = d.ok("drive_folders", json!({}));
    let names: Vec<&str> = folders.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Archive", "Projects"]);
    let projects_id = folders[1]["id"].as_str().unwrap().to_string();
    assert_eq!(d.ok("search_folders", json!({ "query": "proj" }))[0]["id"], json!(projects_id));

    let added =
        d.ok("add_policy", json!({ "folder": projects_id, "destinations": ["local", "aws_s3"], "recursive": true }));
    assert_eq!(added["folder_path"], "Projects");
    assert_eq!(added["destinations"], json!(["local", "aws_s3"]));

    let unknown = d.err("add_policy", json!({ "folder": "Archive", "destinations": ["nowhere"], "recursive": true }));
    assert_eq!(unknown["kind"], "invalid_input");
    assert!(unknown["message"].as_str().unwrap().contains("nowhere"));
    let empty = d.err("add_policy", json!({ "folder": "Archive", "destinations": [], "recursive": true }));
    assert_eq!(empty["kind"], "invalid_input");
    let missing =
        d.err("add_policy", json!({ "folder": "No/Such/Folder", "destinations": ["local"], "recursive": true }));
    assert_eq!(missing["kind"], "invalid_input");
    let twice = d.err("add_policy", json!({ "folder": "Projects", "destinations": ["local"], "recursive": true }));
    assert!(twice["message"].as_str().unwrap().contains("already has a policy"));

    let updated =
        d.ok("update_policy", json!({ "folder": "Projects", "destinations": ["aws_s3"], "recursive": false }));
    assert_eq!(updated["destinations"], json!(["aws_s3"]));
    assert_eq!(updated["recursive"], false);
    assert_eq!(d.ok("set_policy_enabled", json!({ "folder": "Projects", "enabled": false }))["enabled"], false);
    assert_eq!(d.ok("list_policies", json!({})).as_array().unwrap().len(), 1);
    d.ok("remove_policy", json!({ "folder": "Projects" }));
    assert_eq!(d.ok("list_policies", json!({})), json!([]));
    assert_eq!(d.err("remove_policy", json!({ "folder": "Projects" }))["kind"], "invalid_input");

    let destinations = d.ok("list_destinations", json!({}));
    let keys: Vec<&str> = destinations.as_array().unwrap().iter().map(|x| x["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["aws_s3", "local"]);
    assert!(destinations.as_array().unwrap().iter().all(|x| x["configured"] == true));
    assert_eq!(d.ok("test_destination", json!({ "key": "aws_s3" }))["ok"], true);
}

#[test]
fn a_sync_reports_its_progress_in_order_and_the_statistics_and_files_match_the_ledger() {
    let d = start(40, 20_000, "", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["local", "aws_s3"], "recursive": true }));

    let finished = d.sync_and_wait();

    assert_eq!(finished["status"], "succeeded", "{finished:#}");
    let names = d.event_names();
    assert_eq!(names.first().map(String::as_str), Some(EVENT_STARTED));
    assert_eq!(names.last().map(String::as_str), Some(EVENT_FINISHED));
    assert!(names.iter().filter(|n| *n == EVENT_PROGRESS).count() >= 1, "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == EVENT_STARTED).count(), 1);
    let engine = d.app.state::<AppState>().engine.clone();
    let stats = d.ok("destination_stats", json!({}));
    let ledger_stats = tauri::async_runtime::block_on(engine.stats()).unwrap();
    assert_eq!(stats, serde_json::to_value(&ledger_stats).unwrap());
    assert!(stats.as_array().unwrap().iter().all(|s| s["synced"] == 40 && s["failed"] == 0));

    let page = d.ok(
        "list_files",
        json!({ "query": { "destination": "aws_s3", "status": "synced", "offset": 10, "limit": 20 } }),
    );
    let query = FileQuery {
        destination: Some("aws_s3".into()),
        status: Some(fanout_core::db::SyncStatus::Synced),
        offset: 10,
        limit: 20,
        search: None,
    };
    let ledger_page = tauri::async_runtime::block_on(engine.files(&query)).unwrap();
    assert_eq!(page, serde_json::to_value(&ledger_page).unwrap());
    assert_eq!(page["total"], 40);
    assert_eq!(page["rows"].as_array().unwrap().len(), 20);

    let status = d.ok("sync_status", json!({}));
    assert_eq!(status["running"], false);
    assert_eq!(status["last_run"]["status"], "succeeded");
    assert_eq!(d.ok("recent_runs", json!({ "limit": 5 })).as_array().unwrap().len(), 1);
}

#[test]
fn a_running_sync_can_be_cancelled_and_a_second_start_is_refused() {
    let d = start(8, 4 * 1024 * 1024, "sync:\n  bandwidth_limit: 4M\n  large_file_threshold_mib: 1\n", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["local", "aws_s3"], "recursive": true }));

    d.ok("start_sync", json!({}));
    d.wait_for(EVENT_STARTED, Duration::from_secs(30));
    assert_eq!(d.err("start_sync", json!({}))["kind"], "already_running");
    assert_eq!(d.ok("sync_status", json!({}))["running"], true);
    d.wait_for(EVENT_PROGRESS, Duration::from_secs(60));
    assert_eq!(d.ok("cancel_sync", json!({})), json!(true));
    let finished = d.wait_for(EVENT_FINISHED, Duration::from_secs(60));

    assert_eq!(finished["status"], "cancelled", "{finished:#}");
    assert_eq!(d.ok("sync_status", json!({}))["running"], false);
    assert_eq!(d.ok("cancel_sync", json!({})), json!(false));
}

#[test]
fn the_tray_sync_now_starts_a_run() {
    let d = start(3, 100, "", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["local"], "recursive": true }));

    fanout_desktop::tray::handle_menu(d.app.handle(), fanout_desktop::tray::MENU_SYNC_NOW);

    assert_eq!(d.wait_for(EVENT_FINISHED, Duration::from_secs(60))["status"], "succeeded");
    assert!(d.dir.path().join("backup/google-drive/Projects/file-000.bin").is_file());
    fanout_desktop::tray::handle_menu(d.app.handle(), fanout_desktop::tray::MENU_PAUSE);
    assert_eq!(d.ok("sync_status", json!({}))["paused"], true);
}

#[test]
fn keys_go_to_the_keychain_through_the_commands_and_no_response_or_event_carries_them() {
    // The real Secret Service (the test command runs gnome-keyring), under a name of this test's own.
    let service = format!("fanout-desktop-test-{}", std::process::id());
    let keychain = KeychainSecrets::with_service(&service);
    let memory = MemorySecrets::default();
    memory.set("google", "access_token", fanout_testkit::fake_google::DEFAULT_TOKEN);
    let layered: Arc<dyn SecretStore> = Arc::new(LayeredSecrets(vec![Box::new(keychain.clone()), Box::new(memory)]));
    let d = start(3, 100, "", Some(layered));
    let (id, secret) = (d.s3.access_key.clone(), d.s3.secret_key.clone());
    let mut responses = Vec::new();

    responses.push(d.ok("set_secret", json!({ "owner": "aws_s3", "field": "access_key_id", "value": id })));
    responses.push(d.ok("set_secret", json!({ "owner": "aws_s3", "field": "secret_access_key", "value": secret })));
    assert_eq!(keychain.get("aws_s3", "secret_access_key").unwrap().as_deref(), Some(secret.as_str()));
    let status = d.ok("secret_status", json!({}));
    let stored = |field: &str| {
        status.as_array().unwrap().iter().any(|s| s["owner"] == "aws_s3" && s["field"] == field && s["stored"] == true)
    };
    assert!(stored("access_key_id") && stored("secret_access_key"), "{status:#}");
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["aws_s3"], "recursive": true }));
    let finished = d.sync_and_wait();
    assert_eq!(finished["status"], "succeeded", "{finished:#}");
    for cmd in ["secret_status", "list_destinations", "destination_stats", "sync_status", "list_policies", "app_info"] {
        responses.push(d.ok(cmd, json!({})));
    }
    responses.push(d.ok("list_files", json!({ "query": { "offset": 0, "limit": 50 } })));
    responses.push(d.ok("test_destination", json!({ "key": "aws_s3" })));
    let bad = d.err("set_secret", json!({ "owner": "aws_s3", "field": "password", "value": secret }));
    responses.push(bad);
    let events = d.events.lock().unwrap().clone();
    // The log must exist for its check to mean anything: a missing one fails the test.
    let log_path = d.dir.path().join("data/rclone.log");
    let log =
        std::fs::read_to_string(&log_path).unwrap_or_else(|e| panic!("no rclone log at {}: {e}", log_path.display()));
    assert!(!log.is_empty(), "rclone's log is empty: nothing was checked");

    let everything = format!("{responses:?} {events:?} {log}");
    assert!(!everything.contains(&secret), "a secret reached a response, an event or the log");
    assert!(!everything.contains(&id), "a key ID reached a response, an event or the log");

    d.ok("clear_secret", json!({ "owner": "aws_s3", "field": "access_key_id" }));
    d.ok("clear_secret", json!({ "owner": "aws_s3", "field": "secret_access_key" }));
    assert_eq!(keychain.get("aws_s3", "access_key_id").unwrap(), None);
    assert_eq!(keychain.get("aws_s3", "secret_access_key").unwrap(), None);
}

#[test]
fn the_shell_learns_how_a_run_ended_from_the_run_itself_never_from_window_events() {
    use tauri::Emitter;
    let d = start(2, 100, "", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["local"], "recursive": true }));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let seen = seen.clone();
        d.app.state::<AppState>().runner.watch(move |news| {
            if let fanout_desktop::runner::RunNews::Finished(end) = news {
                seen.lock().unwrap().push((end.status, end.first_problem().map(str::to_string)));
            }
        });
    }
    // What a window (or a script in it) could send: a forged end of run with a message.
    d.app.emit(EVENT_FINISHED, json!({ "status": "failed", "error": "forged: click here" })).unwrap();
    let forged = d.wait_for(EVENT_FINISHED, Duration::from_secs(5));
    assert_eq!(forged["error"], "forged: click here", "the forged event went out to listeners");
    assert!(seen.lock().unwrap().is_empty(), "a window event reached the shell's own follow-up");

    let finished = d.sync_and_wait();
    assert_eq!(finished["status"], "succeeded", "{finished:#}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(*seen.lock().unwrap(), vec![(fanout_core::db::RunStatus::Succeeded, None)]);
}
