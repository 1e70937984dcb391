//! `fake-google --root DIR [--manifest FILE] [--port N]`: serves DIR as a Google Drive on
//! 127.0.0.1 and prints its base URL on the first line of stdout.

use std::path::PathBuf;

use clap::Parser;
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};

#[derive(Parser)]
#[command(about = "A fake Google Drive v3 server for tests and demos")]
struct Args {
    /// Directory served as My Drive.
    #[arg(long)]
    root: PathBuf,
    /// YAML manifest for Google Docs, shortcuts, duplicates and trash.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = FakeGoogle::serve_dir(&args.root, args.manifest.as_deref(), args.port).await?;
    println!("{}", server.base_url());
    eprintln!("Drive API at {} (access token: {DEFAULT_TOKEN}); Ctrl-C stops", server.drive_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
