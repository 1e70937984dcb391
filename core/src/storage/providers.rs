//! The destination types Fanout can back up to, as data.
//!
//! Each entry says how a destination of that type is described in `config.yaml`, how it
//! becomes an rclone remote, and which hash proves an object arrived intact. Adding another
//! rclone backend is one more entry in [`PROVIDERS`]; nothing else has to change.

/// Which hash a destination reports for its objects, and so what verification compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Md5,
    Sha1,
}

impl HashKind {
    pub fn rclone_name(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
        }
    }
}

/// Where a destination's objects live: a bucket on a server, or a folder on a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Bucket,
    Folder,
}

/// Which secret fields a provider needs, with the environment variables that can supply them
/// for headless use (besides the generic `FANOUT_<KEY>_<FIELD>`).
#[derive(Debug, Clone, Copy)]
pub struct SecretField {
    pub field: &'static str,
    pub label: &'static str,
    /// The rclone option this secret is passed as.
    pub rclone_option: &'static str,
}

#[derive(Debug)]
pub struct Provider {
    /// The `type:` value in config.yaml.
    pub type_name: &'static str,
    pub label: &'static str,
    /// A Bootstrap Icons name, for the window.
    pub icon: &'static str,
    /// The rclone backend that moves the bytes.
    pub backend: &'static str,
    /// Fixed rclone options for this provider (e.g. the S3 provider flavour).
    pub fixed_options: &'static [(&'static str, &'static str)],
    pub location: Location,
    pub hash: HashKind,
    pub secrets: &'static [SecretField],
    /// Whether the config must give an endpoint (S3-compatible services).
    pub needs_endpoint: bool,
    /// The endpoint used when the config gives none.
    pub default_endpoint: Option<&'static str>,
    /// From this size on, rclone uploads in parts and the hash it lists is the one it stored
    /// itself as metadata, not the server's (see `upload_cutoff` in `fixed_options`).
    pub metadata_hash_from: Option<u64>,
    /// The longest object name (key) the provider accepts, in bytes.
    pub max_key_bytes: Option<usize>,
    /// Text in rclone's errors that means the keys were refused.
    pub rejected_key_markers: &'static [&'static str],
    /// Text in rclone's errors that means the account's spending cap stops it.
    pub cap_reached_markers: &'static [&'static str],
    /// rclone writes `<name>.<8 hex>.partial` while copying here (the local backend), so an
    /// interrupted copy can leave one behind.
    pub writes_partial_files: bool,
}

const S3_KEYS: &[SecretField] = &[
    SecretField { field: "access_key_id", label: "Access key ID", rclone_option: "access_key_id" },
    SecretField { field: "secret_access_key", label: "Secret access key", rclone_option: "secret_access_key" },
];

const B2_KEYS: &[SecretField] = &[
    SecretField { field: "access_key_id", label: "Application key ID", rclone_option: "account" },
    SecretField { field: "secret_access_key", label: "Application key", rclone_option: "key" },
];

const S3_REJECTED_KEY: &[&str] = &["invalidaccesskeyid", "signaturedoesnotmatch", "accessdenied", "unauthorized"];

/// Objects from this size on are uploaded in parts (pinned, so verification knows which
/// listed hashes are rclone's own metadata): rclone's default for S3 and B2.
const MULTIPART_FROM: u64 = 200 * 1024 * 1024;
const MULTIPART_FROM_TEXT: &str = "200Mi";

// `no_check_bucket`: Fanout never creates buckets behind the user's back; a missing bucket is
// reported by "Test connection" and the preflight check instead of being silently made.
pub const PROVIDERS: &[Provider] = &[
    Provider {
        type_name: "aws_s3",
        label: "AWS S3",
        icon: "amazon",
        backend: "s3",
        fixed_options: &[("provider", "AWS"), ("no_check_bucket", "true"), ("upload_cutoff", MULTIPART_FROM_TEXT)],
        location: Location::Bucket,
        hash: HashKind::Md5,
        secrets: S3_KEYS,
        needs_endpoint: false,
        default_endpoint: None,
        max_key_bytes: Some(1024),
        rejected_key_markers: S3_REJECTED_KEY,
        cap_reached_markers: &[],
        writes_partial_files: false,
        metadata_hash_from: Some(MULTIPART_FROM),
    },
    Provider {
        type_name: "backblaze_b2",
        label: "Backblaze B2",
        icon: "cloud",
        backend: "b2",
        fixed_options: &[("upload_cutoff", MULTIPART_FROM_TEXT)],
        location: Location::Bucket,
        hash: HashKind::Sha1,
        secrets: B2_KEYS,
        needs_endpoint: false,
        default_endpoint: None,
        max_key_bytes: Some(1024),
        // B2's documented codes (b2_authorize_account answers 401 `bad_auth_token` or
        // `unauthorized`; a cap answers 403 `cap_exceeded`).
        rejected_key_markers: &["bad_auth_token", "unauthorized", "401"],
        cap_reached_markers: &["cap_exceeded"],
        writes_partial_files: false,
        metadata_hash_from: Some(MULTIPART_FROM),
    },
    Provider {
        type_name: "scaleway",
        label: "Scaleway",
        icon: "hdd-network",
        backend: "s3",
        fixed_options: &[("provider", "Scaleway"), ("no_check_bucket", "true"), ("upload_cutoff", MULTIPART_FROM_TEXT)],
        location: Location::Bucket,
        hash: HashKind::Md5,
        secrets: S3_KEYS,
        needs_endpoint: false,
        default_endpoint: Some("s3.fr-par.scw.cloud"),
        max_key_bytes: Some(1024),
        rejected_key_markers: S3_REJECTED_KEY,
        cap_reached_markers: &[],
        writes_partial_files: false,
        metadata_hash_from: Some(MULTIPART_FROM),
    },
    Provider {
        type_name: "s3_compatible",
        label: "S3-compatible",
        icon: "bucket",
        backend: "s3",
        fixed_options: &[("provider", "Other"), ("no_check_bucket", "true"), ("upload_cutoff", MULTIPART_FROM_TEXT)],
        location: Location::Bucket,
        hash: HashKind::Md5,
        secrets: S3_KEYS,
        needs_endpoint: true,
        default_endpoint: None,
        max_key_bytes: Some(1024),
        rejected_key_markers: S3_REJECTED_KEY,
        cap_reached_markers: &[],
        writes_partial_files: false,
        metadata_hash_from: Some(MULTIPART_FROM),
    },
    Provider {
        type_name: "local",
        label: "Local folder",
        icon: "device-hdd",
        backend: "local",
        fixed_options: &[],
        location: Location::Folder,
        hash: HashKind::Md5,
        secrets: &[],
        needs_endpoint: false,
        default_endpoint: None,
        max_key_bytes: None,
        rejected_key_markers: &[],
        cap_reached_markers: &[],
        writes_partial_files: true,
        metadata_hash_from: None,
    },
];

pub fn by_type(type_name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.type_name == type_name)
}

pub fn type_names() -> Vec<&'static str> {
    PROVIDERS.iter().map(|p| p.type_name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_is_found_by_its_type_name() {
        for p in PROVIDERS {
            assert_eq!(by_type(p.type_name).map(|f| f.label), Some(p.label));
        }
        assert!(by_type("dropbox").is_none());
    }

    #[test]
    fn bucket_providers_need_two_secrets_and_folders_none() {
        for p in PROVIDERS {
            match p.location {
                Location::Bucket => assert_eq!(p.secrets.len(), 2, "{}", p.type_name),
                Location::Folder => assert!(p.secrets.is_empty(), "{}", p.type_name),
            }
        }
    }
}
