//! Fanout's desktop app: a thin Tauri shell over the engine (`fanout_core`).
//!
//! [`configure`] adds everything the window relies on (commands, plugins, state) and runs
//! under Tauri's mock runtime in tests; [`run`] adds what needs a real desktop: the window,
//! the tray, single-instance, notifications and the schedule.

pub mod commands;
pub mod error;
pub mod overdue;
pub mod restore;
pub mod runner;
pub mod sidecar;
pub mod state;
pub mod tray;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use fanout_core::config::Config;
use fanout_core::secrets::{LayeredSecrets, SecretStore};
use fanout_core::Engine;
use fanout_core::{default_config_path, default_data_dir};
use serde_json::Value;
use tauri::{Emitter, Manager, Runtime};

use crate::runner::{Emit, RunNews, SyncRunner};
use crate::state::AppState;

/// How the app was started.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(name = "fanout-desktop", version, about = "Fanout: back up Google Drive folders to several clouds")]
pub struct Options {
    /// Use a sample Drive and local destinations (no account needed).
    #[arg(long)]
    pub demo: bool,
    /// Start hidden in the tray (how start-at-login launches it).
    #[arg(long)]
    pub minimized: bool,
    #[arg(long, env = "FANOUT_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "FANOUT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Adds the commands and plugins shared by the real app and the tests (which start from
/// Tauri's mock builder).
pub fn configure<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_shell::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_autostart::Builder::new().app_name("Fanout").args(["--minimized"]).build())
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::list_policies,
            commands::add_policy,
            commands::update_policy,
            commands::remove_policy,
            commands::set_policy_enabled,
            commands::list_destinations,
            commands::test_destination,
            commands::drive_folders,
            commands::search_folders,
            commands::folder_estimate,
            commands::bandwidth_limit,
            commands::set_bandwidth_limit,
            commands::pause_sync,
            commands::resume_sync,
            commands::start_sync,
            commands::retry_failed,
            commands::cancel_sync,
            commands::sync_status,
            commands::set_schedule_paused,
            commands::destination_stats,
            commands::recent_runs,
            commands::list_files,
            commands::file_history,
            commands::restore_preview,
            commands::start_restore,
            commands::cancel_restore,
            commands::secret_status,
            commands::set_secret,
            commands::clear_secret,
            commands::google_status,
            commands::connect_google,
            commands::disconnect_google,
            commands::autostart_status,
            commands::set_autostart,
        ])
}

/// An emitter that sends to every window of `app`.
pub fn emitter<R: Runtime>(app: &tauri::AppHandle<R>) -> Emit {
    let app = app.clone();
    Arc::new(move |event: &str, payload: Value| {
        if let Err(e) = app.emit(event, payload) {
            tracing::warn!(error = %e, event, "could not send an event to the window");
        }
    })
}

/// The data folder the options point at (the demo keeps its own).
fn data_dir_for(options: &Options) -> PathBuf {
    match (&options.data_dir, options.demo) {
        (Some(dir), _) => dir.clone(),
        (None, true) => default_data_dir().join("demo"),
        (None, false) => default_data_dir(),
    }
}

/// Opens the engine the options ask for: the demo profile, or the user's config and keychain.
pub async fn open_engine(
    options: &Options,
) -> anyhow::Result<(Engine, Option<PathBuf>, Option<fanout_demo::DemoServers>)> {
    if options.demo {
        let data_dir = data_dir_for(options);
        std::fs::create_dir_all(&data_dir)?;
        // The window starts with one folder set up; adding the other is part of the tour.
        let demo = fanout_demo::DemoProfile::start(&data_dir, &fanout_demo::STARTER_POLICIES[..1]).await?;
        return Ok((demo.engine, None, Some(demo.servers)));
    }
    let config_path = options.config.clone().unwrap_or_else(default_config_path);
    let config = if config_path.is_file() { Config::load(&config_path)? } else { Config::default_config()? };
    let data_dir = data_dir_for(options);
    let secrets: Arc<dyn SecretStore> = Arc::new(LayeredSecrets::keychain_then_env(&config));
    Ok((Engine::open(config, &data_dir, secrets).await?, Some(config_path), None))
}

