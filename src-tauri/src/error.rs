//! Errors as the window receives them: a kind to branch on and a message to show.

use fanout_core::auth::AuthError;
use fanout_core::policy::PolicyError;
use fanout_core::restore::RestoreError;
use fanout_core::storage::StorageError;
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
        match window_hint(&error) {
            Some(hint) => Self::new(kind, format!("{}. {hint}", sentence_start(&error.to_string()))),
            None => Self::new(kind, error.to_string()),
        }
    }
}

/// What to do about an error, in the window's terms: the page or button, never a command.
fn window_hint(error: &EngineError) -> Option<&'static str> {
    Some(match error {
        EngineError::NotSignedIn | EngineError::Auth(AuthError::SignInAgain) => "Connect in Settings → Google account.",
        EngineError::Restore(RestoreError::DriveWrite) => {
            "Connect Google again in Settings → Google account and allow it."
        }
        EngineError::Auth(AuthError::NotConfigured) => {
            "The user guide's \"Create a Google OAuth Desktop app client\" steps explain how to make one."
        }
        EngineError::Storage(StorageError::MissingSecret { .. }) => "Enter it in Settings → Destinations.",
        EngineError::Policy(PolicyError::AlreadyExists(_)) => {
            "Change its destinations with Edit on its row in Settings."
        }
        _ => return None,
    })
}

/// The first letter in upper case: a sentence, as the window shows it.
fn sentence_start(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub type CommandResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_windows_errors_say_what_to_do_in_the_window_never_with_a_command_or_the_config_file() {
        let missing_key =
            StorageError::MissingSecret { key: "nas".into(), field: "access_key_id".into(), env: "FANOUT_NAS".into() };
        for error in [
            EngineError::NotSignedIn,
            EngineError::Auth(AuthError::SignInAgain),
            EngineError::Auth(AuthError::NotConfigured),
            EngineError::Restore(RestoreError::DriveWrite),
            EngineError::Storage(missing_key),
            EngineError::Policy(PolicyError::AlreadyExists("Projects".into())),
        ] {
            let message = CommandError::from(error).message;
            assert!(!message.contains("fanout ") && !message.contains("config.yaml"), "{message}");
            assert!(message.ends_with('.') && message.starts_with(char::is_uppercase), "{message}");
            assert!(message.contains("Settings") || message.contains("user guide"), "says where to act: {message}");
        }
    }
}
