//! Every window command through Tauri's IPC layer (mock runtime), with the real engine,
//! a fake Drive and a real S3 server behind it.

mod support;

use std::sync::Arc;
use std::time::Duration;

use fanout_core::db::FileQuery;
use fanout_core::secrets::{KeychainSecrets, LayeredSecrets, MemorySecrets, SecretStore};
use fanout_desktop::overdue::EVENT_OVERDUE;
use fanout_desktop::runner::{EVENT_FINISHED, EVENT_PROGRESS, EVENT_STARTED};
use fanout_desktop::state::AppState;
use serde_json::json;
use support::start;
use tauri::Manager;

#[test]
fn folder_policies_are_created_changed_and_removed_and_bad_input_is_refused() {
    // One unit of money per byte-month, so that 300 bytes cost a figure to compare.
    let d =
        start(3, 100, "prices:\n  s3_compatible:\n    STANDARD: { per_gb_month: 1073741824, currency: EUR }\n", None);
    assert_eq!(d.ok("list_policies", json!({})), json!([]));

    let folders = d.ok("drive_folders", json!({}));
    let names: Vec<&str> = folders.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Archive", "Projects"]);
    let projects_id = folders[1]["id"].as_str().unwrap().to_string();
    assert_eq!(d.ok("search_folders", json!({ "query": "proj" }))[0]["id"], json!(projects_id));

    // The picker's estimate: the folder's size in Drive times each destination's price.
    let estimate = d.ok("folder_estimate", json!({ "folder": projects_id, "recursive": true }));
    assert_eq!((estimate["files"].as_u64(), estimate["bytes"].as_u64()), (Some(3), Some(300)), "{estimate:#}");
    assert_eq!(estimate["monthly_costs"]["aws_s3"]["amount"], 300.0, "{estimate:#}");
    assert_eq!(estimate["monthly_costs"]["aws_s3"]["currency"], "EUR");
    assert!(estimate["monthly_costs"].get("local").is_none(), "a disk has no price: {estimate:#}");

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
    let twice = twice["message"].as_str().unwrap();
    assert!(twice.contains("already has a policy. Change its destinations with Edit"), "{twice}");
    assert!(!twice.contains("fanout ") && !twice.contains("terminal"), "the window never sends to a terminal: {twice}");

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

/// Moves every recorded run's start `minutes` into the past, as time passing while the app
/// was closed or the computer asleep would.
fn age_runs(d: &support::Desktop, minutes: i64) {
    let url = format!("sqlite://{}", d.dir.path().join("data/fanout.db").display());
    let started =
        (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    tauri::async_runtime::block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("UPDATE sync_runs SET started_at = ?").bind(started).execute(&pool).await.unwrap();
        pool.close().await;
    });
}

fn starts(d: &support::Desktop) -> usize {
    d.event_names().iter().filter(|n| *n == EVENT_STARTED).count()
}

#[test]
fn the_schedule_syncs_once_when_due_by_the_recorded_runs_and_says_when_the_next_is_due() {
    let d = start(3, 100, "sync:\n  schedule: every 2m\n", None);
    d.app.state::<AppState>().runner.spawn_schedule();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(starts(&d), 0, "nothing to back up yet: no sync");
    assert!(d.ok("sync_status", json!({})).get("next_due").is_none_or(|v| v.is_null()));

    // Never synced: due at once, so the next look (within 20 s) starts one.
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["local"], "recursive": true }));
    assert_eq!(d.wait_for(EVENT_FINISHED, Duration::from_secs(60))["status"], "succeeded");
    assert_eq!(starts(&d), 1);
    let status = d.ok("sync_status", json!({}));
    let next = chrono::DateTime::parse_from_rfc3339(status["next_due"].as_str().unwrap()).unwrap();
    let started = chrono::DateTime::parse_from_rfc3339(status["last_run"]["started_at"].as_str().unwrap()).unwrap();
    assert_eq!(next - started, chrono::Duration::minutes(2), "{status:#}");

    // The next look finds it not due.
    std::thread::sleep(Duration::from_secs(22));
    assert_eq!(starts(&d), 1, "one sync, not one per look");

    // Three minutes passed by the record (a missed due time): exactly one more sync.
    age_runs(&d, 3);
    assert_eq!(d.wait_for(EVENT_FINISHED, Duration::from_secs(60))["status"], "succeeded");
    std::thread::sleep(Duration::from_secs(22));
    assert_eq!(starts(&d), 2, "a missed due time is made up once");
}

