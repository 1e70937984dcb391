//! The bundled rclone: the app's sidecar, always the binary installed next to the app's
//! executable (never one on PATH).
//!
//! It is started directly rather than through Tauri's shell plugin, because the plugin cannot
//! tie the child's life to the app's: a killed app (SIGKILL, a crash) would leave rclone
//! running with every destination key in its environment. The engine's launcher asks the
//! kernel to stop rclone when the app dies and gives it only the environment it needs. The app
//! also tracks each sidecar, to stop it at once when it exits normally.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fanout_core::rclone::{DaemonProcess, DirectLauncher, LaunchSpec, Launcher, SIDECAR_NAME};

/// The process IDs of the sidecars running; managed by the app for its exit hook.
pub type Children = Arc<Mutex<Vec<u32>>>;

/// Where the bundle installs rclone: next to the app's executable (next to the `deps` folder
/// for a test binary, as Tauri's own sidecar lookup does).
pub fn bundled_rclone() -> Option<PathBuf> {
    let exe = tauri::utils::platform::current_exe().ok()?;
    let dir = exe.parent()?;
    let dir = if dir.ends_with("deps") { dir.parent()? } else { dir };
    Some(dir.join(SIDECAR_NAME)).filter(|p| p.is_file())
}

#[derive(Default)]
pub struct SidecarLauncher {
    /// Every sidecar started, so the app can stop them all when it exits.
    children: Children,
}

impl SidecarLauncher {
    pub fn new() -> Self {
        Self::default()
    }

    /// The process IDs of sidecars still tracked (for the exit hook and tests).
    pub fn children(&self) -> Children {
        self.children.clone()
    }
}

/// A started sidecar, forgotten by the registry once it is stopped.
struct Sidecar {
    process: Box<dyn DaemonProcess>,
    pid: u32,
    children: Children,
}

impl DaemonProcess for Sidecar {
    fn has_exited(&mut self) -> bool {
        let exited = self.process.has_exited();
        if exited {
            self.forget();
        }
        exited
    }

    fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }

    fn kill(&mut self) {
        self.process.kill();
        self.forget();
    }
}

impl Sidecar {
    fn forget(&self) {
        if let Ok(mut children) = self.children.lock() {
            children.retain(|pid| *pid != self.pid);
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Launcher for SidecarLauncher {
    fn launch(&self, spec: &LaunchSpec<'_>) -> std::io::Result<Box<dyn DaemonProcess>> {
        let process = DirectLauncher.launch(spec)?;
        let pid = process.pid().ok_or_else(|| std::io::Error::other("rclone exited at once"))?;
        if let Ok(mut children) = self.children.lock() {
            children.push(pid);
        }
        Ok(Box::new(Sidecar { process, pid, children: self.children.clone() }))
    }
}

/// Stops every sidecar still running (the app is exiting).
pub fn kill_all(children: &Mutex<Vec<u32>>) {
    if let Ok(mut children) = children.lock() {
        for pid in children.drain(..) {
            // SAFETY: kill(2) with a pid this app started; no memory is involved.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
}
