//! The tray: a status line, Sync now, Pause/Resume scheduled syncs, Open Fanout, Quit.
//!
//! Linux trays show no tooltips, so the state is also the first (disabled) menu item.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::state::AppState;

pub const TRAY_ID: &str = "fanout";
pub const MENU_SYNC_NOW: &str = "sync_now";
pub const MENU_PAUSE: &str = "pause";
pub const MENU_OPEN: &str = "open";
pub const MENU_QUIT: &str = "quit";

/// Handles to the items whose text changes.
pub struct TrayItems<R: Runtime> {
    pub status: MenuItem<R>,
    pub pause: MenuItem<R>,
}

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Fanout: idle", false, None::<&str>)?;
    let sync_now = MenuItem::with_id(app, MENU_SYNC_NOW, "Sync now", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, MENU_PAUSE, "Pause scheduled syncs", true, None::<&str>)?;
    let open = MenuItem::with_id(app, MENU_OPEN, "Open Fanout", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, MENU_QUIT, "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&status, &separator, &sync_now, &pause, &open, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID).tooltip("Fanout").menu(&menu);
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_menu_event(|app, event| handle_menu(app, event.id().as_ref())).build(app)?;
    app.manage(TrayItems { status, pause });
    Ok(())
}

/// What each menu entry does; the tray's handler and the tests call this.
pub fn handle_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let state = app.state::<AppState>();
    match id {
        MENU_SYNC_NOW => {
            if let Err(e) = state.runner.start() {
                tracing::info!(error = %e.message, "tray Sync now");
            }
        }
        MENU_PAUSE => set_paused(app, !state.runner.is_paused()),
        MENU_OPEN => show_main_window(app),
        MENU_QUIT => app.exit(0),
        _ => {}
    }
}

/// Pauses or resumes scheduled syncs, keeping the tray's label in step (the window calls it too).
pub fn set_paused<R: Runtime>(app: &AppHandle<R>, paused: bool) {
    app.state::<AppState>().runner.set_paused(paused);
    if let Some(items) = app.try_state::<TrayItems<R>>() {
        let text = if paused { "Resume scheduled syncs" } else { "Pause scheduled syncs" };
        let _ = items.pause.set_text(text);
    }
}

pub fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Shows the state in the tray: idle, syncing n of m, or the last result.
pub fn set_status<R: Runtime>(app: &AppHandle<R>, text: &str) {
    if let Some(items) = app.try_state::<TrayItems<R>>() {
        let _ = items.status.set_text(format!("Fanout: {text}"));
    }
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(format!("Fanout: {text}")));
    }
}
