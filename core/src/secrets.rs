//! Where destination keys and Google tokens come from.
//!
//! Secrets are looked up through [`SecretStore`]; they never go into the database, config
//! files, logs or process arguments. The OS keychain backs this in the desktop app; the
//! environment variables of the original design notes remain a fallback for headless use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::storage::providers::SecretField;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the OS keychain is unavailable ({0}); start a Secret Service (GNOME Keyring or KWallet), \
         or give secrets through FANOUT_<KEY>_<FIELD> environment variables"
    )]
    Unavailable(String),
    #[error("this secret store cannot be written; store secrets in the OS keychain instead")]
    ReadOnly,
    #[error("an empty value cannot be stored as a secret")]
    Empty,
}

/// A source of secrets, addressed by owner (a destination key, or `google`) and field
/// (`access_key_id`, `secret_access_key`, `refresh_token`, ...).
pub trait SecretStore: Send + Sync {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError>;

    fn set(&self, _owner: &str, _field: &str, _value: &str) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }

    /// Removes a secret; removing one that is not there is not an error.
    fn delete(&self, _owner: &str, _field: &str) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }
}

/// Secrets in the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
/// Manager on Windows), one entry per owner and field under one service name.
#[derive(Debug, Clone)]
pub struct KeychainSecrets {
    service: String,
}

impl KeychainSecrets {
    /// The service name entries are filed under; `FANOUT_KEYCHAIN_SERVICE` overrides it so
    /// tests and second profiles never touch a person's real entries.
    pub fn from_env() -> Self {
        let service = std::env::var("FANOUT_KEYCHAIN_SERVICE").ok().filter(|s| !s.is_empty());
        Self::with_service(&service.unwrap_or_else(|| "Fanout".to_string()))
    }

    pub fn with_service(service: &str) -> Self {
        Self { service: service.to_string() }
    }

    fn entry(&self, owner: &str, field: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, &format!("{owner}/{field}")).map_err(keychain_error)
    }
}

fn keychain_error(error: keyring::Error) -> SecretError {
    SecretError::Unavailable(error.to_string())
}

impl SecretStore for KeychainSecrets {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError> {
        match self.entry(owner, field)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn set(&self, owner: &str, field: &str, value: &str) -> Result<(), SecretError> {
        if value.is_empty() {
            return Err(SecretError::Empty);
        }
        self.entry(owner, field)?.set_password(value).map_err(keychain_error)
    }

    fn delete(&self, owner: &str, field: &str) -> Result<(), SecretError> {
        match self.entry(owner, field)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

/// Secrets from the process environment.
///
/// `FANOUT_<OWNER>_<FIELD>` works for everything; a destination also accepts the variables its
/// provider's own tools use for that key (`AWS_ACCESS_KEY_ID` for any AWS S3 destination,
/// `B2_APPLICATION_KEY` for any Backblaze B2 one, ...), as the provider table lists them.
#[derive(Debug, Default, Clone)]
pub struct EnvSecrets {
    /// (owner, field) → the provider's own variable names for it.
    aliases: HashMap<(String, String), &'static [&'static str]>,
}

impl EnvSecrets {
    /// The variables for the configured destinations' keys.
    pub fn for_config(config: &crate::config::Config) -> Self {
        let aliases = config
            .destinations
            .iter()
            .flat_map(|d| d.provider.secrets.iter().map(|s| ((d.key.clone(), s.field.to_string()), s.env_aliases)))
            .collect();
        Self { aliases }
    }

    /// Every environment variable name that may hold `owner`'s `secret`, most specific first.
    pub fn variable_names(owner: &str, secret: &SecretField) -> Vec<String> {
        let mut names = vec![generic_name(owner, secret.field)];
        names.extend(secret.env_aliases.iter().map(|a| a.to_string()));
        names
    }
}

fn generic_name(owner: &str, field: &str) -> String {
    format!("FANOUT_{}_{}", owner.to_uppercase(), field.to_uppercase())
}

impl SecretStore for EnvSecrets {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError> {
        let aliases = self.aliases.get(&(owner.to_string(), field.to_string())).copied().unwrap_or_default();
        let names = std::iter::once(generic_name(owner, field)).chain(aliases.iter().map(|a| a.to_string()));
        Ok(names.into_iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty())))
    }
}

/// Secrets held in memory: the demo's generated keys, and tests.
#[derive(Debug, Default, Clone)]
pub struct MemorySecrets {
    values: Arc<Mutex<HashMap<(String, String), String>>>,
}

impl MemorySecrets {
    pub fn set(&self, owner: &str, field: &str, value: &str) {
        if let Ok(mut values) = self.values.lock() {
            values.insert((owner.to_string(), field.to_string()), value.to_string());
        }
    }
}

