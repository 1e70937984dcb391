//! Google's OAuth 2.0 endpoints for installed apps, as the fake serves them.
//!
//! `GET /o/oauth2/v2/auth` consents at once and redirects to the loopback `redirect_uri`;
//! `POST /token` checks the client secret, the single-use code, the redirect URI and the PKCE
//! verifier (S256) exactly as Google does, and refreshes; `POST /revoke` ends a grant.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::State;

pub const CLIENT_ID: &str = "fanout-test.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "fake-client-secret";
const CODE_TTL: Duration = Duration::from_secs(600);

/// Switches that make the fake's sign-in misbehave the way Google sometimes does.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OAuthKnobs {
    /// The user presses "Cancel" on the consent screen.
    pub deny: bool,
    /// The redirect carries a `state` other than the one sent (a forged response).
    pub tamper_state: bool,
    /// Refreshing fails with `invalid_grant` ("Token has been expired or revoked.").
    pub invalid_grant_on_refresh: bool,
    /// Like Google, send a refresh token only when `prompt=consent` was asked for.
    pub omit_refresh_token_unless_prompt_consent: bool,
    /// The user unticks scopes on Google's (granular) consent screen: only these of the
    /// scopes asked for are granted. `None`: everything asked for.
    pub grant_only: Option<Vec<String>>,
}

#[derive(Debug)]
struct PendingCode {
    challenge: String,
    redirect_uri: String,
    issued: Instant,
    prompt_consent: bool,
    /// The scopes the user granted (space-separated, as the token response says them).
    granted: String,
}

#[derive(Debug)]
pub struct OAuthState {
    pub knobs: OAuthKnobs,
    /// Lifetime of access tokens handed out, as `expires_in`.
    pub access_ttl_secs: u64,
    pub user_email: String,
    codes: HashMap<String, PendingCode>,
    /// Live refresh tokens and the access tokens issued under each.
    grants: HashMap<String, Vec<String>>,
    /// The scopes granted with each refresh token, and with each access token issued. An
    /// access token the fake did not issue (the fixed test token) has every scope.
    pub scopes: HashMap<String, String>,
    counter: u64,
    /// How many refresh-token grants were answered (successful or not).
    pub refreshes: u32,
    /// Tokens the client revoked.
    pub revoked: Vec<String>,
}

impl Default for OAuthState {
    fn default() -> Self {
        Self {
            knobs: OAuthKnobs::default(),
            access_ttl_secs: 3599,
            user_email: "demo@example.com".to_string(),
            codes: HashMap::new(),
            grants: HashMap::new(),
            scopes: HashMap::new(),
            counter: 0,
            refreshes: 0,
            revoked: Vec::new(),
        }
    }
}

impl OAuthState {
    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{:06}", self.counter)
    }

    /// Whether a refresh token is still live (issued and not revoked).
    pub fn is_live_refresh_token(&self, token: &str) -> bool {
        self.grants.contains_key(token)
    }
}

/// Makes every access token issued by sign-in or refresh stale, as an hour passing would.
pub fn expire_access_tokens(state: &mut State) {
    let issued: Vec<String> = state.oauth.grants.values().flatten().cloned().collect();
    state.tokens.retain(|t| !issued.contains(t));
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

/// Google shows an error page (no redirect) when the request itself is malformed.
fn error_page(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/html")], format!("<h1>Error 400: {message}</h1>"))
        .into_response()
}

fn is_loopback_redirect(uri: &str) -> bool {
    ["http://127.0.0.1:", "http://[::1]:", "http://localhost:"].iter().any(|p| uri.starts_with(p))
}

pub fn authorize(state: &mut State, query: &[(String, String)]) -> Response {
    let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if get("client_id") != Some(CLIENT_ID) {
        return error_page("invalid_client (The OAuth client was not found.)");
    }
    let Some(redirect_uri) = get("redirect_uri").filter(|u| is_loopback_redirect(u)) else {
        return error_page("redirect_uri_mismatch");
    };
    if get("response_type") != Some("code") {
        return error_page("unsupported_response_type");
    }
    if get("scope").is_none_or(str::is_empty) {
        return error_page("invalid_request (Missing required parameter: scope)");
    }
    let (Some(challenge), Some("S256")) = (get("code_challenge"), get("code_challenge_method")) else {
        return error_page("invalid_request (PKCE with code_challenge_method=S256 is required)");
    };
    let sent_state = get("state").unwrap_or_default();
    let returned_state = if state.oauth.knobs.tamper_state { format!("{sent_state}x") } else { sent_state.to_string() };
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let target = if state.oauth.knobs.deny {
        let query = serde_urlencoded::to_string([("error", "access_denied"), ("state", returned_state.as_str())]);
        format!("{redirect_uri}{separator}{}", query.unwrap_or_default())
    } else {
        let code = state.oauth.next("4/fake-code");
        let asked = get("scope").unwrap_or_default();
        let granted: Vec<&str> = asked
            .split(' ')
            .filter(|s| state.oauth.knobs.grant_only.as_ref().is_none_or(|only| only.iter().any(|o| o == s)))
            .collect();
        let granted = granted.join(" ");
        state.oauth.codes.insert(
            code.clone(),
            PendingCode {
                challenge: challenge.to_string(),
                redirect_uri: redirect_uri.to_string(),
                issued: Instant::now(),
                prompt_consent: get("prompt") == Some("consent"),
                granted: granted.clone(),
            },
        );
        let query = serde_urlencoded::to_string([
            ("code", code.as_str()),
            ("state", returned_state.as_str()),
            ("scope", granted.as_str()),
        ]);
        format!("{redirect_uri}{separator}{}", query.unwrap_or_default())
    };
    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
}

/// Client credentials from the form body or HTTP Basic, as Google accepts either.
fn client_credentials(form: &HashMap<String, String>, headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| form_urlencoded_decode(s);
            Some((decode(id), decode(secret)))
        });
    match basic {
        Some((id, secret)) => (Some(id), Some(secret).filter(|s| !s.is_empty())),
        None => (form.get("client_id").cloned(), form.get("client_secret").cloned().filter(|s| !s.is_empty())),
    }
}

