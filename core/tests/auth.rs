//! Google sign-in (reference scenarios 1-3) against the fake's OAuth endpoints: the desktop
//! flow with PKCE and a loopback redirect, hostile answers, and the token lifecycle mid-run.

mod support;

use std::sync::Arc;

use fanout_core::config::Config;
use fanout_core::db::{FileQuery, SyncStatus};
use fanout_core::secrets::{MemorySecrets, SecretStore};
use fanout_core::sync::SyncOptions;
use fanout_core::{Engine, EngineError};
use fanout_testkit::fake_google::oauth::{OAuthKnobs, CLIENT_ID, CLIENT_SECRET};
use fanout_testkit::fake_google::{FakeGoogle, Fault, FaultAction};

struct SignInSetup {
    dir: tempfile::TempDir,
    drive: FakeGoogle,
    secrets: MemorySecrets,
    engine: Engine,
}

fn config_yaml(drive: &FakeGoogle, client_secret: &str, backup: &std::path::Path) -> String {
    std::fs::create_dir_all(backup).unwrap();
    let (auth, token, revoke) = drive.oauth_urls();
    format!(
        "google:\n  client_id: {CLIENT_ID}\n  client_secret: '{client_secret}'\n  auth_url: {auth}\n  token_url: {token}\n  \
         revoke_url: {revoke}\n  drive_url: {}\n  retry_base_ms: 20\n\
         destinations:\n  local:\n    type: local\n    enabled: true\n    path: {}\n",
        drive.drive_url(),
        backup.display()
    )
}

/// A Drive with `Projects/a.txt` and `Projects/b.txt`, and an engine that is not signed in.
async fn setup_with_secret(client_secret: &str) -> SignInSetup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("drive/Projects");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.txt"), b"alpha").unwrap();
    std::fs::write(root.join("b.txt"), b"bravo").unwrap();
    let drive = FakeGoogle::serve_dir(&dir.path().join("drive"), None, 0).await.unwrap();
    let yaml = config_yaml(&drive, client_secret, &dir.path().join("backup"));
    let secrets = MemorySecrets::default();
    let engine =
        Engine::open(Config::parse(&yaml, "test").unwrap(), &dir.path().join("data"), Arc::new(secrets.clone()))
            .await
            .unwrap();
    SignInSetup { dir, drive, secrets, engine }
}

async fn setup() -> SignInSetup {
    setup_with_secret(CLIENT_SECRET).await
}

/// Plays the browser: follows the consent page's redirect to the loopback listener.
fn browser(url: &str) {
    let url = url.to_string();
    tokio::spawn(async move {
        let _ = reqwest::get(&url).await;
    });
}

impl SignInSetup {
    async fn sign_in(&self) -> Result<String, EngineError> {
        self.engine.sign_in_google(browser).await
    }

    fn refresh_token(&self) -> Option<String> {
        self.secrets.get("google", "refresh_token").unwrap()
    }

