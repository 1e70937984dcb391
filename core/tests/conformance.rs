//! One conformance suite for every destination type that can run here: a local folder, S3
//! (a real `rclone serve s3`) and Backblaze B2 (the fake native API). Each goes through the
//! same checks, at the storage's own files: a batch and a single upload, a listing with the
//! provider's hash, a recursive listing, a connection test, and a rejected key. A provider's
//! entry here only says how to start it and where its bytes land.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fanout_core::config::Config;
use fanout_core::secrets::MemorySecrets;
use fanout_core::storage::providers::HashKind;
use fanout_core::Engine;
use fanout_testkit::fake_b2::FakeB2;
use fanout_testkit::s3::S3Server;
use md5::Digest;
use tokio_util::sync::CancellationToken;

/// A running destination of one type, and how to read what it stores.
enum Target {
    Local(PathBuf),
    S3(S3Server),
    B2(FakeB2),
}

const BUCKET: &str = "conformance";

impl Target {
    /// The config.yaml entry and the keys (empty for none) of destination `key`.
    fn config(&self, key: &str) -> (String, Vec<(&'static str, String)>) {
        match self {
            Target::Local(path) => (format!("  {key}:\n    type: local\n    enabled: true\n    path: {}\n", path.display()), vec![]),
            Target::S3(server) => (
                format!(
                    "  {key}:\n    type: s3_compatible\n    enabled: true\n    bucket: {BUCKET}\n    endpoint: {}\n    region: us-east-1\n",
                    server.endpoint()
                ),
                vec![("access_key_id", server.access_key.clone()), ("secret_access_key", server.secret_key.clone())],
            ),
            Target::B2(server) => (
                format!("  {key}:\n    type: backblaze_b2\n    enabled: true\n    bucket: {BUCKET}\n    endpoint: {}\n", server.base_url()),
                vec![("access_key_id", "0051keyid".to_string()), ("secret_access_key", "K005appkey".to_string())],
            ),
        }
    }

    /// What the destination itself holds at `path` (its own storage, not a listing).
    fn stored(&self, path: &str) -> Option<Vec<u8>> {
        match self {
            Target::Local(root) => std::fs::read(root.join(path)).ok(),
            Target::S3(server) => std::fs::read(server.object_path(BUCKET, path)).ok(),
            Target::B2(server) => server.object(BUCKET, path),
        }
    }
}

async fn start(kind: &str, dir: &Path) -> Target {
    match kind {
        "local" => {
            let path = dir.join("local");
            std::fs::create_dir_all(&path).unwrap();
            Target::Local(path)
        }
        "s3" => Target::S3(S3Server::start(&rclone(), &dir.join("s3"), &[BUCKET]).unwrap()),
        "b2" => Target::B2(FakeB2::start(&dir.join("b2"), "0051keyid", "K005appkey", &[BUCKET], 0).await.unwrap()),
        other => panic!("no such target {other}"),
    }
}

fn rclone() -> PathBuf {
    fanout_core::rclone::locate_binary(None).expect("rclone: run scripts/fetch-rclone")
}

async fn engine(target: &Target, dir: &Path, secret_override: Option<&str>) -> Engine {
    let (entry, keys) = target.config("dest");
    let secrets = MemorySecrets::default();
    for (field, value) in keys {
        let value = match (field, secret_override) {
            ("secret_access_key", Some(wrong)) => wrong.to_string(),
            _ => value,
        };
        secrets.set("dest", field, &value);
    }
    let yaml = format!("destinations:\n{entry}");
    Engine::open(Config::parse(&yaml, "conformance").unwrap(), &dir.join("data"), Arc::new(secrets)).await.unwrap()
}

fn expected_hash(kind: HashKind, bytes: &[u8]) -> String {
    match kind {
        HashKind::Md5 => hex::encode(md5::Md5::digest(bytes)),
        HashKind::Sha1 => hex::encode(sha1::Sha1::digest(bytes)),
    }
}

async fn conforms(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let target = start(kind, dir.path()).await;
    let engine = engine(&target, dir.path(), None).await;
    let storage = engine.storage().await.unwrap();
    let hash = storage.hash_kind("dest").unwrap();
    storage.test_destination("dest", false).await.unwrap_or_else(|e| panic!("{kind}: test failed: {e}"));

    let staging = tempfile::tempdir().unwrap();
    let files: BTreeMap<String, Vec<u8>> = [
        ("google-drive/a/one.txt", b"one".to_vec()),
        ("google-drive/a/two.txt", b"two, longer".to_vec()),
        ("google-drive/b/three.bin", (0..=255u8).collect()),
    ]
    .into_iter()
    .map(|(p, b)| (p.to_string(), b))
    .collect();
    for (path, bytes) in &files {
        let local = staging.path().join(path);
        std::fs::create_dir_all(local.parent().unwrap()).unwrap();
        std::fs::write(local, bytes).unwrap();
    }
    let cancel = CancellationToken::new();
    let batch: Vec<String> = files.keys().take(2).cloned().collect();
    storage.upload_to("dest", staging.path(), &batch, "conformance", &cancel).await.unwrap();
    let single: Vec<String> = files.keys().skip(2).cloned().collect();
    storage.upload_to("dest", staging.path(), &single, "conformance", &cancel).await.unwrap();

    for (path, bytes) in &files {
        assert_eq!(target.stored(path).as_ref(), Some(bytes), "{kind}: {path} at the destination's own storage");
        let (dir_part, name) = path.rsplit_once('/').unwrap();
        let listed = storage.list_objects("dest", dir_part).await.unwrap();
        let object = listed.get(name).unwrap_or_else(|| panic!("{kind}: {name} not listed in {dir_part}"));
        assert_eq!(object.size, bytes.len() as i64, "{kind}: {path}");
        assert_eq!(object.hash.as_deref(), Some(expected_hash(hash, bytes).as_str()), "{kind}: {path}'s hash");
    }
    let everything = storage.list_objects_recursively("dest", "google-drive").await.unwrap();
    let mut names: Vec<&str> = everything.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["a/one.txt", "a/two.txt", "b/three.bin"], "{kind}");
    assert!(storage.list_objects("dest", "google-drive/none").await.unwrap().is_empty(), "{kind}: a missing folder");
    storage.shutdown().await;

    // A rejected key, where the provider has keys, is said as such.
    if !target.config("dest").1.is_empty() {
        let wrong = engine_with_wrong_key(&target, dir.path()).await;
        let err = wrong.test_destination("dest", false).await.unwrap_err().to_string();
        assert!(err.contains("credentials were rejected"), "{kind}: {err}");
    }
}

async fn engine_with_wrong_key(target: &Target, dir: &Path) -> Engine {
    let wrong_dir = dir.join("wrong");
    engine(target, &wrong_dir, Some("not-the-secret")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_folder_conforms() {
    conforms("local").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_server_conforms() {
    conforms("s3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backblaze_b2_conforms() {
    conforms("b2").await;
}
