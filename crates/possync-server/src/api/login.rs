//! Logging in (`POST /api/v1/login`) and asking who the caller is (`GET /api/v1/me`).

use crate::auth::token::{cleared_token_cookie, csrf_token_for, token_cookie};
use crate::auth::{Caller, CallerToken, ClientAddress, Throttled, issue_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use possync_core::{Config, Login, Session, Timestamp, User};
use possync_store::TokenOwner;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The same words for an unknown login and a wrong password, so neither can be probed.
const LOGIN_FAILED_MESSAGE: &str = "wrong login or password";
/// The longest password `possync_core::Password` accepts.
const PASSWORD_CHARS_MAX: usize = 256;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub login: String,
    #[schema(format = Password)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// A user token: send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// Send this as `X-CSRF-Token` with every change when relying on the cookie
    /// instead of the `Authorization` header.
    pub csrf_token: String,
    /// When the token stops working (401 `expired`); log in again after that.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[schema(value_type = schemas::User)]
    pub user: User,
}

/// The 429 of a throttled login, with the seconds to wait.
fn throttled(throttled: Throttled) -> ApiError {
    ApiError::rate_limited(format!(
        "too many failed logins from this address; try again in {} s",
        throttled.retry_after_s
    ))
    .with_retry_after(throttled.retry_after_s)
}

/// Checks a login and password and answers a new user token. The token is also
/// set as an HttpOnly, SameSite=Strict cookie, so a browser may rely on that instead.
///
/// Failed logins are limited per (login, client address) and per client address;
/// a refused attempt costs no password check.
#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed body", body = schemas::ErrorBody),
        (status = 401, description = "Wrong login or password, or a deactivated user", body = schemas::ErrorBody),
        (status = 413, description = "Body too large", body = schemas::ErrorBody),
        (status = 429, description = "Too many failed logins from this address (for this login or any), or too many password checks at once",
            body = schemas::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let throttle = &state.auth.throttle;
    let attempt = throttle
        .try_begin(&request.login, address, now)
        .map_err(throttled)?;
    // A login that cannot exist is treated like an unknown one: same answer, same time.
    let found = match Login::parse(&request.login) {
        Ok(login) => match state.store.find_login(&login).await {
            Ok(found) => found,
            Err(error) => {
                throttle.forgive(attempt, now);
                return Err(error.into());
            }
        },
        Err(_) => None,
    };
    let (user, password_hash) = match found {
        // No stored password is longer than `Password` allows: a longer one is checked
        // against the dummy hash, so it costs the same and matches nothing.
        Some((user, password_hash)) if request.password.chars().count() <= PASSWORD_CHARS_MAX => {
            (Some(user), Some(password_hash))
        }
        _ => (None, None),
    };
    let password_matches = match state
        .auth
        .passwords
        .verify(request.password, password_hash)
        .await
    {
        Ok(password_matches) => password_matches,
        Err(error) => {
            // The password was never checked: this attempt must not count as a wrong one.
            throttle.forgive(attempt, now);
            return Err(error.into());
        }
    };
    let Some(user) = user.filter(|_| password_matches) else {
        // The attempt stays counted.
        drop(attempt);
        tracing::info!(login = %request.login.chars().take(64).collect::<String>(), %address, "login refused");
        return Err(ApiError::unauthorized(LOGIN_FAILED_MESSAGE));
    };
    throttle.forgive(attempt, now);
    if !user.active {
        // Said only to someone who knows the password: it reveals nothing to a prober.
        tracing::info!(user_id = %user.id, "login of a deactivated user refused");
        return Err(ApiError::unauthorized(
            "this user is deactivated; ask a manager",
        ));
    }
    let settings = &state.auth.settings;
    let expires_at = now.plus_millis(settings.token_ttl_ms);
    let token = issue_token(
        state.store.as_ref(),
        TokenOwner::User { user_id: user.id },
        now,
        Some(expires_at),
    )
    .await?;
    tracing::info!(user_id = %user.id, login = %user.login.as_str(), "logged in");
    let cookie = token_cookie(
        &token,
        settings.token_ttl_ms / 1000,
        settings.secure_cookies,
    );
    let csrf_token = csrf_token_for(&token);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(LoginResponse {
            token,
            csrf_token,
            expires_at,
            user,
        }),
    )
        .into_response())
}

/// Who the caller is: the user, and for a terminal token its session and config.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[schema(value_type = schemas::User)]
    pub user: User,
    #[schema(value_type = Option<schemas::Session>)]
    pub session: Option<Session>,
    #[schema(value_type = Option<schemas::Config>)]
    pub config: Option<Config>,
    /// The `X-CSRF-Token` value for changes sent with this token as a cookie.
    pub csrf_token: String,
}

/// Describes the caller's token: a user token has no session or config.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No, bad or expired token (code `session_closed` for a terminal of a closed session)", body = schemas::ErrorBody),
    )
)]
pub async fn me(caller: Caller, token: CallerToken) -> Json<Me> {
    let csrf_token = token.csrf_token;
    Json(match caller {
        Caller::User(user) => Me {
            user,
            session: None,
            config: None,
            csrf_token,
        },
        Caller::Terminal(terminal) => Me {
            user: terminal.user,
            session: Some(terminal.session),
            config: Some(terminal.config),
            csrf_token,
        },
    })
}

/// Revokes the token this request was sent with (a user or a terminal token):
/// it answers 401 from now on, and a terminal token's live sync connections
/// close with 4001. The token cookie, if any, is cleared.
#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "auth",
    responses(
        (status = 204, description = "Logged out; the token no longer works"),
        (status = 401, description = "No, bad, expired or already revoked token", body = schemas::ErrorBody),
        (status = 403, description = "A cookie-borne token without its X-CSRF-Token", body = schemas::ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    token: CallerToken,
) -> ApiResult<Response> {
    state
        .store
        .revoke_token(&token.hash, state.clock.now())
        .await?;
    if let Caller::Terminal(_) = caller {
        state.sync.tokens_revoked(&[token.hash]).await;
    }
    tracing::info!(user_id = %caller.user().id, "logged out");
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            cleared_token_cookie(state.auth.settings.secure_cookies),
        )],
    )
        .into_response())
}
