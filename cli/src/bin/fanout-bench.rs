//! `fanout-bench [--tiny]`: Fanout measured against rclone itself, in one run, on loopback.
//!
//! It sets everything up itself: a fake Google Drive serving generated files, two real S3
//! servers (`rclone serve s3`), and the `fanout` binary built beside this one. Every figure is
//! a ratio against an anchor measured in the same run, or a count noise cannot change. It
//! prints a table and writes `target/bench/results.json`. `--tiny` is the smoke run the test
//! suite uses: same code, small sizes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fanout_core::db::Database;
use fanout_core::{FileQuery, SyncStatus};
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::s3::S3Server;
use serde_json::{json, Value};

struct Sizes {
    small_files: usize,
    small_folders: usize,
    small_bytes: usize,
    naive_sample: usize,
    large_files: usize,
    large_bytes: usize,
    nochange_files: usize,
    nochange_folders: usize,
    listing_files: usize,
    listing_folders: usize,
}

const FULL: Sizes = Sizes {
    small_files: 5_000,
    small_folders: 50,
    small_bytes: 16 * 1024,
    naive_sample: 300,
    large_files: 4,
    large_bytes: 256 * 1024 * 1024,
    nochange_files: 100_000,
    nochange_folders: 1_000,
    listing_files: 20_000,
    listing_folders: 2_000,
};

const TINY: Sizes = Sizes {
    small_files: 60,
    small_folders: 3,
    small_bytes: 16 * 1024,
    naive_sample: 6,
    large_files: 2,
    large_bytes: 2 * 1024 * 1024,
    nochange_files: 300,
    nochange_folders: 10,
    listing_files: 200,
    listing_folders: 20,
};

const TRANSFERS: usize = 8;

struct Bench {
    work: PathBuf,
    rclone: PathBuf,
    fanout: PathBuf,
}

/// A config, data folder and secrets for running `fanout` against one workload.
struct Profile {
    config: PathBuf,
    data: PathBuf,
    env: Vec<(String, String)>,
}

/// What one run of the `fanout` binary cost.
struct Run {
    wall: Duration,
    /// Peak resident set (VmHWM), including file pages SQLite maps.
    peak_rss_kib: u64,
    /// Peak anonymous memory (the process's own heap and stacks).
    peak_anon_kib: u64,
    output: Value,
}

/// Deterministic pseudo-random bytes (xorshift), so files do not compress or dedupe.
fn fill(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn write_tree(root: &Path, top: &str, files: usize, folders: usize, bytes: usize) -> anyhow::Result<u64> {
    let mut total = 0;
    for i in 0..files {
        let dir = root.join(top).join(format!("folder-{:04}", i % folders.max(1)));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("file-{i:06}.bin")), fill(i as u64 + 1, bytes))?;
        total += bytes as u64;
    }
    Ok(total)
}

