//! Bearer tokens: how they are made, stored, found in a request and kept out of logs.
//!
//! A token is 32 random bytes, hex-encoded; the store keeps only its SHA-256,
//! so a copy of the database does not let anyone in. A token arrives in the
//! `Authorization: Bearer` header, the `?token=` query parameter (WebSockets
//! from a browser cannot set headers), or the `possync_token` cookie, in that
//! order of precedence.
//!
//! A token sent by cookie travels with every request the browser makes to this
//! server, including ones another site's page triggers. So a cookie-borne token
//! must be accompanied, on state-changing requests, by the CSRF token derived
//! from it ([`csrf_token_for`]), which only a page that could read the login
//! answer (or `GET /me`) knows. Header and query tokens need no such proof:
//! another site cannot make a browser send them.

use crate::error::ApiError;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};
use possync_core::Timestamp;
use possync_store::{Store, TokenOwner};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The cookie a browser may carry its token in.
pub const TOKEN_COOKIE_NAME: &str = "possync_token";
/// The header a cookie-authenticated state-changing request carries its CSRF token in.
pub const CSRF_HEADER_NAME: &str = "x-csrf-token";
/// Random bytes in a token; it travels as twice as many hex digits.
pub const TOKEN_BYTES: usize = 32;
/// What a `?token=` value is replaced with wherever a URL is logged.
pub const REDACTED: &str = "REDACTED";

/// A new random token, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex_encode(&bytes)
}

/// The SHA-256 of a token, hex-encoded: what the store keeps.
pub fn token_hash(token: &str) -> String {
    hex_encode(&Sha256::digest(token.as_bytes()))
}

/// The CSRF token that goes with `token`: a hash under its own label, so it
/// reveals nothing about the token and needs no storage.
pub fn csrf_token_for(token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"possync csrf v1\0");
    hasher.update(token.as_bytes());
    hex_encode(&hasher.finalize())
}

/// Whether two secrets are equal, in a time that does not depend on where they differ:
/// both are hashed first, so an attacker controls no prefix of what is compared.
pub fn secrets_match(presented: &str, expected: &str) -> bool {
    Sha256::digest(presented.as_bytes()) == Sha256::digest(expected.as_bytes())
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// A token is exactly the hex of [`TOKEN_BYTES`] bytes; anything else is refused without a lookup.
pub fn is_well_formed_token(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Creates a token for `owner`, stores its hash, and returns the token itself
/// (shown once). A token with `expires_at` stops working then.
pub async fn issue_token(
    store: &dyn Store,
    owner: TokenOwner,
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Result<String, ApiError> {
    let token = new_token();
    store
        .create_token(&token_hash(&token), owner, now, expires_at)
        .await?;
    Ok(token)
}

/// Where a request's token came from: it decides whether CSRF proof is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer`.
    Header,
    /// `?token=`.
    Query,
    /// The `possync_token` cookie: the browser sends it by itself, so it needs CSRF proof.
    Cookie,
}

/// A token as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken {
    pub token: String,
    pub source: TokenSource,
}

/// Finds the token in the header, the query or the cookie.
/// `Err` when an `Authorization` header is present but is not a bearer token.
pub fn token_from_request(parts: &Parts) -> Result<Option<PresentedToken>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        return bearer_token(value.to_str().ok()).map(|token| {
            Some(PresentedToken {
                token,
                source: TokenSource::Header,
            })
        });
    }
    if let Some(token) = token_from_query(parts.uri.query()) {
        return Ok(Some(PresentedToken {
            token,
            source: TokenSource::Query,
        }));
    }
    Ok(
        token_from_cookies(&parts.headers).map(|token| PresentedToken {
            token,
            source: TokenSource::Cookie,
        }),
    )
}

