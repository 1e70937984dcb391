//! The desktop app under Tauri's mock runtime, with the real engine behind it: a fake Drive,
//! a real S3 server (`rclone serve s3`) and a local folder as destinations.

#![allow(dead_code)] // each test binary uses a different part

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fanout_core::config::Config;
use fanout_core::secrets::{MemorySecrets, SecretStore};
use fanout_core::Engine;
use fanout_desktop::state::AppState;
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::s3::S3Server;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, WebviewWindow, WebviewWindowBuilder};

pub struct Desktop {
    pub dir: tempfile::TempDir,
    pub drive: FakeGoogle,
    pub s3: S3Server,
    pub app: App<MockRuntime>,
    pub window: WebviewWindow<MockRuntime>,
    /// Every event the app sent: (name, payload).
    pub events: Arc<Mutex<Vec<(String, Value)>>>,
    events_rx: Mutex<mpsc::Receiver<(String, Value)>>,
    pub secrets: Arc<dyn SecretStore>,
}

pub fn rclone() -> std::path::PathBuf {
    fanout_core::rclone::locate_binary(None).expect("rclone: run scripts/fetch-rclone")
}

/// A Drive with `Projects/` (`files` files of `size` bytes) and `Archive/`.
pub fn start(files: usize, size: usize, sync_yaml: &str, secrets: Option<Arc<dyn SecretStore>>) -> Desktop {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("drive");
    for folder in ["Projects", "Archive"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    for i in 0..files {
        let bytes: Vec<u8> = (0..size).map(|j| ((i * 7 + j * 13) % 251) as u8).collect();
        std::fs::write(root.join(format!("Projects/file-{i:03}.bin")), bytes).unwrap();
    }
    std::fs::write(root.join("Archive/old.txt"), "old").unwrap();
    let drive = tauri::async_runtime::block_on(FakeGoogle::serve_dir(&root, None, 0)).unwrap();
    let s3 = S3Server::start(&rclone(), &dir.path().join("s3"), &["backup"]).unwrap();
    std::fs::create_dir_all(dir.path().join("backup")).unwrap();
    let yaml = format!(
        "google:\n  drive_url: {}\n  retry_base_ms: 20\ndestinations:\n  local:\n    type: local\n    enabled: true\n    path: {}\n  \
         aws_s3:\n    type: s3_compatible\n    enabled: true\n    bucket: backup\n    endpoint: {}\n    region: us-east-1\n{sync_yaml}",
        drive.drive_url(),
        dir.path().join("backup").display(),
        s3.endpoint()
    );
    // Written out, as the app's own config file, for the commands that change it.
    let config_path = dir.path().join("config.yaml");
    std::fs::write(&config_path, &yaml).unwrap();
    let memory = MemorySecrets::default();
    memory.set("google", "access_token", DEFAULT_TOKEN);
    memory.set("aws_s3", "access_key_id", &s3.access_key);
    memory.set("aws_s3", "secret_access_key", &s3.secret_key);
    let secrets: Arc<dyn SecretStore> = secrets.unwrap_or_else(|| Arc::new(memory));
    let engine = tauri::async_runtime::block_on(Engine::open(
        Config::parse(&yaml, "test").unwrap(),
        &dir.path().join("data"),
        secrets.clone(),
    ))
    .unwrap();

    let app = fanout_desktop::configure(mock_builder()).build(mock_context(noop_assets())).unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    for name in [
        fanout_desktop::runner::EVENT_STARTED,
        fanout_desktop::runner::EVENT_PROGRESS,
        fanout_desktop::runner::EVENT_FINISHED,
        fanout_desktop::overdue::EVENT_OVERDUE,
        fanout_desktop::runner::EVENT_PAUSED,
    ] {
        let (events, tx) = (events.clone(), tx.clone());
        app.listen_any(name, move |event| {
            let payload: Value = serde_json::from_str(event.payload()).unwrap();
            events.lock().unwrap().push((name.to_string(), payload.clone()));
            let _ = tx.send((name.to_string(), payload));
        });
    }
    let state = AppState::new(engine, fanout_desktop::emitter(app.handle()), Some(config_path), None);
    tauri::Manager::manage(&app, state);
    Desktop { dir, drive, s3, app, window, events, events_rx: Mutex::new(rx), secrets }
}

impl Desktop {
    /// Calls a command the way the window does, through Tauri's IPC.
    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }

    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    pub fn err(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(v) => panic!("{cmd} should have failed, returned {v}"),
            Err(e) => e,
        }
    }

    /// Waits for the next event with this name (others are skipped).
    pub fn wait_for(&self, name: &str, timeout: Duration) -> Value {
        let rx = self.events_rx.lock().unwrap();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok((n, payload)) if n == name => return payload,
                Ok(_) => continue,
                Err(_) => panic!("no {name} event within {timeout:?}; saw {:?}", self.event_names()),
            }
        }
    }

    pub fn event_names(&self) -> Vec<String> {
        self.events.lock().unwrap().iter().map(|(n, _)| n.clone()).collect()
    }

    pub fn sync_and_wait(&self) -> Value {
        self.ok("start_sync", json!({}));
        self.wait_for(fanout_desktop::runner::EVENT_FINISHED, Duration::from_secs(120))
    }
}

/// A second app over the same config and data folder, as another instance of Fanout would be
/// (a second login session, or one started while the first still ran).
pub fn second_instance(d: &Desktop) -> App<MockRuntime> {
    let config_path = d.dir.path().join("config.yaml");
    let yaml = std::fs::read_to_string(&config_path).unwrap();
    let engine = tauri::async_runtime::block_on(Engine::open(
        Config::parse(&yaml, "test").unwrap(),
        &d.dir.path().join("data"),
        d.secrets.clone(),
    ))
    .unwrap();
    let app = fanout_desktop::configure(mock_builder()).build(mock_context(noop_assets())).unwrap();
    let state = AppState::new(engine, fanout_desktop::emitter(app.handle()), Some(config_path), None);
    tauri::Manager::manage(&app, state);
    app
}
