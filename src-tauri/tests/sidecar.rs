//! The bundled rclone is started from next to the app's executable (never from PATH), and is
//! gone when the run and the app are done.

mod support;

use std::sync::Arc;

use fanout_core::rclone::SIDECAR_NAME;
use fanout_desktop::sidecar::{bundled_rclone, SidecarLauncher};
use fanout_desktop::state::AppState;
use serde_json::json;
use tauri::Manager;

#[test]
fn syncs_run_rclone_as_the_bundled_sidecar_which_is_gone_afterwards() {
    let d = support::start(5, 1000, "", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["local", "aws_s3"], "recursive": true }));
    // Rebuild the state with the sidecar launcher, as the real app's setup does.
    let launcher = SidecarLauncher::new();
    let children = launcher.children();
    let engine = {
        let state = d.app.state::<AppState>();
        let config = state.engine.config.clone();
        let data = state.engine.data_dir().to_path_buf();
        let mut engine =
            tauri::async_runtime::block_on(fanout_core::Engine::open(config, &data, d.secrets.clone())).unwrap();
        engine.set_launcher(Arc::new(launcher));
        engine.set_rclone_binary(bundled_rclone().expect("the bundled rclone next to the app"));
        engine
    };
    let state = AppState::new(engine, fanout_desktop::emitter(d.app.handle()), None, None);
    let runner = state.runner.clone();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let watcher = {
        let (children, seen) = (children.clone(), seen.clone());
        std::thread::spawn(move || {
            for _ in 0..3000 {
                for pid in children.lock().unwrap().iter() {
                    if let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) {
                        seen.lock().unwrap().push((*pid, exe));
                    }
                }
                if !seen.lock().unwrap().is_empty() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };

    runner.start().unwrap();
    let finished = d.wait_for(fanout_desktop::runner::EVENT_FINISHED, std::time::Duration::from_secs(60));
    watcher.join().unwrap();

    assert_eq!(finished["status"], "succeeded", "{finished:#}");
    let seen = seen.lock().unwrap().clone();
    let (pid, exe) = seen.first().cloned().expect("a sidecar was started");
    let app_dir = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_path_buf();
    assert_eq!(exe, app_dir.join(SIDECAR_NAME), "started from next to the app, not from PATH");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
    {
        assert!(std::time::Instant::now() < deadline, "the sidecar outlived its run");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(children.lock().unwrap().is_empty(), "every sidecar was reaped");
}

#[test]
fn a_sidecar_still_running_is_stopped_when_the_app_exits() {
    let d = support::start(4, 2 * 1024 * 1024, "sync:\n  bandwidth_limit: 1M\n  large_file_threshold_mib: 1\n", None);
    d.ok("add_policy", json!({ "folder": "Projects", "destinations": ["aws_s3"], "recursive": true }));
    let launcher = SidecarLauncher::new();
    let children = launcher.children();
    d.app.manage(children.clone());
    let config = d.app.state::<AppState>().engine.config.clone();
    let data = d.app.state::<AppState>().engine.data_dir().to_path_buf();
    let mut engine =
        tauri::async_runtime::block_on(fanout_core::Engine::open(config, &data, d.secrets.clone())).unwrap();
    engine.set_launcher(Arc::new(launcher));
    engine.set_rclone_binary(bundled_rclone().expect("the bundled rclone next to the app"));
    let state = AppState::new(engine, fanout_desktop::emitter(d.app.handle()), None, None);
    state.runner.start().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let pid = loop {
        if let Some(pid) = children.lock().unwrap().first().copied() {
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "no sidecar started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    d.wait_for(fanout_desktop::runner::EVENT_PROGRESS, std::time::Duration::from_secs(30));

    fanout_desktop::on_exit(d.app.handle());

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
    {
        assert!(std::time::Instant::now() < deadline, "the sidecar outlived the app");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    state.runner.cancel();
}
