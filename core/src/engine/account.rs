//! The Google account and the secrets: sign in, sign out, and what is stored (never values).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{Engine, EngineError};
use crate::auth::{OAuthClient, TokenSource};

/// How long the browser has to come back with Google's answer.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);
/// Where the signed-in account's address is remembered (it is not a secret).
const ACCOUNT_STATE_KEY: &str = "google_account";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GoogleStatus {
    pub signed_in: bool,
    /// The account's email address, once known.
    pub account: Option<String>,
    /// `sign-in` (a refresh token from Fanout's own sign-in) or `access-token` (a fixed token
    /// from the environment, for headless use).
    pub method: Option<&'static str>,
}

/// Whether one secret is stored; its value is never returned.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SecretStatus {
    pub owner: String,
    pub field: String,
    pub label: String,
    pub stored: bool,
}

impl Engine {
    fn oauth_client(&self) -> Result<OAuthClient, EngineError> {
        let mut google = self.config.google.clone();
        if google.client_secret.is_empty() {
            google.client_secret = self.secrets.get("google", "client_secret")?.unwrap_or_default();
        }
        Ok(OAuthClient::new(&google)?)
    }

    pub(super) fn token_source(&self) -> Result<Arc<TokenSource>, EngineError> {
        let mut cached = self.tokens.lock().map_err(|_| EngineError::NotSignedIn)?;
        if let Some(tokens) = cached.as_ref() {
            return Ok(tokens.clone());
        }
        let tokens = if let Some(refresh_token) = self.secrets.get("google", "refresh_token")? {
            Arc::new(TokenSource::refreshing(self.oauth_client()?, refresh_token, None))
        } else if let Some(access_token) = self.secrets.get("google", "access_token")? {
            Arc::new(TokenSource::fixed(&access_token))
        } else {
            return Err(EngineError::NotSignedIn);
        };
        *cached = Some(tokens.clone());
        Ok(tokens)
    }

    fn forget_tokens(&self) {
        if let Ok(mut cached) = self.tokens.lock() {
            *cached = None;
        }
    }

    /// Runs Google's desktop sign-in: `open_browser` gets the consent URL; the loopback
    /// redirect completes it. The refresh token goes to the keychain; returns the account.
    pub async fn sign_in_google(&self, open_browser: impl FnOnce(&str)) -> Result<String, EngineError> {
        let oauth = self.oauth_client()?;
        let pending = oauth.begin_sign_in().await?;
        open_browser(pending.authorize_url());
        let signed_in = pending.finish(SIGN_IN_TIMEOUT).await?;
        if let Err(e) = self.secrets.set("google", "refresh_token", &signed_in.refresh_token) {
            // Nowhere to keep it: end the grant rather than leave it dangling at Google.
            let _ = oauth.revoke(&signed_in.refresh_token).await;
            return Err(e.into());
        }
        self.forget_tokens();
        let tokens = Arc::new(TokenSource::refreshing(oauth, signed_in.refresh_token, Some(signed_in.access)));
        let account = self.drive_with(tokens.clone())?.account_email().await?;
        self.db.set_state(ACCOUNT_STATE_KEY, &account).await?;
        if let Ok(mut cached) = self.tokens.lock() {
            *cached = Some(tokens);
        }
        tracing::info!(%account, "signed in to Google");
        Ok(account)
    }

    /// Revokes the grant at Google and deletes the refresh token. Returns whether Google
    /// confirmed a revocation (the local token is deleted either way, and a keychain that
    /// cannot delete it is an error, never a silent success).
    pub async fn sign_out_google(&self) -> Result<bool, EngineError> {
        let mut revoked = false;
        if let Some(refresh_token) = self.secrets.get("google", "refresh_token")? {
            match self.oauth_client() {
                Ok(oauth) => match oauth.revoke(&refresh_token).await {
                    Ok(()) => revoked = true,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not revoke the Google grant; deleting the token anyway")
                    }
                },
                Err(e) => tracing::warn!(error = %e, "no OAuth client to revoke with; deleting the token anyway"),
            }
        }
        self.secrets.delete("google", "refresh_token")?;
        self.forget_tokens();
        self.db.set_state(ACCOUNT_STATE_KEY, "").await?;
        Ok(revoked)
    }

    pub async fn google_status(&self) -> Result<GoogleStatus, EngineError> {
        let method = if self.secrets.get("google", "refresh_token")?.is_some() {
            Some("sign-in")
        } else if self.secrets.get("google", "access_token")?.is_some() {
            Some("access-token")
        } else {
            None
        };
        let account = self.db.get_state(ACCOUNT_STATE_KEY).await?.filter(|a| !a.is_empty());
        Ok(GoogleStatus { signed_in: method.is_some(), account: account.filter(|_| method.is_some()), method })
    }

    /// The label of a secret that may be stored for `owner`, or why it may not.
    fn secret_label(&self, owner: &str, field: &str) -> Result<String, EngineError> {
        if owner == "google" {
            return match field {
                "client_secret" => Ok("Google OAuth client secret".to_string()),
                _ => Err(EngineError::UnknownSecretField {
                    owner: owner.into(),
                    field: field.into(),
                    expected: "client_secret (the refresh token is stored by `fanout auth google`)".into(),
                }),
            };
        }
        let destination = self
            .config
            .destinations
            .iter()
            .find(|d| d.key == owner)
            .ok_or_else(|| EngineError::UnknownDestination(owner.to_string()))?;
        let secrets = destination.provider.secrets;
        secrets.iter().find(|s| s.field == field).map(|s| s.label.to_string()).ok_or_else(|| {
            EngineError::UnknownSecretField {
                owner: owner.into(),
                field: field.into(),
                expected: secrets.iter().map(|s| s.field).collect::<Vec<_>>().join(", "),
            }
        })
    }

    /// Stores a destination key (or the Google client secret) in the keychain.
    pub fn set_secret(&self, owner: &str, field: &str, value: &str) -> Result<(), EngineError> {
        self.secret_label(owner, field)?;
        self.secrets.set(owner, field, value.trim())?;
        Ok(())
    }

    pub fn clear_secret(&self, owner: &str, field: &str) -> Result<(), EngineError> {
        self.secret_label(owner, field)?;
        self.secrets.delete(owner, field)?;
        Ok(())
    }

    /// Every secret Fanout can use, and whether it is stored (in the keychain or environment).
    pub fn secret_status(&self) -> Result<Vec<SecretStatus>, EngineError> {
        let mut statuses = Vec::new();
        for destination in &self.config.destinations {
            for secret in destination.provider.secrets {
                statuses.push(SecretStatus {
                    owner: destination.key.clone(),
                    field: secret.field.to_string(),
                    label: secret.label.to_string(),
                    stored: self.secrets.get(&destination.key, secret.field)?.is_some(),
                });
            }
        }
        statuses.push(SecretStatus {
            owner: "google".into(),
            field: "refresh_token".into(),
            label: "Google sign-in".into(),
            stored: self.secrets.get("google", "refresh_token")?.is_some(),
        });
        Ok(statuses)
    }
}
