//! Where destination keys and Google tokens come from.
//!
//! Secrets are looked up through [`SecretStore`]; they never go into the database, config
//! files, logs or process arguments. The OS keychain backs this in the desktop app; the
//! environment variables of the original design notes remain a fallback for headless use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret store is unavailable: {0}")]
    Unavailable(String),
}

/// A source of secrets, addressed by owner (a destination key, or `google`) and field
/// (`access_key_id`, `secret_access_key`, `access_token`, ...).
pub trait SecretStore: Send + Sync {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError>;
}

/// Secrets from the process environment.
///
/// `FANOUT_<OWNER>_<FIELD>` works for everything; the well-known destinations also accept the
/// variables their providers' own tools use (`AWS_ACCESS_KEY_ID`, `B2_APPLICATION_KEY`, ...).
#[derive(Debug, Default, Clone)]
pub struct EnvSecrets;

impl EnvSecrets {
    /// Every environment variable name that may hold this secret, most specific first.
    pub fn variable_names(owner: &str, field: &str) -> Vec<String> {
        let mut names = vec![format!("FANOUT_{}_{}", owner.to_uppercase(), field.to_uppercase())];
        let conventional = match (owner, field) {
            ("aws_s3", "access_key_id") => Some("AWS_ACCESS_KEY_ID"),
            ("aws_s3", "secret_access_key") => Some("AWS_SECRET_ACCESS_KEY"),
            ("backblaze_b2", "access_key_id") => Some("B2_APPLICATION_KEY_ID"),
            ("backblaze_b2", "secret_access_key") => Some("B2_APPLICATION_KEY"),
            ("scaleway", "access_key_id") => Some("SCW_ACCESS_KEY"),
            ("scaleway", "secret_access_key") => Some("SCW_SECRET_KEY"),
            _ => None,
        };
        names.extend(conventional.map(str::to_string));
        names
    }
}

impl SecretStore for EnvSecrets {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError> {
        Ok(Self::variable_names(owner, field)
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty())))
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

impl SecretStore for MemorySecrets {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError> {
        let values = self.values.lock().map_err(|_| SecretError::Unavailable("in-memory store poisoned".into()))?;
        Ok(values.get(&(owner.to_string(), field.to_string())).cloned())
    }
}

/// Looks in each store in turn and returns the first secret found.
pub struct LayeredSecrets(pub Vec<Box<dyn SecretStore>>);

impl SecretStore for LayeredSecrets {
    fn get(&self, owner: &str, field: &str) -> Result<Option<String>, SecretError> {
        for store in &self.0 {
            if let Some(value) = store.get(owner, field)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_variables_are_accepted_for_the_well_known_destinations() {
        assert_eq!(
            EnvSecrets::variable_names("backblaze_b2", "secret_access_key"),
            vec!["FANOUT_BACKBLAZE_B2_SECRET_ACCESS_KEY", "B2_APPLICATION_KEY"]
        );
        assert_eq!(EnvSecrets::variable_names("office_nas", "access_key_id"), vec!["FANOUT_OFFICE_NAS_ACCESS_KEY_ID"]);
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
