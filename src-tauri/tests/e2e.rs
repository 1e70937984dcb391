//! The window, end to end in the real WebKit webview: the seed notes' test 2 (add a folder
//! with two destinations, sync, see both badges synced; then one destination down, a change,
//! sync, a failed badge with its error beside a synced one), a hostile folder name that must
//! stay text, and the Files view over 100,000 ledger rows. Screenshots go to `target/screenshots/`
//! (`scripts/screenshots` copies them into docs/screenshots/).

mod webdriver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::s3::S3Server;
use serde_json::json;
use webdriver::Session;

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// One webview at a time: two WebKit processes and a sync on two cores only slow each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `target/screenshots/`: tests never write into the working tree.
fn screenshots() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("screenshots")
}

fn rclone() -> PathBuf {
    fanout_core::rclone::locate_binary(None).expect("rclone: run scripts/fetch-rclone")
}

struct World {
    dir: tempfile::TempDir,
    drive: FakeGoogle,
    aws: S3Server,
    scaleway: S3Server,
}

impl World {
    async fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("drive");
        for i in 0..24 {
            let path = root.join(format!("Projects/Reports/report-{i:02}.txt"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("report {i}\n").repeat(8000)).unwrap();
        }
        std::fs::create_dir_all(root.join("Projects/Photos")).unwrap();
        std::fs::write(root.join("Projects/Photos/beach.jpg"), "sand").unwrap();
        std::fs::create_dir_all(root.join(HOSTILE)).unwrap();
        std::fs::write(root.join(HOSTILE).join("note.txt"), "hostile").unwrap();
        let drive = FakeGoogle::serve_dir(&root, None, 0).await.unwrap();
        let aws = S3Server::start(&rclone(), &dir.path().join("s3-aws"), &["backup-aws"]).unwrap();
        let scaleway = S3Server::start(&rclone(), &dir.path().join("s3-scw"), &["backup-scw"]).unwrap();
        World { dir, drive, aws, scaleway }
    }

    fn config(&self, extra: &str) -> PathBuf {
        std::fs::create_dir_all(self.dir.path().join("local")).unwrap();
        let yaml = format!(
            "google:\n  drive_url: {}\ndestinations:\n  aws_s3:\n    type: aws_s3\n    enabled: true\n    bucket: backup-aws\n    \
             endpoint: {}\n    region: us-east-1\n  scaleway:\n    type: scaleway\n    enabled: true\n    bucket: backup-scw\n    \
             endpoint: {}\n    region: fr-par\n  local:\n    type: local\n    enabled: true\n    path: {}\n{extra}",
            self.drive.drive_url(),
            self.aws.endpoint(),
            self.scaleway.endpoint(),
            self.dir.path().join("local").display(),
        );
        let path = self.dir.path().join("config.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("FANOUT_GOOGLE_ACCESS_TOKEN".into(), DEFAULT_TOKEN.into()),
            ("FANOUT_AWS_S3_ACCESS_KEY_ID".into(), self.aws.access_key.clone()),
            ("FANOUT_AWS_S3_SECRET_ACCESS_KEY".into(), self.aws.secret_key.clone()),
            ("FANOUT_SCALEWAY_ACCESS_KEY_ID".into(), self.scaleway.access_key.clone()),
            ("FANOUT_SCALEWAY_SECRET_ACCESS_KEY".into(), self.scaleway.secret_key.clone()),
            ("FANOUT_KEYCHAIN_SERVICE".into(), format!("fanout-e2e-{}", std::process::id())),
        ]
    }

    async fn open_app(&self, config: &Path, data: &Path) -> Session {
        let args = vec![
            "--config".to_string(),
            config.display().to_string(),
            "--data-dir".to_string(),
            data.display().to_string(),
        ];
        Session::start(&args, &self.env()).await
    }
}

