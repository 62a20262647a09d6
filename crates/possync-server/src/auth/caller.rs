//! The extractors that turn a request's token into who is calling: [`Caller`]
//! (anyone with a valid token), [`UserCaller`], [`ManagerCaller`] and
//! [`TerminalCaller`]. Handlers name the one they need, so a route's rights are
//! in its signature.
//!
//! A token is resolved once per request. A token that came by cookie must also
//! pass the cross-site checks here (see [`super::token`]): an `Origin` header, when
//! present, must name this server, and a state-changing method must carry the
//! CSRF token. The check runs after the token is resolved, so an unknown token
//! is still a 401 and only a real session can be refused for lacking the proof.

use super::AuthState;
use super::token::{
    CSRF_HEADER_NAME, PresentedToken, TokenSource, csrf_token_for, is_well_formed_token,
    secrets_match, token_from_request, token_hash,
};
use crate::error::ApiError;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use possync_core::{Config, Role, Session, SessionState, Timestamp, User};
use possync_store::{Store, StoreError, TokenOwner};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A terminal: a token bound to one open session of one config.
#[derive(Debug, Clone)]
pub struct TerminalCaller {
    /// The user who opened or joined the session.
    pub user: User,
    pub session: Session,
    pub config: Config,
    /// The token's hash: the stable key terminal ids are bound to.
    pub token_hash: String,
}

/// Whoever sent the request, resolved from their token.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A back-office login (manager or cashier).
    User(User),
    /// A terminal of an open session.
    Terminal(Box<TerminalCaller>),
}

/// What the request's token is known by: its stored hash (to revoke it) and the
/// CSRF token that goes with it. Extracting it resolves the caller first, so only
/// a valid token's are ever handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerToken {
    pub hash: String,
    pub csrf_token: String,
}

impl Caller {
    /// The person behind the call (for a terminal, who opened or joined its session).
    pub fn user(&self) -> &User {
        match self {
            Caller::User(user) => user,
            Caller::Terminal(terminal) => &terminal.user,
        }
    }

    pub fn is_manager(&self) -> bool {
        matches!(self, Caller::User(user) if user.role == Role::Manager)
    }

    /// Resolves a token through the store at `now`. A revoked token (logout, a
    /// password change, a deactivated user) is 401 `unauthorized`, a user token
    /// past its life 401 `expired`, and a terminal token of a closed session 401
    /// `session_closed`: that terminal must open or join a session again.
    pub async fn from_token(
        store: &dyn Store,
        token: &str,
        now: Timestamp,
    ) -> Result<Caller, ApiError> {
        if !is_well_formed_token(token) {
            return Err(ApiError::unauthorized("this token is not valid"));
        }
        let token_hash = token_hash(token);
        let record = store
            .find_token(&token_hash)
            .await?
            .ok_or_else(|| ApiError::unauthorized("this token is not valid"))?;
        if record.revoked_at.is_some() {
            return Err(ApiError::unauthorized(
                "this token was revoked (logged out, or the user's password or access changed); log in again",
            ));
        }
        if record
            .expires_at
            .is_some_and(|expires_at| expires_at <= now)
        {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "expired",
                "this token has expired; log in again",
            ));
        }
        // A token whose user, session or config vanished is a dead token, not a 404.
        let dead_token = |error: StoreError| match error {
            StoreError::NotFound(_) => ApiError::unauthorized("this token is no longer valid"),
            other => ApiError::from(other),
        };
        let active = |user: User| {
            if user.active {
                Ok(user)
            } else {
                Err(ApiError::unauthorized("this user is deactivated"))
            }
        };
        match record.owner {
            TokenOwner::User { user_id } => {
                let user = active(store.get_user(user_id).await.map_err(dead_token)?)?;
                Ok(Caller::User(user))
            }
            TokenOwner::Terminal {
                user_id,
                session_id,
            } => {
                let session = store.get_session(session_id).await.map_err(dead_token)?;
                if session.state != SessionState::Open {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "session_closed",
                        "this terminal's session is closed; open or join a session again",
                    ));
                }
                let user = active(store.get_user(user_id).await.map_err(dead_token)?)?;
                let config = store
                    .get_config(session.config_id)
                    .await
                    .map_err(dead_token)?;
                Ok(Caller::Terminal(Box::new(TerminalCaller {
                    user,
                    session,
                    config,
                    token_hash,
                })))
            }
        }
    }
}

