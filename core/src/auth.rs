//! Google sign-in for a desktop app, and the access tokens Drive requests carry.
//!
//! The flow is Google's "installed app" one: authorization code with PKCE (S256), a `state`
//! checked on return, the client secret sent (Google requires it even with PKCE), and a
//! one-shot loopback listener on 127.0.0.1 with a port the OS picks. The refresh token goes
//! to the keychain; access tokens live only in memory.

use std::time::{Duration, Instant};

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::config::GoogleConfig;

/// Read-only access to every file: the least a full backup can work with.
pub const DRIVE_SCOPE: &str = "https://www.googleapis.com/auth/drive.readonly";
/// Creating files (a restore into Drive); it reaches only the files Fanout itself creates.
pub const CREATE_SCOPE: &str = "https://www.googleapis.com/auth/drive.file";
/// The scopes that let Fanout read every file (the one it asks for, or full access).
const READ_SCOPES: &[&str] = &[DRIVE_SCOPE, "https://www.googleapis.com/auth/drive"];
/// Refresh this long before Google says the access token expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Google sign-in is not set up: Fanout has no OAuth desktop client ID and secret")]
    NotConfigured,
    #[error("Google sign-in was not completed in the browser ({0}); nothing changed")]
    Denied(String),
    #[error("the browser's answer did not carry the state Fanout sent, so it was refused; sign in again")]
    StateMismatch,
    #[error("no answer from the browser within {0} seconds; sign in again")]
    TimedOut(u64),
    #[error("Google refused the sign-in: {0}")]
    Rejected(String),
    #[error("Google sent no refresh token; remove Fanout's access at myaccount.google.com and sign in again")]
    NoRefreshToken,
    #[error("Google sign-in has expired or was revoked; sign in to Google again")]
    SignInAgain,
    #[error(
        "Google did not give Fanout permission to read your Drive (the box for it was left unticked); \
         connect Google again and allow it"
    )]
    ScopeNotGranted,
    #[error("cannot reach Google's sign-in service: {0}")]
    Network(String),
    #[error("cannot listen for the sign-in redirect on 127.0.0.1: {0}")]
    Loopback(std::io::Error),
}

type ConfiguredClient = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The OAuth client of a Google "Desktop app" (whose secret Google says is not confidential).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    client: ConfiguredClient,
    revoke_url: String,
    http: reqwest::Client,
}

impl OAuthClient {
    pub fn new(google: &GoogleConfig) -> Result<Self, AuthError> {
        if google.client_id.is_empty() || google.client_secret.is_empty() {
            return Err(AuthError::NotConfigured);
        }
        let bad_url = |e: oauth2::url::ParseError| AuthError::Rejected(format!("bad sign-in URL in config: {e}"));
        let client = BasicClient::new(ClientId::new(google.client_id.clone()))
            .set_client_secret(ClientSecret::new(google.client_secret.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(AuthUrl::new(google.auth_url.clone()).map_err(bad_url)?)
            .set_token_uri(TokenUrl::new(google.token_url.clone()).map_err(bad_url)?);
        // No redirects on the token endpoint: a redirect there is never legitimate.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| AuthError::Network(e.to_string()))?;
        Ok(Self { client, revoke_url: google.revoke_url.clone(), http })
    }

    /// Binds the loopback listener and prepares the consent URL to open in the browser.
    pub async fn begin_sign_in(&self) -> Result<PendingSignIn, AuthError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(AuthError::Loopback)?;
        let port = listener.local_addr().map_err(AuthError::Loopback)?.port();
        let redirect = format!("http://127.0.0.1:{port}/");
        let redirect_url = RedirectUrl::new(redirect).map_err(|e| AuthError::Rejected(e.to_string()))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .clone()
            .set_redirect_uri(redirect_url.clone())
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new(DRIVE_SCOPE.to_string()))
            .add_scope(Scope::new(CREATE_SCOPE.to_string()))
            .set_pkce_challenge(challenge)
            // A refresh token is only issued when the consent screen is shown.
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            // Incremental authorization: a feature that needs more (writing a restore into
            // Drive) asks for its scope later, keeping what was granted.
            .add_extra_param("include_granted_scopes", "true")
            .url();
        Ok(PendingSignIn { oauth: self.clone(), listener, redirect_url, verifier, state, url: url.to_string() })
    }

