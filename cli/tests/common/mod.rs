//! Fixtures for the CLI's end-to-end tests.
//!
//! Each test gets a sandbox directory with: a fake Google Drive (in-process, on 127.0.0.1)
//! serving a generated tree, one real S3 server (`rclone serve s3`) per bucket destination, a
//! local-folder destination, a config.yaml pointing at all of them, and a data directory.
//! Secrets reach the `fanout` binary through environment variables, or, once a test calls
//! [`Sandbox::move_secrets_to_keychain`], through the OS keychain alone (under a service name
//! of the sandbox's own, so tests never see each other's entries or a person's real ones).

#![allow(dead_code)] // each test binary uses a different part of these fixtures

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use fanout_testkit::fake_b2::FakeB2;
use fanout_testkit::fake_google::store::{Content, FileEntry, FOLDER, ROOT_ID, SHORTCUT};
use fanout_testkit::fake_google::{FakeGoogle, DEFAULT_TOKEN};
use fanout_testkit::moto::MotoServer;
use fanout_testkit::s3::S3Server;
use md5::{Digest, Md5};

pub fn rclone() -> PathBuf {
    fanout_core::rclone::locate_binary(None).expect("rclone: run scripts/fetch-rclone")
}

pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// A destination in the sandbox: an S3 server (with its bucket), a fake Backblaze B2 (native
/// API), or a local folder.
pub enum Dest {
    S3 {
        server: S3Server,
        bucket: String,
    },
    /// moto: an S3 server with Bucket Versioning (and Object Lock) on its bucket.
    Moto {
        server: MotoServer,
        bucket: String,
    },
    B2 {
        server: FakeB2,
        bucket: String,
        key_id: String,
        app_key: String,
    },
    Local {
        path: PathBuf,
    },
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub drive: FakeGoogle,
    pub dests: BTreeMap<String, Dest>,
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    pub keychain_service: String,
    secrets_in_env: std::sync::atomic::AtomicBool,
}

/// Destination key → type in config.yaml. Every bucket destination is a real S3 server.
pub fn standard_destinations() -> Vec<(&'static str, &'static str)> {
    vec![("aws_s3", "aws_s3"), ("backblaze_b2", "s3_compatible"), ("scaleway", "scaleway"), ("local", "local")]
}