/// Built from (owner, field, value) triples, e.g. the demo's generated keys.
impl<'a> FromIterator<(&'a str, &'a str, String)> for MemorySecrets {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str, String)>>(secrets: I) -> Self {
        let store = MemorySecrets::default();
        for (owner, field, value) in secrets {
            store.set(owner, field, &value);
        }
        store
    }
}

impl SecretStore for MemorySecrets {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError> {
        let values = self.values.lock().map_err(|_| SecretError::Unavailable("in-memory store poisoned".into()))?;
        Ok(values.get(&(owner.to_string(), field.to_string())).cloned())
    }

    fn set(&self, owner: &str, field: &str, value: &str) -> Result<(), SecretError> {
        if value.is_empty() {
            return Err(SecretError::Empty);
        }
        MemorySecrets::set(self, owner, field, value);
        Ok(())
    }

    fn delete(&self, owner: &str, field: &str) -> Result<(), SecretError> {
        let mut values = self.values.lock().map_err(|_| SecretError::Unavailable("in-memory store poisoned".into()))?;
        values.remove(&(owner.to_string(), field.to_string()));
        Ok(())
    }
}

/// Looks in each store in turn and returns the first secret found; writes go to the first.
///
/// A store that is unavailable (no keychain on a headless machine) is skipped when reading,
/// so the environment keeps working as the fallback; writing to it reports why it failed.
pub struct LayeredSecrets(pub Vec<Box<dyn SecretStore>>);

impl LayeredSecrets {
    /// The desktop and CLI default: the OS keychain, then the environment.
    pub fn keychain_then_env(config: &crate::config::Config) -> Self {
        Self(vec![Box::new(KeychainSecrets::from_env()), Box::new(EnvSecrets::for_config(config))])
    }
}

impl SecretStore for LayeredSecrets {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError> {
        let mut unavailable = None;
        for store in &self.0 {
            match store.get(owner, field) {
                Ok(Some(value)) => return Ok(Some(value)),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "secret store skipped");
                    unavailable = Some(e);
                }
            }
        }
        match unavailable {
            // Nothing found anywhere and a store could not be asked: say why.
            Some(e) if self.0.len() == 1 => Err(e),
            _ => Ok(None),
        }
    }

    fn set(&self, owner: &str, field: &str, value: &str) -> Result<(), SecretError> {
        self.0.first().ok_or(SecretError::ReadOnly)?.set(owner, field, value)
    }

    fn delete(&self, owner: &str, field: &str) -> Result<(), SecretError> {
        self.0.first().ok_or(SecretError::ReadOnly)?.delete(owner, field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_providers_own_variables_are_read_for_every_destination_of_its_type() {
        let config = crate::config::Config::parse(
            "destinations:\n  office_s3:\n    type: aws_s3\n    bucket: b\n  nas:\n    type: s3_compatible\n    endpoint: http://x\n  backblaze_b2:\n    bucket: c\n",
            "t",
        )
        .unwrap();
        let b2 = config.destination("backblaze_b2").unwrap().provider.secrets[1];
        assert_eq!(
            EnvSecrets::variable_names("backblaze_b2", &b2),
            vec!["FANOUT_BACKBLAZE_B2_SECRET_ACCESS_KEY", "B2_APPLICATION_KEY"]
        );
        let office = config.destination("office_s3").unwrap().provider.secrets[0];
        assert_eq!(
            EnvSecrets::variable_names("office_s3", &office),
            vec!["FANOUT_OFFICE_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"]
        );
        let nas = config.destination("nas").unwrap().provider.secrets[0];
        assert_eq!(EnvSecrets::variable_names("nas", &nas), vec!["FANOUT_NAS_ACCESS_KEY_ID"]);
        let env = EnvSecrets::for_config(&config);
        assert_eq!(env.aliases[&("office_s3".to_string(), "access_key_id".to_string())], ["AWS_ACCESS_KEY_ID"]);
    }

    #[test]
    fn layered_stores_answer_from_the_first_that_knows() {
        let first = MemorySecrets::default();
        let second = MemorySecrets::default();
        second.set("nas", "access_key_id", "from-second");
        first.set("nas", "secret_access_key", "from-first");
        let layered = LayeredSecrets(vec![Box::new(first), Box::new(second)]);
        assert_eq!(layered.get("nas", "access_key_id").unwrap().as_deref(), Some("from-second"));
        assert_eq!(layered.get("nas", "secret_access_key").unwrap().as_deref(), Some("from-first"));
        assert_eq!(layered.get("nas", "other").unwrap(), None);
    }
}
