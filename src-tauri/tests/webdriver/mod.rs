//! The real app in the real WebKit webview, driven over WebDriver (W3C, raw HTTP).
//!
//! A virtual screen (Xvfb) and `tauri-driver` (which runs WebKitGTK's `WebKitWebDriver`
//! underneath) are started per test on free ports and stopped after it. The driver launches
//! the built `fanout-desktop` binary with the test's arguments and environment.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

// How long each kind of WebDriver command may take. Generous for a loaded 2-core machine, yet
// far below a test's whole run, so a hang fails fast and says which step hung.
/// Starting the app and its webview.
const SESSION_START: Duration = Duration::from_secs(60);
/// A script run in the page (queries, state reads).
const SCRIPT: Duration = Duration::from_secs(20);
/// A click or typed text, including the driver's scroll into view.
const INPUT: Duration = Duration::from_secs(20);
/// Painting and encoding the window.
const SCREENSHOT: Duration = Duration::from_secs(30);

/// Sends one request to the driver and reads its JSON reply within `limit`.
async fn request(step: &str, builder: reqwest::RequestBuilder, limit: Duration) -> Value {
    let exchange = async { builder.send().await?.json::<Value>().await };
    match tokio::time::timeout(limit, exchange).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => panic!("WebDriver step `{step}` failed: {e}"),
        Err(_) => panic!("WebDriver step `{step}` did not answer within {} s", limit.as_secs()),
    }
}

/// Kills the process it holds when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // SIGTERM first: WebKitWebDriver then stops the browser it started.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Session {
    http: reqwest::Client,
    url: String,
    _driver: Guard,
    _display: Guard,
}

fn free_display() -> u32 {
    (90..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("a free X display")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Every process below `root` (its children, theirs, ...).
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

/// The app processes started under the driver `driver_pid`.
fn app_pids(driver_pid: u32) -> Vec<i32> {
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_fanout-desktop")).unwrap();
    descendants(driver_pid)
        .into_iter()
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok().as_deref() == Some(exe.as_path()))
        .map(|pid| pid as i32)
        .collect()
}

impl Session {
    /// Starts the app with `args` and `env` in a fresh webview session.
    pub async fn start(args: &[String], env: &[(String, String)]) -> Session {
        let display = free_display();
        let xvfb = Command::new("Xvfb")
            .args([
                format!(":{display}"),
                "-screen".into(),
                "0".into(),
                "1280x860x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (installed by scripts/setup)");
        let display_guard = Guard(xvfb);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&format!("/tmp/.X11-unix/X{display}")).exists() {
            assert!(Instant::now() < deadline, "Xvfb did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let (port, native_port) = (free_port(), free_port());
        let driver = Command::new("tauri-driver")
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
            .env("DISPLAY", format!(":{display}"))
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            // The webview runs in WebKitGTK's default (composited) mode, as on a person's
            // desktop. Its non-composited mode (WEBKIT_DISABLE_COMPOSITING_MODE) can wedge under
            // CPU load: the web process waits for a frame acknowledgement that never comes, so
            // nothing is painted again and a screenshot (which waits for the next painted
            // frame) never returns. See docs/decisions.md.
            .env("NO_AT_BRIDGE", "1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver and WebKitWebDriver (installed by scripts/setup)");
        let driver_guard = Guard(driver);
        // No client-wide timeout: every call below has its own bound and names its step.
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        // tauri-driver answers before its WebKitWebDriver does: wait for the latter.
        let native = format!("http://127.0.0.1:{native_port}/status");
        let up = |url: String| {
            let http = http.clone();
            async move { http.get(url).timeout(Duration::from_secs(2)).send().await.is_ok() }
        };
        while !up(native.clone()).await || !up(format!("{base}/status")).await {
            assert!(Instant::now() < deadline, "tauri-driver and WebKitWebDriver did not start within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let binary = env!("CARGO_BIN_EXE_fanout-desktop");
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "tauri:options": { "application": binary, "args": args }
        } } });
        let created =
            request("start the app in a new session", http.post(format!("{base}/session")).json(&caps), SESSION_START)
                .await;
        let id = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        Session { http, url: format!("{base}/session/{id}"), _driver: driver_guard, _display: display_guard }
    }

    /// One WebDriver command, bounded by `limit`; `step` says what it was for when it fails.
    async fn call(
        &self,
        step: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        limit: Duration,
    ) -> Value {
        let mut builder = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let reply = request(&format!("{step} ({path})"), builder, limit).await;
        if let Some(error) = reply["value"]["error"].as_str() {
            panic!("WebDriver step `{step}` ({path}) failed: {error}: {}", reply["value"]["message"]);
        }
        reply["value"].clone()
    }

    /// Runs `script` in the page (its `arguments` are `args`) and returns its value.
    pub async fn exec(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        let step: String = format!("run `{}`", script.chars().take(60).collect::<String>());
        self.call(&step, reqwest::Method::POST, "/execute/sync", Some(body), SCRIPT).await
    }

    /// Waits until `script` returns something truthy, and returns it.
    pub async fn wait_until(&self, what: &str, script: &str, args: Value, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.exec(script, args.clone()).await;
            if !(value.is_null() || value == json!(false) || value == json!("") || value == json!(0)) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_ready(&self, view: &str) {
        let script = "return document.body.dataset.ready === arguments[0]";
        self.wait_until(&format!("the {view} view"), script, json!([view]), Duration::from_secs(30)).await;
    }

    /// An element reference for a CSS selector (waiting for it to appear).
    pub async fn find(&self, css: &str) -> String {
        let script = "return document.querySelector(arguments[0])";
        let found = self.wait_until(css, script, json!([css]), Duration::from_secs(30)).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("{css} is not an element: {found}")).to_string()
    }

    /// The element `script` returns (a reference usable with [`Session::click_element`]).
    pub async fn element(&self, what: &str, script: &str, args: Value) -> String {
        let found = self.wait_until(what, script, args, Duration::from_secs(30)).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("{what} is not an element: {found}")).to_string()
    }

    /// A real click (the driver scrolls the element into view and clicks its centre).
    pub async fn click_element(&self, element: &str) {
        self.call(
            "click an element",
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
            INPUT,
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.click_element(&element).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        let body = json!({ "text": text });
        self.call(
            &format!("type into {css}"),
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(body),
            INPUT,
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        self.exec("const e = document.querySelector(arguments[0]); return e ? e.textContent : null", json!([css]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves a PNG of the window.
    pub async fn screenshot(&self, path: &Path) {
        let step = format!("take the screenshot {}", path.display());
        let b64 = self.call(&step, reqwest::Method::GET, "/screenshot", None, SCREENSHOT).await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// The app's processes (started under this session's driver).
    pub fn app_processes(&self) -> Vec<i32> {
        app_pids(self._driver.0.id())
    }

    /// Processes under this session's driver whose executable's file name is `name`.
    pub fn processes_named(&self, name: &str) -> Vec<u32> {
        descendants(self._driver.0.id())
            .into_iter()
            .filter(|pid| {
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
                exe.as_deref().and_then(Path::file_name).is_some_and(|n| n == name)
            })
            .collect()
    }

    /// Ends the session and the app (which would otherwise stay in the tray).
    pub async fn close(self) {
        let apps = app_pids(self._driver.0.id());
        let _ = self.http.delete(&self.url).timeout(INPUT).send().await;
        for pid in apps {
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
}
