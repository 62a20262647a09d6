//! Authentication: who is calling, and whether they may call at all.
//!
//! - [`password`]: argon2id hashes of passwords and PINs, under one bound on parallel runs;
//! - [`token`]: bearer tokens, where a request carries one, cookies, CSRF tokens, log redaction;
//! - [`throttle`]: failed logins limited per (login, address) and per address;
//! - [`caller`]: the extractors that turn a request's token into a [`Caller`];
//! - [`approval`]: a manager's PIN, checked before an approved op reaches the sync node.
//!
//! This module needs only [`AuthState`] (the store, the clock and its own
//! settings), never the whole application state: extractors work with any router
//! state from which an `AuthState` can be taken (`AuthState: FromRef<S>`).

pub mod approval;
pub mod caller;
pub mod password;
pub mod throttle;
pub mod token;

pub use caller::{Caller, CallerToken, ClientAddress, ManagerCaller, TerminalCaller, UserCaller};
pub use password::{PasswordCheckError, PasswordChecker, hash_password, verify_password};
pub use throttle::{LoginAttempt, LoginThrottle, ThrottleLimits, Throttled};
pub use token::{TOKEN_COOKIE_NAME, issue_token, new_token, token_hash};

use crate::clock::Clock;
use possync_store::Store;
use std::sync::Arc;

/// How authentication behaves; each field is a `possync serve` flag.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// How long a user token (from login) is valid, in milliseconds.
    pub token_ttl_ms: i64,
    /// Mark the token cookie `Secure` (only sent over HTTPS). Off by default because a
    /// shop's back room usually serves plain HTTP on the local network.
    pub secure_cookies: bool,
    /// Failed logins allowed per minute, per (login, address) and per address.
    pub throttle: ThrottleLimits,
    /// argon2 runs at once (login, password changes, PINs); the machine's cores by default.
    pub password_checks_parallel_max: usize,
    /// Password checks that may wait for a free run; past that, 429 with `Retry-After`.
    pub password_checks_waiting_max: usize,
    /// A token that may read `/metrics` (for Prometheus), besides managers' tokens.
    pub metrics_token: Option<String>,
}

impl AuthSettings {
    /// 12 hours: a shift, with room to spare.
    pub const TOKEN_TTL_MS_DEFAULT: i64 = 12 * 60 * 60 * 1000;
    /// Waiting logins beyond the running ones; at about 50 ms per check on one
    /// core, the last in line waits well under two seconds.
    pub const PASSWORD_CHECKS_WAITING_MAX_DEFAULT: usize = 32;
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            token_ttl_ms: Self::TOKEN_TTL_MS_DEFAULT,
            secure_cookies: false,
            throttle: ThrottleLimits::default(),
            password_checks_parallel_max: PasswordChecker::machine_parallelism(),
            password_checks_waiting_max: Self::PASSWORD_CHECKS_WAITING_MAX_DEFAULT,
            metrics_token: None,
        }
    }
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The metrics token is a secret: say whether there is one, never what it is.
        f.debug_struct("AuthSettings")
            .field("token_ttl_ms", &self.token_ttl_ms)
            .field("secure_cookies", &self.secure_cookies)
            .field("throttle", &self.throttle)
            .field(
                "password_checks_parallel_max",
                &self.password_checks_parallel_max,
            )
            .field(
                "password_checks_waiting_max",
                &self.password_checks_waiting_max,
            )
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<set>"),
            )
            .finish()
    }
}

/// What authentication needs from the server. Cheap to clone.
#[derive(Clone)]
pub struct AuthState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<AuthSettings>,
    pub passwords: Arc<PasswordChecker>,
    pub throttle: Arc<LoginThrottle>,
    /// Wrong PINs of manager approvals, counted apart from logins.
    pub pins: Arc<LoginThrottle>,
}

impl AuthState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: AuthSettings) -> AuthState {
        AuthState {
            passwords: Arc::new(PasswordChecker::new(
                settings.password_checks_parallel_max,
                settings.password_checks_waiting_max,
            )),
            throttle: Arc::new(LoginThrottle::new(settings.throttle)),
            pins: Arc::new(LoginThrottle::new(settings.throttle)),
            settings: Arc::new(settings),
            store,
            clock,
        }
    }
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The store is a trait object without Debug, and the settings hold a secret.
        f.debug_struct("AuthState")
            .field("token_ttl_ms", &self.settings.token_ttl_ms)
            .field("passwords", &self.passwords)
            .finish_non_exhaustive()
    }
}
