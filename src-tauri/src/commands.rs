//! The window's commands (docs/desktop-api.md): each delegates to the engine in a few lines.

use fanout_core::bandwidth::BandwidthStatus;
use fanout_core::DestinationInfo;
use fanout_core::FolderPolicy;
use fanout_core::{DestinationStats, FilePage, FileQuery, RunRecord};
use fanout_core::{DriveFolder, GoogleStatus, SecretStatus};
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_autostart::ManagerExt;

use crate::error::{CommandError, CommandResult};
use crate::restore::RestoreInput;
use crate::runner::SyncStatus;
use crate::state::{AppInfo, AppState};

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.info.clone()
}

#[tauri::command]
pub async fn list_policies(state: State<'_, AppState>) -> CommandResult<Vec<FolderPolicy>> {
    Ok(state.engine.policies().await?)
}

#[tauri::command]
pub async fn add_policy(
    state: State<'_, AppState>,
    folder: String,
    destinations: Vec<String>,
    recursive: bool,
) -> CommandResult<FolderPolicy> {
    Ok(state.engine.add_policy(&folder, &destinations, recursive).await?)
}

#[tauri::command]
pub async fn update_policy(
    state: State<'_, AppState>,
    folder: String,
    destinations: Option<Vec<String>>,
    recursive: Option<bool>,
) -> CommandResult<FolderPolicy> {
    Ok(state.engine.update_policy(&folder, destinations.as_deref(), recursive).await?)
}

#[tauri::command]
pub async fn remove_policy(state: State<'_, AppState>, folder: String) -> CommandResult<FolderPolicy> {
    Ok(state.engine.remove_policy(&folder).await?)
}

#[tauri::command]
pub async fn set_policy_enabled(
    state: State<'_, AppState>,
    folder: String,
    enabled: bool,
) -> CommandResult<FolderPolicy> {
    Ok(state.engine.set_policy_enabled(&folder, enabled).await?)
}

#[tauri::command]
pub async fn list_destinations(state: State<'_, AppState>) -> CommandResult<Vec<DestinationInfo>> {
    Ok(state.engine.destinations())
}

#[derive(Debug, Serialize)]
pub struct TestVerdict {
    ok: bool,
    message: String,
}

#[tauri::command]
pub async fn test_destination(state: State<'_, AppState>, key: String) -> CommandResult<TestVerdict> {
    Ok(match state.engine.test_destination(&key, false).await {
        Ok(keeper) => TestVerdict {
            ok: true,
            message: format!(
                "{key}: test passed (reached it, keys accepted, contents listed); {}.",
                keeper.describe("the destination")
            ),
        },
        Err(e) => TestVerdict { ok: false, message: e.to_string() },
    })
}

#[tauri::command]
pub async fn drive_folders(state: State<'_, AppState>, parent_id: Option<String>) -> CommandResult<Vec<DriveFolder>> {
    Ok(state.engine.drive_folders(parent_id.as_deref()).await?)
}

/// A folder's size in Drive and what it would cost a month at each enabled destination.
#[tauri::command]
pub async fn folder_estimate(
    state: State<'_, AppState>,
    folder: String,
    recursive: bool,
) -> CommandResult<fanout_core::FolderEstimate> {
    Ok(state.engine.folder_estimate(&folder, recursive).await?)
}

#[tauri::command]
pub async fn search_folders(state: State<'_, AppState>, query: String) -> CommandResult<Vec<DriveFolder>> {
    Ok(state.engine.search_folders(&query).await?)
}

#[tauri::command]
pub fn start_sync(state: State<'_, AppState>) -> CommandResult<()> {
    state.runner.start()
}

/// Copies again only the failed pairs: of one file (`file_id`), at one destination, or all.
#[tauri::command]
pub fn retry_failed(
    state: State<'_, AppState>,
    destination: Option<String>,
    file_id: Option<String>,
) -> CommandResult<()> {
    state.runner.start_retry(fanout_core::RetryScope { destination, file_id })
}

/// Pauses the running sync: copies under way finish, nothing new starts.
#[tauri::command]
pub fn pause_sync<R: Runtime>(app: AppHandle<R>) -> bool {
    crate::tray::set_run_paused(&app, true)
}

/// Resumes a paused sync where it stopped.
#[tauri::command]
pub fn resume_sync<R: Runtime>(app: AppHandle<R>) -> bool {
    crate::tray::set_run_paused(&app, false)
}

#[tauri::command]
pub fn cancel_sync(state: State<'_, AppState>) -> bool {
    state.runner.cancel()
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> CommandResult<SyncStatus> {
    state.runner.status().await
}

#[tauri::command]
pub async fn set_schedule_paused<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    paused: bool,
) -> CommandResult<SyncStatus> {
    crate::tray::set_paused(&app, paused);
    state.runner.status().await
}