#[test]
fn two_instances_due_at_once_make_one_sync() {
    let d = start(3, 100, "sync:\n  schedule: every 2m\n", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["local"], "recursive": true }));
    let other = support::second_instance(&d);
    // Never synced, so both find a sync due at their first look.
    other.state::<AppState>().runner.spawn_schedule();
    d.app.state::<AppState>().runner.spawn_schedule();
    std::thread::sleep(Duration::from_secs(25)); // past a second look by each
    let url = format!("sqlite://{}", d.dir.path().join("data/fanout.db").display());
    let runs: Vec<(String,)> = tauri::async_runtime::block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let runs = sqlx::query_as("SELECT status FROM sync_runs").fetch_all(&pool).await.unwrap();
        pool.close().await;
        runs
    });
    assert_eq!(runs, [("succeeded".to_string(),)], "one sync between the two instances");
}

/// The objects under Projects/ at the S3 server's own storage.
fn s3_objects(d: &support::Desktop) -> Vec<String> {
    let dir = d.dir.path().join("s3/backup/google-drive/Projects");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn retry_copies_only_the_failed_pairs_of_one_file_or_of_a_destination() {
    let mut d = start(3, 100, "", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["local", "aws_s3"], "recursive": true }));
    d.s3.stop();
    let finished = d.sync_and_wait();
    assert_ne!(finished["status"], "succeeded", "{finished:#}");
    let failed = d.ok(
        "list_files",
        json!({ "query": { "destination": "aws_s3", "status": "failed", "offset": 0, "limit": 50 } }),
    );
    assert_eq!(failed["total"], 3, "{failed:#}");
    d.s3.resume().unwrap();
    // Added since: a full sync would copy it, a retry must not.
    let projects = d.drive.id_of("Projects").unwrap();
    d.drive.add_file(&projects, "new.txt", &b"new since the failed run"[..]);

    let first = failed["rows"][0]["file_id"].as_str().unwrap().to_string();
    let first_name = failed["rows"][0]["drive_path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    d.ok("retry_failed", json!({ "destination": "aws_s3", "fileId": first }));
    assert_ne!(d.wait_for(EVENT_FINISHED, Duration::from_secs(60))["status"], "succeeded", "two pairs still failed");
    assert_eq!(s3_objects(&d), [first_name], "only the one pair retried");

    d.ok("retry_failed", json!({ "destination": "aws_s3" }));
    let finished = d.wait_for(EVENT_FINISHED, Duration::from_secs(60));
    let at = &finished["summary"]["destinations"]["aws_s3"];
    assert_eq!((at["transferred"].as_u64(), at["failed"].as_u64()), (Some(2), Some(0)), "{finished:#}");
    assert_eq!(at["pending"], 1, "the new file waits for the next sync: {finished:#}");
    assert_eq!(s3_objects(&d), ["file-000.bin", "file-001.bin", "file-002.bin"]);
    for (key, dir) in [("aws_s3", "s3/backup"), ("local", "backup")] {
        assert!(
            !d.dir.path().join(dir).join("google-drive/Projects/new.txt").exists(),
            "{key}: not retried, never failed"
        );
    }
    assert!(d.ok("list_files", json!({ "query": { "status": "failed", "offset": 0, "limit": 5 } }))["total"] == 0);
}

