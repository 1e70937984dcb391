//! The rclone daemon: one `rclone rcd` per run, driven over its remote-control API.
//!
//! The daemon listens on 127.0.0.1 on a random port with random rc credentials. Its remotes
//! and credentials reach it through its environment (`RCLONE_CONFIG_<REMOTE>_<OPTION>`), so no
//! secret is ever in a process argument or a plaintext rclone.conf. All rc calls live here.

mod ops;
mod process;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};
use tokio::sync::Mutex;

pub use ops::{CopyOptions, ListOptions, ListedFile};
pub use process::{DaemonProcess, DirectLauncher, LaunchSpec, Launcher, Rclone};
use tokio_util::sync::CancellationToken;

const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// A job that shows errors and no progress for this long is stopped with its last error.
const FAILING_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum RcloneError {
    #[error("cannot start rclone at {path}: {source}; run scripts/fetch-rclone or set FANOUT_RCLONE")]
    Spawn { path: PathBuf, source: std::io::Error },
    #[error("rclone did not become ready within {0:?}; see its log at {1}")]
    NotReady(Duration, String),
    #[error("the rclone daemon stopped unexpectedly; its work will be retried")]
    DaemonDied,
    #[error("rclone exited at start; see its log at {0}")]
    ExitedAtStart(String),
    #[error("{0}")]
    Failed(String),
    #[error("cancelled")]
    Cancelled,
    #[error("the destination is not responding: nothing moved for {} s", .0.as_secs())]
    Stalled(Duration),
}

struct Running {
    child: Box<dyn DaemonProcess>,
    endpoint: Endpoint,
}

/// Where and how to reach a running daemon's rc API.
#[derive(Clone, PartialEq, Eq)]
struct Endpoint {
    url: String,
    user: String,
    pass: String,
}

/// A running `rclone rcd`, restarted on demand if it dies.
pub struct RcloneDaemon {
    binary: PathBuf,
    launcher: Arc<dyn Launcher>,
    env: Vec<(String, String)>,
    log_path: PathBuf,
    http: reqwest::Client,
    running: Mutex<Option<Running>>,
    restarts: std::sync::atomic::AtomicU32,
    /// A job that shows no progress for this long is stopped as stalled.
    stall_after: Duration,
    /// Since when each running job's group has shown no progress.
    idle_since: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
}

impl std::fmt::Debug for RcloneDaemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RcloneDaemon").field("binary", &self.binary).finish_non_exhaustive()
    }
}

impl RcloneDaemon {
    /// Starts the daemon. `env` holds remote definitions (and their secrets); `log_path` gets
    /// rclone's own log; a job (and a connection) that shows no progress for `stall_after` is
    /// given up.
    pub async fn start(
        rclone: &Rclone,
        env: Vec<(String, String)>,
        log_path: &Path,
        stall_after: Duration,
    ) -> Result<Self, RcloneError> {
        let http = reqwest::Client::builder().no_proxy().build().map_err(|e| RcloneError::Failed(e.to_string()))?;
        let daemon = Self {
            binary: rclone.binary.clone(),
            launcher: rclone.launcher.clone(),
            env,
            log_path: log_path.to_path_buf(),
            http,
            running: Mutex::new(None),
            restarts: Default::default(),
            stall_after,
            idle_since: Default::default(),
        };
        {
            let mut running = daemon.running.lock().await;
            *running = Some(daemon.spawn().await?);
        }
        Ok(daemon)
    }

