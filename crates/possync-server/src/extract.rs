//! Request extractors whose every rejection is the contract's JSON error.
//!
//! axum's own `Json`, `Path` and `Query` reject with plain text; these wrappers
//! answer `{"error":{"code":"invalid",...}}` (or `too_large`) instead, so no bad
//! input ever reaches a client as anything but the contract's shape.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

/// A JSON body parsed into `T` (a core type, so parsing is validation).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// A JSON body that may be absent: an empty body means `T::default()`.
/// Used where every field of the body is optional (closing a session).
#[derive(Debug, Clone)]
pub struct ApiJsonOrEmpty<T>(pub T);

/// Path parameters; a non-integer id or a malformed UUID is 400 `invalid`.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

/// Query parameters; an unknown value is 400 `invalid`.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("the request body is larger than the server accepts")
    } else {
        ApiError::invalid(format!(
            "could not read the request body: {}",
            rejection.body_text()
        ))
    }
}

/// Parses a JSON body, telling malformed JSON apart from JSON of the wrong
/// shape. Every request body of this API is a JSON object: serde would also
/// read a struct from an array of its fields in order (`[null, null]`), which
/// no client means and the document does not allow.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    if first.is_some_and(|byte| *byte != b'{') {
        return Err(ApiError::invalid(
            "invalid request body: expected a JSON object",
        ));
    }
    serde_json::from_slice(bytes).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::invalid(format!("malformed JSON: {error}"))
            }
            Category::Data => ApiError::invalid(format!("invalid request body: {error}")),
        }
    })
}

async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(body_rejection)
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers()) {
            return Err(ApiError::invalid(
                "expected a JSON body with Content-Type: application/json",
            ));
        }
        let bytes = read_body(request, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T, S> FromRequest<S> for ApiJsonOrEmpty<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_json = is_json_content_type(request.headers());
        let bytes = read_body(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJsonOrEmpty(T::default()));
        }
        if !declared_json {
            return Err(ApiError::invalid(
                "expected a JSON body with Content-Type: application/json",
            ));
        }
        parse_json(&bytes).map(ApiJsonOrEmpty)
    }
}

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            // A missing parameter is a routing bug, not the client's fault.
            Err(rejection) if rejection.status().is_server_error() => {
                Err(ApiError::internal(rejection.body_text()))
            }
            Err(rejection) => Err(ApiError::invalid(format!(
                "bad path parameter: {}",
                rejection.body_text()
            ))),
        }
    }
}

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::invalid(format!(
                "bad query parameter: {}",
                rejection.body_text()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json_content_type(&headers));
        for (value, expected) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json_content_type(&headers), expected, "{value}");
        }
    }
}
