//! `fanout demo`: a real backup with no account and no configuration.
//!
//! A sample Drive (files shipped in the repository, served by the fake Google server) is
//! backed up to a local folder and to a local S3 server (`rclone serve s3`), both under the
//! demo's own data folder.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use fanout_core::default_data_dir;
use fanout_demo::{DemoProfile, BUCKET, STARTER_POLICIES};

pub async fn run(data_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let data_dir = data_dir.unwrap_or_else(|| default_data_dir().join("demo"));
    println!("Fanout demo: a sample Drive (demo data, no account) backed up to two local destinations.");
    let demo = DemoProfile::start(&data_dir, STARTER_POLICIES).await?;
    println!("  sample Drive served at {} (labelled demo data)", demo.servers.drive.base_url());
    for p in demo.engine.policies().await? {
        println!("  policy: {} → {}", p.folder_path, p.destinations.join(", "));
    }
    let summary = crate::progress::run_with_progress(&demo.engine, false, crate::progress::SyncRequest::Now)
        .await?
        .context("the demo's sync did not run")?;
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
