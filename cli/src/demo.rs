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
use fanout_testkit::demo::{DemoServers, BUCKET, STARTER_POLICIES};

/// The sample Drive and both destinations, with an engine over them.
pub struct DemoProfile {
    pub servers: DemoServers,
    pub engine: Engine,
}

pub async fn start(data_dir: &Path) -> anyhow::Result<DemoProfile> {
    let rclone = locate_binary(None).context("rclone was not found: run scripts/fetch-rclone first")?;
    let servers = fanout_testkit::demo::start(&rclone, data_dir).await?;
    let config = Config::parse(&servers.config_yaml(), "demo profile")?;
    let secrets: MemorySecrets = servers.secrets().into_iter().collect();
    let engine = Engine::open(config, &data_dir.join("state"), Arc::new(secrets)).await?;
    if engine.policies().await?.is_empty() {
        for (folder, destinations) in STARTER_POLICIES {
            let destinations: Vec<String> = destinations.iter().map(|d| d.to_string()).collect();
            engine.add_policy(folder, &destinations, true).await?;
        }
    }
    Ok(DemoProfile { servers, engine })
}

pub async fn run(data_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let data_dir = data_dir.unwrap_or_else(|| default_data_dir().join("demo"));
    println!("Fanout demo: a sample Drive (demo data, no account) backed up to two local destinations.");
    let demo = start(&data_dir).await?;
    println!("  sample Drive served at {} (labelled demo data)", demo.servers.drive.base_url());
    for p in demo.engine.policies().await? {
        println!("  policy: {} → {}", p.folder_path, p.destinations.join(", "));
    }
    let summary = crate::progress::run_with_progress(&demo.engine, false, None).await?;
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
    println!("  local folder: {}", demo.servers.local_backup.join("google-drive").display());
    println!(
        "  S3 server:    {} (bucket {BUCKET}), stored in {}",
        demo.servers.s3.endpoint(),
        demo.servers.s3_storage().join("google-drive").display()
    );
    println!("Run `fanout demo` again: nothing changed, so nothing is copied.");
    demo.engine.close().await;
    Ok(if summary.all_success { ExitCode::SUCCESS } else { ExitCode::from(3) })
}
