//! B2's error envelope: `{"status": 400, "code": "bad_request", "message": "..."}`, with the
//! HTTP status always equal to `status` (rclone's `api.Error` decodes exactly these three).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (B2 sends one with 429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    pub fn bad_auth_token() -> Self {
        Self::new(401, "bad_auth_token", "Invalid authorization token")
    }

    pub fn expired_auth_token() -> Self {
        Self::new(401, "expired_auth_token", "Authorization token has expired")
    }

    pub fn service_unavailable() -> Self {
        Self { retry_after: Some(1), ..Self::new(503, "service_unavailable", "c001_v0001000_t0001 is too busy") }
    }

    /// What B2 answers when the body's SHA1 differs from `X-Bz-Content-Sha1`.
    pub fn sha1_mismatch() -> Self {
        Self::bad_request("Sha1 did not match data received")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal_error", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "status": self.status, "code": self.code, "message": self.message });
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            (code, [(header::CONTENT_TYPE, "application/json;charset=utf-8")], body.to_string()).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