    /// Starts rclone on a free port. The port is free when picked, but another process may
    /// take it before rclone binds it; rclone then exits at once, and another port is tried.
    async fn spawn(&self) -> Result<Running, RcloneError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.spawn_on_a_free_port().await {
                Err(RcloneError::ExitedAtStart(log)) if tries < 3 => {
                    tracing::warn!(log = %log, "rclone exited at start; trying another port");
                }
                started => return started,
            }
        }
    }

    async fn spawn_on_a_free_port(&self) -> Result<Running, RcloneError> {
        let port = free_port().map_err(|e| RcloneError::Failed(format!("no free port for rclone: {e}")))?;
        let user = Alphanumeric.sample_string(&mut rand::rng(), 24);
        let pass = Alphanumeric.sample_string(&mut rand::rng(), 32);
        // rclone's own timeouts: a connection not made within 15 s, or silent for twice as long
        // as a job may stall, is dropped rather than waited on for minutes. Twice, because a
        // retry rclone starts re-sends bytes, which would look like progress to the stall watch.
        let args: Vec<String> = vec![
            "rcd".into(),
            "--rc-addr".into(),
            format!("127.0.0.1:{port}"),
            "--contimeout".into(),
            "15s".into(),
            "--timeout".into(),
            format!("{}s", 2 * self.stall_after.as_secs().max(1)),
        ];
        let mut env = passed_through();
        env.extend([
            ("RCLONE_RC_USER".to_string(), user.clone()),
            ("RCLONE_RC_PASS".to_string(), pass.clone()),
            // A config path that never exists: rclone must not read or write a config file.
            ("RCLONE_CONFIG".to_string(), self.log_path.with_extension("no-config").display().to_string()),
        ]);
        env.extend(self.env.iter().cloned());
        let spec = LaunchSpec { binary: &self.binary, args: &args, env: &env, log_path: &self.log_path };
        let child =
            self.launcher.launch(&spec).map_err(|source| RcloneError::Spawn { path: self.binary.clone(), source })?;
        let endpoint = Endpoint { url: format!("http://127.0.0.1:{port}"), user, pass };
        let mut running = Running { child, endpoint };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if running.child.has_exited() {
                return Err(RcloneError::ExitedAtStart(self.log_path.display().to_string()));
            }
            if self.post(&running.endpoint, "rc/noop", &json!({})).await.is_ok() {
                return Ok(running);
            }
            if Instant::now() > deadline {
                running.child.kill();
                return Err(RcloneError::NotReady(READY_TIMEOUT, self.log_path.display().to_string()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn post(&self, endpoint: &Endpoint, method: &str, params: &Value) -> Result<Value, CallError> {
        let response = self
            .http
            .post(format!("{}/{method}", endpoint.url))
            .basic_auth(&endpoint.user, Some(&endpoint.pass))
            .json(params)
            .send()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| CallError::Transport(e.to_string()))?;
        if status.is_success() {
            Ok(body)
        } else {
            let message = body.get("error").and_then(Value::as_str).unwrap_or("unknown rclone error");
            Err(CallError::Rc(message.to_string()))
        }
    }

    /// Makes one rc call. If the daemon has died, says so (callers restart it). Calls run side
    /// by side: one waiting on a destination that does not answer holds up no other.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RcloneError> {
        let endpoint = match self.running.lock().await.as_ref() {
            Some(running) => running.endpoint.clone(),
            None => return Err(RcloneError::DaemonDied),
        };
        match self.post(&endpoint, method, &params).await {
            Ok(v) => Ok(v),
            Err(CallError::Rc(message)) => Err(RcloneError::Failed(message)),
            Err(CallError::Transport(message)) => {
                let mut guard = self.running.lock().await;
                // Judged on the daemon the call went to, unless another call already found it
                // dead (and maybe started a new one).
                let died = match guard.as_mut() {
                    Some(running) if running.endpoint == endpoint => exits_soon(running).await,
                    _ => true,
                };
                if died {
                    if guard.as_ref().is_some_and(|r| r.endpoint == endpoint) {
                        *guard = None;
                    }
                    return Err(RcloneError::DaemonDied);
                }
                Err(RcloneError::Failed(format!("rclone rc call {method} failed: {message}")))
            }
        }
    }

    /// Restarts the daemon if it is not running. Returns true if it had to.
    pub async fn ensure_running(&self) -> Result<bool, RcloneError> {
        let mut guard = self.running.lock().await;
        let alive = match guard.as_mut() {
            Some(running) => !running.child.has_exited(),
            None => false,
        };
        if alive {
            return Ok(false);
        }
        tracing::warn!("rclone daemon is gone; starting a new one");
        *guard = Some(self.spawn().await?);
        self.restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }

    /// How many times the daemon died and was started again.
    pub fn restarts(&self) -> u32 {
        self.restarts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The daemon's process ID, for tests and diagnostics.
    pub async fn pid(&self) -> Option<u32> {
        self.running.lock().await.as_ref().and_then(|r| r.child.pid())
    }

    /// Runs an rc method as an async job in `group`, polling until it ends, is cancelled, or
    /// stalls: no progress (bytes, checks or transfers in its group) for `stall_after`.
    pub async fn run_job(
        &self,
        method: &str,
        mut params: Value,
        group: &str,
        cancel: &CancellationToken,
    ) -> Result<Value, RcloneError> {
        if let Some(obj) = params.as_object_mut() {
            obj.insert("_async".into(), json!(true));
            obj.insert("_group".into(), json!(group));
        }
        let started = self.call(method, params).await?;
        let job_id = started
            .get("jobid")
            .and_then(Value::as_i64)
            .ok_or_else(|| RcloneError::Failed(format!("rclone did not start a job for {method}")))?;
        let mut watch = StallWatch::new();
        let result = self.follow_job(job_id, group, cancel, &mut watch).await;
        self.set_idle_since(group, None);
        result
    }

    async fn follow_job(
        &self,
        job_id: i64,
        group: &str,
        cancel: &CancellationToken,
        watch: &mut StallWatch,
    ) -> Result<Value, RcloneError> {
        let mut wait = Duration::from_millis(10);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => {
                    let _ = self.call("job/stop", json!({ "jobid": job_id })).await;
                    return Err(RcloneError::Cancelled);
                }
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_millis(200));
            let status = self.call("job/status", json!({ "jobid": job_id })).await?;
            if status.get("finished").and_then(Value::as_bool) == Some(true) {
                if status.get("success").and_then(Value::as_bool) == Some(true) {
                    return Ok(status.get("output").cloned().unwrap_or(Value::Null));
                }
                let error = status.get("error").and_then(Value::as_str).unwrap_or("job failed");
                return Err(RcloneError::Failed(error.to_string()));
            }
            if watch.due() {
                let stats = self.call("core/stats", json!({ "group": group })).await?;
                let idle_since = watch.saw(&stats);
                self.set_idle_since(group, Some(idle_since));
                let idle = idle_since.elapsed();
                if idle >= self.stall_after {
                    tracing::warn!(group, stalled_s = self.stall_after.as_secs(), "an rclone job stalled; stopping it");
                    let _ = self.call("job/stop", json!({ "jobid": job_id })).await;
                    return Err(RcloneError::Stalled(self.stall_after));
                }
                // Only failing, and nothing moving: rclone would retry file after file against
                // a destination that refuses them all.
                if let Some(error) = watch.failing_for(&stats, FAILING_AFTER.min(self.stall_after)) {
                    tracing::warn!(group, error = %error, "an rclone job only fails; stopping it");
                    let _ = self.call("job/stop", json!({ "jobid": job_id })).await;
                    return Err(RcloneError::Failed(error));
                }
            }
        }
    }

    fn set_idle_since(&self, group: &str, since: Option<Instant>) {
        if let Ok(mut idle) = self.idle_since.lock() {
            match since {
                Some(since) => idle.insert(group.to_string(), since),
                None => idle.remove(group),
            };
        }
    }

    /// How long the job running in `group` has shown no progress; `None` when none runs.
    pub fn idle_for(&self, group: &str) -> Option<Duration> {
        self.idle_since.lock().ok()?.get(group).map(Instant::elapsed)
    }

    /// How long a job may show no progress before it is stopped.
    pub fn stall_after(&self) -> Duration {
        self.stall_after
    }

    /// Stops the daemon (it is also killed if this value is dropped).
    pub async fn shutdown(&self) {
        let mut guard = self.running.lock().await;
        if let Some(mut running) = guard.take() {
            let _ = self.post(&running.endpoint, "core/quit", &json!({})).await;
            // Nothing is in flight by now; rclone lingers ~1.5 s after core/quit, so do not wait.
            let deadline = Instant::now() + Duration::from_millis(30);
            while !running.child.has_exited() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            running.child.kill();
        }
    }
}

