//! `config.yaml`: read as raw YAML, then validated into a [`Config`] whose every value can be
//! used as is. Errors name the field and say what is wrong with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::storage::providers::{self, Location, Provider, Setting};

/// The configuration Fanout starts from when the user has written none.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../../config.yaml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid: {message}")]
    Yaml { path: String, message: String },
    #[error("config field `{field}` {problem}")]
    Invalid { field: String, problem: String },
    #[error("cannot write config file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The largest file Fanout copies one by one from is at most 5 TiB (S3's object limit).
const MAX_LARGE_FILE_THRESHOLD_MIB: u64 = 5 * 1024 * 1024;

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { field: field.into(), problem: problem.into() }
}

// ---- raw YAML shape -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    google: RawGoogle,
    #[serde(default)]
    destinations: BTreeMap<String, RawDestination>,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    rclone: RawRclone,
    /// Provider type → storage class → price, over the published ones.
    #[serde(default)]
    prices: BTreeMap<String, BTreeMap<String, RawPrice>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    per_gb_month: f64,
    download_per_gb: Option<f64>,
    currency: Option<String>,
    as_of: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGoogle {
    client_id: Option<String>,
    client_secret: Option<String>,
    auth_url: Option<String>,
    token_url: Option<String>,
    revoke_url: Option<String>,
    drive_url: Option<String>,
    retry_base_ms: Option<u64>,
    requests_per_second: Option<f64>,
    request_burst: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    #[serde(rename = "type")]
    type_name: Option<String>,
    #[serde(default)]
    enabled: bool,
    bucket: Option<String>,
    path: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    storage_class: Option<String>,
    prefix: Option<String>,
    multipart_from_mib: Option<u64>,
    keep_versions: Option<RawRetention>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    days: Option<u32>,
    count: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSync {
    download_concurrency: Option<usize>,
    upload_concurrency: Option<usize>,
    #[serde(default)]
    export_formats: BTreeMap<String, String>,
    bandwidth_limit: Option<String>,
    schedule: Option<String>,
    stale_after: Option<String>,
    large_file_threshold_mib: Option<u64>,
    batch_files: Option<usize>,
    stall_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRclone {
    path: Option<String>,
}

// ---- validated configuration ---------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Config {
    pub google: GoogleConfig,
    /// Every configured destination, enabled or not, sorted by key.
    pub destinations: Vec<DestinationConfig>,
    pub sync: SyncConfig,
    /// The rclone binary, when the config names one.
    pub rclone_path: Option<PathBuf>,
    /// What each provider's storage classes cost (published, then `prices:`).
    pub prices: crate::cost::PriceTable,
}

#[derive(Debug, Clone)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub revoke_url: String,
    pub drive_url: String,
    /// First wait before retrying a rate-limited or failed Drive request; doubles each time.
    pub retry_base_ms: u64,
    /// Drive requests per second Fanout allows itself, after a first burst of `request_burst`.
    pub requests_per_second: f64,
    pub request_burst: u32,
}

#[derive(Debug, Clone)]
pub struct DestinationConfig {
    /// The name policies use, e.g. `aws_s3` or a user's own `office_nas`.
    pub key: String,
    pub provider: &'static Provider,
    pub enabled: bool,
    /// Bucket name for bucket providers, absolute folder for `local`.
    pub bucket_or_path: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub storage_class: Option<String>,
    /// Folder inside the bucket (or local folder) under which `google-drive/` is written.
    pub prefix: String,
    /// Objects from this size on are uploaded in parts (bucket providers; rclone's default,
    /// 200 MiB, when not set).
    pub multipart_from: Option<u64>,
    /// Which earlier versions `fanout prune` may remove; none set keeps every version.
    pub keep_versions: Retention,
}

/// How long earlier versions are kept, when a person asks for a limit. A version goes only
/// when every limit given lets it go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Retention {
    /// Keep versions copied in the last this many days.
    pub days: Option<u32>,
    /// Keep this many versions of each file, the current one included.
    pub count: Option<u32>,
}

impl Retention {
    pub fn keeps_everything(&self) -> bool {
        self.days.is_none() && self.count.is_none()
    }

