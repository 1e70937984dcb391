//! A real S3 implementation with Bucket Versioning and Object Lock for tests: the `moto` server
//! (from PyPI, installed by `scripts/setup` into `.cache/venv`), on 127.0.0.1, one process per
//! server, stopped when dropped. Its buckets are made and read with boto3 from the same venv,
//! so what a test checks is what the server itself holds.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A running moto S3 server.
pub struct MotoServer {
    child: Child,
    port: u16,
    pub access_key: String,
    pub secret_key: String,
}

/// moto's server with the S3 models' clock running 200 times slower, from a whole second.
const SLOW_CLOCK_SERVER: &str = "import datetime, sys, time\n\
import moto.s3.models as models\n\
start, began = models.utcnow().replace(microsecond=0), time.monotonic()\n\
models.utcnow = lambda: start + datetime.timedelta(seconds=(time.monotonic() - began) / 200)\n\
from moto.server import main\n\
main(sys.argv[1:])\n";

fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/venv/bin")
}

impl MotoServer {
    /// Starts the server with `bucket` made, Bucket Versioning on, and Object Lock enabled
    /// on it when `object_lock`.
    pub fn start(bucket: &str, object_lock: bool) -> anyhow::Result<Self> {
        Self::launch(bucket, object_lock, false)
    }

    /// Like [`MotoServer::start`], with the server's clock running 200 times slower from a
    /// whole second: for 200 s every write falls within one second as S3's listings give it
    /// (whole seconds), as writes close together do at S3, while the versions keep their
    /// true order (newest first).
    pub fn start_with_slow_clock(bucket: &str, object_lock: bool) -> anyhow::Result<Self> {
        Self::launch(bucket, object_lock, true)
    }

    fn launch(bucket: &str, object_lock: bool, slow_clock: bool) -> anyhow::Result<Self> {
        let port = crate::s3::free_port()?;
        let address = ["-H".to_string(), "127.0.0.1".into(), "-p".into(), port.to_string()];
        let mut command = if slow_clock {
            let mut python = Command::new(venv().join("python"));
            python.args(["-c", SLOW_CLOCK_SERVER]).args(address);
            python
        } else {
            let mut server = Command::new(venv().join("moto_server"));
            server.args(address);
            server
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("moto_server (installed by scripts/setup into .cache/venv)")?;
        let server = Self { child, port, access_key: "moto-access".into(), secret_key: "moto-secret".into() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("moto did not start on port {port}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let lock = if object_lock { "True" } else { "False" };
        server.python(&format!(
            "s3.create_bucket(Bucket='{bucket}', ObjectLockEnabledForBucket={lock})\n\
             s3.put_bucket_versioning(Bucket='{bucket}', VersioningConfiguration={{'Status': 'Enabled'}})"
        ))?;
        Ok(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs Python with `s3` bound to a boto3 client of this server; returns its stdout.
    pub fn python(&self, body: &str) -> anyhow::Result<String> {
        let script = format!(
            "import boto3, json, hashlib, datetime, sys\n\
             s3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='{}', aws_secret_access_key='{}', region_name='us-east-1')\n{body}\n",
            self.endpoint(),
            self.access_key,
            self.secret_key
        );
        let out = Command::new(venv().join("python")).args(["-c", &script]).output().context("the venv's python")?;
        if !out.status.success() {
            bail!("boto3 failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Every version of `key` in `bucket`, newest first: (version ID, bytes).
    pub fn versions(&self, bucket: &str, key: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let out = self.python(&format!(
            "vs = s3.list_object_versions(Bucket='{bucket}', Prefix={key:?}).get('Versions', [])\n\
             vs = [v for v in vs if v['Key'] == {key:?}]\n\
             vs.sort(key=lambda v: v['LastModified'], reverse=True)\n\
             print(json.dumps([[v['VersionId'], s3.get_object(Bucket='{bucket}', Key={key:?}, VersionId=v['VersionId'])['Body'].read().hex()] for v in vs]))"
        ))?;
        let pairs: Vec<(String, String)> = serde_json::from_str(out.trim())?;
        pairs.into_iter().map(|(id, hex)| Ok((id, hex::decode(hex)?))).collect()
    }

    /// Every key in `bucket` with each of its versions' bytes' sha256, for before/after checks.
    pub fn all_versions(&self, bucket: &str) -> anyhow::Result<Vec<(String, String, String)>> {
        let out = self.python(&format!(
            "out = []\n\
             for v in s3.list_object_versions(Bucket='{bucket}').get('Versions', []):\n\
             \x20   body = s3.get_object(Bucket='{bucket}', Key=v['Key'], VersionId=v['VersionId'])['Body'].read()\n\
             \x20   out.append([v['Key'], v['VersionId'], hashlib.sha256(body).hexdigest()])\n\
             print(json.dumps(sorted(out)))"
        ))?;
        Ok(serde_json::from_str(out.trim())?)
    }

    /// Puts an Object Lock retention (GOVERNANCE, until `until`, RFC 3339) on one version.
    pub fn lock_version(&self, bucket: &str, key: &str, version_id: &str, until: &str) -> anyhow::Result<()> {
        self.python(&format!(
            "s3.put_object_retention(Bucket='{bucket}', Key={key:?}, VersionId='{version_id}', \
             Retention={{'Mode': 'GOVERNANCE', 'RetainUntilDate': datetime.datetime.fromisoformat('{until}'.replace('Z', '+00:00'))}})"
        ))?;
        Ok(())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
