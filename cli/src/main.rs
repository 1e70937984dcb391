//! `fanout`: Fanout without a window. Parses arguments, opens the engine, runs one command,
//! and decides the exit status in one place:
//! 0 done; 1 error (nothing changed); 2 usage; 3 a sync left failed or pending pairs, or a
//! restore left files not restored.

mod account;
mod commands;
mod demo;
mod progress;
mod restore;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use fanout_core::config::Config;
use fanout_core::secrets::LayeredSecrets;
use fanout_core::Engine;
use fanout_core::{default_config_path, default_data_dir};

#[derive(Parser)]
#[command(name = "fanout", version, about = "Back up Google Drive folders to several clouds at once")]
struct Cli {
    /// config.yaml to use (default: the user's config, else the built-in defaults).
    #[arg(long, global = true, env = "FANOUT_CONFIG")]
    config: Option<PathBuf>,
    /// Folder for the database, staging and logs.
    #[arg(long, global = true, env = "FANOUT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List destinations, or test one's connection.
    Destinations(DestinationsArgs),
    /// Manage folder policies: which Drive folders go where.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run one sync now.
    Sync(SyncArgs),
    /// Show what a sync would copy where, without copying anything.
    Plan(PlanArgs),
    /// Re-check the copies the ledger calls synced; missing or corrupt ones are repaired by the next sync.
    Verify {
        /// Only this destination.
        destination: Option<String>,
        /// Also read back this percentage of copies and hash them (a different part each run).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
        download: u8,
        /// What the copies are compared with: the ledger's records, or Drive's current files.
        #[arg(long, value_enum, default_value_t = VerifyAgainst::Ledger)]
        against: VerifyAgainst,
        /// Check the kept earlier versions too.
        #[arg(long)]
        versions: bool,
        #[arg(long)]
        json: bool,
    },
    /// Every version of a file (Drive path or ID) at every destination, newest first.
    History {
        file: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove the earlier versions a destination's `keep_versions` lets go (never a current
    /// copy, never one under Object Lock); `--dry-run` lists them and removes nothing.
    Prune {
        destination: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Restore Drive folders or files from their copies into a folder, checked byte for byte.
    Restore(restore::RestoreArgs),
    /// Rebuild the ledger and policies from the destinations' own indexes (on a new computer),
    /// so the next sync copies nothing that is already there.
    Rebuild {
        /// Only this destination (default: every enabled one).
        #[arg(long, value_name = "KEY")]
        from: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Per-destination counts and recent runs.
    Status(JsonFlag),
    /// Files with their state at each destination.
    Files(FilesArgs),
    /// Back up a sample Drive to a local folder and a local S3 server, no account needed.
    Demo,
    /// Sign in to Google, see who is signed in, or sign out.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Store destination keys in the OS keychain (values are read from stdin, never arguments).
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(Subcommand)]
pub enum AuthCommand {
    /// Sign in with your browser (Google's desktop flow; the refresh token goes to the keychain).
    Google {
        /// Print the sign-in URL without trying to open a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Who is signed in.
    Status(JsonFlag),
    /// Revoke Fanout's access at Google and delete the stored token.
    Logout,
}

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Store KEY's FIELD (e.g. `aws_s3 secret_access_key`); the value is read from stdin.
    Set { key: String, field: String },
    /// Delete KEY's FIELD from the keychain.
    Clear { key: String, field: String },
    /// Which secrets are stored (never their values).
    Status(JsonFlag),
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyAgainst {
    /// What the ledger recorded for each copy.
    Ledger,
    /// Drive's current files under the policies, whatever the ledger says.
    Drive,
}

#[derive(Args)]
pub struct SyncArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Run this plan (saved from `fanout plan --json`) instead of making a new one.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Copy again only the pairs that failed (at DESTINATION, or everywhere).
    #[arg(long, value_name = "DESTINATION", num_args = 0..=1, default_missing_value = "", conflicts_with = "plan")]
    pub only_failed: Option<String>,
    /// Sync only if `sync.schedule` says one is due (for a systemd timer or cron); otherwise,
    /// or while another sync runs, exit 0 quietly.
    #[arg(long, conflicts_with_all = ["plan", "only_failed"])]
    pub if_due: bool,
}

#[derive(Args)]
pub struct PlanArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Only the pairs that failed (at DESTINATION, or everywhere): what `sync --only-failed` runs.
    #[arg(long, value_name = "DESTINATION", num_args = 0..=1, default_missing_value = "")]
    pub only_failed: Option<String>,
}

/// `--only-failed [DESTINATION]` as the engine's retry scope (no value: every destination).
pub fn retry_scope(only_failed: &str) -> fanout_core::RetryScope {
    let destination = Some(only_failed.to_string()).filter(|d| !d.is_empty());
    fanout_core::RetryScope { destination, file_id: None }
}

#[derive(Args)]
pub struct JsonFlag {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct DestinationsArgs {
    #[command(subcommand)]
    pub action: Option<DestinationsAction>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum DestinationsAction {
    /// Check connection, credentials and bucket (all enabled destinations if KEY is omitted).
    Test {
        key: Option<String>,
        /// Make a local destination's folder if it is missing (only when adding it: a missing
        /// folder is otherwise an unplugged disk, and never written to).
        #[arg(long)]
        create: bool,
    },
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Back up FOLDER (a Drive folder ID, or a path like Work/Reports) to destinations.
    Add {
        folder: String,
        /// Destination keys, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        to: Vec<String>,
        /// Cover only the folder's direct children.
        #[arg(long)]
        no_recursive: bool,
    },
    /// List policies.
    List(JsonFlag),
    /// Change a policy's destinations or recursion.
    Update {
        folder: String,
        #[arg(long, value_delimiter = ',')]
        to: Option<Vec<String>>,
        #[arg(long, conflicts_with = "no_recursive")]
        recursive: bool,
        #[arg(long)]
        no_recursive: bool,
    },
    /// Stop backing up a folder (copies already made stay where they are).
    Remove { folder: String },
    /// Resume a disabled policy.
    Enable { folder: String },
    /// Exclude a folder and everything under it.
    Disable { folder: String },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum StatusFilter {
    Synced,
    Failed,
    Pending,
}

#[derive(Args)]
pub struct FilesArgs {
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub destination: Option<String>,
    #[arg(long, value_enum)]
    pub status: Option<StatusFilter>,
    /// Text to find in Drive paths.
    #[arg(long)]
    pub search: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    #[arg(long, default_value_t = 0)]
    pub offset: i64,
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    if let Some(path) = path {
        return Ok(Config::load(path)?);
    }
    let user = default_config_path();
    if user.is_file() {
        return Ok(Config::load(&user)?);
    }
    Ok(Config::default_config()?)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Demo = cli.command {
        return demo::run(cli.data_dir).await;
    }
    let config = load_config(cli.config.as_ref())?;
    let data_dir = cli.data_dir.unwrap_or_else(default_data_dir);
    let secrets = Arc::new(LayeredSecrets::keychain_then_env(&config));
    let engine = Engine::open(config, &data_dir, secrets).await?;
    let code = match cli.command {
        Command::Destinations(args) => commands::destinations(&engine, args).await?,
        Command::Policy(cmd) => commands::policy(&engine, cmd).await?,
        Command::Sync(args) => progress::sync(&engine, args).await?,
        Command::Plan(args) => commands::plan(&engine, args).await?,
        Command::Verify { destination, download, against, versions, json } => {
            commands::verify(&engine, destination.as_deref(), download, against, versions, json).await?
        }
        Command::History { file, json } => commands::history(&engine, &file, json).await?,
        Command::Prune { destination, dry_run, json } => {
            commands::prune(&engine, destination.as_deref(), dry_run, json).await?
        }
        Command::Restore(args) => restore::restore(&engine, args).await?,
        Command::Rebuild { from, json } => restore::rebuild(&engine, from.as_deref(), json).await?,
        Command::Status(flag) => commands::status(&engine, flag.json).await?,
        Command::Files(args) => commands::files(&engine, args).await?,
        Command::Auth(cmd) => account::auth(&engine, cmd).await?,
        Command::Secret(cmd) => account::secret(&engine, cmd)?,
        Command::Demo => ExitCode::SUCCESS,
    };
    engine.close().await;
    Ok(code)
}

/// The engine's log goes to `fanout.log` in the data folder (where error messages point for
/// details); stderr gets it only when `FANOUT_LOG` asks, in colour only on a terminal.
fn start_logging(data_dir: &std::path::Path) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter, Layer};
    let file = std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("fanout.log")));
    let to_file = file.ok().map(|f| {
        fmt::layer().with_ansi(false).with_writer(std::sync::Mutex::new(f)).with_filter(EnvFilter::new("info"))
    });
    let to_stderr = EnvFilter::try_from_env("FANOUT_LOG").ok().map(|filter| {
        fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr).with_filter(filter)
    });
    tracing_subscriber::registry().with(to_file).with(to_stderr).init();
}