    /// In a sentence, for the window and the CLI.
    pub fn describe(&self) -> String {
        match (self.count, self.days) {
            (None, None) => "Every earlier version is kept".into(),
            (Some(n), None) => format!("The newest {n} versions of each file are kept"),
            (None, Some(d)) => format!("Versions from the last {d} days are kept"),
            (Some(n), Some(d)) => {
                format!("The newest {n} versions of each file, and all from the last {d} days, are kept")
            }
        }
    }
}

impl DestinationConfig {
    /// The value of a setting a provider may pass on to rclone.
    pub fn setting(&self, setting: Setting) -> Option<&str> {
        match setting {
            Setting::Region => self.region.as_deref(),
            Setting::Endpoint => self.endpoint.as_deref(),
            Setting::StorageClass => self.storage_class.as_deref(),
        }
    }
}

impl DestinationConfig {
    /// The rclone path of this destination's root: `<bucket>/<prefix>` or `<folder>/<prefix>`.
    pub fn root_path(&self) -> String {
        let base = self.bucket_or_path.trim_end_matches('/');
        if self.prefix.is_empty() {
            base.to_string()
        } else {
            format!("{base}/{}", self.prefix)
        }
    }
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub download_concurrency: usize,
    pub upload_concurrency: usize,
    /// Workspace kind (`document`, `spreadsheet`, ...) → file extension to export to.
    pub export_formats: BTreeMap<String, String>,
    /// `sync.bandwidth_limit`: rclone's timetable form, for Drive downloads and uploads.
    pub bandwidth: crate::bandwidth::Timetable,
    pub schedule: Option<String>,
    /// When scheduled syncs run (parsed from `schedule`, e.g. `every 6h`, `daily at 02:30`).
    pub schedule_rule: Option<crate::schedule::Schedule>,
    /// How long without a successful sync before Fanout warns (`sync.stale_after`; default
    /// three missed scheduled runs, or 3 days without a schedule).
    pub stale_after: std::time::Duration,
    /// Files at least this big are copied one by one instead of in batches.
    pub large_file_threshold: u64,
    /// Most files staged and uploaded together in one batch.
    pub batch_files: usize,
    /// A destination that shows no progress for this long is given up for the rest of the run
    /// (`sync.stall_timeout`, default 60 s); the window says it is not responding at half that.
    pub stall_timeout: std::time::Duration,
}

/// How long a destination may show no progress before a run gives it up.
pub const DEFAULT_STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// `45s`, or any of `schedule::parse_duration`'s forms (`2m`, `1h`).
fn parse_seconds(text: &str) -> Option<std::time::Duration> {
    match text.strip_suffix('s').and_then(|n| n.trim().parse::<u64>().ok()) {
        Some(seconds) => Some(std::time::Duration::from_secs(seconds)),
        None => crate::schedule::parse_duration(text),
    }
}

/// Export formats Fanout knows how to ask Drive for, by Workspace kind.
pub const EXPORT_CHOICES: &[(&str, &[&str])] = &[
    ("document", &["docx", "odt", "pdf", "rtf", "txt", "html", "epub", "md"]),
    ("spreadsheet", &["xlsx", "ods", "pdf"]),
    ("presentation", &["pptx", "odp", "pdf"]),
    ("drawing", &["svg", "png", "pdf", "jpg"]),
    ("script", &["json"]),
];

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The built-in default configuration.
    pub fn default_config() -> Result<Self, ConfigError> {
        Self::parse(DEFAULT_CONFIG_YAML, "built-in config.yaml")
    }

    /// Parses YAML text; `origin` names it in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = serde_yaml::from_str(text)
            .map_err(|e| ConfigError::Yaml { path: origin.to_string(), message: e.to_string() })?;
        validate(raw)
    }

    pub fn destination(&self, key: &str) -> Option<&DestinationConfig> {
        self.destinations.iter().find(|d| d.key == key)
    }

    pub fn enabled_destinations(&self) -> impl Iterator<Item = &DestinationConfig> {
        self.destinations.iter().filter(|d| d.enabled)
    }
}

