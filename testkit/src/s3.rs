//! Real S3 servers for tests and the demo: `rclone serve s3` on 127.0.0.1, one process per
//! destination, storing objects as plain files under `dir/<bucket>/<key>`.
//!
//! The server is started through an `rclone rcd` (`serve/start`) so that its access keys
//! travel in a request body, never in a process's command line.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct S3Server {
    rclone: PathBuf,
    pub dir: PathBuf,
    pub port: u16,
    pub access_key: String,
    pub secret_key: String,
    child: Option<Child>,
}

pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A free port below Linux's ephemeral range (32768+), where port-0 binds never land: a
/// stopped server's port stays available for its `resume`, even while other tests run.
fn server_port() -> std::io::Result<u16> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let seed = std::process::id() as usize * 7919
        + std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
            as usize;
    for _ in 0..200 {
        let port = 20_000 + (seed + NEXT.fetch_add(1, Ordering::SeqCst) * 104_729) % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return Ok(port as u16);
        }
    }
    free_port()
}

/// A POST with a JSON body and basic auth, answered with (status, body).
fn post(port: u16, path: &str, auth: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(auth);
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {basic}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

impl S3Server {
    /// Starts a server storing into `dir`, with each of `buckets` created.
    pub fn start(rclone: &Path, dir: &Path, buckets: &[&str]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        for bucket in buckets {
            std::fs::create_dir_all(dir.join(bucket))?;
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let mut server = Self {
            rclone: rclone.to_path_buf(),
            dir: dir.to_path_buf(),
            port: server_port()?,
            access_key: format!("FANOUTTEST{n:04}{}", nanos % 100_000),
            secret_key: format!("secret-{n}-{nanos:x}-{}", std::process::id()),
            child: None,
        };
        server.resume()?;
        Ok(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The rclone daemon's process ID (the S3 server runs inside it).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freezes the server (SIGSTOP): its port still takes connections but nothing is answered,
    /// as with a hung server. [`Self::thaw`] lets it go on.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill() only sends a signal, to the server this value started.
            unsafe {
                libc::kill(pid as libc::pid_t, signal);
            }
        }
    }

    /// Stops the server (a destination going down).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, serving the same objects.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        self.stop();
        let rc_port = free_port()?;
        let rc_auth = format!("rc{}:pw{}", std::process::id(), rc_port);
        let (user, pass) = rc_auth.split_once(':').unwrap_or_default();
        let child = Command::new(&self.rclone)
            .args(["rcd", "--rc-addr", &format!("127.0.0.1:{rc_port}")])
            .env("RCLONE_RC_USER", user)
            .env("RCLONE_RC_PASS", pass)
            .env("RCLONE_CONFIG", self.dir.join(".no-rclone-config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", self.rclone.display()))?;
        self.child = Some(child);
        let request = serde_json::json!({
            "type": "s3",
            "fs": self.dir.display().to_string(),
            "addr": format!("127.0.0.1:{}", self.port),
            "auth_key": [format!("{},{}", self.access_key, self.secret_key)],
        })
        .to_string();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match post(rc_port, "serve/start", &rc_auth, &request) {
                Ok((200, _)) => break,
                // The old listener may take a moment to let go of the port.
                Ok((_, body)) if body.contains("address already in use") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Ok((status, body)) if status != 0 => {
                    bail!("rclone serve s3 did not start ({status}): {body}")
                }
                _ if Instant::now() > deadline => {
                    bail!("rclone rcd did not answer on port {rc_port}")
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                bail!("rclone serve s3 is not listening on {}", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Deletes an object through the S3 API (as someone with the keys could), so the
    /// server's own caches stay coherent.
    pub fn delete_object(&self, bucket: &str, key: &str) -> anyhow::Result<()> {
        let status = Command::new(&self.rclone)
            .args(["deletefile", &format!("target:{bucket}/{key}")])
            .env("RCLONE_CONFIG", self.dir.join(".no-rclone-config"))
            .env("RCLONE_CONFIG_TARGET_TYPE", "s3")
            .env("RCLONE_CONFIG_TARGET_PROVIDER", "Other")
            .env("RCLONE_CONFIG_TARGET_ENDPOINT", self.endpoint())
            .env("RCLONE_CONFIG_TARGET_ACCESS_KEY_ID", &self.access_key)
            .env("RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY", &self.secret_key)
            .env("RCLONE_LOG_LEVEL", "ERROR")
            .status()?;
        if !status.success() {
            bail!("rclone deletefile {bucket}/{key} failed");
        }
        Ok(())
    }

    /// Where an object is stored on disk, for checks that read the server's own storage.
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.dir.join(bucket).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