/// Methods that change nothing; every other method needs CSRF proof when the token is a cookie.
fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The `host[:port]` an `Origin` header names, or `None` for `null` and garbage.
fn origin_authority(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next()?;
    (!authority.is_empty()).then_some(authority)
}

/// The cross-site checks of a cookie-borne token (see the module docs).
fn check_cookie_request(parts: &Parts, presented: &PresentedToken) -> Result<(), ApiError> {
    if presented.source != TokenSource::Cookie {
        return Ok(());
    }
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok());
        let origin = origin.to_str().ok().and_then(origin_authority);
        let same_origin = matches!((origin, host), (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host));
        if !same_origin {
            return Err(ApiError::forbidden(
                "a request from another site may not use this server's cookie",
            ));
        }
    }
    if is_safe_method(&parts.method) {
        return Ok(());
    }
    let proof = parts
        .headers
        .get(CSRF_HEADER_NAME)
        .and_then(|value| value.to_str().ok());
    match proof {
        Some(proof) if secrets_match(proof, &csrf_token_for(&presented.token)) => Ok(()),
        _ => Err(ApiError::forbidden(
            "a change authenticated by cookie needs the X-CSRF-Token header (the csrf_token of the login answer or of GET /api/v1/me), or send the token as `Authorization: Bearer`",
        )),
    }
}

impl<S> FromRequestParts<S> for Caller
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Resolved once per request even when several extractors ask.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let presented = token_from_request(parts)?.ok_or_else(|| {
            ApiError::unauthorized("log in first: send `Authorization: Bearer <token>`")
        })?;
        let auth = AuthState::from_ref(state);
        let caller =
            Caller::from_token(auth.store.as_ref(), &presented.token, auth.clock.now()).await?;
        check_cookie_request(parts, &presented)?;
        parts.extensions.insert(CallerToken {
            hash: token_hash(&presented.token),
            csrf_token: csrf_token_for(&presented.token),
        });
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

impl<S> FromRequestParts<S> for CallerToken
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state).await?;
        parts
            .extensions
            .get::<CallerToken>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the caller was resolved without its token"))
    }
}

/// The client's address as the TCP peer (what the login throttle counts by).
///
/// Forwarding headers (`X-Forwarded-For`) are not trusted: anyone can write
/// them. Behind a reverse proxy every client shares the proxy's address, so
/// the per-address limit then holds for the whole shop together. A router
/// served without connection info (an in-memory test) reads as `0.0.0.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(ClientAddress(address))
    }
}

/// A user token of any role; terminal tokens are refused with 403.
#[derive(Debug, Clone)]
pub struct UserCaller(pub User);

impl<S> FromRequestParts<S> for UserCaller
where
    AuthState: FromRef<S>,
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
    AuthState: FromRef<S>,
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
    AuthState: FromRef<S>,
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

    fn cookie_request(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder()
            .method(method)
            .uri("/api/v1/categories")
            .header("host", "till.local:8080");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn cookie_tokens_need_the_same_origin_and_csrf_proof_for_changes() {
        let token = "ab".repeat(32);
        let cookie = PresentedToken {
            token: token.clone(),
            source: TokenSource::Cookie,
        };
        let proof = csrf_token_for(&token);
        let check = |method: Method, headers: &[(&str, &str)]| {
            check_cookie_request(&cookie_request(method, headers), &cookie).is_ok()
        };
        assert!(check(Method::GET, &[]));
        assert!(check(Method::GET, &[("origin", "http://till.local:8080")]));
        assert!(!check(Method::GET, &[("origin", "https://evil.example")]));
        assert!(!check(Method::GET, &[("origin", "null")]));
        assert!(!check(Method::POST, &[]));
        assert!(!check(Method::PATCH, &[("x-csrf-token", "nonsense")]));
        assert!(
            !check(Method::POST, &[("x-csrf-token", &token)]),
            "the token is not its own proof"
        );
        assert!(check(Method::POST, &[("x-csrf-token", &proof)]));
        assert!(!check(
            Method::POST,
            &[("x-csrf-token", &proof), ("origin", "http://evil.example")]
        ));
        // Header and query tokens cannot be sent by another site: no proof needed.
        for source in [TokenSource::Header, TokenSource::Query] {
            let presented = PresentedToken {
                token: token.clone(),
                source,
            };
            assert!(check_cookie_request(&cookie_request(Method::POST, &[]), &presented).is_ok());
        }
    }
}
