//! `fake-b2 --root DIR --key-id ID --bucket NAME [--bucket ...] [--port N]`: serves a fake
//! Backblaze B2 (native API) on 127.0.0.1 and prints its base URL, which is what goes in
//! rclone's b2 `endpoint` option, on the first line of stdout.
//!
//! The application key is read from `FAKE_B2_APPLICATION_KEY`, never from the command line,
//! so it does not show up in process listings.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use fanout_testkit::fake_b2::FakeB2;

#[derive(Parser)]
#[command(about = "A fake Backblaze B2 (native API) server for tests and demos")]
struct Args {
    /// Directory for the stored bytes (one subdirectory per bucket).
    #[arg(long)]
    root: PathBuf,
    /// The application key ID clients authorize with.
    #[arg(long)]
    key_id: String,
    /// A bucket the key is restricted to (repeatable); with none the key is unrestricted.
    #[arg(long = "bucket")]
    buckets: Vec<String>,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let app_key = std::env::var("FAKE_B2_APPLICATION_KEY")
        .context("set FAKE_B2_APPLICATION_KEY to the application key clients must present")?;
    let buckets: Vec<&str> = args.buckets.iter().map(String::as_str).collect();
    let server = FakeB2::start(&args.root, &args.key_id, &app_key, &buckets, args.port).await?;
    println!("{}", server.base_url());
    eprintln!(
        "B2 API at {} (authorize: /b2api/v4/b2_authorize_account, key ID {}); Ctrl-C stops",
        server.base_url(),
        args.key_id
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
