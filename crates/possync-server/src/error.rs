//! The one error type of the HTTP API and its mapping to the contract's JSON
//! `{"error": {"code", "message"}}` with the right status.
//!
//! Every failure a handler or extractor can meet becomes an [`ApiError`]; nothing
//! else reaches the client. Storage failures answer 503 `unavailable` with a
//! generic message, and their cause goes to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use possync_store::{Conflict, StoreError};
use serde::Serialize;
use std::borrow::Cow;

/// An error answer: HTTP status, a machine code from the contract, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Seconds to wait before trying again, sent as `Retry-After` (429 and 503 answers).
    pub retry_after_s: Option<u64>,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

/// The message of the fallback, so a test can tell "no such route" from "no such record".
pub const NO_SUCH_ROUTE_MESSAGE: &str = "no such route";

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// The same error, telling the client to wait `seconds` before trying again.
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_s = Some(seconds);
        self
    }

    /// 400: the request is malformed or a value is out of bounds.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// 401: no token, or one that is unknown or no longer valid.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the caller is known but may not do this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such record (or one the caller may not know exists).
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 with a precise code (`login_taken`, `session_closed`, ...).
    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 413: the body is larger than the server accepts.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 429: the caller sends too much too fast.
    pub fn rate_limited(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
    }

    /// 503: the server cannot serve this now. `cause` is logged, never sent.
    pub fn unavailable(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "answering 503 unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server cannot reach its storage right now; try again shortly",
        )
        .with_retry_after(1)
    }

    /// 500: a bug. The cause is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "answering 500 internal");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle this request",
        )
    }
}

/// The contract's error code of each kind of store conflict.
fn conflict_code(conflict: &Conflict) -> &'static str {
    match conflict {
        Conflict::LoginTaken => "login_taken",
        Conflict::BarcodeTaken => "barcode_taken",
        Conflict::LastManager => "last_manager",
        Conflict::SessionClosed(_) => "session_closed",
        Conflict::PrintQueueFull(_) => "print_queue_full",
        Conflict::TokenExists
        | Conflict::SessionChanged(_)
        | Conflict::OrderVersion { .. }
        | Conflict::OpAnswered
        | Conflict::RefundBeyondSold { .. } => "conflict",
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Invalid(message) => ApiError::invalid(message),
            StoreError::Conflict(conflict) => {
                ApiError::conflict(conflict_code(&conflict), conflict.to_string())
            }
            StoreError::Unavailable(cause) | StoreError::Schema(cause) => {
                ApiError::unavailable(cause)
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: &self.code,
                message: &self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// What a handler returns: a value to encode, or an error answer.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn storage_failures_hide_their_cause() {
        let response = ApiError::from(StoreError::Unavailable(
            "disk I/O error at /secret/path".into(),
        ))
        .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains("\"code\":\"unavailable\""), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