/// A field of /proc/PID/status, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Bench {
    fn s3_env(&self, name: &str, server: &S3Server) -> Vec<(String, String)> {
        let p = format!("RCLONE_CONFIG_{}_", name.to_uppercase());
        vec![
            (format!("{p}TYPE"), "s3".into()),
            (format!("{p}PROVIDER"), "Other".into()),
            (format!("{p}ENDPOINT"), server.endpoint()),
            (format!("{p}ACCESS_KEY_ID"), server.access_key.clone()),
            (format!("{p}SECRET_ACCESS_KEY"), server.secret_key.clone()),
            (format!("{p}USE_UNSIGNED_PAYLOAD"), "true".into()),
            (format!("{p}NO_CHECK_BUCKET"), "true".into()),
        ]
    }

    /// `rclone ARGS` against the S3 server `server` as remote `name`, quiet, with no config file.
    fn rclone_command(&self, name: &str, server: &S3Server) -> Command {
        let mut command = Command::new(&self.rclone);
        command
            .env("RCLONE_CONFIG", self.work.join("no-rclone-config"))
            .env("RCLONE_LOG_LEVEL", "ERROR")
            .envs(self.s3_env(name, server))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        command
    }

    /// A config.yaml and secrets for `fanout` pointing at the fake Drive and destinations.
    fn profile(
        &self,
        name: &str,
        drive: &FakeGoogle,
        servers: &[(&str, &S3Server)],
        local: Option<&Path>,
    ) -> anyhow::Result<Profile> {
        let dir = self.work.join(name);
        std::fs::create_dir_all(&dir)?;
        // The fake Drive has no quota: pacing would measure the configured pace, not Fanout.
        let mut yaml = format!(
            "google:\n  drive_url: {}\n  requests_per_second: 100000\n  request_burst: 100000\ndestinations:\n",
            drive.drive_url()
        );
        let mut env = vec![("FANOUT_GOOGLE_ACCESS_TOKEN".to_string(), DEFAULT_TOKEN.to_string())];
        for (key, server) in servers {
            yaml += &format!(
                "  {key}:\n    type: s3_compatible\n    enabled: true\n    bucket: fanout\n    endpoint: {}\n",
                server.endpoint()
            );
            env.push((format!("FANOUT_{}_ACCESS_KEY_ID", key.to_uppercase()), server.access_key.clone()));
            env.push((format!("FANOUT_{}_SECRET_ACCESS_KEY", key.to_uppercase()), server.secret_key.clone()));
        }
        if let Some(path) = local {
            std::fs::create_dir_all(path)?;
            yaml += &format!("  disk:\n    type: local\n    enabled: true\n    path: {}\n", path.display());
        }
        yaml += &format!("sync:\n  download_concurrency: {TRANSFERS}\n  upload_concurrency: {TRANSFERS}\n");
        let config = dir.join("config.yaml");
        std::fs::write(&config, yaml)?;
        Ok(Profile { config, data: dir.join("data"), env })
    }

    /// Runs `fanout ARGS` and measures its wall time and peak memory.
    fn fanout(&self, profile: &Profile, args: &[&str]) -> anyhow::Result<Run> {
        let started = Instant::now();
        let mut child = Command::new(&self.fanout)
            .arg("--config")
            .arg(&profile.config)
            .arg("--data-dir")
            .arg(&profile.data)
            .args(args)
            .envs(profile.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let pid = child.id();
        let stdout = child.stdout.take().context("no stdout")?;
        let reader = std::thread::spawn(move || std::io::read_to_string(stdout));
        let mut peak = 0;
        let mut peak_anon = 0;
        while child.try_wait()?.is_none() {
            peak = peak.max(status_kib(pid, "VmHWM:").unwrap_or(0));
            peak_anon = peak_anon.max(status_kib(pid, "RssAnon:").unwrap_or(0));
            // Poll often at first: a no-change sync is over in tens of milliseconds.
            std::thread::sleep(Duration::from_millis(if started.elapsed() < Duration::from_secs(1) { 2 } else { 20 }));
        }
        let wall = started.elapsed();
        let status = child.wait()?;
        let text = reader.join().map_err(|_| anyhow::anyhow!("stdout reader panicked"))??;
        if !status.success() && args.first() != Some(&"sync") {
            bail!("fanout {args:?} failed: {text}");
        }
        let output = serde_json::from_str(&text).unwrap_or(Value::Null);
        if args.first() == Some(&"sync") && output["all_success"] != true {
            bail!("fanout sync did not succeed: {text}");
        }
        Ok(Run { wall, peak_rss_kib: peak, peak_anon_kib: peak_anon, output })
    }

    /// Anchor A: `rclone copy` of the same files from local disk to both destinations at once.
    fn rclone_copy_to_both(
        &self,
        source: &Path,
        servers: &[(&str, &S3Server)],
        bucket_dir: &str,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut children = Vec::new();
        for (name, server) in servers {
            let child = self
                .rclone_command(name, server)
                .arg("copy")
                .arg(source)
                .arg(format!("{name}:fanout/{bucket_dir}"))
                .args(["--transfers", &TRANSFERS.to_string(), "--checkers", &(2 * TRANSFERS).to_string()])
                .spawn()?;
            children.push(child);
        }
        for mut child in children {
            if !child.wait()?.success() {
                bail!("rclone copy failed");
            }
        }
        Ok(started.elapsed())
    }

    /// Restore of `folder` from destination `key` into a new folder, against `rclone copy` of the
    /// same objects from the same server to local disk, in the same run.
    fn restore_vs_rclone(
        &self,
        profile: &Profile,
        folder: &str,
        (key, server): (&str, &S3Server),
        name: &str,
    ) -> anyhow::Result<Value> {
        let target = self.work.join(format!("{name}-restored"));
        let run =
            self.fanout(profile, &["restore", folder, "--from", key, "--to", &target.display().to_string(), "--json"])?;
        let restored = run.output["restored"].as_array().map(Vec::len).unwrap_or(0);
        if run.output["all_success"] != true {
            bail!("fanout restore did not succeed: {}", run.output);
        }
        let anchor_target = self.work.join(format!("{name}-rclone-restored"));
        let started = Instant::now();
        let status = self
            .rclone_command(key, server)
            .arg("copy")
            .arg(format!("{key}:fanout/google-drive/{folder}"))
            .arg(&anchor_target)
            .args(["--transfers", &TRANSFERS.to_string(), "--checkers", &(2 * TRANSFERS).to_string()])
            .status()?;
        if !status.success() {
            bail!("rclone copy (the restore anchor) failed");
        }
        let anchor = started.elapsed();
        Ok(json!({
            "fanout_s": secs(run.wall), "anchor_rclone_copy_s": secs(anchor),
            "ratio": ratio(run.wall.as_secs_f64(), anchor.as_secs_f64()), "files_restored": restored,
            "files_on_disk": count_files(&target), "peak_rss_mib": run.peak_rss_kib / 1024,
        }))
    }

    /// Anchor B: one rclone process per file per destination (the naive design), on a sample.
    fn rclone_per_file(&self, files: &[PathBuf], servers: &[(&str, &S3Server)]) -> anyhow::Result<Duration> {
        let started = Instant::now();
        for (i, file) in files.iter().enumerate() {
            for (name, server) in servers {
                let status = self
                    .rclone_command(name, server)
                    .arg("copyto")
                    .arg(file)
                    .arg(format!("{name}:fanout/naive/{i}.bin"))
                    .status()?;
                if !status.success() {
                    bail!("rclone copyto failed");
                }
            }
        }
        Ok(started.elapsed())
    }
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn ratio(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        return 0.0;
    }
    (a / b * 100.0).round() / 100.0
}