    /// A new access token from the refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<AccessToken, AuthError> {
        let response = self
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(AccessToken::from_response(&response))
    }

    /// Ends the grant at Google (revoking the refresh token revokes its access tokens too).
    ///
    /// Google's revoke endpoint takes just `token` in a form; the oauth2 crate's RFC 7009
    /// client is not used because it refuses non-HTTPS endpoints, which local test servers are.
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), AuthError> {
        let response = self
            .http
            .post(&self.revoke_url)
            .form(&[("token", refresh_token)])
            .send()
            .await
            .map_err(|e| AuthError::Network(e.to_string()))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            // 400 invalid_token: already revoked or expired, so the grant is gone as asked.
            400 => Ok(()),
            status => Err(AuthError::Network(format!("the revoke endpoint answered HTTP {status}"))),
        }
    }
}

fn token_error<E: std::error::Error>(error: RequestTokenError<E, oauth2::basic::BasicErrorResponse>) -> AuthError {
    match error {
        RequestTokenError::ServerResponse(response) => match response.error() {
            BasicErrorResponseType::InvalidGrant => AuthError::SignInAgain,
            other => AuthError::Rejected(match response.error_description() {
                Some(description) => format!("{} ({description})", other.as_ref()),
                None => other.as_ref().to_string(),
            }),
        },
        RequestTokenError::Request(e) => AuthError::Network(e.to_string()),
        // Not an OAuth answer at all (an HTML 5xx page from a front end): worth retrying.
        other => AuthError::Network(other.to_string()),
    }
}

/// An access token and when it stops working.
#[derive(Clone)]
pub struct AccessToken {
    pub secret: String,
    pub expires_at: Option<Instant>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

impl AccessToken {
    fn from_response(response: &impl TokenResponse) -> Self {
        Self {
            secret: response.access_token().secret().clone(),
            expires_at: response.expires_in().map(|ttl| Instant::now() + ttl),
        }
    }

    fn is_fresh(&self) -> bool {
        self.expires_at.is_none_or(|at| Instant::now() + EXPIRY_MARGIN < at)
    }
}

/// What a completed sign-in hands back; the refresh token is for the keychain only.
pub struct SignedIn {
    pub access: AccessToken,
    pub refresh_token: String,
}

/// A sign-in waiting for the browser to come back to the loopback listener.
pub struct PendingSignIn {
    oauth: OAuthClient,
    listener: TcpListener,
    redirect_url: RedirectUrl,
    verifier: PkceCodeVerifier,
    state: CsrfToken,
    url: String,
}

impl PendingSignIn {
    /// The consent page to open in the system browser.
    pub fn authorize_url(&self) -> &str {
        &self.url
    }

    /// Waits for the redirect, checks it, and trades the code for tokens.
    pub async fn finish(self, timeout: Duration) -> Result<SignedIn, AuthError> {
        let params = tokio::time::timeout(timeout, wait_for_redirect(&self.listener))
            .await
            .map_err(|_| AuthError::TimedOut(timeout.as_secs()))??;
        let returned_state = params.iter().find(|(k, _)| k == "state").map(|(_, v)| v.as_str()).unwrap_or("");
        if !constant_time_eq(returned_state.as_bytes(), self.state.secret().as_bytes()) {
            return Err(AuthError::StateMismatch);
        }
        if let Some((_, error)) = params.iter().find(|(k, _)| k == "error") {
            return Err(AuthError::Denied(error.clone()));
        }
        let code = params
            .iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| AuthError::Rejected("the redirect carried no authorization code".into()))?;
        let response = self
            .oauth
            .client
            .clone()
            .set_redirect_uri(self.redirect_url)
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(self.verifier)
            .request_async(&self.oauth.http)
            .await
            .map_err(token_error)?;
        // Google's consent screen lets a person untick scopes: the answer says which were given.
        if let Some(granted) = response.scopes() {
            if !granted.iter().any(|s| READ_SCOPES.contains(&s.as_str())) {
                return Err(AuthError::ScopeNotGranted);
            }
        }
        let refresh_token = response.refresh_token().map(|t| t.secret().clone()).ok_or(AuthError::NoRefreshToken)?;
        Ok(SignedIn { access: AccessToken::from_response(&response), refresh_token })
    }
}