/// Sets `sync.<key>` to `value` in a config file's text, leaving the rest of it (comments
/// included) as it was; the result is validated before it is returned.
pub fn with_sync_setting(text: &str, key: &str, value: &str) -> Result<String, ConfigError> {
    let quoted = serde_json::to_string(value).unwrap_or_default(); // a JSON string is a YAML string
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let is_sync_header = |l: &str| {
        l.strip_prefix("sync:").is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
    };
    match lines.iter().position(|l| is_sync_header(l)) {
        None => {
            lines.push("sync:".to_string());
            lines.push(format!("  {key}: {quoted}"));
        }
        Some(header) => {
            let mut indent: Option<String> = None;
            let mut found = None;
            let mut end = header + 1;
            while let Some(line) = lines.get(end) {
                let body = line.trim_start();
                let own_indent = &line[..line.len() - body.len()];
                let in_block = body.is_empty() || body.starts_with('#') || !own_indent.is_empty();
                if !in_block {
                    break;
                }
                if !body.is_empty() && !body.starts_with('#') {
                    let indent = indent.get_or_insert_with(|| own_indent.to_string());
                    if own_indent == indent.as_str() && body.strip_prefix(key).is_some_and(|r| r.starts_with(':')) {
                        found = Some(end);
                    }
                }
                end += 1;
            }
            let indent = indent.unwrap_or_else(|| "  ".to_string());
            match found {
                Some(at) => {
                    let comment = trailing_comment(&lines[at]).map(|c| format!("  {c}")).unwrap_or_default();
                    lines[at] = format!("{indent}{key}: {quoted}{comment}");
                }
                None => lines.insert(header + 1, format!("{indent}{key}: {quoted}")),
            }
        }
    }
    let edited = lines.join("\n") + "\n";
    Config::parse(&edited, "config.yaml as edited")?;
    Ok(edited)
}

/// The `# …` comment after a `key: value` line's value, if any (a `#` inside quotes is not one).
fn trailing_comment(line: &str) -> Option<&str> {
    let value = line.split_once(':')?.1;
    let mut quote = None;
    for (at, c) in value.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if at == 0 || value[..at].ends_with(char::is_whitespace) => return Some(&value[at..]),
            _ => {}
        }
    }
    None
}

/// Writes a config file's new text whole or not at all (a crash leaves the old one).
pub fn write_config(path: &Path, text: &str) -> Result<(), ConfigError> {
    let failed = |source| ConfigError::Write { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let temporary = path.with_extension("yaml.new");
    std::fs::write(&temporary, text).map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}

fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let g = raw.google;
    let google = GoogleConfig {
        client_id: g.client_id.unwrap_or_default(),
        client_secret: g.client_secret.unwrap_or_default(),
        auth_url: url_field("google.auth_url", g.auth_url, "https://accounts.google.com/o/oauth2/v2/auth")?,
        token_url: url_field("google.token_url", g.token_url, "https://oauth2.googleapis.com/token")?,
        revoke_url: url_field("google.revoke_url", g.revoke_url, "https://oauth2.googleapis.com/revoke")?,
        drive_url: url_field("google.drive_url", g.drive_url, "https://www.googleapis.com/drive/v3")?,
        retry_base_ms: g.retry_base_ms.unwrap_or(1000).clamp(1, 60_000),
        // Half of Google's default per-user quota (12,000 a minute), so other apps keep room.
        requests_per_second: g.requests_per_second.unwrap_or(100.0).clamp(0.1, 100_000.0),
        request_burst: g.request_burst.unwrap_or(200).clamp(1, 100_000),
    };

    let mut destinations = Vec::new();
    for (key, d) in raw.destinations {
        destinations.push(validate_destination(&key, d)?);
    }

    let s = raw.sync;
    let mut export_formats: BTreeMap<String, String> = [
        ("document", "docx"),
        ("spreadsheet", "xlsx"),
        ("presentation", "pptx"),
        ("drawing", "svg"),
        ("script", "json"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (kind, ext) in s.export_formats {
        let field = format!("sync.export_formats.{kind}");
        let Some((_, choices)) = EXPORT_CHOICES.iter().find(|(k, _)| *k == kind) else {
            let kinds: Vec<_> = EXPORT_CHOICES.iter().map(|(k, _)| *k).collect();
            return Err(invalid(field, format!("is not a Google Workspace kind; use one of {}", kinds.join(", "))));
        };
        if !choices.contains(&ext.as_str()) {
            return Err(invalid(field, format!("cannot be `{ext}`; use one of {}", choices.join(", "))));
        }
        export_formats.insert(kind, ext);
    }
    let schedule_rule = match s.schedule.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            Some(text) => Some(crate::schedule::Schedule::parse(text).ok_or_else(|| {
                invalid(
                    "sync.schedule",
                    format!("`{text}` is not understood; write e.g. `every 6h` (from 2 minutes to 366 days), `daily at 02:30` or `weekdays at 12:00`"),
                )
            })?),
            None => None,
        };
    let sync = SyncConfig {
        download_concurrency: concurrency("sync.download_concurrency", s.download_concurrency)?,
        upload_concurrency: concurrency("sync.upload_concurrency", s.upload_concurrency)?,
        export_formats,
        bandwidth: crate::bandwidth::Timetable::parse(s.bandwidth_limit.as_deref().unwrap_or(""))
            .map_err(|problem| invalid("sync.bandwidth_limit", problem))?,
        schedule_rule,
        stale_after: match s.stale_after.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => crate::schedule::parse_duration(text).filter(|d| d.as_secs() >= 60).ok_or_else(|| {
                invalid(
                    "sync.stale_after",
                    format!("`{text}` is not understood; write e.g. `18h` or `3d` (at least 1 minute)"),
                )
            })?,
            None => schedule_rule.map_or(crate::schedule::STALE_WITHOUT_SCHEDULE, |rule| rule.default_stale_after()),
        },
        schedule: s.schedule.filter(|b| !b.trim().is_empty()),
        large_file_threshold: match s.large_file_threshold_mib.unwrap_or(64) {
            mib @ 1..=MAX_LARGE_FILE_THRESHOLD_MIB => mib * 1024 * 1024,
            mib => {
                return Err(invalid(
                    "sync.large_file_threshold_mib",
                    format!("must be between 1 and {MAX_LARGE_FILE_THRESHOLD_MIB}, not {mib}"),
                ))
            }
        },
        batch_files: s.batch_files.unwrap_or(5000).clamp(1, 10_000),
        stall_timeout: match s.stall_timeout.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => parse_seconds(text).filter(|d| (5..=3600).contains(&d.as_secs())).ok_or_else(|| {
                invalid(
                    "sync.stall_timeout",
                    format!("`{text}` is not understood; write e.g. `60s` or `2m` (5 s to 1 h)"),
                )
            })?,
            None => DEFAULT_STALL_TIMEOUT,
        },
    };

    Ok(Config {
        google,
        destinations,
        sync,
        rclone_path: raw.rclone.path.filter(|p| !p.is_empty()).map(|p| expand_home(&p)),
        prices: validate_prices(raw.prices)?,
    })
}

