//! `fanout demo`: a real backup with no account and no configuration.
//!
//! A sample Drive (files shipped in the repository, served by the fake Google server) is
//! backed up to a local folder and to a local S3 server (`rclone serve s3`), both under the
//! demo's own data folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use fanout_core::config::Config;
use fanout_core::engine::default_data_dir;
use fanout_core::rclone::locate_binary;
use fanout_core::secrets::MemorySecrets;
use fanout_core::Engine;
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::s3::S3Server;
use include_dir::{include_dir, Dir};

static SAMPLE_DRIVE: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../demo/drive");
const SAMPLE_MANIFEST: &str = include_str!("../../demo/manifest.yaml");
const BUCKET: &str = "fanout-demo";

/// Sets up the sample Drive, both destinations and the engine, in `data_dir`.
pub struct DemoProfile {
    pub drive: FakeGoogle,
    pub s3: S3Server,
    pub engine: Engine,
    pub local_backup: PathBuf,
}

pub async fn start(data_dir: &Path) -> anyhow::Result<DemoProfile> {
    let rclone = locate_binary(None).context("rclone was not found: run scripts/fetch-rclone first")?;
    let drive_dir = data_dir.join("sample-drive");
    if drive_dir.exists() {
        std::fs::remove_dir_all(&drive_dir)?;
    }
    std::fs::create_dir_all(&drive_dir)?;
    SAMPLE_DRIVE.extract(&drive_dir)?;
    let manifest_path = data_dir.join("sample-manifest.yaml");
    std::fs::write(&manifest_path, SAMPLE_MANIFEST)?;
    let drive = FakeGoogle::serve_dir(&drive_dir, Some(&manifest_path), 0).await?;
    let s3 = S3Server::start(&rclone, &data_dir.join("s3-server"), &[BUCKET])?;
    let local_backup = data_dir.join("local-backup");

    let yaml = format!(
        "google:\n  drive_url: {drive}\ndestinations:\n  local:\n    type: local\n    enabled: true\n    path: {local}\n  demo_s3:\n    type: s3_compatible\n    enabled: true\n    bucket: {BUCKET}\n    endpoint: {endpoint}\n    region: us-east-1\n",
        drive = drive.drive_url(),
        local = local_backup.display(),
        endpoint = s3.endpoint(),
    );
    let config = Config::parse(&yaml, "demo profile")?;
    let secrets = MemorySecrets::default();
    secrets.set("google", "access_token", DEFAULT_TOKEN);
    secrets.set("demo_s3", "access_key_id", &s3.access_key);
    secrets.set("demo_s3", "secret_access_key", &s3.secret_key);
    let engine = Engine::open(config, &data_dir.join("state"), Arc::new(secrets)).await?;
    if engine.policies().await?.is_empty() {
        engine.add_policy("Projects", &["local".into(), "demo_s3".into()], true).await?;
        engine.add_policy("Archive", &["local".into()], true).await?;
    }
    Ok(DemoProfile { drive, s3, engine, local_backup })
}

pub async fn run(data_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let data_dir = data_dir.unwrap_or_else(|| default_data_dir().join("demo"));
    println!("Fanout demo: a sample Drive (demo data, no account) backed up to two local destinations.");
    let demo = start(&data_dir).await?;
    println!("  sample Drive served at {} (labelled demo data)", demo.drive.base_url());
    for p in demo.engine.policies().await? {
        println!("  policy: {} → {}", p.folder_path, p.destinations.join(", "));
    }
    let summary = crate::progress::run_with_progress(&demo.engine, false).await?;
    println!();
    println!("Sync {}: {} files backed up.", summary.status, summary.files_planned);
    for (key, d) in &summary.destinations {
        println!("  {key:<8} {} synced, {} failed, {} pending", d.synced, d.failed, d.pending);
    }
    for e in &summary.errors {
        println!("  error: {e}");
    }
    println!();
    println!("Your copies:");
    println!("  local folder: {}", demo.local_backup.join("google-drive").display());
    println!(
        "  S3 server:    {} (bucket {BUCKET}), stored in {}",
        demo.s3.endpoint(),
        demo.s3.dir.join(BUCKET).join("google-drive").display()
    );
    println!("Run `fanout demo` again: nothing changed, so nothing is copied.");
    demo.engine.close().await;
    Ok(if summary.all_success { ExitCode::SUCCESS } else { ExitCode::from(3) })
}
