//! How the rclone daemon's process is started: directly (the CLI, tests), or by a host that
//! owns its children (the desktop app starts its bundled sidecar through Tauri's shell).

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// What is asked of a launcher: the binary, its arguments and its whole environment (nothing
/// else of this process's is passed on), and where its log (stderr) goes. The environment
/// carries secrets; it must never be logged.
pub struct LaunchSpec<'a> {
    pub binary: &'a Path,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub log_path: &'a Path,
}

/// A started daemon process, however it was launched.
pub trait DaemonProcess: Send + Sync {
    fn has_exited(&mut self) -> bool;
    fn pid(&self) -> Option<u32>;
    fn kill(&mut self);
}

pub trait Launcher: Send + Sync {
    fn launch(&self, spec: &LaunchSpec<'_>) -> std::io::Result<Box<dyn DaemonProcess>>;
}

/// rclone and the launcher that starts it.
#[derive(Clone)]
pub struct Rclone {
    pub binary: PathBuf,
    pub launcher: std::sync::Arc<dyn Launcher>,
}

impl std::fmt::Debug for Rclone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rclone").field("binary", &self.binary).finish_non_exhaustive()
    }
}

impl Rclone {
    pub fn direct(binary: PathBuf) -> Self {
        Self { binary, launcher: std::sync::Arc::new(DirectLauncher) }
    }
}

/// Starts rclone as a child process of this one, stopped by the kernel if this one dies.
#[derive(Debug, Default)]
pub struct DirectLauncher;

struct DirectProcess(tokio::process::Child);

impl DaemonProcess for DirectProcess {
    fn has_exited(&mut self) -> bool {
        !matches!(self.0.try_wait(), Ok(None))
    }

    fn pid(&self) -> Option<u32> {
        self.0.id()
    }

    fn kill(&mut self) {
        let _ = self.0.start_kill();
    }
}

impl Launcher for DirectLauncher {
    fn launch(&self, spec: &LaunchSpec<'_>) -> std::io::Result<Box<dyn DaemonProcess>> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(spec.log_path)?;
        let mut command = tokio::process::Command::new(spec.binary);
        command
            .args(spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        die_with_parent(&mut command);
        Ok(Box::new(DirectProcess(command.spawn()?)))
    }
}

/// Makes the kernel stop rclone when Fanout dies, even by SIGKILL (where no destructor runs),
/// so a crashed app never leaves a daemon holding keys in its environment. (The signal is
/// tied to the spawning thread: tokio's worker threads live as long as the runtime.)
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut tokio::process::Command) {}