/// The published prices with config.yaml's on top; a field a user leaves out is the published
/// one's for that class.
fn validate_prices(raw: BTreeMap<String, BTreeMap<String, RawPrice>>) -> Result<crate::cost::PriceTable, ConfigError> {
    let mut table = crate::cost::PriceTable::published();
    for (type_name, classes) in raw {
        if providers::by_type(&type_name).is_none() {
            return Err(invalid(
                format!("prices.{type_name}"),
                format!("is not a destination type; use one of {}", providers::type_names().join(", ")),
            ));
        }
        for (class, p) in classes {
            let field = format!("prices.{type_name}.{class}");
            let money = |v: f64| v.is_finite() && v >= 0.0;
            if !money(p.per_gb_month) || !p.download_per_gb.is_none_or(money) {
                return Err(invalid(field, "must give prices of zero or more (e.g. per_gb_month: 0.023)"));
            }
            let published = table.get(&type_name, &class).cloned();
            let price = crate::cost::Price {
                per_gb_month: p.per_gb_month,
                download_per_gb: p.download_per_gb.or(published.as_ref().map(|p| p.download_per_gb)).unwrap_or(0.0),
                currency: p.currency.or(published.map(|p| p.currency)).unwrap_or_else(|| "USD".to_string()),
                as_of: p.as_of.unwrap_or_else(|| "config.yaml".to_string()),
            };
            table.set(&type_name, &class, price);
        }
    }
    Ok(table)
}