/// The token of an `Authorization` header value, which must read `Bearer <token>`.
pub fn bearer_token(value: Option<&str>) -> Result<String, ApiError> {
    let value = value
        .ok_or_else(|| ApiError::unauthorized("the Authorization header is not readable text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    Ok(token.trim().to_owned())
}

fn token_from_query(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "token")
        .map(|(_, value)| value.to_owned())
}

fn token_from_cookies(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, _)| *name == TOKEN_COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value that hands a browser its token: HttpOnly (no script
/// can read it), SameSite=Strict (no other site's page sends it), for the whole
/// server, expiring with the token.
pub fn token_cookie(token: &str, max_age_s: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{TOKEN_COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}"
    )
}

/// The `Set-Cookie` value that makes a browser forget its token.
pub fn cleared_token_cookie(secure: bool) -> String {
    token_cookie("", 0, secure)
}

/// The URL as it may be logged: a `token` query parameter's value is replaced
/// by [`REDACTED`], everything else is kept.
pub fn redacted_uri(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("token", _)) => format!("token={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{}?{}", uri.path(), redacted.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts_of(request: Request<()>) -> Parts {
        request.into_parts().0
    }

    fn token_of(request: Request<()>) -> Option<(String, TokenSource)> {
        token_from_request(&parts_of(request))
            .unwrap()
            .map(|presented| (presented.token, presented.source))
    }

    #[test]
    fn tokens_are_hex_and_hashed() {
        let token = new_token();
        assert!(is_well_formed_token(&token), "{token}");
        assert_ne!(token, new_token());
        assert_eq!(token_hash(&token).len(), 64);
        assert_ne!(token_hash(&token), token);
        assert!(!is_well_formed_token("abc"));
        assert!(!is_well_formed_token(&"g".repeat(64)));
    }

    #[test]
    fn the_csrf_token_is_neither_the_token_nor_its_stored_hash() {
        let token = new_token();
        let csrf = csrf_token_for(&token);
        assert_eq!(
            csrf,
            csrf_token_for(&token),
            "derived, so it needs no storage"
        );
        assert_ne!(csrf, token);
        assert_ne!(csrf, token_hash(&token));
        assert_ne!(csrf, csrf_token_for(&new_token()));
        assert!(secrets_match(&csrf, &csrf_token_for(&token)));
        assert!(!secrets_match(&csrf[1..], &csrf));
    }

    #[test]
    fn token_sources_in_order_of_precedence() {
        let request = || {
            Request::builder()
                .uri("/x?a=1&token=fromquery")
                .header("cookie", "other=1; possync_token=fromcookie")
        };
        assert_eq!(
            token_of(
                request()
                    .header("authorization", "Bearer fromheader")
                    .body(())
                    .unwrap()
            ),
            Some(("fromheader".into(), TokenSource::Header))
        );
        assert_eq!(
            token_of(request().body(()).unwrap()),
            Some(("fromquery".into(), TokenSource::Query))
        );
        assert_eq!(
            token_of(
                Request::builder()
                    .uri("/x")
                    .header("cookie", "a=b; possync_token=fromcookie")
                    .body(())
                    .unwrap()
            ),
            Some(("fromcookie".into(), TokenSource::Cookie))
        );
        let basic = Request::builder()
            .uri("/x")
            .header("authorization", "Basic abc")
            .body(())
            .unwrap();
        assert!(token_from_request(&parts_of(basic)).is_err());
        assert_eq!(
            token_of(Request::builder().uri("/x").body(()).unwrap()),
            None
        );
    }

    #[test]
    fn logged_urls_never_hold_a_token() {
        let cases = [
            ("/api/v1/sync?token=abc", "/api/v1/sync?token=REDACTED"),
            (
                "/api/v1/orders?state=paid&token=abc&limit=2",
                "/api/v1/orders?state=paid&token=REDACTED&limit=2",
            ),
            ("/api/v1/orders?state=paid", "/api/v1/orders?state=paid"),
            ("/api/v1/me", "/api/v1/me"),
        ];
        for (uri, expected) in cases {
            assert_eq!(redacted_uri(&uri.parse().unwrap()), expected, "{uri}");
        }
    }

    #[test]
    fn cookies_are_http_only_strict_and_expire_with_the_token() {
        let cookie = token_cookie("abc", 43_200, false);
        assert_eq!(
            cookie,
            "possync_token=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"
        );
        assert!(token_cookie("abc", 1, true).ends_with("; Secure"));
        assert!(cleared_token_cookie(false).contains("possync_token=; HttpOnly"));
        assert!(cleared_token_cookie(false).contains("Max-Age=0"));
    }
}