/// An error as the CLI prints it: what went wrong, then the command that deals with it.
fn error_text(error: &dyn std::fmt::Display, hint: Option<String>) -> String {
    match hint {
        Some(hint) => format!("error: {error}: {hint}"),
        None => format!("error: {error}"),
    }
}

pub(crate) fn error_line(error: &fanout_core::EngineError) -> String {
    error_text(error, engine_hint(error))
}

/// What to do about an engine error, in the CLI's own terms (the engine's messages say only
/// what went wrong; the window gives its own hints).
fn engine_hint(error: &fanout_core::EngineError) -> Option<String> {
    use fanout_core::auth::AuthError;
    use fanout_core::policy::PolicyError;
    use fanout_core::restore::RestoreError;
    use fanout_core::storage::StorageError;
    use fanout_core::EngineError;
    let sign_in = || "run `fanout auth google`".to_string();
    Some(match error {
        EngineError::NoPolicies => "fanout policy add FOLDER --to DESTINATION".into(),
        EngineError::UnknownDestination(_) | EngineError::Storage(StorageError::UnknownDestination(_)) => {
            "`fanout destinations` lists the configured ones".into()
        }
        EngineError::Storage(StorageError::Disabled(key)) => {
            format!("set `enabled: true` under destinations.{key} in config.yaml")
        }
        EngineError::Storage(StorageError::MissingSecret { key, field, env }) => {
            format!("run `fanout secret set {key} {field}`, or set {env}")
        }
        EngineError::Policy(PolicyError::NoSuchPolicy(_)) => "`fanout policy list` shows the policies".into(),
        EngineError::Policy(PolicyError::AlreadyExists(folder)) => {
            format!("change it with `fanout policy update {folder:?}`")
        }
        EngineError::NotSignedIn | EngineError::Auth(AuthError::SignInAgain) => sign_in(),
        EngineError::Restore(RestoreError::DriveWrite) => format!("{} and allow it", sign_in()),
        EngineError::Auth(AuthError::NotConfigured) => "put your OAuth desktop client's ID and secret under \
            `google:` in config.yaml (docs/user-guide.md explains how to create one)"
            .into(),
        _ => return None,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    start_logging(&cli.data_dir.clone().unwrap_or_else(default_data_dir));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", error_text(&e, e.downcast_ref().and_then(engine_hint)));
            ExitCode::FAILURE
        }
    }
}
