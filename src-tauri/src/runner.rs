//! One sync at a time, started from the window, the tray or the schedule, with its progress
//! pushed to the window as events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fanout_core::db::RunRecord;
use fanout_core::sync::{ProgressSnapshot, SyncEvent, SyncOptions};
use fanout_core::Engine;
use serde::Serialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::error::{CommandError, CommandResult};

pub const EVENT_STARTED: &str = "sync://started";
pub const EVENT_PROGRESS: &str = "sync://progress";
pub const EVENT_FINISHED: &str = "sync://finished";

/// Sends an event to the window (and to the tray, which listens too).
pub type Emit = Arc<dyn Fn(&str, Value) + Send + Sync>;

#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub running: bool,
    pub paused: bool,
    pub schedule: Option<String>,
    pub progress: Option<ProgressSnapshot>,
    pub last_run: Option<RunRecord>,
}

#[derive(Default)]
struct Current {
    cancel: Option<CancellationToken>,
    progress: Option<ProgressSnapshot>,
}

pub struct SyncRunner {
    engine: Arc<Engine>,
    emit: Emit,
    current: Arc<Mutex<Current>>,
    paused: Mutex<bool>,
}

impl SyncRunner {
    pub fn new(engine: Arc<Engine>, emit: Emit) -> Self {
        Self { engine, emit, current: Arc::default(), paused: Mutex::new(false) }
    }

    pub fn is_running(&self) -> bool {
        self.current.lock().map(|c| c.cancel.is_some()).unwrap_or(false)
    }

    /// Starts a run in the background; its events tell how it goes.
    pub fn start(&self) -> CommandResult<()> {
        let cancel = CancellationToken::new();
        {
            let mut current = self.current.lock().map_err(|_| CommandError::new("internal", "sync state poisoned"))?;
            if current.cancel.is_some() {
                return Err(CommandError::new(
                    "already_running",
                    "a sync is already running; wait for it or cancel it",
                ));
            }
            current.cancel = Some(cancel.clone());
            current.progress = None;
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (engine, emit, current) = (self.engine.clone(), self.emit.clone(), self.current.clone());
        tauri::async_runtime::spawn(async move {
            let forward = {
                let (emit, current) = (emit.clone(), current.clone());
                async move {
                    while let Some(event) = rx.recv().await {
                        match event {
                            SyncEvent::Started { run_id } => emit(EVENT_STARTED, json!({ "run_id": run_id })),
                            SyncEvent::Progress(snapshot) => {
                                if let Ok(mut c) = current.lock() {
                                    c.progress = Some(snapshot.clone());
                                }
                                emit(EVENT_PROGRESS, json!(snapshot));
                            }
                            _ => {}
                        }
                    }
                }
            };
            let run = engine.sync(SyncOptions { cancel, progress: Some(tx) });
            let (result, ()) = tokio::join!(run, forward);
            if let Ok(mut c) = current.lock() {
                *c = Current::default();
            }
            let finished = match result {
                Ok(summary) => json!({ "status": summary.status, "summary": summary }),
                Err(error) => json!({ "status": "failed", "error": CommandError::from(error).message }),
            };
            emit(EVENT_FINISHED, finished);
        });
        Ok(())
    }

    pub fn cancel(&self) -> bool {
        match self.current.lock().ok().and_then(|c| c.cancel.clone()) {
            Some(cancel) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    pub fn set_paused(&self, paused: bool) {
        if let Ok(mut p) = self.paused.lock() {
            *p = paused;
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused.lock().map(|p| *p).unwrap_or(false)
    }

    pub async fn status(&self) -> CommandResult<SyncStatus> {
        let progress = self.current.lock().ok().and_then(|c| c.progress.clone());
        let last_run = self.engine.recent_runs(1).await?.into_iter().next();
        Ok(SyncStatus {
            running: self.is_running(),
            paused: self.is_paused(),
            schedule: self.engine.config.sync.schedule.clone(),
            progress,
            last_run,
        })
    }

    /// Runs a sync every `sync.schedule` interval unless paused or one is already running.
    pub fn spawn_schedule(self: &Arc<Self>) {
        let Some(every) = self.engine.config.sync.schedule_interval else { return };
        let runner = self.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                tokio::time::sleep(every.max(Duration::from_secs(60))).await;
                if !runner.is_paused() && !runner.is_running() {
                    if let Err(e) = runner.start() {
                        tracing::warn!(error = %e.message, "scheduled sync did not start");
                    }
                }
            }
        });
    }
}