fn drive_counts(drive: &FakeGoogle) -> (usize, usize, u64) {
    let requests = drive.requests();
    let lists = requests.iter().filter(|r| r.route == "files.list").count();
    (requests.len(), lists, drive.bytes_served())
}

fn small(b: &Bench, s: &Sizes, rt: &tokio::runtime::Runtime) -> anyhow::Result<Value> {
    let drive_dir = b.work.join("small-drive");
    let bytes = write_tree(&drive_dir, "Small", s.small_files, s.small_folders, s.small_bytes)?;
    let drive = rt.block_on(FakeGoogle::serve_dir(&drive_dir, None, 0))?;
    let s3a = S3Server::start(&b.rclone, &b.work.join("small-s3a"), &["fanout"])?;
    let s3b = S3Server::start(&b.rclone, &b.work.join("small-s3b"), &["fanout"])?;
    let servers = [("s3a", &s3a), ("s3b", &s3b)];
    let profile = b.profile("small", &drive, &servers, None)?;
    b.fanout(&profile, &["policy", "add", "Small", "--to", "s3a,s3b"])?;
    drive.clear_requests();
    let run = b.fanout(&profile, &["sync", "--json"])?;
    let (requests, lists, served) = drive_counts(&drive);
    let copied: usize =
        [&s3a, &s3b].iter().map(|server| count_files(&server.dir.join("fanout").join("google-drive"))).sum();

    let anchor_a = b.rclone_copy_to_both(&drive_dir.join("Small"), &servers, "anchor")?;
    // The naive design's cost is measured on a sample taken across all folders, then scaled.
    let mut sample: Vec<PathBuf> = Vec::new();
    for folder in 0..s.small_folders {
        for entry in std::fs::read_dir(drive_dir.join(format!("Small/folder-{folder:04}")))? {
            sample.push(entry?.path());
        }
    }
    sample.sort();
    let step = (sample.len() / s.naive_sample.max(1)).max(1);
    let sample: Vec<PathBuf> = sample.into_iter().step_by(step).take(s.naive_sample).collect();
    let naive = b.rclone_per_file(&sample, &servers)?;
    let anchor_b = naive.as_secs_f64() * s.small_files as f64 / sample.len().max(1) as f64;
    let fanout = run.wall.as_secs_f64();
    let restore = b.restore_vs_rclone(&profile, "Small", ("s3a", &s3a), "small")?;
    Ok(json!({
        "workload": "small", "files": s.small_files, "bytes": bytes, "destinations": 2,
        "fanout_s": secs(run.wall), "anchor_a_rclone_copy_s": secs(anchor_a),
        "anchor_b_process_per_file_s": (anchor_b * 10.0).round() / 10.0, "anchor_b_sample_files": sample.len(),
        "ratio_vs_a": ratio(fanout, anchor_a.as_secs_f64()), "speedup_vs_b": ratio(anchor_b, fanout),
        "peak_rss_mib": run.peak_rss_kib / 1024, "drive_requests": requests, "drive_list_requests": lists,
        "drive_bytes_served": served, "objects_at_destinations": copied, "restore": restore,
    }))
}

