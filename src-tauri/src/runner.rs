//! One sync at a time, started from the window, the tray or the schedule, with its progress
//! pushed to the window as events.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use fanout_core::pause::Pause;
use fanout_core::schedule::{self, SystemClock};
use fanout_core::Engine;
use fanout_core::{ProgressSnapshot, RetryScope, SyncEvent, SyncOptions, SyncSummary};
use fanout_core::{RunRecord, RunStatus};
use serde::Serialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::error::{CommandError, CommandResult};

pub const EVENT_STARTED: &str = "sync://started";
pub const EVENT_PROGRESS: &str = "sync://progress";
pub const EVENT_FINISHED: &str = "sync://finished";
pub const EVENT_PAUSED: &str = "sync://paused";

/// Sends an event to the window.
pub type Emit = Arc<dyn Fn(&str, Value) + Send + Sync>;

/// How a run goes, as the shell itself (tray, notifications) learns it: straight from the
/// runner, never from window events, which the window could send as well.
#[derive(Debug, Clone)]
pub enum RunNews {
    Started,
    Progress(ProgressSnapshot),
    Finished(RunEnd),
}

#[derive(Debug, Clone)]
pub struct RunEnd {
    pub status: RunStatus,
    /// The run's result, when it got as far as having one.
    pub summary: Option<SyncSummary>,
    /// Why the run could not finish, when it could not.
    pub error: Option<String>,
}

impl RunEnd {
    /// What a person should read first about this run's trouble, if any.
    pub fn first_problem(&self) -> Option<&str> {
        self.error.as_deref().or_else(|| self.summary.as_ref().and_then(|s| s.errors.first()).map(String::as_str))
    }
}

type Observer = Arc<dyn Fn(&RunNews) + Send + Sync>;

#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub running: bool,
    /// The running sync is paused (nothing new starts until it is resumed).
    pub run_paused: bool,
    /// Scheduled syncs are paused.
    pub paused: bool,
    pub schedule: Option<String>,
    /// When the next scheduled sync is due (RFC 3339), unless paused.
    pub next_due: Option<String>,
    /// Set when no backup has completed for longer than `sync.stale_after`.
    pub overdue: Option<fanout_core::schedule::Overdue>,
    pub progress: Option<ProgressSnapshot>,
    pub last_run: Option<RunRecord>,
}

/// What a run does.
enum RunKind {
    /// A sync of everything that needs it.
    Now,
    /// Only the failed pairs within the scope.
    Retry(RetryScope),
    /// A sync, if the schedule says one is due when the sync lock is taken.
    IfDue,
}

#[derive(Default)]
struct Current {
    cancel: Option<CancellationToken>,
    pause: Pause,
    progress: Option<ProgressSnapshot>,
}

pub struct SyncRunner {
    engine: Arc<Engine>,
    emit: Emit,
    current: Arc<Mutex<Current>>,
    paused: Mutex<bool>,
    observers: Arc<Mutex<Vec<Observer>>>,
    /// When the schedule last tried to start a sync that recorded no run (it failed first):
    /// counted like a run's start, so it is not retried at every look.
    scheduled_attempt: Arc<Mutex<Option<DateTime<Utc>>>>,
}

impl SyncRunner {
    pub fn new(engine: Arc<Engine>, emit: Emit) -> Self {
        Self {
            engine,
            emit,
            current: Arc::default(),
            paused: Mutex::new(false),
            observers: Arc::default(),
            scheduled_attempt: Arc::default(),
        }
    }

    /// Calls `observer` with every run's news (the tray and notifications follow runs so).
    pub fn watch(&self, observer: impl Fn(&RunNews) + Send + Sync + 'static) {
        if let Ok(mut observers) = self.observers.lock() {
            observers.push(Arc::new(observer));
        }
    }

    pub fn is_running(&self) -> bool {
        self.current.lock().map(|c| c.cancel.is_some()).unwrap_or(false)
    }

    /// Starts a run in the background; its events tell how it goes.
    pub fn start(&self) -> CommandResult<()> {
        self.start_run(RunKind::Now)
    }

    /// Starts a run that copies again only the failed pairs within `scope`.
    pub fn start_retry(&self, scope: RetryScope) -> CommandResult<()> {
        self.start_run(RunKind::Retry(scope))
    }