#[tauri::command]
pub fn bandwidth_limit(state: State<'_, AppState>) -> BandwidthStatus {
    BandwidthStatus::of(&state.engine.bandwidth_limit())
}

/// A new bandwidth limit: applied to a running sync at once, and written to config.yaml.
#[tauri::command]
pub async fn set_bandwidth_limit(state: State<'_, AppState>, limit: String) -> CommandResult<BandwidthStatus> {
    let timetable = state.engine.set_bandwidth_limit(&limit, state.info.config_path.as_deref()).await?;
    Ok(BandwidthStatus::of(&timetable))
}

#[tauri::command]
pub async fn destination_stats(state: State<'_, AppState>) -> CommandResult<Vec<DestinationStats>> {
    Ok(state.engine.stats().await?)
}

#[tauri::command]
pub async fn recent_runs(state: State<'_, AppState>, limit: i64) -> CommandResult<Vec<RunRecord>> {
    Ok(state.engine.recent_runs(limit.clamp(1, 100)).await?)
}

#[tauri::command]
pub async fn list_files(state: State<'_, AppState>, query: FileQuery) -> CommandResult<FilePage> {
    let query = FileQuery { limit: query.limit.clamp(1, 500), offset: query.offset.max(0), ..query };
    Ok(state.engine.files(&query).await?)
}

// The keychain commands are async so Tauri runs them off the main thread: the Secret Service
// may block (an unlock prompt) and the window must not freeze meanwhile.
#[tauri::command]
pub async fn secret_status(state: State<'_, AppState>) -> CommandResult<Vec<SecretStatus>> {
    Ok(state.engine.secret_status()?)
}

#[tauri::command]
pub async fn set_secret(state: State<'_, AppState>, owner: String, field: String, value: String) -> CommandResult<()> {
    Ok(state.engine.set_secret(&owner, &field, &value)?)
}

#[tauri::command]
pub async fn clear_secret(state: State<'_, AppState>, owner: String, field: String) -> CommandResult<()> {
    Ok(state.engine.clear_secret(&owner, &field)?)
}

#[tauri::command]
pub async fn google_status(state: State<'_, AppState>) -> CommandResult<GoogleStatus> {
    Ok(state.engine.google_status().await?)
}

#[tauri::command]
pub async fn connect_google<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> CommandResult<GoogleStatus> {
    use tauri_plugin_shell::ShellExt;
    #[allow(deprecated)] // the opener plugin would be one more dependency for one call
    state
        .engine
        .sign_in_google(|url| {
            if let Err(e) = app.shell().open(url, None) {
                tracing::warn!(error = %e, "could not open the browser for Google sign-in");
            }
        })
        .await?;
    Ok(state.engine.google_status().await?)
}

#[tauri::command]
pub async fn disconnect_google(state: State<'_, AppState>) -> CommandResult<GoogleStatus> {
    state.engine.sign_out_google().await?;
    Ok(state.engine.google_status().await?)
}

#[tauri::command]
pub fn autostart_status<R: Runtime>(app: AppHandle<R>) -> CommandResult<bool> {
    app.autolaunch().is_enabled().map_err(|e| CommandError::new("internal", e.to_string()))
}

#[tauri::command]
pub fn set_autostart<R: Runtime>(app: AppHandle<R>, enabled: bool) -> CommandResult<bool> {
    let autolaunch = app.autolaunch();
    let result = if enabled { autolaunch.enable() } else { autolaunch.disable() };
    result.map_err(|e| CommandError::new("internal", format!("cannot change start at login: {e}")))?;
    autolaunch.is_enabled().map_err(|e| CommandError::new("internal", e.to_string()))
}

/// What a restore would do: the dry run's figures; nothing is written.
#[tauri::command]
pub async fn restore_preview(
    state: State<'_, AppState>,
    request: RestoreInput,
) -> CommandResult<fanout_core::RestoreReport> {
    state.restore.preview(&request).await
}

/// Starts a restore; progress and the result arrive as `restore://` events.
#[tauri::command]
pub fn start_restore(state: State<'_, AppState>, request: RestoreInput) -> CommandResult<()> {
    state.restore.start(request)
}

#[tauri::command]
pub fn cancel_restore(state: State<'_, AppState>) -> bool {
    state.restore.cancel()
}

/// Every version of a file at every destination, newest first.
#[tauri::command]
pub async fn file_history(state: State<'_, AppState>, file_id: String) -> CommandResult<fanout_core::FileHistory> {
    Ok(state.engine.history(&file_id).await?)
}