/// Files under `dir` (an S3 server's bucket folder), counted at the server's own storage.
fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum()
}

fn large(b: &Bench, s: &Sizes, rt: &tokio::runtime::Runtime) -> anyhow::Result<Value> {
    let drive_dir = b.work.join("large-drive");
    let bytes = write_tree(&drive_dir, "Large", s.large_files, 1, s.large_bytes)?;
    let drive = rt.block_on(FakeGoogle::serve_dir(&drive_dir, None, 0))?;
    let s3a = S3Server::start(&b.rclone, &b.work.join("large-s3a"), &["fanout"])?;
    let s3b = S3Server::start(&b.rclone, &b.work.join("large-s3b"), &["fanout"])?;
    let servers = [("s3a", &s3a), ("s3b", &s3b)];
    let profile = b.profile("large", &drive, &servers, None)?;
    b.fanout(&profile, &["policy", "add", "Large", "--to", "s3a,s3b"])?;
    drive.clear_requests();
    let run = b.fanout(&profile, &["sync", "--json"])?;
    let (_, _, served) = drive_counts(&drive);
    let anchor_a = b.rclone_copy_to_both(&drive_dir.join("Large"), &servers, "anchor")?;
    let restore = b.restore_vs_rclone(&profile, "Large", ("s3a", &s3a), "large")?;
    Ok(json!({
        "workload": "large", "files": s.large_files, "bytes": bytes, "destinations": 2,
        "fanout_s": secs(run.wall), "anchor_a_rclone_copy_s": secs(anchor_a),
        "ratio_vs_a": ratio(run.wall.as_secs_f64(), anchor_a.as_secs_f64()),
        "drive_bytes_downloaded": served, "downloaded_once": served == bytes,
        "peak_rss_mib": run.peak_rss_kib / 1024, "restore": restore,
    }))
}

