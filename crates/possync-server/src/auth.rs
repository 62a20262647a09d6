//! Authentication: argon2 password hashes, bearer tokens, and the [`Caller`]
//! extractors that turn a request's token into who is calling.
//!
//! A token is 32 random bytes, hex-encoded; the store keeps only its SHA-256,
//! so a copy of the database does not let anyone in. A token arrives in the
//! `Authorization: Bearer` header, the `?token=` query parameter (WebSockets
//! from a browser cannot set headers), or the `possync_token` cookie, in that
//! order of precedence.
//!
//! The extractors work with any router state `S` from which an [`AppState`]
//! can be taken (`AppState: FromRef<S>`), so the WebSocket route uses them as is.

use crate::error::ApiError;
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use possync_core::{Config, Password, Role, Session, SessionState, Timestamp, User};
use possync_store::{Store, StoreError, TokenOwner};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// The cookie a browser may carry its token in.
pub const TOKEN_COOKIE_NAME: &str = "possync_token";
/// Random bytes in a token; it travels as twice as many hex digits.
pub const TOKEN_BYTES: usize = 32;

/// Why a password could not be hashed (a bug or an exhausted machine, never the input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordHashError(String);

/// Hashes a password with argon2id and a random salt, as a PHC string.
/// Slow on purpose: call it from blocking code or through [`hash_password_off_thread`].
pub fn hash_password(password: &Password) -> Result<String, PasswordHashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_str().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| PasswordHashError(error.to_string()))
}

/// Checks a password against a PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, password_hash: &str) -> bool {
    match PasswordHash::new(password_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`hash_password`] on the blocking thread pool, so it never stalls the async workers.
pub async fn hash_password_off_thread(password: Password) -> Result<String, ApiError> {
    match tokio::task::spawn_blocking(move || hash_password(&password)).await {
        Ok(Ok(hash)) => Ok(hash),
        Ok(Err(error)) => Err(ApiError::internal(error)),
        Err(join_error) => Err(ApiError::internal(join_error)),
    }
}

/// [`verify_password`] on the blocking thread pool. Without a stored hash it still
/// spends the same time on a dummy hash, so an unknown login cannot be told from a
/// wrong password by timing.
pub async fn verify_password_off_thread(
    password: String,
    password_hash: Option<String>,
) -> Result<bool, ApiError> {
    let checked = tokio::task::spawn_blocking(move || match password_hash {
        Some(password_hash) => verify_password(&password, &password_hash),
        None => {
            let _ = verify_password(&password, dummy_password_hash());
            false
        }
    })
    .await;
    checked.map_err(ApiError::internal)
}

fn dummy_password_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Password::parse("possync-dummy-password")
            .ok()
            .and_then(|password| hash_password(&password).ok())
            .unwrap_or_default()
    })
}

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

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Creates a token for `owner`, stores its hash, and returns the token itself (shown once).
pub async fn issue_token(
    store: &dyn Store,
    owner: TokenOwner,
    now: Timestamp,
) -> Result<String, ApiError> {
    let token = new_token();
    store.create_token(&token_hash(&token), owner, now).await?;
    Ok(token)
}

/// A token is exactly the hex of [`TOKEN_BYTES`] bytes; anything else is refused without a lookup.
fn is_well_formed_token(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Finds the token in the header, the query or the cookie.
/// `Err` when an `Authorization` header is present but is not a bearer token.
fn token_from_request(parts: &Parts) -> Result<Option<String>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not readable text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        return Ok(Some(token.trim().to_owned()));
    }
    if let Some(token) = token_from_query(parts.uri.query()) {
        return Ok(Some(token));
    }
    Ok(token_from_cookies(&parts.headers))
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

/// Counts failed logins per login name in fixed one-minute windows, so a
/// password cannot be guessed at the speed of the network.
///
/// The count is kept in memory: a restart forgets it, which is fine for a limit
/// measured in minutes. The number of tracked names is bounded, so a flood of
/// made-up names cannot grow it without end.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<BTreeMap<String, FailureWindow>>,
}

#[derive(Debug, Clone, Copy)]
struct FailureWindow {
    started_at_ms: i64,
    n_failures: u32,
}

impl LoginThrottle {
    pub const WINDOW_MS: i64 = 60_000;
    pub const TRACKED_LOGINS_MAX: usize = 10_000;

    /// The key of a login attempt: what `Login::parse` would make of it, bounded.
    fn key(login: &str) -> String {
        login.trim().to_ascii_lowercase().chars().take(64).collect()
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, FailureWindow>> {
        // A panic while holding this lock cannot leave the map inconsistent; keep using it.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether attempts at `login` are refused until its window ends.
    pub fn is_blocked(&self, login: &str, now: Timestamp, failures_max: u32) -> bool {
        self.failures()
            .get(&Self::key(login))
            .is_some_and(|window| {
                now.unix_millis() - window.started_at_ms < Self::WINDOW_MS
                    && window.n_failures >= failures_max
            })
    }

    pub fn record_failure(&self, login: &str, now: Timestamp) {
        let now_ms = now.unix_millis();
        let mut failures = self.failures();
        if failures.len() >= Self::TRACKED_LOGINS_MAX {
            failures.retain(|_, window| now_ms - window.started_at_ms < Self::WINDOW_MS);
            if failures.len() >= Self::TRACKED_LOGINS_MAX {
                failures.clear();
            }
        }
        let window = failures.entry(Self::key(login)).or_insert(FailureWindow {
            started_at_ms: now_ms,
            n_failures: 0,
        });
        if now_ms - window.started_at_ms >= Self::WINDOW_MS {
            *window = FailureWindow {
                started_at_ms: now_ms,
                n_failures: 0,
            };
        }
        window.n_failures = window.n_failures.saturating_add(1);
    }

    pub fn record_success(&self, login: &str) {
        self.failures().remove(&Self::key(login));
    }
}

/// A terminal: a token bound to one open session of one config.
#[derive(Debug, Clone)]
pub struct TerminalCaller {
    /// The user who opened or joined the session.
    pub user: User,
    pub session: Session,
    pub config: Config,
}

/// Whoever sent the request, resolved from their token.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A back-office login (manager or cashier).
    User(User),
    /// A terminal of an open session.
    Terminal(Box<TerminalCaller>),
}

impl Caller {
    /// The person behind the call (for a terminal, who opened or joined its session).
    pub fn user(&self) -> &User {
        match self {
            Caller::User(user) => user,
            Caller::Terminal(terminal) => &terminal.user,
        }
    }

