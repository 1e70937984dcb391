//! Full disks: a local destination that fills up fails only that destination, and a staging
//! folder that fills up fails only the files that did not fit, leaving no partial file behind.
//!
//! Each run happens in a private mount namespace (`unshare`) where a small tmpfs is mounted
//! over the folder that must fill up; what was written there is copied out before it vanishes.

mod common;

use common::{write_files, Sandbox};

/// Runs `fanout sync --json` with a `size` tmpfs over `full_dir`; returns the summary and a
/// copy of what the tmpfs held afterwards.
async fn sync_with_small_disk(
    sandbox: &Sandbox,
    full_dir: &std::path::Path,
    size: &str,
) -> (serde_json::Value, Vec<String>) {
    let snapshot = sandbox.dir.path().join(format!("snapshot-{}", rand_suffix()));
    std::fs::create_dir_all(full_dir).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    let out = sandbox.dir.path().join("sync.json");
    let fanout = sandbox.command(&["sync", "--json"]);
    let args: Vec<String> = std::iter::once(fanout.get_program().to_string_lossy().into_owned())
        .chain(fanout.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect();
    let script = format!(
        "set -e; mount -t tmpfs -o size={size} tmpfs \"$1\"; shift; out=\"$1\"; shift; snap=\"$1\"; shift; \
         \"$@\" > \"$out\" || true; cp -a \"{dir}/.\" \"$snap/\"",
        dir = full_dir.display()
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--map-root-user", "--mount", "sh", "-c", &script, "sh"])
        .arg(full_dir)
        .arg(&out)
        .arg(&snapshot)
        .args(&args)
        .envs(fanout.get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))));
    let status = common::run(cmd).await;
    assert!(status.status.success(), "unshare: {}", String::from_utf8_lossy(&status.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let mut files = Vec::new();
    collect(&snapshot, &snapshot, &mut files);
    (summary, files)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn collect(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            collect(root, &entry.path(), out);
        } else {
            out.push(entry.path().strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

/// Projects/ with twelve 400 KiB files.
async fn sandbox() -> (tempfile::TempDir, Sandbox) {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "p", 0);
    for i in 0..12 {
        let bytes: Vec<u8> = (0..400 * 1024).map(|j: usize| ((i * 31 + j) % 251) as u8).collect();
        std::fs::write(tree.path().join(format!("Projects/big-{i:02}.bin")), bytes).unwrap();
    }
    let sandbox = Sandbox::start(tree.path(), None, &[("aws_s3", "aws_s3"), ("local", "local")]).await;
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,local"]).await;
    (tree, sandbox)
}

async fn pairs(sandbox: &Sandbox) -> Vec<(String, String, String, String)> {
    let files: serde_json::Value =
        serde_json::from_str(&sandbox.fanout_ok(&["files", "--json", "--limit", "100"]).await).unwrap();
    let mut out = Vec::new();
    for row in files["rows"].as_array().unwrap() {
        for pair in row["destinations"].as_array().unwrap() {
            out.push((
                row["drive_path"].as_str().unwrap().to_string(),
                pair["destination"].as_str().unwrap().to_string(),
                pair["status"].as_str().unwrap().to_string(),
                pair["error_message"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_destination_that_fills_up_fails_only_that_destination() {
    let (_tree, sandbox) = sandbox().await;
    let local = match &sandbox.dests["local"] {
        common::Dest::Local { path } => path.clone(),
        _ => unreachable!(),
    };

    let (summary, stored) = sync_with_small_disk(&sandbox, &local, "2m").await;

    assert_eq!(summary["all_success"], false, "{summary:#}");
    assert_eq!(summary["destinations"]["aws_s3"]["synced"], 12, "the other destination is untouched by it");
    assert_eq!(sandbox.objects("aws_s3").len(), 12);
    let pairs = pairs(&sandbox).await;
    let failed: Vec<_> = pairs.iter().filter(|(_, d, s, _)| d == "local" && s == "failed").collect();
    let synced: Vec<_> = pairs.iter().filter(|(_, d, s, _)| d == "local" && s == "synced").collect();
    assert!(!failed.is_empty() && !synced.is_empty(), "{pairs:#?}");
    for (path, _, _, error) in &failed {
        assert!(error.contains("destination is full"), "{path}: {error}");
    }
    // What the ledger calls synced is what the disk held, and nothing half-written stayed.
    let mut expected: Vec<String> = synced.iter().map(|(p, ..)| format!("google-drive/{p}")).collect();
    expected.sort();
    // (Fanout's own `.fanout/` area, its index, is not a copy.)
    let mut stored: Vec<String> = stored.into_iter().filter(|p| !p.starts_with(".fanout/")).collect();
    stored.sort();
    assert_eq!(stored, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_staging_disk_fails_those_files_cleanly_and_the_next_run_converges() {
    let (_tree, sandbox) = sandbox().await;
    let staging = sandbox.data_dir.join("staging");

    let (summary, left_in_staging) = sync_with_small_disk(&sandbox, &staging, "1m").await;

    assert_eq!(summary["all_success"], false, "{summary:#}");
    assert!(left_in_staging.is_empty(), "partial files left in staging: {left_in_staging:?}");
    let pairs = pairs(&sandbox).await;
    let failed: Vec<_> = pairs.iter().filter(|(.., s, _)| s == "failed").collect();
    assert!(!failed.is_empty(), "{pairs:#?}");
    for (path, _, _, error) in &failed {
        assert!(error.contains("staging folder is full"), "{path}: {error}");
    }
    let objects = sandbox.objects("aws_s3");
    for (path, dest, status, _) in &pairs {
        if dest == "aws_s3" {
            assert_eq!(objects.contains_key(&format!("google-drive/{path}")), status == "synced", "{path}");
        }
    }

    // With room again, the next run finishes the job.
    let (code, summary, stderr) = sandbox.sync_json().await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    assert_eq!(sandbox.objects("aws_s3").len(), 12);
    assert_eq!(sandbox.objects("local").len(), 12);
}