impl Sandbox {
    /// Starts the fake Drive over `drive_root` (+ manifest) and the given destinations.
    pub async fn start(drive_root: &Path, manifest: Option<&str>, dests: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let manifest_path = manifest.map(|m| {
            let p = dir.path().join("manifest.yaml");
            std::fs::write(&p, m).unwrap();
            p
        });
        let drive = FakeGoogle::serve_dir(drive_root, manifest_path.as_deref(), 0).await.unwrap();
        let (auth, token, revoke) = drive.oauth_urls();
        let mut yaml = format!(
            "google:\n  client_id: {}\n  client_secret: {}\n  auth_url: {auth}\n  token_url: {token}\n  \
             revoke_url: {revoke}\n  drive_url: {}\ndestinations:\n",
            fanout_testkit::fake_google::oauth::CLIENT_ID,
            fanout_testkit::fake_google::oauth::CLIENT_SECRET,
            drive.drive_url()
        );
        let mut map = BTreeMap::new();
        for (key, kind) in dests {
            if *kind == "local" {
                let path = dir.path().join(format!("dest-{key}"));
                std::fs::create_dir_all(&path).unwrap();
                yaml += &format!("  {key}:\n    type: local\n    enabled: true\n    path: {}\n", path.display());
                map.insert(key.to_string(), Dest::Local { path });
            } else if *kind == "moto" || *kind == "moto_slow_clock" {
                let bucket = format!("bucket-{}", key.replace('_', "-"));
                let server = match *kind {
                    "moto" => MotoServer::start(&bucket, true).unwrap(),
                    _ => MotoServer::start_with_slow_clock(&bucket, true).unwrap(),
                };
                yaml += &format!(
                    "  {key}:\n    type: s3_compatible\n    enabled: true\n    bucket: {bucket}\n    endpoint: {}\n    region: us-east-1\n",
                    server.endpoint()
                );
                map.insert(key.to_string(), Dest::Moto { server, bucket });
            } else if *kind == "backblaze_b2" {
                let bucket = format!("bucket-{}", key.replace('_', "-"));
                let (key_id, app_key) =
                    (format!("0051{key}keyid"), format!("K005{}appkey", dir.path().display().to_string().len()));
                let server = FakeB2::start(&dir.path().join(format!("b2-{key}")), &key_id, &app_key, &[&bucket], 0)
                    .await
                    .unwrap();
                yaml += &format!(
                    "  {key}:\n    type: backblaze_b2\n    enabled: true\n    bucket: {bucket}\n    endpoint: {}\n",
                    server.base_url()
                );
                map.insert(key.to_string(), Dest::B2 { server, bucket, key_id, app_key });
            } else {
                let bucket = format!("bucket-{}", key.replace('_', "-"));
                let server = S3Server::start(&rclone(), &dir.path().join(format!("s3-{key}")), &[&bucket]).unwrap();
                yaml += &format!(
                    "  {key}:\n    type: {kind}\n    enabled: true\n    bucket: {bucket}\n    endpoint: {}\n    region: us-east-1\n",
                    server.endpoint()
                );
                map.insert(key.to_string(), Dest::S3 { server, bucket });
            }
        }
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, yaml).unwrap();
        let data_dir = dir.path().join("data");
        let keychain_service = format!("fanout-test-{}", dir.path().file_name().unwrap().to_string_lossy());
        Sandbox {
            dir,
            drive,
            dests: map,
            config_path,
            data_dir,
            keychain_service,
            secrets_in_env: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Stores every destination key in the keychain with `fanout secret set` (value on stdin)
    /// and stops passing secrets through the environment.
    pub async fn move_secrets_to_keychain(&self) {
        for (key, dest) in &self.dests {
            if let Dest::S3 { server, .. } = dest {
                for (field, value) in [("access_key_id", &server.access_key), ("secret_access_key", &server.secret_key)]
                {
                    let out = self.fanout_with_stdin(&["secret", "set", key, field], value).await;
                    assert!(out.status.success(), "secret set: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
        }
        self.secrets_in_env.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs `fanout ARGS` with `input` on its stdin.
    pub async fn fanout_with_stdin(&self, args: &[&str], input: &str) -> Output {
        run_with_stdin(self.command(args), input).await
    }

    /// Runs `fanout auth google --no-browser`, playing the browser: the printed consent URL is
    /// followed through the fake's redirect to Fanout's loopback listener.
    pub async fn sign_in(&self) -> Output {
        use std::io::BufRead;
        let mut cmd = self.command(&["auth", "google", "--no-browser"]);
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (url, rest) = tokio::task::spawn_blocking(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let url = lines.by_ref().map_while(Result::ok).find(|l| l.starts_with("http")).expect("a sign-in URL");
            (url, lines)
        })
        .await
        .unwrap();
        let _ = reqwest::get(&url).await;
        tokio::task::spawn_blocking(move || {
            let after: Vec<String> = rest.map_while(Result::ok).collect();
            let mut output = child.wait_with_output().unwrap();
            output.stdout = format!("{url}\n{}\n", after.join("\n")).into_bytes();
            output
        })
        .await
        .unwrap()
    }

    /// What the keychain holds for this sandbox's `owner/field`, read with `secret-tool`.
    pub fn keychain_value(&self, owner: &str, field: &str) -> Option<String> {
        let out = std::process::Command::new("secret-tool")
            .args(["lookup", "service", &self.keychain_service, "username", &format!("{owner}/{field}")])
            .output()
            .expect("secret-tool (libsecret-tools) is installed by scripts/setup");
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned()).filter(|v| !v.is_empty())
    }

    /// The environment that carries every secret to `fanout`.
    pub fn secret_env(&self) -> Vec<(String, String)> {
        if !self.secrets_in_env.load(std::sync::atomic::Ordering::SeqCst) {
            return Vec::new();
        }
        let mut env = vec![("FANOUT_GOOGLE_ACCESS_TOKEN".to_string(), DEFAULT_TOKEN.to_string())];
        for (key, (id, secret)) in self.dest_keys() {
            let upper = key.to_uppercase();
            env.push((format!("FANOUT_{upper}_ACCESS_KEY_ID"), id));
            env.push((format!("FANOUT_{upper}_SECRET_ACCESS_KEY"), secret));
        }
        env
    }

    /// Each keyed destination's (key ID, secret key).
    pub fn dest_keys(&self) -> Vec<(String, (String, String))> {
        self.dests
            .iter()
            .filter_map(|(key, dest)| match dest {
                Dest::S3 { server, .. } => Some((key.clone(), (server.access_key.clone(), server.secret_key.clone()))),
                Dest::B2 { key_id, app_key, .. } => Some((key.clone(), (key_id.clone(), app_key.clone()))),
                Dest::Moto { server, .. } => {
                    Some((key.clone(), (server.access_key.clone(), server.secret_key.clone())))
                }
                Dest::Local { .. } => None,
            })
            .collect()
    }

    /// Every secret value the sandbox knows, wherever it is kept now.
    pub fn secrets(&self) -> Vec<String> {
        let mut values = vec![DEFAULT_TOKEN.to_string()];
        for (_, (id, secret)) in self.dest_keys() {
            values.extend([id, secret]);
        }
        values
    }

    pub fn command(&self, args: &[&str]) -> std::process::Command {
        self.command_with_config(&self.config_path, args)
    }

    pub fn command_with_config(&self, config: &Path, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("fanout"));
        cmd.arg("--config").arg(config).arg("--data-dir").arg(&self.data_dir).args(args);
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "B2_APPLICATION_KEY_ID",
            "B2_APPLICATION_KEY",
            "SCW_ACCESS_KEY",
            "SCW_SECRET_KEY",
        ] {
            cmd.env_remove(var);
        }
        cmd.env_remove("FANOUT_GOOGLE_ACCESS_TOKEN");
        cmd.envs(self.secret_env()).env_remove("FANOUT_LOG").env("FANOUT_KEYCHAIN_SERVICE", &self.keychain_service);
        cmd
    }

    /// Runs `fanout ARGS` off the async runtime (the fake Drive keeps serving meanwhile).
    pub async fn fanout(&self, args: &[&str]) -> Output {
        run(self.command(args)).await
    }

    pub async fn fanout_ok(&self, args: &[&str]) -> String {
        let out = self.fanout(args).await;
        assert!(
            out.status.success(),
            "fanout {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub async fn sync_json(&self) -> (Option<i32>, serde_json::Value, String) {
        let out = self.fanout(&["sync", "--json"]).await;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("sync --json printed no JSON ({e}): {}\n{stderr}", String::from_utf8_lossy(&out.stdout))
        });
        (out.status.code(), json, stderr)
    }