const DONE_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Fanout</title>\
<body style=\"font-family:sans-serif;text-align:center;margin-top:20vh\">\
<h1>Fanout received Google's answer</h1><p>You can close this tab and go back to Fanout.</p>";

/// Serves the loopback listener until a request carries `code`, `error` or `state`
/// (browsers also ask for things like `/favicon.ico`, which get a 404).
async fn wait_for_redirect(listener: &TcpListener) -> Result<Vec<(String, String)>, AuthError> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(AuthError::Loopback)?;
        let mut head = Vec::new();
        let mut buf = [0u8; 2048];
        // An idle connection (a browser's speculative one) must not hold up the real redirect.
        let read_until = tokio::time::Instant::now() + Duration::from_secs(5);
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match tokio::time::timeout_at(read_until, stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(n)) => head.extend_from_slice(&buf[..n]),
            }
        }
        let request_line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string();
        let target = request_line.split_whitespace().nth(1).unwrap_or("/");
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let params: Vec<(String, String)> =
            url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let answered = params.iter().any(|(k, _)| k == "code" || k == "error" || k == "state");
        let response = if answered {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{DONE_PAGE}",
                DONE_PAGE.len()
            )
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
        };
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        if answered {
            return Ok(params);
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where Drive requests get their bearer token: a fixed one (headless use, the demo), or one
/// refreshed from the stored refresh token when it expires or Drive rejects it.
pub struct TokenSource {
    current: tokio::sync::Mutex<Option<AccessToken>>,
    refresh: Option<(OAuthClient, String)>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource").field("refreshable", &self.refresh.is_some()).finish_non_exhaustive()
    }
}

impl TokenSource {
    pub fn fixed(access_token: &str) -> Self {
        let token = AccessToken { secret: access_token.to_string(), expires_at: None };
        Self { current: tokio::sync::Mutex::new(Some(token)), refresh: None }
    }

    pub fn refreshing(oauth: OAuthClient, refresh_token: String, first: Option<AccessToken>) -> Self {
        Self { current: tokio::sync::Mutex::new(first), refresh: Some((oauth, refresh_token)) }
    }

    /// A token to send now, refreshed first if it is about to expire.
    pub async fn access_token(&self) -> Result<String, AuthError> {
        let mut current = self.current.lock().await;
        match (&*current, &self.refresh) {
            (Some(token), _) if token.is_fresh() => Ok(token.secret.clone()),
            (_, Some((oauth, refresh_token))) => {
                let token = oauth.refresh(refresh_token).await?;
                let secret = token.secret.clone();
                *current = Some(token);
                Ok(secret)
            }
            (Some(token), None) => Ok(token.secret.clone()),
            (None, None) => Err(AuthError::SignInAgain),
        }
    }

    /// Drive answered 401 to `rejected`: refresh once, unless a concurrent request already
    /// did, and return the token to replay with. `None` when no refresh is possible.
    pub async fn renew(&self, rejected: &str) -> Result<Option<String>, AuthError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref().filter(|t| t.secret != rejected) {
            return Ok(Some(token.secret.clone()));
        }
        let Some((oauth, refresh_token)) = &self.refresh else {
            return Ok(None);
        };
        let token = oauth.refresh(refresh_token).await?;
        let secret = token.secret.clone();
        *current = Some(token);
        Ok(Some(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_comparison_needs_every_byte_equal() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn a_token_is_refreshed_a_minute_before_it_expires() {
        let soon = AccessToken { secret: "t".into(), expires_at: Some(Instant::now() + Duration::from_secs(30)) };
        let later = AccessToken { secret: "t".into(), expires_at: Some(Instant::now() + Duration::from_secs(600)) };
        assert!(!soon.is_fresh());
        assert!(later.is_fresh());
    }

    #[tokio::test]
    async fn a_fixed_token_cannot_be_renewed() {
        let tokens = TokenSource::fixed("abc");
        assert_eq!(tokens.access_token().await.unwrap(), "abc");
        assert_eq!(tokens.renew("abc").await.unwrap(), None);
    }
}