/// Keeps the tray's status line in step with the runs, and notifies when one ends badly. It
/// learns of runs from the runner itself: events from the window are never trusted for this.
fn follow_runs<R: Runtime>(app: &tauri::AppHandle<R>, runner: &SyncRunner) {
    let handle = app.clone();
    runner.watch(move |news| match news {
        RunNews::Started => {
            tray::set_badge(&handle, tray::TrayBadge::Syncing);
            tray::set_status(&handle, "syncing…")
        }
        RunNews::Progress(p) => tray::set_status(&handle, &format!("syncing {} of {}", p.files_done, p.files_total)),
        RunNews::Finished(end) => {
            tray::show_run_paused(&handle, false);
            tray::set_status(&handle, &format!("last sync {}", end.status));
            let badge = if end.status.had_trouble() { tray::TrayBadge::Failed } else { tray::TrayBadge::None };
            tray::set_badge(&handle, badge);
            if end.status.had_trouble() {
                use tauri_plugin_notification::NotificationExt;
                let body = end.first_problem().unwrap_or("Some files could not be copied; open Fanout to see which.");
                let _ = handle.notification().builder().title("Fanout: sync had failures").body(body).show();
            }
        }
    });
}

/// SIGTERM (a session ending, `kill`) and SIGINT go through the app's normal exit, so the
/// exit hook below still stops rclone and the demo's servers.
fn exit_on_termination_signals<R: Runtime>(app: &tauri::AppHandle<R>) {
    use tokio::signal::unix::{signal, SignalKind};
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        app.exit(0);
    });
}

/// What the app does as it exits: cancel a running sync, stop the rclone sidecars and the
/// demo's servers, so nothing of Fanout's outlives it.
pub fn on_exit<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(state) = app.try_state::<AppState>() {
        state.runner.cancel();
        // Dropping the demo's servers stops them (their processes are ours to end).
        drop(state.demo.lock().ok().and_then(|mut demo| demo.take()));
    }
    if let Some(children) = app.try_state::<sidecar::Children>() {
        sidecar::kill_all(&children);
    }
}

/// A stable 64-bit hash (FNV-1a): a D-Bus name for a data folder.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Starts the desktop app.
pub fn run(options: Options) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    tauri::async_runtime::set(runtime.handle().clone());
    let minimized = options.minimized;
    // Single-instance first, so a second launch hands over to this one before anything starts
    // (the engine, and the demo's servers, are only opened in `setup`, after that check).
    // One instance per data folder: the demo (or a second profile) can run beside the app.
    let instance_id = format!("app.fanout.desktop.i{:x}", fnv1a(data_dir_for(&options).to_string_lossy().as_bytes()));
    let first = tauri::Builder::default().plugin(
        tauri_plugin_single_instance::Builder::new()
            .dbus_id(instance_id)
            .callback(|app, _argv, _cwd| tray::show_main_window(app))
            .build(),
    );
    let app = configure(first)
        .on_window_event(|window, event| {
            // Closing the window keeps Fanout running in the tray.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .setup(move |app| {
            let (mut engine, config_path, demo) = tauri::async_runtime::block_on(open_engine(&options))?;
            let launcher = sidecar::SidecarLauncher::new();
            app.manage(launcher.children());
            engine.set_launcher(Arc::new(launcher));
            if let Some(rclone) = sidecar::bundled_rclone() {
                engine.set_rclone_binary(rclone);
            }
            let state = AppState::new(engine, emitter(app.handle()), config_path, demo);
            state.runner.spawn_schedule();
            follow_runs(app.handle(), &state.runner);
            app.manage(state);
            tray::build(app.handle())?;
            overdue::spawn(app.handle());
            exit_on_termination_signals(app.handle());
            if minimized {
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.hide();
                }
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("cannot start the window")?;
    app.run(|app, event| match event {
        // No window open is not a reason to quit: the tray keeps the app alive.
        tauri::RunEvent::ExitRequested { api, code: None, .. } => api.prevent_exit(),
        tauri::RunEvent::Exit => on_exit(app),
        _ => {}
    });
    Ok(())
}
