//! What the app holds while it runs: the engine, the sync runner, and the demo's servers.

use std::path::PathBuf;
use std::sync::Arc;

use fanout_core::Engine;
use fanout_demo::DemoServers;
use serde::Serialize;

use crate::overdue::Alarm;
use crate::restore::RestoreRunner;
use crate::runner::{Emit, SyncRunner};

pub struct AppState {
    pub engine: Arc<Engine>,
    pub runner: Arc<SyncRunner>,
    pub restore: Arc<RestoreRunner>,
    pub alarm: Alarm,
    /// Sends an event to the window.
    pub emit: Emit,
    pub info: AppInfo,
    /// The sample Drive and S3 server of the demo profile, kept alive with the app (and
    /// taken out to stop them when it exits).
    pub demo: std::sync::Mutex<Option<DemoServers>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub version: &'static str,
    pub demo: bool,
    pub data_dir: PathBuf,
    pub config_path: Option<PathBuf>,
}

impl AppState {
    pub fn new(engine: Engine, emit: Emit, config_path: Option<PathBuf>, demo: Option<DemoServers>) -> Self {
        let engine = Arc::new(engine);
        let info = AppInfo {
            version: env!("CARGO_PKG_VERSION"),
            demo: demo.is_some(),
            data_dir: engine.data_dir().to_path_buf(),
            config_path,
        };
        let runner = Arc::new(SyncRunner::new(engine.clone(), emit.clone()));
        let restore = Arc::new(RestoreRunner::new(engine.clone(), emit.clone()));
        Self { engine, runner, restore, alarm: Alarm::default(), emit, info, demo: std::sync::Mutex::new(demo) }
    }
}
