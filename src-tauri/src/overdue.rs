//! The stale-backup alarm: when no sync has finished successfully for longer than
//! `sync.stale_after`, a desktop notification says so once a day, the tray shows a warning
//! icon and says it in words, and the window gets `sync://overdue` (the Dashboard's banner
//! reads the same state from `sync_status`).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{Local, NaiveDate, Utc};
use fanout_core::schedule::Overdue;
use serde_json::json;
use tauri::{Manager, Runtime};

use crate::state::AppState;
use crate::tray::{self, TrayBadge};

pub const EVENT_OVERDUE: &str = "sync://overdue";

/// How often the alarm looks.
const LOOK_EVERY: Duration = Duration::from_secs(60);

/// The day the alarm last notified, so it says so once a day.
#[derive(Default)]
pub struct Alarm {
    notified_on: Mutex<Option<NaiveDate>>,
}

/// What the notification and the tray say.
pub fn sentence(overdue: &Overdue) -> String {
    let since = chrono::DateTime::parse_from_rfc3339(&overdue.since)
        .map(|t| t.with_timezone(&Local).format("%b %-d, %H:%M").to_string())
        .unwrap_or_else(|_| overdue.since.clone());
    let head = match overdue.last_success {
        Some(_) => format!("No backup has completed since {since}."),
        None => format!("No backup has completed yet (first tried {since})."),
    };
    match &overdue.problem {
        Some(problem) => format!("{head} Last problem: {problem}"),
        None => head,
    }
}

/// Looks once: warns (once a day) when backups are overdue, clears the warning when they are
/// not. Returns whether backups are overdue.
pub async fn check<R: Runtime>(app: &tauri::AppHandle<R>) -> bool {
    let state = app.state::<AppState>();
    let overdue = match state.engine.overdue(Utc::now()).await {
        Ok(overdue) => overdue,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether backups are overdue");
            return false;
        }
    };
    let Some(overdue) = overdue else {
        if tray::badge(app) == TrayBadge::Overdue {
            tray::set_badge(app, TrayBadge::None);
            tray::set_status(app, "idle");
        }
        return false;
    };
    if !state.runner.is_running() {
        tray::set_badge(app, TrayBadge::Overdue);
        tray::set_status(app, "backups overdue");
    }
    let today = Local::now().date_naive();
    let first_today = state.alarm.notified_on.lock().map(|mut day| day.replace(today) != Some(today)).unwrap_or(false);
    if first_today {
        use tauri_plugin_notification::NotificationExt;
        let body = sentence(&overdue);
        let _ = app.notification().builder().title("Fanout: backups are overdue").body(&body).show();
        (state.emit)(EVENT_OVERDUE, json!(overdue));
    }
    true
}

/// Looks every minute for as long as the app runs.
pub fn spawn<R: Runtime>(app: &tauri::AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            check(&app).await;
            tokio::time::sleep(LOOK_EVERY).await;
        }
    });
}