    /// The folder under which a destination stores `google-drive/...`, read directly.
    pub fn storage_root(&self, key: &str) -> PathBuf {
        match &self.dests[key] {
            Dest::S3 { server, bucket } => server.dir.join(bucket),
            Dest::Local { path } => path.clone(),
            Dest::B2 { .. } => panic!("{key} keeps its objects inside the fake B2"),
            Dest::Moto { .. } => panic!("{key} keeps its objects inside moto"),
        }
    }

    /// Every object of the backup at a destination (Fanout's own `.fanout/` area aside):
    /// relative path → current bytes, read from the server's storage.
    pub fn objects(&self, key: &str) -> BTreeMap<String, Vec<u8>> {
        let mut all = self.all_objects(key);
        all.retain(|path, _| !path.starts_with(".fanout/"));
        all
    }

    /// Every object at a destination, Fanout's versions area included.
    pub fn all_objects(&self, key: &str) -> BTreeMap<String, Vec<u8>> {
        match &self.dests[key] {
            Dest::B2 { server, bucket, .. } => {
                return server
                    .object_names(bucket)
                    .into_iter()
                    .filter_map(|name| server.object(bucket, &name).map(|bytes| (name, bytes)))
                    .collect()
            }
            Dest::Moto { server, bucket } => {
                let listed = server
                    .python(&format!(
                        "keys = [o['Key'] for o in s3.list_objects_v2(Bucket='{bucket}').get('Contents', [])]\n\
                         print(json.dumps({{k: s3.get_object(Bucket='{bucket}', Key=k)['Body'].read().hex() for k in keys}}))"
                    ))
                    .unwrap();
                let map: BTreeMap<String, String> = serde_json::from_str(listed.trim()).unwrap();
                return map.into_iter().map(|(k, v)| (k, hex::decode(v).unwrap())).collect();
            }
            _ => {}
        }
        let root = self.storage_root(key);
        let mut out = BTreeMap::new();
        walk(&root, &root, &mut out);
        out
    }

    /// Every byte string each object at a destination still has, current and kept versions
    /// (B2's and moto's own versions, Fanout's versions area elsewhere): object path → bytes.
    pub fn every_version(&self, key: &str, object: &str) -> Vec<Vec<u8>> {
        match &self.dests[key] {
            Dest::B2 { server, bucket, .. } => server.version_bytes(bucket, object),
            Dest::Moto { server, bucket } => {
                server.versions(bucket, object).unwrap().into_iter().map(|(_, b)| b).collect()
            }
            _ => {
                let all = self.all_objects(key);
                let kept = format!(".fanout/versions/{object}/");
                let mut out: Vec<Vec<u8>> = all.get(object).cloned().into_iter().collect();
                out.extend(all.iter().filter(|(k, _)| k.starts_with(&kept)).map(|(_, v)| v.clone()));
                out
            }
        }
    }

