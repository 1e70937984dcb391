//! Restores started from the window: one at a time, in the background, reported by events
//! (`restore://progress`, `restore://finished`, `restore://failed`), cancellable.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fanout_core::restore::time::parse_moment_now;
use fanout_core::{Engine, RestoreOptions, RestoreReport, RestoreRequest};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::error::{CommandError, CommandResult};
use crate::runner::Emit;

/// What the window asks to restore (docs/desktop-api.md, `RestoreInput`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RestoreInput {
    pub sources: Vec<String>,
    pub all: bool,
    /// A folder on this computer (an absolute path)…
    pub to: Option<String>,
    /// …or Google Drive: the new folder's name ("" for the default).
    pub to_drive: Option<String>,
    /// With `to_drive`: exported Google files become Google files again.
    pub convert: bool,
    pub at: Option<String>,
    pub from: Option<String>,
    pub overwrite: bool,
    pub include_deleted: bool,
}

impl RestoreInput {
    /// The Drive folder and whether to convert, for a restore into Google Drive.
    fn drive_target(&self) -> Option<(&str, bool)> {
        self.to_drive.as_deref().map(|folder| (folder, self.convert))
    }

    fn request(&self, dry_run: bool) -> CommandResult<RestoreRequest> {
        let invalid = |m: &str| CommandError::new("invalid_input", m);
        if !self.all && self.sources.is_empty() {
            return Err(invalid("Choose what to restore: one or more folders, or everything."));
        }
        let to = match (&self.to, &self.to_drive) {
            (_, Some(_)) => PathBuf::new(),
            (Some(dir), None) if PathBuf::from(dir).is_absolute() => PathBuf::from(dir),
            _ => return Err(invalid("Choose the folder to restore into.")),
        };
        let at = match self.at.as_deref().filter(|a| !a.is_empty()) {
            Some(text) => Some(parse_moment_now(text).map_err(|e| invalid(&e))?),
            None => None,
        };
        Ok(RestoreRequest {
            sources: self.sources.clone(),
            all: self.all,
            to,
            at,
            from: self.from.clone().filter(|f| !f.is_empty()),
            dry_run,
            overwrite: self.overwrite,
            include_deleted: self.include_deleted,
        })
    }
}

pub struct RestoreRunner {
    engine: Arc<Engine>,
    emit: Emit,
    running: Mutex<Option<CancellationToken>>,
}

impl RestoreRunner {
    pub fn new(engine: Arc<Engine>, emit: Emit) -> Self {
        Self { engine, emit, running: Mutex::new(None) }
    }

    /// What a restore would do (a dry run: nothing is written).
    pub async fn preview(&self, input: &RestoreInput) -> CommandResult<RestoreReport> {
        let request = input.request(true)?;
        run(&self.engine, &request, input.drive_target(), &RestoreOptions::default()).await
    }

    /// Starts a restore in the background; its progress and result arrive as events.
    pub fn start(self: &Arc<Self>, input: RestoreInput) -> CommandResult<()> {
        let request = input.request(false)?;
        let cancel = CancellationToken::new();
        {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if running.is_some() {
                return Err(CommandError::new(
                    "already_running",
                    "A restore is already running; wait for it, or cancel it.",
                ));
            }
            *running = Some(cancel.clone());
        }
        let this = self.clone();
        tauri::async_runtime::spawn(async move {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let emit = this.emit.clone();
            let forward = tauri::async_runtime::spawn(async move {
                while let Some(p) = rx.recv().await {
                    emit("restore://progress", serde_json::to_value(&p).unwrap_or_default());
                }
            });
            let options = RestoreOptions { cancel, progress: Some(tx) };
            let result = run(&this.engine, &request, input.drive_target(), &options).await;
            drop(options);
            let _ = forward.await;
            *this.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
            match result {
                Ok(report) => (this.emit)("restore://finished", serde_json::to_value(&report).unwrap_or_default()),
                Err(e) => (this.emit)("restore://failed", serde_json::to_value(&e).unwrap_or_default()),
            }
        });
        Ok(())
    }

    /// Cancels the running restore; whether there was one.
    pub fn cancel(&self) -> bool {
        match self.running.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(cancel) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }
}

async fn run(
    engine: &Engine,
    request: &RestoreRequest,
    to_drive: Option<(&str, bool)>,
    options: &RestoreOptions,
) -> CommandResult<RestoreReport> {
    let report = match to_drive {
        Some((folder, convert)) => engine.restore_to_drive(request, Some(folder), convert, options).await?,
        None => engine.restore(request, options).await?,
    };
    Ok(report)
}