#[test]
fn backups_overdue_are_said_once_a_day_with_the_destinations_error_and_cleared_by_a_good_run() {
    let mut d = start(3, 100, "sync:\n  stale_after: 1h\n", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["aws_s3"], "recursive": true }));
    d.s3.stop();
    let finished = d.sync_and_wait();
    assert_ne!(finished["status"], "succeeded", "{finished:#}");
    let check = || tauri::async_runtime::block_on(fanout_desktop::overdue::check(d.app.handle()));
    assert!(!check(), "tried just now: not overdue yet");
    assert!(d.ok("sync_status", json!({}))["overdue"].is_null());

    age_runs(&d, 90);
    let status = d.ok("sync_status", json!({}));
    let overdue = &status["overdue"];
    assert!(overdue["last_success"].is_null(), "{status:#}");
    let problem = overdue["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("aws_s3"), "the destination that fails is named: {status:#}");
    assert!(check() && check(), "overdue at every look");
    let alarms: Vec<_> = d.events.lock().unwrap().iter().filter(|(n, _)| n == EVENT_OVERDUE).cloned().collect();
    assert_eq!(alarms.len(), 1, "said once a day, not at every look");
    assert_eq!(alarms[0].1["problem"], problem);

    d.s3.resume().unwrap();
    assert_eq!(d.sync_and_wait()["status"], "succeeded");
    assert!(!check(), "a good run ends it");
    assert!(d.ok("sync_status", json!({}))["overdue"].is_null());
}

#[test]
fn a_bandwidth_limit_set_in_settings_applies_to_the_running_sync_and_is_kept_in_config_yaml() {
    // One file of 8 MiB at 1 MiB/s: at least 8 s to come in from Drive at the old limit.
    let d = start(1, 8 << 20, "sync:\n  bandwidth_limit: 1M\n", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["aws_s3"], "recursive": true }));
    assert_eq!(
        d.ok("bandwidth_limit", json!({})),
        json!({ "limit": "1M", "now": { "upload": 1 << 20, "download": 1 << 20 } })
    );
    let refused = d.err("set_bandwidth_limit", json!({ "limit": "as fast as you can" }));
    assert_eq!(refused["kind"], "invalid_input", "{refused}");

    d.ok("start_sync", json!({}));
    d.wait_for(EVENT_STARTED, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(1));
    let lifted = d.ok("set_bandwidth_limit", json!({ "limit": "08:00,off 20:00,off" }));
    let changed = std::time::Instant::now();
    assert_eq!(lifted, json!({ "limit": "08:00,off 20:00,off", "now": {} }));
    let finished = d.wait_for(EVENT_FINISHED, Duration::from_secs(60));
    assert_eq!(finished["status"], "succeeded", "{finished}");
    let after = changed.elapsed();
    assert!(after < Duration::from_secs(5), "the run took {after:?} more: the new limit did not reach it");

    let yaml = std::fs::read_to_string(d.dir.path().join("config.yaml")).unwrap();
    assert!(yaml.contains("  bandwidth_limit: \"08:00,off 20:00,off\"\n"), "{yaml}");
    assert_eq!(yaml.matches("bandwidth_limit").count(), 1, "{yaml}");
}

#[test]
fn a_sync_paused_from_the_window_or_the_tray_sends_nothing_until_resumed_and_then_completes() {
    use fanout_desktop::runner::EVENT_PAUSED;
    use fanout_desktop::tray::{handle_menu, MENU_PAUSE_RUN};
    // Uploads at 4 MiB/s: 10 files of 4 MiB take a few seconds to go out.
    let d = start(10, 4 << 20, "sync:\n  bandwidth_limit: \"4M:off\"\n  large_file_threshold_mib: 4\n", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["aws_s3"], "recursive": true }));
    assert_eq!(d.ok("pause_sync", json!({})), false, "no sync runs");
    d.ok("start_sync", json!({}));
    d.wait_for(EVENT_STARTED, Duration::from_secs(30));
    let objects = || std::fs::read_dir(d.s3.object_path("backup", "google-drive/Projects")).map_or(0, |r| r.count());
    let held_while_paused = || {
        assert_eq!(d.ok("sync_status", json!({}))["run_paused"], true);
        std::thread::sleep(Duration::from_secs(2)); // what was under way finishes
        let held = objects();
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(objects(), held, "objects arrived while paused");
        assert!(held < 10, "paused too late to tell");
        held
    };

    // From the window.
    assert_eq!(d.ok("pause_sync", json!({})), true);
    assert_eq!(d.wait_for(EVENT_PAUSED, Duration::from_secs(5)), json!({ "paused": true }));
    let held = held_while_paused();
    // Resumed from the tray's item, which then pauses it again.
    handle_menu(d.app.handle(), MENU_PAUSE_RUN);
    assert_eq!(d.wait_for(EVENT_PAUSED, Duration::from_secs(5)), json!({ "paused": false }));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while objects() == held {
        assert!(std::time::Instant::now() < deadline, "nothing went out after the resume");
        std::thread::sleep(Duration::from_millis(20));
    }
    handle_menu(d.app.handle(), MENU_PAUSE_RUN);
    assert_eq!(d.wait_for(EVENT_PAUSED, Duration::from_secs(5)), json!({ "paused": true }));
    held_while_paused();

    assert_eq!(d.ok("resume_sync", json!({})), true);
    let finished = d.wait_for(EVENT_FINISHED, Duration::from_secs(60));
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(objects(), 10);
    assert_eq!(d.ok("sync_status", json!({}))["run_paused"], false);
}