    /// (inode, ctime) of every object: changes if and only if an object was written.
    pub fn write_marks(&self, key: &str) -> BTreeMap<String, (u64, i64)> {
        use std::os::unix::fs::MetadataExt;
        let root = self.storage_root(key);
        self.objects(key)
            .keys()
            .map(|p| {
                let meta = std::fs::metadata(root.join(p)).unwrap();
                (p.clone(), (meta.ino(), meta.ctime() * 1_000_000_000 + meta.ctime_nsec()))
            })
            .collect()
    }

    pub fn s3(&mut self, key: &str) -> &mut S3Server {
        match self.dests.get_mut(key) {
            Some(Dest::S3 { server, .. }) => server,
            _ => panic!("{key} is not an S3 destination"),
        }
    }
}

/// Runs a command off the async runtime (the fake Drive keeps serving meanwhile).
pub async fn run(mut cmd: std::process::Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

/// Like [`run`], with `input` written to the command's stdin.
pub async fn run_with_stdin(mut cmd: std::process::Command, input: &str) -> Output {
    use std::io::Write;
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let input = input.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            // rclone serve s3 keeps metadata beside objects in hidden files; they are not objects.
            if rel.split('/').any(|c| c.starts_with(".rclone") || c.starts_with(".files-from")) {
                continue;
            }
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
}

/// What Drive holds, from the fake's own state: (path of names, bytes a backup must hold)
/// for every non-trashed file, with shortcuts resolved and Workspace files exported.
pub fn drive_truth(drive: &FakeGoogle) -> Vec<(String, Vec<u8>)> {
    let state = drive.state();
    let files = &state.store.files;
    let path_of = |f: &FileEntry| -> Option<String> {
        let mut names = vec![f.name.clone()];
        let mut parent = f.parents.first().cloned();
        while let Some(p) = parent {
            if p == ROOT_ID {
                break;
            }
            let pf = files.get(&p)?;
            if pf.trashed {
                return None;
            }
            names.push(pf.name.clone());
            parent = pf.parents.first().cloned();
        }
        names.reverse();
        Some(names.join("/"))
    };
    let bytes_of = |f: &FileEntry| -> Option<Vec<u8>> {
        match &f.content {
            Content::Memory(b) => Some(b.to_vec()),
            Content::Disk { path, .. } => Some(std::fs::read(path).unwrap()),
            Content::None => {
                let mime = match f.mime_type.as_str() {
                    "application/vnd.google-apps.document" => {
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                    }
                    "application/vnd.google-apps.spreadsheet" => {
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    }
                    "application/vnd.google-apps.presentation" => {
                        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
                    }
                    "application/vnd.google-apps.drawing" => "image/svg+xml",
                    _ => return None,
                };
                Some(f.render_export(mime).to_vec())
            }
        }
    };
    let mut out = Vec::new();
    for f in files.values() {
        if f.id == ROOT_ID || f.mime_type == FOLDER || f.trashed {
            continue;
        }
        let Some(path) = path_of(f) else { continue };
        let bytes = if f.mime_type == SHORTCUT {
            let Some((target, _)) = &f.shortcut_target else {
                continue;
            };
            match files.get(target) {
                Some(t) if t.mime_type != FOLDER => bytes_of(t),
                _ => None,
            }
        } else {
            bytes_of(f)
        };
        if let Some(bytes) = bytes {
            out.push((path, bytes));
        }
    }
    out
}

/// Writes `count` files of distinct content under `dir/rel`.
pub fn write_files(root: &Path, rel: &str, prefix: &str, count: usize) {
    let dir = root.join(rel);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..count {
        std::fs::write(
            dir.join(format!("{prefix}-{i:03}.txt")),
            format!("{rel}/{prefix} number {i}\n").repeat(i % 7 + 1),
        )
        .unwrap();
    }
}

/// The processes `pid` started whose command line contains `needle`.
pub fn children_of(pid: u32, needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let ppid: Option<u32> =
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if ppid == Some(pid) && String::from_utf8_lossy(&cmdline).contains(needle) {
            out.push(child);
        }
    }
    out
}
