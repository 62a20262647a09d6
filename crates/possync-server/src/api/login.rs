//! Logging in (`POST /api/v1/login`) and asking who the caller is (`GET /api/v1/me`).

use crate::auth::{Caller, TOKEN_COOKIE_NAME, issue_token, verify_password_off_thread};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::schemas;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use possync_core::{Config, Login, Session, User};
use possync_store::TokenOwner;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The same words for an unknown login and a wrong password, so neither can be probed.
const LOGIN_FAILED_MESSAGE: &str = "wrong login or password";

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
    #[schema(value_type = schemas::User)]
    pub user: User,
}

/// Checks a login and password and answers a new user token. The token is also
/// set as an HttpOnly cookie, so a browser may rely on that instead.
#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed body", body = schemas::ErrorBody),
        (status = 401, description = "Wrong login or password", body = schemas::ErrorBody),
        (status = 429, description = "Too many failed logins for this name in the last minute", body = schemas::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let failures_max = state.config.login_failures_per_minute_max;
    if state
        .login_throttle
        .is_blocked(&request.login, now, failures_max)
    {
        return Err(ApiError::rate_limited(
            "too many failed logins for this name; wait a minute and try again",
        ));
    }
    // A login that cannot exist is treated like an unknown one: same answer, same time.
    let found = match Login::parse(&request.login) {
        Ok(login) => state.store.find_login(&login).await?,
        Err(_) => None,
    };
    let (user, password_hash) = match found {
        Some((user, password_hash)) => (Some(user), Some(password_hash)),
        None => (None, None),
    };
    let password_matches = verify_password_off_thread(request.password, password_hash).await?;
    let Some(user) = user.filter(|_| password_matches) else {
        state.login_throttle.record_failure(&request.login, now);
        tracing::info!(login = %request.login.chars().take(64).collect::<String>(), "login refused");
        return Err(ApiError::unauthorized(LOGIN_FAILED_MESSAGE));
    };
    state.login_throttle.record_success(&request.login);
    let token = issue_token(
        state.store.as_ref(),
        TokenOwner::User { user_id: user.id },
        now,
    )
    .await?;
    tracing::info!(user_id = %user.id, login = %user.login.as_str(), "logged in");
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{TOKEN_COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/{secure}");
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(LoginResponse { token, user }),
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
pub async fn me(caller: Caller) -> Json<Me> {
    Json(match caller {
        Caller::User(user) => Me {
            user,
            session: None,
            config: None,
        },
        Caller::Terminal(terminal) => Me {
            user: terminal.user,
            session: Some(terminal.session),
            config: Some(terminal.config),
        },
    })
}
