//! The demo profile: Fanout with no account and no configuration, set up in this one place
//! for both the CLI's `fanout demo` and the desktop app's `--demo`.
//!
//! A sample Drive (files shipped in the repository, served by the fake Google server) and two
//! local destinations, a folder and an S3 server (`rclone serve s3`), all under the demo's own
//! data folder, with an engine over them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use fanout_core::config::Config;
use fanout_core::secrets::MemorySecrets;
use fanout_core::Engine;
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::s3::S3Server;
use include_dir::{include_dir, Dir};

static SAMPLE_DRIVE: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/drive");
const SAMPLE_MANIFEST: &str = include_str!("../manifest.yaml");
pub const BUCKET: &str = "fanout-demo";

/// The policies a new demo starts with: (Drive folder, destination keys).
pub const STARTER_POLICIES: &[(&str, &[&str])] = &[("Projects", &["local", "demo_s3"]), ("Archive", &["local"])];

/// The running sample Drive and S3 server; both stop when this is dropped.
pub struct DemoServers {
    pub drive: FakeGoogle,
    pub s3: S3Server,
    pub local_backup: PathBuf,
}

/// Unpacks the sample Drive into `data_dir` and starts both servers on 127.0.0.1.
pub async fn start(rclone: &Path, data_dir: &Path) -> anyhow::Result<DemoServers> {
    let drive_dir = data_dir.join("sample-drive");
    if drive_dir.exists() {
        std::fs::remove_dir_all(&drive_dir)?;
    }
    std::fs::create_dir_all(&drive_dir)?;
    SAMPLE_DRIVE.extract(&drive_dir)?;
    let manifest_path = data_dir.join("sample-manifest.yaml");
    std::fs::write(&manifest_path, SAMPLE_MANIFEST)?;
    let drive = FakeGoogle::serve_dir(&drive_dir, Some(&manifest_path), 0).await?;
    let s3 = S3Server::start(rclone, &data_dir.join("s3-server"), &[BUCKET])?;
    // The demo adds its local destination, so it makes the folder (Fanout never makes a
    // missing destination folder on its own: it may be an unplugged disk).
    let local_backup = data_dir.join("local-backup");
    std::fs::create_dir_all(&local_backup)?;
    Ok(DemoServers { drive, s3, local_backup })
}

impl DemoServers {
    /// A config.yaml pointing at the sample Drive and both destinations.
    pub fn config_yaml(&self) -> String {
        format!(
            "google:\n  drive_url: {drive}\ndestinations:\n  local:\n    type: local\n    enabled: true\n    path: {local}\n  \
             demo_s3:\n    type: s3_compatible\n    enabled: true\n    bucket: {BUCKET}\n    endpoint: {endpoint}\n    \
             region: us-east-1\nsync:\n  schedule: every 1h\n",
            drive = self.drive.drive_url(),
            local = self.local_backup.display(),
            endpoint = self.s3.endpoint(),
        )
    }

    /// The demo's secrets as (owner, field, value): generated for this run, kept in memory.
    pub fn secrets(&self) -> Vec<(&'static str, &'static str, String)> {
        vec![
            ("google", "access_token", DEFAULT_TOKEN.to_string()),
            ("demo_s3", "access_key_id", self.s3.access_key.clone()),
            ("demo_s3", "secret_access_key", self.s3.secret_key.clone()),
        ]
    }

    /// Where the S3 server keeps the bucket's objects on disk.
    pub fn s3_storage(&self) -> PathBuf {
        self.s3.dir.join(BUCKET)
    }
}

/// The sample Drive, both destinations, and an engine over them.
pub struct DemoProfile {
    pub servers: DemoServers,
    pub engine: Engine,
}

impl DemoProfile {
    /// Starts the servers under `data_dir` and opens the engine; a new demo gets `starters`
    /// (some of [`STARTER_POLICIES`]) as its first policies.
    pub async fn start(data_dir: &Path, starters: &[(&str, &[&str])]) -> anyhow::Result<Self> {
        let rclone =
            fanout_core::rclone::locate_binary(None).context("rclone was not found: run scripts/fetch-rclone first")?;
        let servers = start(&rclone, data_dir).await?;
        let config = Config::parse(&servers.config_yaml(), "demo profile")?;
        let secrets: MemorySecrets = servers.secrets().into_iter().collect();
        let engine = Engine::open(config, &data_dir.join("state"), Arc::new(secrets)).await?;
        if engine.policies().await?.is_empty() {
            for (folder, destinations) in starters {
                let destinations: Vec<String> = destinations.iter().map(|d| d.to_string()).collect();
                engine.add_policy(folder, &destinations, true).await?;
            }
        }
        Ok(Self { servers, engine })
    }
}