fn no_change(b: &Bench, s: &Sizes, rt: &tokio::runtime::Runtime) -> anyhow::Result<(Value, PathBuf)> {
    let drive_dir = b.work.join("nochange-drive");
    write_tree(&drive_dir, "Many", s.nochange_files, s.nochange_folders, 64)?;
    let drive = rt.block_on(FakeGoogle::serve_dir(&drive_dir, None, 0))?;
    let local = b.work.join("nochange-backup");
    let profile = b.profile("nochange", &drive, &[], Some(&local))?;
    b.fanout(&profile, &["policy", "add", "Many", "--to", "disk"])?;
    let first = b.fanout(&profile, &["sync", "--json"])?;
    drive.clear_requests();
    let run = b.fanout(&profile, &["sync", "--json"])?;
    let (requests, _, served) = drive_counts(&drive);
    Ok((
        json!({
            "workload": "no-change", "tracked_files": s.nochange_files,
            "first_sync_s": secs(first.wall), "first_sync_peak_rss_mib": first.peak_rss_kib / 1024,
            "fanout_s": secs(run.wall), "peak_rss_mib": run.peak_rss_kib / 1024,
            "peak_anon_mib": run.peak_anon_kib / 1024, "drive_requests": requests, "drive_bytes_served": served,
            "transfers_started": run.output["files_planned"],
        }),
        profile.data.join("fanout.db"),
    ))
}

fn listing(b: &Bench, s: &Sizes, rt: &tokio::runtime::Runtime) -> anyhow::Result<Value> {
    let drive_dir = b.work.join("listing-drive");
    write_tree(&drive_dir, "Tree", s.listing_files, s.listing_folders, 8)?;
    let drive = rt.block_on(FakeGoogle::serve_dir(&drive_dir, None, 0))?;
    let local = b.work.join("listing-backup");
    let profile = b.profile("listing", &drive, &[], Some(&local))?;
    b.fanout(&profile, &["policy", "add", "Tree", "--to", "disk"])?;
    drive.clear_requests();
    let run = b.fanout(&profile, &["plan", "--json"])?;
    let (requests, lists, _) = drive_counts(&drive);
    let planned = run.output["files"].as_array().map(Vec::len).unwrap_or(0);
    if planned != s.listing_files {
        bail!("the listing found {planned} files, expected {}", s.listing_files);
    }
    // One request per folder (plus one per extra page) is what a per-folder lister makes.
    let per_folder = s.listing_folders + 1;
    Ok(json!({
        "workload": "listing", "files": s.listing_files, "folders": s.listing_folders,
        "fanout_s": secs(run.wall), "drive_requests": requests, "drive_list_requests": lists,
        "per_folder_list_requests": per_folder, "request_ratio": ratio(lists as f64, per_folder as f64),
        "peak_rss_mib": run.peak_rss_kib / 1024,
    }))
}

fn files_page(db_path: &Path, rows: usize, rt: &tokio::runtime::Runtime) -> anyhow::Result<Value> {
    rt.block_on(async {
        let db = Database::open(db_path).await?;
        let mut timings = BTreeMap::new();
        let queries = [
            ("first_page", FileQuery { limit: 50, ..Default::default() }),
            (
                "filtered_page",
                FileQuery {
                    destination: Some("disk".into()),
                    status: Some(SyncStatus::Synced),
                    offset: 5_000.min(rows as i64 / 2),
                    limit: 50,
                    ..Default::default()
                },
            ),
            ("search", FileQuery { search: Some(format!("file-{:05}", rows / 20)), limit: 50, ..Default::default() }),
        ];
        for (name, query) in queries {
            db.list_files(&query).await?; // warm the cache as a window would have
            let started = Instant::now();
            let page = db.list_files(&query).await?;
            let elapsed = started.elapsed();
            if page.rows.is_empty() {
                bail!("files page `{name}` came back empty");
            }
            timings.insert(name, (elapsed.as_secs_f64() * 10_000.0).round() / 10.0);
        }
        db.close().await;
        Ok(json!({ "workload": "files-page", "ledger_rows": rows, "latency_ms": timings }))
    })
}

