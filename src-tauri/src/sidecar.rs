//! The bundled rclone, started through Tauri's shell plugin as the app's sidecar.
//!
//! The plugin finds the binary next to the app's executable (where the bundle installs it),
//! never on PATH. Its output is drained into rclone's log; the engine's restart logic sees
//! the process end through the `Terminated` event.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fanout_core::rclone::{DaemonProcess, LaunchSpec, Launcher, SIDECAR_NAME};
use tauri::{AppHandle, Runtime};
use tauri_plugin_shell::process::{CommandChild, CommandEvent};
use tauri_plugin_shell::ShellExt;

/// The process IDs of the sidecars running; managed by the app for its exit hook.
pub type Children = Arc<Mutex<Vec<u32>>>;

pub struct SidecarLauncher<R: Runtime> {
    app: AppHandle<R>,
    /// Every sidecar started, so the app can stop them all when it exits.
    children: Children,
}

impl<R: Runtime> SidecarLauncher<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        Self { app, children: Arc::default() }
    }

    /// The process IDs of sidecars still tracked (for the exit hook and tests).
    pub fn children(&self) -> Children {
        self.children.clone()
    }
}

struct Sidecar {
    child: Option<CommandChild>,
    exited: Arc<AtomicBool>,
    pid: u32,
    children: Arc<Mutex<Vec<u32>>>,
}

impl DaemonProcess for Sidecar {
    fn has_exited(&mut self) -> bool {
        self.exited.load(Ordering::SeqCst)
    }

    fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }

    fn kill(&mut self) {
        if let Some(child) = self.child.take() {
            let _ = child.kill();
        }
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

impl<R: Runtime> Launcher for SidecarLauncher<R> {
    fn launch(&self, spec: &LaunchSpec<'_>) -> std::io::Result<Box<dyn DaemonProcess>> {
        let to_io = |e: tauri_plugin_shell::Error| std::io::Error::other(e.to_string());
        // Opened first: a process must never be started that nothing would stop.
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(spec.log_path)?;
        let (mut events, child) = self
            .app
            .shell()
            .sidecar(SIDECAR_NAME)
            .map_err(to_io)?
            .args(spec.args)
            .envs(spec.env.iter().cloned())
            .spawn()
            .map_err(to_io)?;
        let pid = child.pid();
        if let Ok(mut children) = self.children.lock() {
            children.push(pid);
        }
        let exited = Arc::new(AtomicBool::new(false));
        let flag = exited.clone();
        // The plugin's channel holds one event: it must be drained or rclone stalls on output.
        tauri::async_runtime::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    CommandEvent::Stdout(line) | CommandEvent::Stderr(line) => {
                        let _ = log.write_all(&line);
                        let _ = log.write_all(b"\n");
                    }
                    CommandEvent::Terminated(_) => break,
                    _ => {}
                }
            }
            flag.store(true, Ordering::SeqCst);
        });
        Ok(Box::new(Sidecar { child: Some(child), exited, pid, children: self.children.clone() }))
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
