//! The tray: a status line, Sync now, Pause/Resume this sync, Pause/Resume scheduled syncs,
//! Open Fanout, Quit.
//!
//! Linux trays show no tooltips, so the state is also the first (disabled) menu item.

use std::sync::Mutex;

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::state::AppState;

pub const TRAY_ID: &str = "fanout";
pub const MENU_SYNC_NOW: &str = "sync_now";
pub const MENU_PAUSE: &str = "pause";
pub const MENU_PAUSE_RUN: &str = "pause_run";
pub const MENU_OPEN: &str = "open";
pub const MENU_QUIT: &str = "quit";

/// Handles to the items whose text changes, and the badge the icon shows.
pub struct TrayItems<R: Runtime> {
    pub status: MenuItem<R>,
    pub pause: MenuItem<R>,
    pub pause_run: MenuItem<R>,
    badge: Mutex<TrayBadge>,
}

/// A dot in the icon's corner: what a glance at the tray should tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrayBadge {
    #[default]
    None,
    Syncing,
    /// The last run had failures.
    Failed,
    /// No backup has completed for too long.
    Overdue,
}

impl TrayBadge {
    fn colour(self) -> Option<[u8; 3]> {
        match self {
            TrayBadge::None => None,
            TrayBadge::Syncing => Some([0x25, 0x63, 0xeb]),
            TrayBadge::Failed => Some([0xdc, 0x26, 0x26]),
            TrayBadge::Overdue => Some([0xf5, 0x9e, 0x0b]),
        }
    }
}

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Fanout: idle", false, None::<&str>)?;
    let sync_now = MenuItem::with_id(app, MENU_SYNC_NOW, "Sync now", true, None::<&str>)?;
    let pause_run = MenuItem::with_id(app, MENU_PAUSE_RUN, PAUSE_RUN_TEXT, true, None::<&str>)?;
    let pause = MenuItem::with_id(app, MENU_PAUSE, "Pause scheduled syncs", true, None::<&str>)?;
    let open = MenuItem::with_id(app, MENU_OPEN, "Open Fanout", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, MENU_QUIT, "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&status, &separator, &sync_now, &pause_run, &pause, &open, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID).tooltip("Fanout").menu(&menu);
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_menu_event(|app, event| handle_menu(app, event.id().as_ref())).build(app)?;
    app.manage(TrayItems { status, pause, pause_run, badge: Mutex::new(TrayBadge::None) });
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
        MENU_PAUSE_RUN => {
            set_run_paused(app, !state.runner.is_run_paused());
        }
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

const PAUSE_RUN_TEXT: &str = "Pause this sync";

/// Pauses or resumes the running sync, keeping the tray in step and telling the window
/// (`sync://paused`); false when no sync runs (or it already was so).
pub fn set_run_paused<R: Runtime>(app: &AppHandle<R>, paused: bool) -> bool {
    let state = app.state::<AppState>();
    let changed = if paused { state.runner.pause_run() } else { state.runner.resume_run() };
    if changed {
        show_run_paused(app, paused);
        if paused {
            set_status(app, "sync paused");
        }
        (state.emit)(crate::runner::EVENT_PAUSED, serde_json::json!({ "paused": paused }));
    }
    changed
}

/// The pause item's words: what choosing it would do.
pub fn show_run_paused<R: Runtime>(app: &AppHandle<R>, paused: bool) {
    if let Some(items) = app.try_state::<TrayItems<R>>() {
        let _ = items.pause_run.set_text(if paused { "Resume this sync" } else { PAUSE_RUN_TEXT });
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

/// The badge the tray icon shows now.
pub fn badge<R: Runtime>(app: &AppHandle<R>) -> TrayBadge {
    app.try_state::<TrayItems<R>>().and_then(|items| items.badge.lock().ok().map(|b| *b)).unwrap_or_default()
}

/// Shows `badge` on the tray icon: the app's icon with a coloured dot in its lower right
/// corner (none for `TrayBadge::None`).
pub fn set_badge<R: Runtime>(app: &AppHandle<R>, badge: TrayBadge) {
    let Some(items) = app.try_state::<TrayItems<R>>() else { return };
    if let Ok(mut current) = items.badge.lock() {
        if *current == badge {
            return;
        }
        *current = badge;
    }
    let (Some(tray), Some(icon)) = (app.tray_by_id(TRAY_ID), app.default_window_icon()) else { return };
    let _ = tray.set_icon(Some(with_dot(icon, badge.colour())));
}

/// `icon` with a filled circle of `colour` over its lower right quarter.
fn with_dot(icon: &Image<'_>, colour: Option<[u8; 3]>) -> Image<'static> {
    let (width, height) = (icon.width(), icon.height());
    let mut rgba = icon.rgba().to_vec();
    if let Some([r, g, b]) = colour {
        let radius = f64::from(width.min(height)) * 0.22;
        let (cx, cy) = (f64::from(width) - radius - 1.0, f64::from(height) - radius - 1.0);
        for y in 0..height {
            for x in 0..width {
                let (dx, dy) = (f64::from(x) + 0.5 - cx, f64::from(y) + 0.5 - cy);
                if dx * dx + dy * dy <= radius * radius {
                    let i = ((y * width + x) * 4) as usize;
                    rgba[i..i + 4].copy_from_slice(&[r, g, b, 0xff]);
                }
            }
        }
    }
    Image::new_owned(rgba, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_is_a_dot_in_the_lower_right_corner_and_none_leaves_the_icon() {
        let icon = Image::new_owned(vec![10; 32 * 32 * 4], 32, 32);
        let plain = with_dot(&icon, None);
        assert_eq!(plain.rgba(), icon.rgba());
        let dotted = with_dot(&icon, TrayBadge::Overdue.colour());
        let pixel = |img: &Image<'_>, x: u32, y: u32| img.rgba()[((y * 32 + x) * 4) as usize..][..4].to_vec();
        assert_eq!(pixel(&dotted, 25, 25), [0xf5, 0x9e, 0x0b, 0xff]);
        assert_eq!(pixel(&dotted, 2, 2), [10, 10, 10, 10], "the rest of the icon is untouched");
    }
}
