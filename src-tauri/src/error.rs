//! Errors as the window receives them: a kind to branch on and a message to show.

use fanout_core::auth::AuthError;
use fanout_core::restore::RestoreError;
use fanout_core::EngineError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommandError {
    pub kind: &'static str,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl From<EngineError> for CommandError {
    fn from(error: EngineError) -> Self {
        let kind = match &error {
            EngineError::NotSignedIn => "not_signed_in",
            EngineError::Auth(AuthError::SignInAgain) => "not_signed_in",
            EngineError::Auth(_) => "sign_in",
            EngineError::AlreadyRunning(_) => "already_running",
            // The window's own words for what to do.
            EngineError::NoPolicies => {
                return Self::new(
                    "no_policies",
                    "No folder is set up for backup yet: add one in Settings → Add Folder to Sync.",
                )
            }
            EngineError::Config(fanout_core::config::ConfigError::Write { .. }) => "internal",
            EngineError::Policy(_) | EngineError::UnknownSecretField { .. } | EngineError::Config(_) => "invalid_input",
            EngineError::UnknownDestination(_) => "not_found",
            EngineError::Storage(_) => "destination",
            EngineError::Drive(_) => "drive",
            EngineError::Restore(e) => match e {
                RestoreError::NothingMatches(_) => "invalid_input",
                RestoreError::Drive(_) | RestoreError::DriveWrite => "drive",
                RestoreError::Storage(_) | RestoreError::Index(_) => "destination",
                _ => "internal",
            },
            EngineError::Secret(_) => "keychain",
            EngineError::Rclone(_) | EngineError::RcloneMissing => "rclone",
            _ => "internal",
        };
        Self::new(kind, error.to_string())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
