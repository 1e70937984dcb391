//! The destination types Fanout can back up to, as data.
//!
//! Each entry says how a destination of that type is described in `config.yaml`, how it
//! becomes an rclone remote, which hash proves an object arrived intact, how its errors read,
//! which environment variables its tools use for its keys, and what the window shows. Adding
//! another rclone backend is one more entry in [`PROVIDERS`]; nothing else has to change.

use serde::Serialize;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Bucket,
    Folder,
}

/// A secret a provider needs, the rclone option it is passed as, and the environment
/// variables its provider's own tools read it from (for headless use, besides the generic
/// `FANOUT_<KEY>_<FIELD>`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SecretField {
    pub field: &'static str,
    pub label: &'static str,
    #[serde(skip)]
    pub rclone_option: &'static str,
    #[serde(skip)]
    pub env_aliases: &'static [&'static str],
}

/// Whether a provider keeps the earlier versions of an object that is written again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    /// Always (B2: an upload of an existing name makes a new file version).
    Always,
    /// When the bucket has it on (S3 Bucket Versioning), which rclone can ask.
    WhenTheBucketHasIt,
    /// Never (a folder): Fanout keeps earlier versions itself.
    Never,
}

/// A setting of `config.yaml` that a provider passes on to rclone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Region,
    Endpoint,
    StorageClass,
}

#[derive(Debug)]
pub struct Provider {
    /// The `type:` value in config.yaml (and the key that implies it, when no type is given).
    pub type_name: &'static str,
    pub label: &'static str,
    /// A Bootstrap Icons name, for the window.
    pub icon: &'static str,
    /// The rclone backend that moves the bytes.
    pub backend: &'static str,
    /// Fixed rclone options for this provider (e.g. the S3 provider flavour).
    pub fixed_options: &'static [(&'static str, &'static str)],
    /// The config settings passed on, each as this rclone option.
    pub settings: &'static [(Setting, &'static str)],
    /// rclone options that take the multipart size (`multipart_from_mib`), when set.
    pub multipart_options: &'static [&'static str],
    /// Over a plain-HTTP endpoint, send an unsigned payload (S3: the AWS SDK would otherwise
    /// have to seek the streamed body to sign it; Content-MD5 still protects it).
    pub unsigned_payload_over_http: bool,
    pub location: Location,
    pub hash: HashKind,
    pub versioning: Versioning,
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
    /// Whether a listing states each object's hash without reading its bytes (S3's ETag or
    /// rclone's stored md5, B2's sha1). Restore then relies on rclone's check of each download
    /// against that hash instead of reading the restored file a second time.
    pub listing_states_hashes: bool,
    /// The provider's published prices, one per storage class; the first is the class used
    /// when the config names none. Empty when Fanout cannot know (any S3 service, a disk).
    pub prices: &'static [PublishedPrice],
}

/// What a provider charges for one storage class, as published on its pricing page on
/// `as_of` (lowest tier, cheapest region). Per GB as the providers bill it: 2^30 bytes.
#[derive(Debug, Clone, Copy)]
pub struct PublishedPrice {
    /// The `storage_class` value of config.yaml (rclone's), upper case.
    pub storage_class: &'static str,
    pub per_gb_month: f64,
    /// Getting one GB back: the provider's transfer-out price plus any retrieval fee.
    pub download_per_gb: f64,
    pub currency: &'static str,
    pub as_of: &'static str,
}

const fn price(
    storage_class: &'static str,
    per_gb_month: f64,
    download_per_gb: f64,
    currency: &'static str,
) -> PublishedPrice {
    PublishedPrice { storage_class, per_gb_month, download_per_gb, currency, as_of: PRICES_AS_OF }
}

/// When the prices below were read from the providers' pricing pages.
const PRICES_AS_OF: &str = "2025-06-01";

// AWS: us-east-1, first 50 TB; Glacier tiers add their standard retrieval fee to the transfer.
const AWS_PRICES: &[PublishedPrice] = &[
    price("STANDARD", 0.023, 0.09, "USD"),
    price("STANDARD_IA", 0.0125, 0.10, "USD"),
    price("GLACIER", 0.0036, 0.10, "USD"),
    price("DEEP_ARCHIVE", 0.00099, 0.11, "USD"),
];
// B2: $6/TB-month; downloads are free up to three times what is stored, then $0.01/GB.
const B2_PRICES: &[PublishedPrice] = &[price("STANDARD", 0.006, 0.01, "USD")];
// Scaleway: Paris, Multi-AZ Standard and Glacier; transfer out beyond the free 75 GB.
const SCALEWAY_PRICES: &[PublishedPrice] = &[
    price("STANDARD", 0.0146, 0.01, "EUR"),
    price("ONEZONE_IA", 0.0088, 0.01, "EUR"),
    price("GLACIER", 0.00254, 0.01, "EUR"),
];

impl Provider {
    /// Whether any key is needed at all (a local folder needs none).
    pub fn needs_keys(&self) -> bool {
        !self.secrets.is_empty()
    }
}

const fn s3_keys(id_aliases: &'static [&'static str], secret_aliases: &'static [&'static str]) -> [SecretField; 2] {
    [
        SecretField {
            field: "access_key_id",
            label: "Access key ID",
            rclone_option: "access_key_id",
            env_aliases: id_aliases,
        },
        SecretField {
            field: "secret_access_key",
            label: "Secret access key",
            rclone_option: "secret_access_key",
            env_aliases: secret_aliases,
        },
    ]
}