    fn backed_up(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.path().join("backup/google-drive/Projects").join(name)).ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_1_sign_in_uses_pkce_s256_a_loopback_redirect_and_keeps_only_the_refresh_token() {
    let s = setup().await;

    let account = s.sign_in().await.unwrap();

    assert_eq!(account, "demo@example.com");
    let authorize = s.drive.requests().into_iter().find(|r| r.route == "oauth.authorize").unwrap();
    assert_eq!(authorize.param("code_challenge_method"), Some("S256"));
    assert_eq!(authorize.param("code_challenge").map(str::len), Some(43), "a base64url SHA-256");
    assert!(authorize.param("redirect_uri").unwrap().starts_with("http://127.0.0.1:"));
    assert!(!authorize.param("state").unwrap_or_default().is_empty());
    assert_eq!(authorize.param("access_type"), Some("offline"));
    assert_eq!(authorize.param("prompt"), Some("consent"));
    assert_eq!(
        authorize.param("scope"),
        Some("https://www.googleapis.com/auth/drive.readonly https://www.googleapis.com/auth/drive.file")
    );
    // The fake only issues tokens when the verifier matches the challenge and the secret is sent.
    let refresh = s.refresh_token().expect("refresh token stored");
    assert!(s.drive.is_live_refresh_token(&refresh));
    assert_eq!(s.secrets.get("google", "access_token").unwrap(), None, "access tokens stay in memory");
    let status = s.engine.google_status().await.unwrap();
    assert!(status.signed_in);
    assert_eq!(status.account.as_deref(), Some("demo@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_2_a_tampered_state_is_refused_and_nothing_is_stored() {
    let s = setup().await;
    s.drive.set_oauth_knobs(OAuthKnobs { tamper_state: true, ..Default::default() });

    let error = s.sign_in().await.unwrap_err();

    assert!(error.to_string().contains("did not carry the state"), "{error}");
    assert_eq!(s.refresh_token(), None);
    assert!(!s.drive.requests().iter().any(|r| r.route == "oauth.token"), "the code must not be redeemed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_2_a_denied_consent_ends_cleanly() {
    let s = setup().await;
    s.drive.set_oauth_knobs(OAuthKnobs { deny: true, ..Default::default() });

    let error = s.sign_in().await.unwrap_err();

    assert!(error.to_string().contains("access_denied"), "{error}");
    assert_eq!(s.refresh_token(), None);
    assert!(!s.engine.google_status().await.unwrap().signed_in);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_2_a_missing_client_secret_is_a_configuration_error() {
    let s = setup_with_secret("").await;

    let error = s.sign_in().await.unwrap_err();

    assert!(matches!(error, fanout_core::EngineError::Auth(fanout_core::auth::AuthError::NotConfigured)), "{error}");
    assert!(error.to_string().contains("no OAuth desktop client ID and secret"), "{error}");
    // And the fake answers a token request without the secret exactly as Google does.
    let response = reqwest::Client::new()
        .post(s.drive.oauth_urls().1)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "client_secret is missing.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_refuses_a_wrong_pkce_verifier_and_a_reused_code() {
    let s = setup().await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (auth, token, _) = s.drive.oauth_urls();
    let redirect = "http://127.0.0.1:9/";
    let consent = no_redirects
        .get(&auth)
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", "https://www.googleapis.com/auth/drive.readonly"),
            // BASE64URL(SHA256("right-verifier-right-verifier-right-verifier"))
            ("code_challenge", "vkZ_6HiNLpp7xax8CQy8ofTCExsUfhoB6b9Yx2Y26S4"),
            ("code_challenge_method", "S256"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 302);
    let location = url::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let redeem = |verifier: &'static str| {
        no_redirects.post(&token).form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
    };

    let wrong = redeem("wrong-verifier-wrong-verifier-wrong-verifier").send().await.unwrap();
    let reused = redeem("right-verifier-right-verifier-right-verifier").send().await.unwrap();

    assert_eq!(wrong.status(), 400);
    assert_eq!(wrong.json::<serde_json::Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(reused.status(), 400, "a code is single use, even after a failed attempt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_3_an_access_token_expiring_mid_listing_is_refreshed_once_and_the_request_replayed() {
    let s = setup().await;
    s.sign_in().await.unwrap();
    let refresh = s.refresh_token().unwrap();
    s.engine.add_policy("Projects", &["local".into()], true).await.unwrap();
    s.drive.clear_requests();
    s.drive.inject(Fault {
        route: Some("files.list".into()),
        file_id: None,
        times: Some(1),
        action: FaultAction::ExpireTokens,
    });

    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();

    assert!(summary.all_success, "{summary:?}");
    assert_eq!(s.drive.refresh_count(), 1);
    let lists: Vec<_> = s.drive.requests().into_iter().filter(|r| r.route == "files.list").collect();
    assert_eq!(lists[0].status, 401);
    assert_eq!(lists[1].status, 200);
    assert_eq!(lists[0].query, lists[1].query, "the same request is replayed");
    assert_eq!(s.refresh_token().as_deref(), Some(refresh.as_str()), "the refresh token is kept");
    assert_eq!(s.backed_up("a.txt").as_deref(), Some(&b"alpha"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_3_invalid_grant_stops_the_run_with_sign_in_again_and_the_next_run_converges() {
    let s = setup().await;
    s.sign_in().await.unwrap();
    s.engine.add_policy("Projects", &["local".into()], true).await.unwrap();
    assert!(s.engine.sync(SyncOptions::default()).await.unwrap().all_success);
    let id = s.drive.id_of("Projects/b.txt").unwrap();
    s.drive.set_content(&id, &b"bravo, edited"[..]);
    s.drive.set_oauth_knobs(OAuthKnobs { invalid_grant_on_refresh: true, ..Default::default() });
    s.drive.expire_access_tokens();

    let error = s.engine.sync(SyncOptions::default()).await.unwrap_err();

    assert!(error.to_string().contains("sign in to Google again"), "{error}");
    let run = s.engine.recent_runs(1).await.unwrap().remove(0);
    assert_eq!(run.status, "failed");
    assert!(run.error.as_deref().unwrap_or_default().contains("sign in to Google again"), "{run:?}");
    let rows = s.engine.files(&FileQuery { limit: 10, ..Default::default() }).await.unwrap().rows;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.destinations[0].status, SyncStatus::Synced, "{row:?}");
    }
    assert_eq!(s.backed_up("b.txt").as_deref(), Some(&b"bravo"[..]), "nothing at the destination is touched");

    // Signing in again (here: the grant works again) and syncing brings the edit over.
    s.drive.set_oauth_knobs(OAuthKnobs::default());
    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();
    assert!(summary.all_success, "{summary:?}");
    assert_eq!(s.backed_up("b.txt").as_deref(), Some(&b"bravo, edited"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_revokes_the_grant_and_deletes_the_token() {
    let s = setup().await;
    s.sign_in().await.unwrap();
    let refresh = s.refresh_token().unwrap();

    let revoked = s.engine.sign_out_google().await.unwrap();

    assert!(revoked);
    assert!(!s.drive.is_live_refresh_token(&refresh));
    assert_eq!(s.refresh_token(), None);
    let status = s.engine.google_status().await.unwrap();
    assert!(!status.signed_in && status.account.is_none());
    assert!(matches!(s.engine.drive(), Err(EngineError::NotSignedIn)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_3_a_token_endpoint_outage_during_a_refresh_is_retried_not_fatal() {
    let s = setup().await;
    s.sign_in().await.unwrap();
    s.engine.add_policy("Projects", &["local".into()], true).await.unwrap();
    s.drive.expire_access_tokens();
    s.drive.clear_requests();
    s.drive.inject(Fault {
        route: Some("oauth.token".into()),
        file_id: None,
        times: Some(1),
        action: FaultAction::Status {
            code: 503,
            reason: "backendError".into(),
            message: "try later".into(),
            retry_after: None,
        },
    });

    let summary = s.engine.sync(SyncOptions::default()).await.unwrap();

    assert!(summary.all_success, "{summary:?}");
    let token_calls: Vec<u16> =
        s.drive.requests().iter().filter(|r| r.route == "oauth.token").map(|r| r.status).collect();
    assert_eq!(token_calls, [503, 200]);
    assert_eq!(s.backed_up("b.txt").as_deref(), Some(&b"bravo"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_without_the_drive_permission_says_so_and_stores_nothing() {
    let s = setup().await;
    // The person unticks "See and download all your Google Drive files" on the consent screen.
    s.drive.set_oauth_knobs(fanout_testkit::fake_google::oauth::OAuthKnobs {
        grant_only: Some(vec!["openid".into()]),
        ..Default::default()
    });
    let err = s.sign_in().await.unwrap_err();
    assert!(err.to_string().contains("did not give Fanout permission to read your Drive"), "{err}");
    assert_eq!(s.refresh_token(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_lacks_the_drive_scope_stops_the_run_with_a_sentence() {
    let s = setup().await;
    s.sign_in().await.unwrap();
    s.engine.add_policy("Projects", &["local".into()], true).await.unwrap();
    // Google no longer grants reading (the person revoked one scope): Drive answers 403
    // insufficientPermissions, which the fake now enforces per scope.
    {
        let mut state = s.drive.state();
        for scopes in state.oauth.scopes.values_mut() {
            *scopes = "https://www.googleapis.com/auth/drive.file".into();
        }
    }
    let err = s.engine.sync(SyncOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("has not given Fanout permission to read your Drive"), "{err}");
    assert!(s.backed_up("a.txt").is_none());
}
