//! Secrets never appear in the database, config, logs, output, or any process's command line:
//! destination keys and the Google sign-in live in the OS keychain, and reach rclone only
//! through its environment.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{write_files, Sandbox};

fn proc_entries() -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // ppid is the second field after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        out.push((pid, ppid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
    }
    out
}

fn all_files_text(dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files_text(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p.display().to_string(), bytes));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_file_a_log_an_output_or_a_command_line() {
    let tree = tempfile::tempdir().unwrap();
    write_files(tree.path(), "Projects", "p", 120);
    // A run long enough (2 MiB at 1 MiB/s, with the limit below) that the process watch sees
    // rclone's daemon however loaded the machine is.
    std::fs::write(tree.path().join("Projects/big.bin"), vec![7u8; 2 << 20]).unwrap();
    let sandbox = Sandbox::start(
        tree.path(),
        None,
        &[("aws_s3", "aws_s3"), ("backblaze_b2", "s3_compatible"), ("local", "local")],
    )
    .await;
    let yaml = std::fs::read_to_string(&sandbox.config_path).unwrap() + "sync:\n  bandwidth_limit: 1M\n";
    std::fs::write(&sandbox.config_path, yaml).unwrap();
    sandbox.move_secrets_to_keychain().await;
    let signed_in = sandbox.sign_in().await;
    assert!(signed_in.status.success(), "{}", String::from_utf8_lossy(&signed_in.stderr));
    sandbox.fanout_ok(&["policy", "add", "Projects", "--to", "aws_s3,backblaze_b2,local"]).await;
    let mut secrets = sandbox.secrets();
    secrets.push(sandbox.keychain_value("google", "refresh_token").expect("signed in"));
    assert!(secrets.len() >= 6);

    // Output goes to files: a pipe nobody drains would stall the run.
    let stdout_path = sandbox.dir.path().join("sync.stdout");
    let stderr_path = sandbox.dir.path().join("sync.stderr");
    let mut cmd = sandbox.command(&["sync", "--json"]);
    cmd.env("FANOUT_LOG", "debug")
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let (seen, status, fanout_pid) = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        let pid = child.id();
        let mut seen: BTreeMap<u32, (u32, String)> = BTreeMap::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            for (p, ppid, cmdline) in proc_entries() {
                // An exited process (a zombie) shows an empty command line: keep what it had.
                if (ppid == pid || cmdline.contains("rclone") || p == pid) && !cmdline.is_empty() {
                    seen.insert(p, (ppid, cmdline));
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        (seen, child.wait().unwrap(), pid)
    })
    .await
    .unwrap();
    let output = std::process::Output {
        status,
        stdout: std::fs::read(&stdout_path).unwrap(),
        stderr: std::fs::read(&stderr_path).unwrap(),
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // Every access token Google handed out during the run is a secret too.
    secrets.extend(sandbox.drive.state().tokens.iter().filter(|t| t.starts_with("ya29.")).cloned());
    assert!(secrets.iter().any(|t| t.starts_with("ya29.")), "the run used a refreshed access token");

    let daemons: Vec<&String> =
        seen.values().filter(|(ppid, c)| *ppid == fanout_pid && c.contains(" rcd")).map(|(_, c)| c).collect();
    assert!(
        !daemons.is_empty(),
        "Fanout's rclone daemon was never seen: {seen:?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (pid, (_, cmdline)) in &seen {
        for secret in &secrets {
            assert!(!cmdline.contains(secret.as_str()), "process {pid} has a secret in its command line: {cmdline}");
        }
    }

    let mut texts = vec![
        ("stdout".to_string(), output.stdout.clone()),
        ("stderr (debug log)".to_string(), output.stderr.clone()),
        ("config.yaml".to_string(), std::fs::read(&sandbox.config_path).unwrap()),
    ];
    all_files_text(&sandbox.data_dir, &mut texts);
    assert!(texts.iter().any(|(name, _)| name.ends_with("fanout.db")));
    assert!(texts.iter().any(|(name, _)| name.ends_with("rclone.log")));
    for other in
        [&["files", "--json"][..], &["status", "--json"], &["destinations", "--json"], &["policy", "list", "--json"]]
    {
        texts.push((format!("fanout {other:?}"), sandbox.fanout_ok(other).await.into_bytes()));
    }
    texts.push(("fanout auth google (output)".to_string(), signed_in.stdout.clone()));
    texts.push(("fanout auth google (log)".to_string(), signed_in.stderr.clone()));
    for (name, bytes) in &texts {
        let text = String::from_utf8_lossy(bytes);
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{name} contains a secret");
        }
    }
}