/// Presses Sync now on the dashboard and waits for the run's result; returns the distinct
/// values the files progress bar showed on the way.
async fn sync_from_dashboard(app: &Session, expected: &str) -> Vec<String> {
    app.click("#nav-dashboard").await;
    app.wait_ready("dashboard").await;
    app.click("#sync-now").await;
    let mut seen: Vec<String> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let state = app
            .exec(
                "const p = document.querySelector('#progress-files'); const r = document.querySelector('#sync-result');\
                 return [p.value + '/' + p.max, document.querySelector('#sync-progress').dataset.running, r.dataset.status || ''];",
                json!([]),
            )
            .await;
        let value = state[0].as_str().unwrap().to_string();
        if seen.last() != Some(&value) {
            seen.push(value);
        }
        if state[1] == "false" && state[2] != "" {
            assert_eq!(state[2], expected, "the run ended {}: {}", state[2], app.text("#sync-result").await);
            return seen;
        }
        assert!(std::time::Instant::now() < deadline, "the sync did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn badge_statuses(app: &Session, path: &str) -> serde_json::Value {
    app.wait_until(
        &format!("the row of {path}"),
        "const row = document.querySelector(`tr.file-row[data-path=\"${arguments[0]}\"]`);\
         if (!row) return null;\
         return Object.fromEntries([...row.querySelectorAll('.badge')].map(b => [b.dataset.destination, b.dataset.status]));",
        json!([path]),
        Duration::from_secs(30),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_a_folder_for_two_destinations_sync_and_see_badges_then_a_failed_destination() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut world = World::start().await;
    let config = world.config("sync:\n  bandwidth_limit: 1M\n");
    let app = world.open_app(&config, &world.dir.path().join("data")).await;
    app.wait_ready("dashboard").await;

    // Settings → "Add Folder to Sync": browse to Projects/Reports, tick two destinations.
    app.click("#nav-settings").await;
    app.wait_ready("settings").await;
    app.exec("window.__alerted = false; window.alert = () => { window.__alerted = true; };", json!([])).await;
    let page_at = app.exec(PLACE_OF, json!([".main__scroll"])).await;
    app.click("#add-folder").await;
    app.wait_until(
        "the folder picker",
        "return document.querySelector('#folder-picker').open",
        json!([]),
        Duration::from_secs(10),
    )
    .await;
    let node = |name: &str| {
        format!(
            "return [...document.querySelectorAll('#folder-picker .folder-node')].find(n => n.querySelector('.folder-select').textContent.trim() === {name:?}) || null"
        )
    };
    let projects = app.element("the Projects folder", &node("Projects"), json!([])).await;
    let hostile = app.element("the hostile folder", &node(HOSTILE), json!([])).await;
    let injected = app.exec("return document.querySelectorAll('#folder-picker img').length", json!([])).await;
    assert_eq!(injected, 0, "a folder name became markup");
    let _ = hostile;
    let expand = app
        .exec(
            "return arguments[0].querySelector('.folder-expand')",
            json!([{ "element-6066-11e4-a52e-4f735466cecf": projects }]),
        )
        .await;
    app.click_element(expand["element-6066-11e4-a52e-4f735466cecf"].as_str().unwrap()).await;
    let reports = app.element("Projects/Reports", &node("Reports"), json!([])).await;
    let select = app
        .exec(
            "return arguments[0].querySelector('.folder-select')",
            json!([{ "element-6066-11e4-a52e-4f735466cecf": reports }]),
        )
        .await;
    app.click_element(select["element-6066-11e4-a52e-4f735466cecf"].as_str().unwrap()).await;
    // Save with nothing ticked: the message appears beside Save, which stays where it was,
    // and goes once a destination is ticked.
    let save_at = app.exec(PLACE_OF, json!(["#folder-save"])).await;
    app.click("#folder-save").await;
    assert_eq!(app.text("#folder-error").await, "Tick at least one destination.");
    assert_eq!(app.exec(PLACE_OF, json!(["#folder-save"])).await, save_at, "Save moved under the pointer");
    app.click("input.dest-choice[value=\"aws_s3\"]").await;
    assert_eq!(app.text("#folder-error").await, "", "the message stays after it was fixed");
    app.click("input.dest-choice[value=\"scaleway\"]").await;
    app.screenshot(&screenshots().join("folder-picker.png")).await;
    app.click("#folder-save").await;
    let badges = app
        .wait_until(
            "the new policy card",
            "const card = document.querySelector('.policy-card[data-folder-path=\"Projects/Reports\"]');\
             return card && [...card.querySelectorAll('.badge')].map(b => b.dataset.destination).sort();",
            json!([]),
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(badges, json!(["aws_s3", "scaleway"]));
    app.wait_ready("settings").await;
    // The confirmation floats over the page: nothing under it moves.
    let notice = app.text("#app-alert").await;
    assert!(notice.contains("will be synced"), "{notice}");
    assert_eq!(app.exec(PLACE_OF, json!([".main__scroll"])).await, page_at, "the page moved for a notice");
    // Each destination says which earlier versions it keeps (no keep_versions: all of them).
    let versions =
        app.exec("return [...document.querySelectorAll('.dest-versions')].map(e => e.textContent)", json!([])).await;
    let versions = versions.as_array().cloned().unwrap_or_default();
    assert!(!versions.is_empty() && versions.iter().all(|v| v == "Every earlier version is kept"), "{versions:?}");
    app.screenshot(&screenshots().join("settings.png")).await;

    // Sync now: the bar moves, and both badges turn synced in Files.
    let progress = sync_from_dashboard(&app, "succeeded").await;
    assert!(progress.len() >= 3, "the progress bar moved: {progress:?}");
    app.wait_ready("dashboard").await;
    app.screenshot(&screenshots().join("dashboard.png")).await;
    app.click("#nav-files").await;
    app.wait_ready("files").await;
    let rows = app.exec("return document.querySelectorAll('tr.file-row').length", json!([])).await;
    assert_eq!(rows, 24);
    for i in [0, 7, 23] {
        let statuses = badge_statuses(&app, &format!("Projects/Reports/report-{i:02}.txt")).await;
        assert_eq!(statuses, json!({ "aws_s3": "synced", "scaleway": "synced" }));
    }
    app.screenshot(&screenshots().join("files.png")).await;

    // One destination down and a file changed: a failed badge with its error beside a synced one.
    world.scaleway.stop();
    let changed = world.drive.id_of("Projects/Reports/report-05.txt").unwrap();
    world.drive.set_content(&changed, &b"report 5, edited"[..]);
    sync_from_dashboard(&app, "partial").await;
    let card_state = "const b = document.querySelector('.dest-card[data-key=\"scaleway\"] .dest-card__state'); \
                      return b && b.textContent";
    let state = app
        .wait_until(
            "the card of the failing destination",
            &format!("{card_state}.startsWith('Problem') && b.textContent"),
            json!([]),
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(state, "Problem", "never Ready when it cannot be reached");
    let problem = app.text(".dest-card[data-key=\"scaleway\"] .dest-card__problem").await;
    assert!(problem.starts_with("Problem: scaleway: cannot reach"), "{problem}");
    app.find(".dest-card[data-key=\"scaleway\"] .dest-card__retry").await;
    app.click("#nav-files").await;
    app.wait_ready("files").await;
    let path = "Projects/Reports/report-05.txt";
    let statuses = badge_statuses(&app, path).await;
    assert_eq!(statuses, json!({ "aws_s3": "synced", "scaleway": "failed" }));
    app.click(&format!("tr.file-row[data-path=\"{path}\"] .badge[data-destination=\"scaleway\"]")).await;
    let error = app
        .wait_until(
            "the error of the failed pair",
            "const d = document.querySelector('#file-details .file-details__error'); return d && d.textContent",
            json!([]),
            Duration::from_secs(10),
        )
        .await;
    assert!(error.as_str().unwrap().contains("scaleway"), "{error}");
    let copy = world.aws.dir.join("backup-aws/google-drive").join(path);
    let bytes =
        std::fs::read(&copy).unwrap_or_else(|e| panic!("the edited file is not at AWS S3 ({}): {e}", copy.display()));
    assert_eq!(bytes, b"report 5, edited", "AWS S3 holds the edited bytes");

    // The destination back, Retry in the details copies that one pair; the card is Ready again.
    world.scaleway.resume().unwrap();
    app.click("#file-details .file-details__retry").await;
    app.wait_ready("dashboard").await;
    app.wait_until(
        "the retried destination's card to be ready",
        &format!("{card_state} === 'Ready'"),
        json!([]),
        Duration::from_secs(60),
    )
    .await;
    let copy = world.scaleway.dir.join("backup-scw/google-drive").join(path);
    assert_eq!(std::fs::read(&copy).unwrap(), b"report 5, edited", "Scaleway holds the edited bytes after the retry");
    assert_eq!(app.exec("return window.__alerted", json!([])).await, false, "no script from a name ran");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_view_pages_through_100000_rows() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let world = World::start().await;
    let config = world.config("");
    let data = world.dir.path().join("big-data");
    seed_ledger(&data.join("fanout.db"), 100_000).await;
    let app = world.open_app(&config, &data).await;
    app.wait_ready("dashboard").await;

    app.click("#nav-files").await;
    app.wait_ready("files").await;

    assert_eq!(app.text("#files-range").await, "1–100 of 100000");
    assert_eq!(app.exec("return document.querySelectorAll('tr.file-row').length", json!([])).await, 100);
    app.click("#files-next").await;
    app.wait_until(
        "page two",
        "return document.querySelector('#files-range').dataset.start === '101'",
        json!([]),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(app.text("#files-range").await, "101–200 of 100000");
    let first = app.exec("return document.querySelector('tr.file-row').dataset.path", json!([])).await;
    assert_eq!(first, "Big/file-000100.txt");
    app.type_into("#files-search", "file-09999").await;
    app.wait_until(
        "the search",
        "return document.querySelector('#files-range').dataset.total === '10'",
        json!([]),
        Duration::from_secs(10),
    )
    .await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_a_folder_to_disk_from_the_window_and_get_drives_bytes_back() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let world = World::start().await;
    let config = world.config("");
    let data = world.dir.path().join("restore-data");
    add_policy_beforehand(&config, &data, "Projects", &["aws_s3", "local"]).await;
    let app = world.open_app(&config, &data).await;
    app.wait_ready("dashboard").await;
    sync_from_dashboard(&app, "succeeded").await;

    app.click("#nav-restore").await;
    app.wait_ready("restore").await;
    app.click("input.restore-folder[value=\"Projects\"]").await;
    let target = world.dir.path().join("restored");
    app.type_into("#restore-dir", &target.display().to_string()).await;
    // The preview says what and from where, and writes nothing.
    app.click("#restore-preview").await;
    let title = app
        .wait_until(
            "the preview",
            "const t = document.querySelector('#restore-result-title'); return t && t.textContent",
            json!([]),
            Duration::from_secs(30),
        )
        .await;
    assert!(title.as_str().unwrap().starts_with("Would restore 25 files"), "{title}");
    assert!(!target.exists(), "a preview wrote nothing");
    start_restore_and_expect_success(&app).await;
    app.screenshot(&screenshots().join("restore.png")).await;
    // Every file of the folder is back, byte for byte, in Drive's tree.
    let source = world.dir.path().join("drive/Projects");
    let mut compared = 0;
    for entry in walk(&source) {
        let rel = entry.strip_prefix(world.dir.path().join("drive")).unwrap();
        let restored =
            std::fs::read(target.join(rel)).unwrap_or_else(|e| panic!("{} was not restored: {e}", rel.display()));
        assert_eq!(restored, std::fs::read(&entry).unwrap(), "{}", rel.display());
        compared += 1;
    }
    assert_eq!(compared, 25);

    // A bad edit in Drive, synced: Files lists both versions, and "Restore this version…" on
    // the earlier one brings back the bytes from before the edit.
    let path = "Projects/Reports/report-03.txt";
    let original = std::fs::read(world.dir.path().join("drive").join(path)).unwrap();
    world.drive.set_content(&world.drive.id_of(path).unwrap(), &b"report 3, overwritten"[..]);
    sync_from_dashboard(&app, "succeeded").await;
    app.click("#nav-files").await;
    app.wait_ready("files").await;
    badge_statuses(&app, path).await;
    app.click(&format!("tr.file-row[data-path=\"{path}\"] .badge[data-destination=\"local\"]")).await;
    app.wait_until(
        "both versions",
        "return document.querySelectorAll('#file-details .version').length === 2 || null",
        json!([]),
        Duration::from_secs(10),
    )
    .await;
    app.click("#file-details .version[data-state=\"kept\"] .version__restore").await;
    app.wait_ready("restore").await;
    let chosen = app
        .exec(
            "return [document.querySelector('#restore-version').checked, \
             [...document.querySelectorAll('#restore-folders input:checked')].map(b => b.parentElement.textContent), \
             document.querySelector('#restore-from').value]",
            json!([]),
        )
        .await;
    assert_eq!(chosen, json!([true, [path], "local"]), "the file, its version and its destination are chosen");
    let again = world.dir.path().join("restored-version");
    app.exec("document.querySelector('#restore-dir').value = ''", json!([])).await;
    app.type_into("#restore-dir", &again.display().to_string()).await;
    start_restore_and_expect_success(&app).await;
    assert_eq!(std::fs::read(again.join(path)).unwrap(), original, "the bytes from before the edit");
    assert_eq!(walk(&again).len(), 1, "that file alone");
    app.close().await;
}

/// Presses Restore and waits for a restore (not a preview) to end in success.
async fn start_restore_and_expect_success(app: &Session) {
    app.click("#restore-start").await;
    let success = app
        .wait_until(
            "the restore's result",
            "const r = document.querySelector('#restore-result');\
             return r && !r.hidden && r.dataset.success !== undefined && !document.querySelector('#restore-result-title').textContent.startsWith('Would') ? r.dataset.success : null",
            json!([]),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(success, "true", "{}", app.text("#restore-result").await);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A ledger of `rows` files at two destinations (every tenth failed), written straight to
/// SQLite after the engine's migrations made the schema.
async fn seed_ledger(db_path: &Path, rows: usize) {
    std::fs::create_dir_all(db_path.parent().unwrap()).unwrap();
    let db = fanout_core::db::Database::open(db_path).await.unwrap();
    db.close().await;
    let url = format!("sqlite://{}", db_path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let last = rows - 1;
    sqlx::query(&format!(
        "INSERT INTO files (file_id, parent_id, name, remote_name, mime_type, is_folder, size, md5, drive_path, remote_path, updated_at) \
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         SELECT printf('f%06d', i), 'big', printf('file-%06d.txt', i), printf('file-%06d.txt', i), 'text/plain', 0, 1000 + i, 'md5', \
                printf('Big/file-%06d.txt', i), printf('google-drive/Big/file-%06d.txt', i), '2026-11-25T00:00:00Z' FROM n"
    ))
    .execute(&pool)
    .await
    .unwrap();
    for destination in ["aws_s3", "local"] {
        sqlx::query(
            "INSERT INTO file_destinations (file_id, destination, sync_status, remote_path, size, error_message, updated_at) \
             SELECT file_id, ?, CASE WHEN size % 10 = 0 THEN 'failed' ELSE 'synced' END, remote_path, size, \
                    CASE WHEN size % 10 = 0 THEN 'cannot reach the destination' END, '2026-11-25T00:00:00Z' FROM files",
        )
        .bind(destination)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
}

/// Where an element (`arguments[0]`, a CSS selector) is on the screen: [left, top].
const PLACE_OF: &str =
    "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.left, r.top];";

/// A policy stored before the app starts, as if added in an earlier session.
async fn add_policy_beforehand(config: &Path, data: &Path, folder: &str, destinations: &[&str]) {
    let config = fanout_core::config::Config::load(config).unwrap();
    let secrets = fanout_core::secrets::MemorySecrets::default();
    secrets.set("google", "access_token", DEFAULT_TOKEN);
    let engine = fanout_core::Engine::open(config, data, std::sync::Arc::new(secrets)).await.unwrap();
    let destinations: Vec<String> = destinations.iter().map(|d| d.to_string()).collect();
    engine.add_policy(folder, &destinations, true).await.unwrap();
    engine.close().await;
}

/// The names in a process's environment. A process caught inside execve already has its new
/// executable but not yet its environment (an empty read), so this waits for the exec to finish.
async fn environment_names(pid: u32) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        if !environ.is_empty() || std::time::Instant::now() > deadline {
            return environ
                .split(|b| *b == 0)
                .filter_map(|kv| std::str::from_utf8(kv).ok()?.split_once('=').map(|(k, _)| k.to_string()))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn is_gone(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.is_empty() || stat.contains(") Z ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_app_takes_its_rclone_along_and_rclone_never_sees_stray_variables() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let world = World::start().await;
    let config = world.config("sync:\n  bandwidth_limit: 50k\n");
    let data = world.dir.path().join("kill-data");
    add_policy_beforehand(&config, &data, "Projects/Reports", &["aws_s3"]).await;
    let mut env = world.env();
    // Variables that would change what rclone does, were they passed on.
    env.push(("RCLONE_DRY_RUN".into(), "true".into()));
    env.push(("AWS_PROFILE".into(), "stray-profile".into()));
    let args =
        vec!["--config".to_string(), config.display().to_string(), "--data-dir".into(), data.display().to_string()];
    let app = Session::start(&args, &env).await;
    app.wait_ready("dashboard").await;
    app.click("#sync-now").await;

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let rclone = loop {
        if let Some(pid) = app.processes_named(fanout_core::rclone::SIDECAR_NAME).first() {
            break *pid;
        }
        assert!(std::time::Instant::now() < deadline, "no rclone started for the sync");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let names = environment_names(rclone).await;
    assert!(names.iter().any(|n| n == "RCLONE_CONFIG_FANOUT_AWS_S3_TYPE"), "its remotes: {names:?}");
    for stray in ["RCLONE_DRY_RUN", "AWS_PROFILE", "FANOUT_AWS_S3_SECRET_ACCESS_KEY", "DISPLAY"] {
        assert!(!names.iter().any(|n| n == stray), "{stray} reached rclone: {names:?}");
    }

    for pid in app.app_processes() {
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !is_gone(rclone) {
        assert!(
            std::time::Instant::now() < deadline,
            "rclone (with every key in its environment) outlived the killed app"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.close().await;
}

/// The runs recorded in the app's database, oldest first: (started_at, status).
async fn recorded_runs(data: &Path) -> Vec<(String, String)> {
    let url = format!("sqlite://{}", data.join("fanout.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let runs = sqlx::query_as("SELECT started_at, status FROM sync_runs ORDER BY id").fetch_all(&pool).await.unwrap();
    pool.close().await;
    runs
}

/// Waits until `count` runs are recorded and none is still running.
async fn wait_for_finished_runs(data: &Path, count: usize) -> Vec<(String, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let runs = recorded_runs(data).await;
        if runs.len() >= count && runs.iter().all(|(_, status)| status != "running") {
            return runs;
        }
        assert!(std::time::Instant::now() < deadline, "{count} finished runs expected within a minute: {runs:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn quit(app: Session) {
    let pids = app.app_processes();
    app.close().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !pids.iter().all(|pid| is_gone(*pid as u32)) {
        assert!(std::time::Instant::now() < deadline, "the app did not quit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_started_after_a_due_time_passed_while_it_was_closed_syncs_once() {
    let world = World::start().await;
    let config = world.config("sync:\n  schedule: every 2m\n");
    let data = world.dir.path().join("restart-data");
    add_policy_beforehand(&config, &data, "Projects/Photos", &["local"]).await;
    let args =
        vec!["--config".to_string(), config.display().to_string(), "--data-dir".into(), data.display().to_string()];

    // Never synced: the first launch syncs at once.
    let first = {
        let _turn = ONE_AT_A_TIME.lock().await;
        let app = Session::start(&args, &world.env()).await;
        let runs = wait_for_finished_runs(&data, 1).await;
        quit(app).await;
        runs
    };
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].1, "succeeded", "{first:?}");
    let photo = world.dir.path().join("local/google-drive/Projects/Photos/beach.jpg");
    assert_eq!(std::fs::read(&photo).unwrap(), b"sand");

    // Closed across the due time (two minutes after the first run started, by the real clock).
    let started = chrono::DateTime::parse_from_rfc3339(&first[0].0).unwrap().with_timezone(&chrono::Utc);
    let due = started + chrono::Duration::minutes(2) + chrono::Duration::seconds(1);
    let wait = (due - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let photos = world.drive.id_of("Projects/Photos").unwrap();
    world.drive.add_file(&photos, "dune.jpg", &b"more sand"[..]);

    let _turn = ONE_AT_A_TIME.lock().await;
    let app = Session::start(&args, &world.env()).await;
    let runs = wait_for_finished_runs(&data, 2).await;
    // Longer than the scheduler's look (20 s): a second look must not start another.
    tokio::time::sleep(Duration::from_secs(25)).await;
    let after = recorded_runs(&data).await;
    quit(app).await;
    assert_eq!(after.len(), 2, "one sync for the missed due time, not more: {after:?}");
    assert_eq!(runs[1].1, "succeeded", "{runs:?}");
    let dune = world.dir.path().join("local/google-drive/Projects/Photos/dune.jpg");
    assert_eq!(std::fs::read(dune).unwrap(), b"more sand", "the missed sync ran and copied what changed");
}

/// A destination card's badge, check line and problem line, as shown.
async fn card(app: &Session, key: &str) -> serde_json::Value {
    app.exec(
        "const c = document.querySelector(`.dest-card[data-key=\"${arguments[0]}\"]`); if (!c) return null;\
         const text = (s) => { const e = c.querySelector(s); return e ? e.textContent : null; };\
         return { state: text('.dest-card__state'), check: text('.dest-card__check'), problem: text('.dest-card__problem') };",
        json!([key]),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_lost_at_a_destination_are_found_and_sent_again_and_a_folder_replaced_by_a_file_shows_the_problem() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let world = World::start().await;
    let config = world.config("");
    let data = world.dir.path().join("lost-data");
    add_policy_beforehand(&config, &data, "Projects/Reports", &["aws_s3", "local"]).await;
    let app = world.open_app(&config, &data).await;
    app.wait_ready("dashboard").await;
    sync_from_dashboard(&app, "succeeded").await;

    // 13 objects deleted through the S3 API, and the backup folder replaced by a file.
    for i in 0..13 {
        world.aws.delete_object("backup-aws", &format!("google-drive/Projects/Reports/report-{i:02}.txt")).unwrap();
    }
    let local = world.dir.path().join("local");
    std::fs::remove_dir_all(&local).unwrap();
    std::fs::write(&local, "not a folder").unwrap();
    // Nothing changed in Drive: the sync still looks at the destinations.
    sync_from_dashboard(&app, "partial").await;

    let wait_card = |key: &'static str, until: &'static str| {
        let app = &app;
        async move {
            let script = format!(
                "const c = document.querySelector('.dest-card[data-key=\"{key}\"]'); return c && ({until}) && c.textContent"
            );
            app.wait_until(&format!("the {key} card"), &script, json!([]), Duration::from_secs(20)).await;
            card(app, key).await
        }
    };
    let aws = wait_card("aws_s3", "c.querySelector('.dest-card__check').textContent.includes('missing')").await;
    assert_eq!(aws["state"], "Ready", "{aws:#}");
    assert!(aws["check"].as_str().unwrap().ends_with("24 of 24 copies, 13 missing (copied again)"), "{aws:#}");
    for i in 0..24 {
        let copy = world.aws.dir.join(format!("backup-aws/google-drive/Projects/Reports/report-{i:02}.txt"));
        let bytes = std::fs::read(&copy).unwrap_or_else(|e| panic!("{} not back: {e}", copy.display()));
        assert!(bytes == format!("report {i}\n").repeat(8000).into_bytes(), "report-{i:02} differs at the server");
    }
    let local_card = wait_card("local", "c.dataset.state === 'problem'").await;
    assert_eq!(local_card["state"], "Problem", "{local_card:#}");
    let problem = local_card["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("is a file, not a folder"), "{local_card:#}");
    assert!(local_card["check"].as_str().unwrap().ends_with("could not check"), "{local_card:#}");
    app.screenshot(&screenshots().join("destination-problem.png")).await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_is_said_not_responding_cancel_ends_the_run_and_the_next_run_goes_on_without_it() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let world = World::start().await;
    let config = world.config("sync:\n  bandwidth_limit: \"200k:off\"\n  stall_timeout: 20s\n");
    let data = world.dir.path().join("frozen-data");
    add_policy_beforehand(&config, &data, "Projects/Reports", &["aws_s3", "scaleway"]).await;
    let app = world.open_app(&config, &data).await;
    app.wait_ready("dashboard").await;
    app.click("#sync-now").await;
    let objects =
        || std::fs::read_dir(world.aws.dir.join("backup-aws/google-drive/Projects/Reports")).map_or(0, |r| r.count());
    let deadline = Instant::now() + Duration::from_secs(60);
    while objects() == 0 {
        assert!(Instant::now() < deadline, "nothing reached the S3 server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    world.aws.freeze();

    // Half the stall time without progress: the window says so (the default says it at 30 s).
    let note = app
        .wait_until(
            "the not-responding note",
            "const n = document.querySelector('.dest-progress__note--stalled'); return n && n.textContent",
            json!([]),
            Duration::from_secs(45),
        )
        .await;
    assert!(note.as_str().unwrap().contains("is not responding"), "{note}");
    app.screenshot(&screenshots().join("not-responding.png")).await;
    let cancelled_at = Instant::now();
    app.click("#sync-cancel").await;
    app.wait_until(
        "the run to end",
        "return document.querySelector('#sync-progress').dataset.running === 'false'",
        json!([]),
        Duration::from_secs(30),
    )
    .await;
    let took = cancelled_at.elapsed();
    assert!(took < Duration::from_secs(5), "Cancel took {took:?}");

    // Still frozen: the next run's check gives it up; the other destination completes.
    sync_from_dashboard(&app, "partial").await;
    for i in 0..24 {
        let copy = world.scaleway.dir.join(format!("backup-scw/google-drive/Projects/Reports/report-{i:02}.txt"));
        assert!(copy.is_file(), "{} missing", copy.display());
    }
    app.wait_until(
        "the frozen destination's card",
        "const c = document.querySelector('.dest-card[data-key=\"aws_s3\"]'); return c && c.dataset.state === 'problem'",
        json!([]),
        Duration::from_secs(20),
    )
    .await;
    let aws = card(&app, "aws_s3").await;
    assert_eq!(aws["state"], "Problem", "{aws:#}");
    assert!(aws["problem"].as_str().unwrap_or_default().contains("aws_s3 is not responding"), "{aws:#}");
    world.aws.thaw();
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_a_stored_key_asks_first_and_says_what_stops_working() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let world = World::start().await;
    let config = world.config("");
    // Scaleway's keys only in the keychain, as a desktop user keeps them.
    let env: Vec<(String, String)> =
        world.env().into_iter().filter(|(k, _)| !k.starts_with("FANOUT_SCALEWAY_")).collect();
    let data = world.dir.path().join("clear-data");
    let args =
        vec!["--config".to_string(), config.display().to_string(), "--data-dir".into(), data.display().to_string()];
    let app = Session::start(&args, &env).await;
    app.wait_ready("dashboard").await;
    app.click("#nav-settings").await;
    app.wait_ready("settings").await;
    let row = ".dest-settings[data-key=\"scaleway\"] .secret-row[data-field=\"access_key_id\"]";
    let stored = format!("const s = document.querySelector('{row} .secret-state'); return s && s.dataset.stored");
    app.type_into(&format!("{row} .secret-input"), "SCWEXAMPLEKEY0000000").await;
    app.click(&format!("{row} .secret-save")).await;
    app.wait_until("the key stored", &format!("{stored} === 'true'"), json!([]), Duration::from_secs(20)).await;

    let asked = "const d = document.querySelector('#confirm-dialog'); \
                 return d && d.open && document.querySelector('#confirm-message').textContent";
    app.click(&format!("{row} .secret-clear")).await;
    let message = app.wait_until("the question", asked, json!([]), Duration::from_secs(10)).await;
    let message = message.as_str().unwrap_or_default();
    assert!(message.contains("cannot copy to Scaleway"), "{message}");
    app.click("#confirm-cancel").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.exec(&stored, json!([])).await, "true", "Cancel keeps the key");

    app.click(&format!("{row} .secret-clear")).await;
    app.wait_until("the question again", asked, json!([]), Duration::from_secs(10)).await;
    app.click("#confirm-ok").await;
    app.wait_until("the key cleared", &format!("{stored} === 'false'"), json!([]), Duration::from_secs(20)).await;
    app.close().await;
}