    /// Resolves a token through the store. A terminal token of a closed session is
    /// refused with 401 `session_closed`: that terminal must open or join a session again.
    pub async fn from_token(store: &dyn Store, token: &str) -> Result<Caller, ApiError> {
        if !is_well_formed_token(token) {
            return Err(ApiError::unauthorized("this token is not valid"));
        }
        let owner = store
            .find_token(&token_hash(token))
            .await?
            .ok_or_else(|| ApiError::unauthorized("this token is not valid"))?;
        // A token whose user, session or config vanished is a dead token, not a 404.
        let dead_token = |error: StoreError| match error {
            StoreError::NotFound(_) => ApiError::unauthorized("this token is no longer valid"),
            other => ApiError::from(other),
        };
        match owner {
            TokenOwner::User { user_id } => {
                let user = store.get_user(user_id).await.map_err(dead_token)?;
                Ok(Caller::User(user))
            }
            TokenOwner::Terminal {
                user_id,
                session_id,
            } => {
                let session = store.get_session(session_id).await.map_err(dead_token)?;
                if session.state != SessionState::Open {
                    return Err(ApiError::new(
                        axum::http::StatusCode::UNAUTHORIZED,
                        "session_closed",
                        "this terminal's session is closed; open or join a session again",
                    ));
                }
                let user = store.get_user(user_id).await.map_err(dead_token)?;
                let config = store
                    .get_config(session.config_id)
                    .await
                    .map_err(dead_token)?;
                Ok(Caller::Terminal(Box::new(TerminalCaller {
                    user,
                    session,
                    config,
                })))
            }
        }
    }
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Resolved once per request even when several extractors ask.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = token_from_request(parts)?.ok_or_else(|| {
            ApiError::unauthorized("log in first: send `Authorization: Bearer <token>`")
        })?;
        let app_state = AppState::from_ref(state);
        let caller = Caller::from_token(app_state.store.as_ref(), &token).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// A user token of any role; terminal tokens are refused with 403.
#[derive(Debug, Clone)]
pub struct UserCaller(pub User);

impl<S> FromRequestParts<S> for UserCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::User(user) => Ok(UserCaller(user)),
            Caller::Terminal(_) => Err(ApiError::forbidden(
                "this needs a user login, not a terminal token",
            )),
        }
    }
}

/// A manager's user token; cashiers and terminal tokens are refused with 403.
#[derive(Debug, Clone)]
pub struct ManagerCaller(pub User);

impl<S> FromRequestParts<S> for ManagerCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::User(user) if user.role == Role::Manager => Ok(ManagerCaller(user)),
            Caller::User(_) => Err(ApiError::forbidden("only a manager may do this")),
            Caller::Terminal(_) => Err(ApiError::forbidden(
                "only a manager's login may do this, not a terminal",
            )),
        }
    }
}

impl<S> FromRequestParts<S> for TerminalCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Terminal(terminal) => Ok(*terminal),
            Caller::User(_) => Err(ApiError::forbidden(
                "this needs a terminal token: open or join a session first (POST /api/v1/sessions)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts_of(request: Request<()>) -> Parts {
        request.into_parts().0
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
    fn token_sources_in_order_of_precedence() {
        let parts = parts_of(
            Request::builder()
                .uri("/x?a=1&token=fromquery")
                .header("authorization", "Bearer fromheader")
                .header("cookie", "other=1; possync_token=fromcookie")
                .body(())
                .unwrap(),
        );
        assert_eq!(
            token_from_request(&parts).unwrap().as_deref(),
            Some("fromheader")
        );

        let parts = parts_of(
            Request::builder()
                .uri("/x?a=1&token=fromquery")
                .header("cookie", "possync_token=fromcookie")
                .body(())
                .unwrap(),
        );
        assert_eq!(
            token_from_request(&parts).unwrap().as_deref(),
            Some("fromquery")
        );

        let parts = parts_of(
            Request::builder()
                .uri("/x")
                .header("cookie", "a=b; possync_token=fromcookie")
                .body(())
                .unwrap(),
        );
        assert_eq!(
            token_from_request(&parts).unwrap().as_deref(),
            Some("fromcookie")
        );

        let parts = parts_of(
            Request::builder()
                .uri("/x")
                .header("authorization", "Basic abc")
                .body(())
                .unwrap(),
        );
        assert!(token_from_request(&parts).is_err());

        let parts = parts_of(Request::builder().uri("/x").body(()).unwrap());
        assert_eq!(token_from_request(&parts).unwrap(), None);
    }

    #[test]
    fn passwords_round_trip_through_argon2() {
        let password = Password::parse("correct horse").unwrap();
        let hash = hash_password(&password).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(
            hash,
            hash_password(&password).unwrap(),
            "a random salt per hash"
        );
    }
}