fn main() -> anyhow::Result<()> {
    let tiny = std::env::args().any(|a| a == "--tiny");
    let sizes = if tiny { &TINY } else { &FULL };
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("no binary folder")?;
    let fanout = dir.join("fanout");
    if !fanout.is_file() {
        bail!("build the fanout binary first (cargo build -p fanout-cli)");
    }
    let rclone = fanout_core::rclone::locate_binary(None).context("rclone not found: run scripts/fetch-rclone")?;
    let scratch = tempfile::Builder::new().prefix("fanout-bench-").tempdir()?;
    let bench = Bench { work: scratch.path().to_path_buf(), rclone, fanout };
    let rt = tokio::runtime::Runtime::new()?;

    // `--only small,large` runs some workloads (for profiling); the default runs them all.
    let only: Option<Vec<String>> =
        std::env::args().skip_while(|a| a != "--only").nth(1).map(|list| list.split(',').map(str::to_string).collect());
    let wanted = |name: &str| only.as_ref().map(|o| o.iter().any(|w| w == name)).unwrap_or(true);
    let skipped = || json!({ "skipped": true });
    let small = if wanted("small") { small(&bench, sizes, &rt)? } else { skipped() };
    let large = if wanted("large") { large(&bench, sizes, &rt)? } else { skipped() };
    let (no_change, page) = if wanted("no-change") || wanted("files-page") {
        let (no_change, db) = no_change(&bench, sizes, &rt)?;
        (no_change, files_page(&db, sizes.nochange_files, &rt)?)
    } else {
        (skipped(), skipped())
    };
    let listing = if wanted("listing") { listing(&bench, sizes, &rt)? } else { skipped() };
    let results = json!({
        "scale": if tiny { "tiny" } else { "full" },
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "workloads": [small, large, no_change, listing, page],
    });

    let w = &results["workloads"];
    let c = |v: &Value| v.to_string();
    println!("{:<11} {:>10} {:>10} {:>8}  notes", "workload", "fanout s", "anchor s", "ratio");
    println!(
        "{:<11} {:>10} {:>10} {:>8}  {}x faster than one process per file ({} s); peak {} MiB",
        "small",
        c(&w[0]["fanout_s"]),
        c(&w[0]["anchor_a_rclone_copy_s"]),
        c(&w[0]["ratio_vs_a"]),
        w[0]["speedup_vs_b"],
        w[0]["anchor_b_process_per_file_s"],
        w[0]["peak_rss_mib"]
    );
    println!(
        "{:<11} {:>10} {:>10} {:>8}  Drive bytes downloaded {} (once: {}); peak {} MiB",
        "large",
        c(&w[1]["fanout_s"]),
        c(&w[1]["anchor_a_rclone_copy_s"]),
        c(&w[1]["ratio_vs_a"]),
        w[1]["drive_bytes_downloaded"],
        w[1]["downloaded_once"],
        w[1]["peak_rss_mib"]
    );
    for (i, name) in [(0, "restore-s"), (1, "restore-l")] {
        let r = &w[i]["restore"];
        println!(
            "{:<11} {:>10} {:>10} {:>8}  {} files restored from one S3 server to disk, vs rclone copy; peak {} MiB",
            name,
            c(&r["fanout_s"]),
            c(&r["anchor_rclone_copy_s"]),
            c(&r["ratio"]),
            r["files_restored"],
            r["peak_rss_mib"]
        );
    }
    println!(
        "{:<11} {:>10} {:>10} {:>8}  {} tracked files, {} Drive requests, {} transfers; peak {} MiB (first sync {} s)",
        "no-change",
        c(&w[2]["fanout_s"]),
        "-",
        "-",
        w[2]["tracked_files"],
        w[2]["drive_requests"],
        w[2]["transfers_started"],
        w[2]["peak_rss_mib"],
        w[2]["first_sync_s"]
    );
    println!(
        "{:<11} {:>10} {:>10} {:>8}  {} list requests vs {} one-per-folder; peak {} MiB",
        "listing",
        c(&w[3]["fanout_s"]),
        "-",
        c(&w[3]["request_ratio"]),
        w[3]["drive_list_requests"],
        w[3]["per_folder_list_requests"],
        w[3]["peak_rss_mib"]
    );
    println!("{:<11} latency ms over {} rows: {}", "files page", w[4]["ledger_rows"], w[4]["latency_ms"]);

    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let name = if tiny { "results-tiny.json" } else { "results.json" };
    std::fs::write(out_dir.join(name), serde_json::to_string_pretty(&results)?)?;
    println!("results written to target/bench/{name}");
    Ok(())
}