fn form_urlencoded_decode(s: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
        .ok()
        .and_then(|mut v| v.pop())
        .map(|(_, v)| v)
        .unwrap_or_else(|| s.to_string())
}

pub fn token(state: &mut State, headers: &HeaderMap, body: &Bytes) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let (client_id, client_secret) = client_credentials(&form, headers);
    if client_id.as_deref() != Some(CLIENT_ID) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "The OAuth client was not found.");
    }
    match client_secret.as_deref() {
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "client_secret is missing."),
        Some(CLIENT_SECRET) => {}
        Some(_) => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized"),
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange_code(state, &form),
        Some("refresh_token") => refresh(state, &form),
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Invalid grant_type"),
    }
}

fn exchange_code(state: &mut State, form: &HashMap<String, String>) -> Response {
    let invalid_grant = || oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    // Codes are single use: taken out whether or not the rest checks out.
    let Some(pending) = form.get("code").and_then(|c| state.oauth.codes.remove(c)) else {
        return invalid_grant();
    };
    if pending.issued.elapsed() > CODE_TTL {
        return invalid_grant();
    }
    if form.get("redirect_uri") != Some(&pending.redirect_uri) {
        return oauth_error(StatusCode::BAD_REQUEST, "redirect_uri_mismatch", "Bad Request");
    }
    let Some(verifier) = form.get("code_verifier") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing code verifier.");
    };
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != pending.challenge {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid code verifier.");
    }
    let access = issue_access_token(state, &pending.granted);
    let mut body = json!({
        "access_token": access,
        "expires_in": state.oauth.access_ttl_secs,
        "scope": pending.granted,
        "token_type": "Bearer",
    });
    if pending.prompt_consent || !state.oauth.knobs.omit_refresh_token_unless_prompt_consent {
        let refresh = state.oauth.next("1//fake-refresh");
        state.oauth.grants.insert(refresh.clone(), vec![access.clone()]);
        state.oauth.scopes.insert(refresh.clone(), pending.granted.clone());
        body["refresh_token"] = json!(refresh);
    }
    json_ok(body)
}

fn refresh(state: &mut State, form: &HashMap<String, String>) -> Response {
    state.oauth.refreshes += 1;
    let refresh = form.get("refresh_token").cloned().unwrap_or_default();
    if state.oauth.knobs.invalid_grant_on_refresh || !state.oauth.grants.contains_key(&refresh) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Token has been expired or revoked.");
    }
    let granted = state.oauth.scopes.get(&refresh).cloned().unwrap_or_default();
    let access = issue_access_token(state, &granted);
    if let Some(issued) = state.oauth.grants.get_mut(&refresh) {
        issued.push(access.clone());
    }
    // Google sends no new refresh token on refresh; the client must keep the one it has.
    json_ok(json!({
        "access_token": access,
        "expires_in": state.oauth.access_ttl_secs,
        "scope": granted,
        "token_type": "Bearer",
    }))
}

fn issue_access_token(state: &mut State, scopes: &str) -> String {
    let access = state.oauth.next("ya29.fake-access");
    state.tokens.push(access.clone());
    state.oauth.scopes.insert(access.clone(), scopes.to_string());
    access
}

const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";

/// Whether `token` carries a scope that lets it call `route` (Drive v3's authorization
/// guide): reading metadata needs `drive`, `drive.readonly` or a `drive.metadata` scope;
/// reading content needs `drive` or `drive.readonly`; creating needs `drive` or `drive.file`.
pub fn token_allows(state: &State, token: &str, route: &str) -> bool {
    let Some(granted) = state.oauth.scopes.get(token) else { return true };
    let needs: &[&str] = match route {
        "files.get_media" | "files.export" => &["drive", "drive.readonly"],
        // Creating needs a write scope; `drive.file` is enough for files the app creates.
        "files.create" | "files.upload_chunk" => &["drive", "drive.file"],
        _ => &["drive", "drive.readonly", "drive.metadata.readonly", "drive.metadata"],
    };
    granted.split(' ').filter_map(|s| s.strip_prefix(SCOPE_PREFIX)).any(|s| needs.contains(&s))
}

pub fn revoke(state: &mut State, query: &[(String, String)], body: &Bytes) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let token = form
        .get("token")
        .cloned()
        .or_else(|| query.iter().find(|(k, _)| k == "token").map(|(_, v)| v.clone()))
        .unwrap_or_default();
    // Revoking either token of a grant ends the whole grant.
    let grant = state
        .oauth
        .grants
        .iter()
        .find(|(refresh, issued)| **refresh == token || issued.contains(&token))
        .map(|(refresh, _)| refresh.clone());
    let Some(refresh) = grant else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_token", "Token expired or revoked");
    };
    let issued = state.oauth.grants.remove(&refresh).unwrap_or_default();
    state.tokens.retain(|t| !issued.contains(t));
    state.oauth.revoked.push(token);
    StatusCode::OK.into_response()
}

fn json_ok(body: serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}