fn validate_destination(key: &str, d: RawDestination) -> Result<DestinationConfig, ConfigError> {
    let field = |name: &str| format!("destinations.{key}.{name}");
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(invalid(
            format!("destinations.{key}"),
            "has a bad name: use lowercase letters, digits and underscores (e.g. office_nas)",
        ));
    }
    // A key that is a type's name implies that type; any other key must say what it is.
    let type_name = match (d.type_name.as_deref(), providers::by_type(key)) {
        (Some(t), _) => t.to_string(),
        (None, Some(implied)) => implied.type_name.to_string(),
        (None, None) => {
            return Err(invalid(
                field("type"),
                format!("is missing; use one of {}", providers::type_names().join(", ")),
            ))
        }
    };
    let provider = providers::by_type(&type_name).ok_or_else(|| {
        invalid(
            field("type"),
            format!("`{type_name}` is not a destination type; use one of {}", providers::type_names().join(", ")),
        )
    })?;

    let bucket_or_path = match provider.location {
        Location::Bucket => {
            if d.path.is_some() {
                return Err(invalid(field("path"), format!("does not apply to {}; use `bucket`", provider.label)));
            }
            let bucket = d.bucket.unwrap_or_default();
            if d.enabled && bucket.trim().is_empty() {
                return Err(invalid(field("bucket"), "is required for an enabled destination"));
            }
            if bucket.contains('/') {
                return Err(invalid(field("bucket"), "must be a bucket name only; put folders in `prefix`"));
            }
            bucket
        }
        Location::Folder => {
            if d.bucket.is_some() {
                return Err(invalid(field("bucket"), "does not apply to a local folder; use `path`"));
            }
            let path = d.path.unwrap_or_default();
            if d.enabled && path.trim().is_empty() {
                return Err(invalid(field("path"), "is required for an enabled local destination"));
            }
            if path.is_empty() {
                path
            } else {
                let expanded = expand_home(&path);
                if !expanded.is_absolute() {
                    return Err(invalid(field("path"), "must be an absolute path (or start with ~/)"));
                }
                expanded.display().to_string()
            }
        }
    };

    let endpoint = d.endpoint.filter(|e| !e.trim().is_empty());
    if provider.needs_endpoint && d.enabled && endpoint.is_none() {
        return Err(invalid(field("endpoint"), format!("is required for {}", provider.label)));
    }
    let multipart_from = match (d.multipart_from_mib, provider.location) {
        (None, _) => None,
        (Some(_), Location::Folder) => {
            return Err(invalid(field("multipart_from_mib"), "does not apply to a local folder"))
        }
        // S3 and B2 parts are 5 MiB at least; S3 objects are at most 5 TiB.
        (Some(mib @ 5..=MAX_LARGE_FILE_THRESHOLD_MIB), Location::Bucket) => Some(mib * 1024 * 1024),
        (Some(mib), Location::Bucket) => {
            return Err(invalid(
                field("multipart_from_mib"),
                format!("must be between 5 and {MAX_LARGE_FILE_THRESHOLD_MIB}, not {mib}"),
            ))
        }
    };
    let keep = d.keep_versions.unwrap_or_default();
    if keep.count == Some(0) {
        return Err(invalid(field("keep_versions.count"), "must be at least 1 (the current copy)"));
    }
    let keep_versions = Retention { days: keep.days, count: keep.count };
    let prefix = d.prefix.unwrap_or_default().trim_matches('/').to_string();
    if prefix.split('/').any(|c| c == ".." || c == ".") {
        return Err(invalid(field("prefix"), "must not contain `.` or `..` components"));
    }
    Ok(DestinationConfig {
        key: key.to_string(),
        provider,
        enabled: d.enabled,
        bucket_or_path,
        region: d.region.filter(|r| !r.is_empty()),
        endpoint: endpoint.or(provider.default_endpoint.map(str::to_string)),
        storage_class: d.storage_class.filter(|s| !s.is_empty()),
        prefix,
        multipart_from,
        keep_versions,
    })
}

fn url_field(field: &str, value: Option<String>, default: &str) -> Result<String, ConfigError> {
    let value = value.filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string());
    if !(value.starts_with("https://") || value.starts_with("http://")) {
        return Err(invalid(field, format!("must be an http(s) URL, not `{value}`")));
    }
    Ok(value.trim_end_matches('/').to_string())
}