/// What of Fanout's own environment rclone gets: where home and temporary files are, the
/// time zone, custom CA certificates and the proxy a network may require. Nothing else, so a
/// stray `RCLONE_*` or `AWS_*` variable cannot change what it does.
const PASSED_THROUGH: &[&str] = &[
    "HOME",
    "TMPDIR",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
];

fn passed_through() -> Vec<(String, String)> {
    PASSED_THROUGH.iter().filter_map(|name| std::env::var(name).ok().map(|value| (name.to_string(), value))).collect()
}

/// Whether the daemon has exited or does within a moment: a killed process closes its socket
/// a little before its exit can be seen, so a refused call alone does not tell.
async fn exits_soon(running: &mut Running) -> bool {
    let deadline = Instant::now() + Duration::from_millis(300);
    loop {
        if running.child.has_exited() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

enum CallError {
    Transport(String),
    Rc(String),
}

/// Whether a job's group is still moving: its transferred bytes, checks and transfers, looked
/// at once a second.
struct StallWatch {
    last_look: Instant,
    seen: Option<[i64; 3]>,
    moved_at: Instant,
    /// The group's error count when it last moved.
    errors_at_move: i64,
}

impl StallWatch {
    fn new() -> Self {
        let now = Instant::now();
        StallWatch { last_look: now, seen: None, moved_at: now, errors_at_move: 0 }
    }

    /// Time for another look.
    fn due(&mut self) -> bool {
        if self.last_look.elapsed() < Duration::from_secs(1) {
            return false;
        }
        self.last_look = Instant::now();
        true
    }

    /// Takes the group's stats; returns since when nothing has moved.
    fn saw(&mut self, stats: &Value) -> Instant {
        let field = |name: &str| stats.get(name).and_then(Value::as_i64).unwrap_or(0);
        let now = [field("bytes"), field("checks"), field("transfers")];
        if self.seen != Some(now) {
            self.seen = Some(now);
            self.moved_at = Instant::now();
            self.errors_at_move = field("errors");
        }
        self.moved_at
    }

    /// The group's last error, when errors came since it last moved and that was `after` ago.
    fn failing_for(&self, stats: &Value, after: Duration) -> Option<String> {
        let errors = stats.get("errors").and_then(Value::as_i64).unwrap_or(0);
        if errors <= self.errors_at_move || self.moved_at.elapsed() < after {
            return None;
        }
        let last = stats.get("lastError").and_then(Value::as_str).unwrap_or("the destination refused every transfer");
        Some(last.to_string())
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The bundled rclone's file name next to the app (never plain `rclone`, which would clash
/// with a system package once installed to /usr/bin).
pub const SIDECAR_NAME: &str = "fanout-rclone";

/// Finds the rclone binary: an explicit path, `FANOUT_RCLONE`, next to the running
/// executable (how the desktop app bundles it), or the repository's fetched copy.
pub fn locate_binary(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = configured {
        return Some(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("FANOUT_RCLONE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let triple_name = format!("{SIDECAR_NAME}-{}", env!("FANOUT_TARGET_TRIPLE"));
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            candidates.push(dir.join(SIDECAR_NAME));
            candidates.push(dir.join(&triple_name));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../src-tauri/binaries").join(&triple_name));
    candidates.into_iter().find(|p| p.is_file())
}