const AWS_KEYS: &[SecretField] = &s3_keys(&["AWS_ACCESS_KEY_ID"], &["AWS_SECRET_ACCESS_KEY"]);
const SCALEWAY_KEYS: &[SecretField] = &s3_keys(&["SCW_ACCESS_KEY"], &["SCW_SECRET_KEY"]);
const S3_COMPATIBLE_KEYS: &[SecretField] = &s3_keys(&[], &[]);
const B2_KEYS: &[SecretField] = &[
    SecretField {
        field: "access_key_id",
        label: "Application key ID",
        rclone_option: "account",
        env_aliases: &["B2_APPLICATION_KEY_ID"],
    },
    SecretField {
        field: "secret_access_key",
        label: "Application key",
        rclone_option: "key",
        env_aliases: &["B2_APPLICATION_KEY"],
    },
];

const S3_SETTINGS: &[(Setting, &str)] =
    &[(Setting::Region, "region"), (Setting::Endpoint, "endpoint"), (Setting::StorageClass, "storage_class")];
const S3_REJECTED_KEY: &[&str] = &["invalidaccesskeyid", "signaturedoesnotmatch", "accessdenied", "unauthorized"];
const MULTIPART_OPTIONS: &[&str] = &["upload_cutoff", "chunk_size"];

/// Objects from this size on are uploaded in parts (pinned, so verification knows which
/// listed hashes are rclone's own metadata): rclone's default for S3 and B2.
const MULTIPART_FROM: u64 = 200 * 1024 * 1024;
const MULTIPART_FROM_TEXT: &str = "200Mi";

/// An S3 flavour: everything but its name, label, icon, rclone `provider`, keys and endpoint.
const fn s3(
    type_name: &'static str,
    label: &'static str,
    icon: &'static str,
    fixed_options: &'static [(&'static str, &'static str)],
    secrets: &'static [SecretField],
    needs_endpoint: bool,
    default_endpoint: Option<&'static str>,
) -> Provider {
    Provider {
        type_name,
        label,
        icon,
        backend: "s3",
        fixed_options,
        settings: S3_SETTINGS,
        multipart_options: MULTIPART_OPTIONS,
        unsigned_payload_over_http: true,
        location: Location::Bucket,
        hash: HashKind::Md5,
        versioning: Versioning::WhenTheBucketHasIt,
        secrets,
        needs_endpoint,
        default_endpoint,
        metadata_hash_from: Some(MULTIPART_FROM),
        max_key_bytes: Some(1024),
        rejected_key_markers: S3_REJECTED_KEY,
        cap_reached_markers: &[],
        writes_partial_files: false,
        listing_states_hashes: true,
        prices: &[],
    }
}

// `no_check_bucket`: Fanout never creates buckets behind the user's back; a missing bucket is
// reported by "Test connection" and the preflight check instead of being silently made.
pub const PROVIDERS: &[Provider] = &[
    Provider {
        prices: AWS_PRICES,
        ..s3(
            "aws_s3",
            "AWS S3",
            "amazon",
            &[("provider", "AWS"), ("no_check_bucket", "true"), ("upload_cutoff", MULTIPART_FROM_TEXT)],
            AWS_KEYS,
            false,
            None,
        )
    },
    Provider {
        type_name: "backblaze_b2",
        label: "Backblaze B2",
        icon: "cloud",
        backend: "b2",
        fixed_options: &[("upload_cutoff", MULTIPART_FROM_TEXT)],
        settings: &[(Setting::Endpoint, "endpoint")],
        multipart_options: MULTIPART_OPTIONS,
        unsigned_payload_over_http: false,
        location: Location::Bucket,
        hash: HashKind::Sha1,
        versioning: Versioning::Always,
        secrets: B2_KEYS,
        needs_endpoint: false,
        default_endpoint: None,
        metadata_hash_from: Some(MULTIPART_FROM),
        max_key_bytes: Some(1024),
        // B2's documented codes (b2_authorize_account answers 401 `bad_auth_token` or
        // `unauthorized`; a cap answers 403 `cap_exceeded`).
        rejected_key_markers: &["bad_auth_token", "unauthorized", "401"],
        cap_reached_markers: &["cap_exceeded"],
        writes_partial_files: false,
        listing_states_hashes: true,
        prices: B2_PRICES,
    },
    Provider {
        prices: SCALEWAY_PRICES,
        ..s3(
            "scaleway",
            "Scaleway",
            "hdd-network",
            &[("provider", "Scaleway"), ("no_check_bucket", "true"), ("upload_cutoff", MULTIPART_FROM_TEXT)],
            SCALEWAY_KEYS,
            false,
            Some("s3.fr-par.scw.cloud"),
        )
    },
    s3(
        "s3_compatible",
        "S3-compatible",
        "bucket",
        &[("provider", "Other"), ("no_check_bucket", "true"), ("upload_cutoff", MULTIPART_FROM_TEXT)],
        S3_COMPATIBLE_KEYS,
        true,
        None,
    ),
    Provider {
        type_name: "local",
        label: "Local folder",
        icon: "device-hdd",
        backend: "local",
        fixed_options: &[],
        settings: &[],
        multipart_options: &[],
        unsigned_payload_over_http: false,
        location: Location::Folder,
        hash: HashKind::Md5,
        versioning: Versioning::Never,
        secrets: &[],
        needs_endpoint: false,
        default_endpoint: None,
        metadata_hash_from: None,
        max_key_bytes: None,
        rejected_key_markers: &[],
        cap_reached_markers: &[],
        writes_partial_files: true,
        listing_states_hashes: false,
        prices: &[],
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