    fn start_run(&self, kind: RunKind) -> CommandResult<()> {
        let cancel = CancellationToken::new();
        let pause = {
            let mut current = self.current.lock().map_err(|_| CommandError::new("internal", "sync state poisoned"))?;
            if current.cancel.is_some() {
                return Err(CommandError::new(
                    "already_running",
                    "a sync is already running; wait for it or cancel it",
                ));
            }
            current.cancel = Some(cancel.clone());
            current.pause = Pause::default();
            current.progress = None;
            current.pause.clone()
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (engine, emit, current) = (self.engine.clone(), self.emit.clone(), self.current.clone());
        let scheduled_attempt = self.scheduled_attempt.clone();
        let observers = self.observers.clone();
        let tell = move |news: RunNews| {
            let list: Vec<Observer> = observers.lock().map(|o| o.clone()).unwrap_or_default();
            for observer in list {
                observer(&news);
            }
        };
        tauri::async_runtime::spawn(async move {
            let forward = {
                let (emit, current, tell) = (emit.clone(), current.clone(), tell.clone());
                async move {
                    while let Some(event) = rx.recv().await {
                        match event {
                            SyncEvent::Started { run_id } => {
                                tell(RunNews::Started);
                                emit(EVENT_STARTED, json!({ "run_id": run_id }));
                            }
                            SyncEvent::Progress(snapshot) => {
                                if let Ok(mut c) = current.lock() {
                                    c.progress = Some(snapshot.clone());
                                }
                                emit(EVENT_PROGRESS, json!(snapshot));
                                tell(RunNews::Progress(snapshot));
                            }
                            _ => {}
                        }
                    }
                }
            };
            let options = SyncOptions { cancel, pause, progress: Some(tx) };
            let run = async {
                match &kind {
                    RunKind::Now => engine.sync(options).await.map(Some),
                    RunKind::Retry(scope) => engine.retry_failed(scope, options).await.map(Some),
                    RunKind::IfDue => engine.sync_if_due(Utc::now(), options).await,
                }
            };
            let (result, ()) = tokio::join!(run, forward);
            if let Ok(mut c) = current.lock() {
                *c = Current::default();
            }
            let result = match result {
                Ok(Some(summary)) => Ok(summary),
                // Not due after all: a sync elsewhere (a timer, another app) has just run.
                Ok(None) => return,
                Err(e) => Err(e),
            };
            let end = match result {
                Ok(summary) => {
                    // The run is recorded: the schedule counts from it.
                    if let Ok(mut attempt) = scheduled_attempt.lock() {
                        *attempt = None;
                    }
                    RunEnd { status: summary.status, summary: Some(summary), error: None }
                }
                Err(error) => {
                    RunEnd { status: RunStatus::Failed, summary: None, error: Some(CommandError::from(error).message) }
                }
            };
            let finished = match &end.summary {
                Some(summary) => json!({ "status": end.status, "summary": summary }),
                None => json!({ "status": end.status, "error": end.error }),
            };
            emit(EVENT_FINISHED, finished);
            tell(RunNews::Finished(end));
        });
        Ok(())
    }

    pub fn cancel(&self) -> bool {
        match self.current.lock().ok().and_then(|c| c.cancel.clone().map(|cancel| (cancel, c.pause.clone()))) {
            Some((cancel, pause)) => {
                cancel.cancel();
                // Whatever waits for a resume sees the cancel instead.
                pause.resume();
                true
            }
            None => false,
        }
    }

    /// Pauses the running sync (copies under way finish; nothing new starts); false when no
    /// sync runs or it already was paused.
    pub fn pause_run(&self) -> bool {
        self.running_pause().is_some_and(|p| p.pause())
    }

    /// Resumes a paused sync; false when none was paused.
    pub fn resume_run(&self) -> bool {
        self.running_pause().is_some_and(|p| p.resume())
    }

    pub fn is_run_paused(&self) -> bool {
        self.running_pause().is_some_and(|p| p.is_paused())
    }

    fn running_pause(&self) -> Option<Pause> {
        self.current.lock().ok().filter(|c| c.cancel.is_some()).map(|c| c.pause.clone())
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
            run_paused: self.is_run_paused(),
            paused: self.is_paused(),
            schedule: self.engine.config.sync.schedule.clone(),
            next_due: self
                .next_due()
                .await
                .map(|due| due.max(Utc::now()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            overdue: self.engine.overdue(Utc::now()).await?,
            progress,
            last_run,
        })
    }

    /// Starts scheduled syncs for as long as the app runs (see `fanout_core::schedule`).
    pub fn spawn_schedule(self: &Arc<Self>) {
        if self.engine.config.sync.schedule_rule.is_none() {
            return;
        }
        let runner = self.clone();
        tauri::async_runtime::spawn(async move {
            let stop = CancellationToken::new();
            schedule::run(&*runner, &SystemClock, schedule::TICK, &stop).await;
        });
    }

    /// When the next scheduled sync is due, unless paused or there is nothing to back up.
    pub async fn next_due(&self) -> Option<DateTime<Utc>> {
        if self.is_paused() || self.engine.policies().await.map(|p| p.is_empty()).unwrap_or(true) {
            return None;
        }
        let attempted = self.scheduled_attempt.lock().ok().and_then(|a| *a);
        self.engine.next_scheduled_sync(attempted).await.ok().flatten()
    }
}

impl schedule::Scheduled for SyncRunner {
    async fn next_due(&self) -> Option<DateTime<Utc>> {
        SyncRunner::next_due(self).await
    }

    fn start(&self) {
        // A start that fails before the run is recorded still counts, so it is not retried
        // at every tick.
        if let Ok(mut attempt) = self.scheduled_attempt.lock() {
            *attempt = Some(Utc::now());
        }
        match self.start_run(RunKind::IfDue) {
            Ok(()) => tracing::info!("scheduled sync started"),
            Err(e) => tracing::info!(reason = %e.message, "scheduled sync not started"),
        }
    }
}