fn concurrency(field: &str, value: Option<usize>) -> Result<usize, ConfigError> {
    match value {
        None => Ok(8),
        Some(n) if (1..=64).contains(&n) => Ok(n),
        Some(n) => Err(invalid(field, format!("must be between 1 and 64, not {n}"))),
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_setting_is_changed_in_place_keeping_the_comments() {
        let edited = with_sync_setting(DEFAULT_CONFIG_YAML, "bandwidth_limit", "08:00,1M 19:00,off").unwrap();
        let line = edited.lines().find(|l| l.trim_start().starts_with("bandwidth_limit:")).unwrap();
        assert!(line.starts_with("  bandwidth_limit: \"08:00,1M 19:00,off\"  # rclone syntax"), "{line}");
        assert_eq!(edited.lines().count(), DEFAULT_CONFIG_YAML.lines().count());
        let parsed = Config::parse(&edited, "t").unwrap();
        assert_eq!(parsed.sync.bandwidth.text(), "08:00,1M 19:00,off");

        let without = "# mine\ndestinations: {}\nsync:\n    schedule: every 6h # nightly-ish\n";
        let added = with_sync_setting(without, "bandwidth_limit", "2M").unwrap();
        assert_eq!(
            added,
            "# mine\ndestinations: {}\nsync:\n    bandwidth_limit: \"2M\"\n    schedule: every 6h # nightly-ish\n"
        );
        assert_eq!(
            with_sync_setting("google: {}\n", "bandwidth_limit", "off").unwrap(),
            "google: {}\nsync:\n  bandwidth_limit: \"off\"\n"
        );
        assert!(with_sync_setting(without, "bandwidth_limit", "fast").is_err(), "what is written is validated");
    }

    #[test]
    fn the_shipped_config_is_valid_and_ships_scaleway_disabled() {
        let config = Config::default_config().unwrap();
        let scaleway = config.destination("scaleway").unwrap();
        assert!(!scaleway.enabled);
        assert_eq!(config.destination("aws_s3").unwrap().provider.backend, "s3");
        assert_eq!(config.destination("backblaze_b2").unwrap().provider.backend, "b2");
        assert!(!config.destination("local").unwrap().enabled, "its folder must exist first");
        assert_eq!(config.sync.export_formats["document"], "docx");
    }

    #[test]
    fn a_misspelt_field_is_named_in_the_error() {
        let err = Config::parse("destinations:\n  aws_s3:\n    buckt: x\n", "t.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("buckt"), "{msg}");
    }

    #[test]
    fn an_enabled_bucket_destination_needs_a_bucket() {
        let err = Config::parse("destinations:\n  aws_s3:\n    enabled: true\n", "t").unwrap_err();
        assert_eq!(err.to_string(), "config field `destinations.aws_s3.bucket` is required for an enabled destination");
    }

    #[test]
    fn a_user_named_destination_must_state_its_type() {
        let err = Config::parse("destinations:\n  nas:\n    enabled: true\n    bucket: b\n", "t").unwrap_err();
        assert!(err.to_string().starts_with("config field `destinations.nas.type` is missing"));
        let err = Config::parse("destinations:\n  nas:\n    type: ftp\n", "t").unwrap_err();
        assert!(err.to_string().contains("`ftp` is not a destination type"));
    }

    #[test]
    fn a_schedule_or_threshold_it_cannot_read_names_its_field() {
        let err = Config::parse("sync:\n  large_file_threshold_mib: 18446744073709551615\n", "t").unwrap_err();
        assert!(err.to_string().contains("sync.large_file_threshold_mib"), "{err}");
        let err = Config::parse("sync:\n  schedule: sometimes\n", "t").unwrap_err();
        assert!(err.to_string().contains("sync.schedule") && err.to_string().contains("daily at"), "{err}");
        let config = Config::parse("sync:\n  schedule: daily at 02:30\n", "t").unwrap();
        assert!(matches!(config.sync.schedule_rule, Some(crate::schedule::Schedule::Daily(_))));
    }

    #[test]
    fn s3_compatible_needs_an_endpoint_and_local_an_absolute_path() {
        let err =
            Config::parse("destinations:\n  nas:\n    type: s3_compatible\n    enabled: true\n    bucket: b\n", "t")
                .unwrap_err();
        assert!(err.to_string().contains("destinations.nas.endpoint"));
        let err = Config::parse("destinations:\n  disk:\n    type: local\n    enabled: true\n    path: rel/dir\n", "t")
            .unwrap_err();
        assert!(err.to_string().contains("absolute"));
    }

    #[test]
    fn unknown_export_formats_are_refused() {
        let err = Config::parse("sync:\n  export_formats:\n    document: csv\n", "t").unwrap_err();
        assert!(err.to_string().contains("sync.export_formats.document"));
    }

    #[test]
    fn malformed_yaml_is_one_clear_error() {
        let err = Config::parse("destinations: [unclosed\n", "my.yaml").unwrap_err();
        assert!(err.to_string().starts_with("config file my.yaml is not valid"));
    }
}
