//! Manager approvals: checking the PIN a manager typed at a till.
//!
//! A PIN check is an argon2 run (tens of milliseconds of one core), so it is
//! done here, in the I/O layer, before an op reaches the sync node, never in
//! the node's loop: the WebSocket reader of the terminal's connection awaits
//! it (so that connection's ops keep their order while every other connection
//! goes on), and the HTTP op and refund handlers await it in their own task.
//! What the node is handed is [`Approval::Verified`]: who approved, never the PIN.
//!
//! Wrong PINs are throttled like logins, per (manager, client address) and per
//! client address, in a throttle of their own: a cashier guessing a PIN cannot
//! lock the manager out of logging in, nor the other way round. The check runs
//! under the same bound as every password check.
//!
//! A manager may approve with their password instead (`{"user_id",
//! "password"}`): that is a password check like a login's, so it is counted in
//! the logins' own throttle, under the manager's login, and runs under the same
//! bound: guessing a password at a till is guessing it at the login form.

use super::AuthState;
use possync_core::{
    Approval, ApprovalClaim, ApprovalSecret, Password, Pin, Reject, RejectCode, Role, UserId,
};
use std::net::IpAddr;

/// The same words for an unknown user, a cashier, a manager without a PIN and a
/// wrong PIN: a till must not be able to probe which it was.
const APPROVAL_REFUSED_MESSAGE: &str = "this approval is refused: the manager, the PIN or the password is wrong (or that manager has no PIN)";

/// The key a manager's PIN attempts are counted under in the PIN throttle.
fn throttle_key(user_id: UserId) -> String {
    format!("pin:{user_id}")
}

/// A refused approval: the reject to answer the op with and, when the
/// throttle refused it, how long the till should wait (HTTP `Retry-After`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub reject: Reject,
    pub retry_after_s: Option<u64>,
}

impl From<Reject> for Refused {
    fn from(reject: Reject) -> Refused {
        let retry_after_s = (reject.code == RejectCode::RateLimited).then_some(1);
        Refused {
            reject,
            retry_after_s,
        }
    }
}

/// The throttle's refusal of one more wrong `what` ("PINs", "passwords").
fn throttled(what: &str, retry_after_s: u64) -> Refused {
    Refused {
        reject: Reject::new(
            RejectCode::RateLimited,
            format!("too many wrong {what} from this till; try again in {retry_after_s} s"),
        ),
        retry_after_s: Some(retry_after_s),
    }
}

/// Checks a claimed approval: the user must be an active manager whose PIN
/// (or password) this is. Answers the manager's id, or the reject to answer
/// the op with: `forbidden` for a wrong approval, `rate_limited` when too many
/// wrong PINs (or passwords) came from this address, or too many password
/// checks run at once, and `unavailable` when the store could not be read.
pub async fn verify_approval(
    auth: &AuthState,
    claim: ApprovalClaim,
    address: IpAddr,
) -> Result<UserId, Refused> {
    match claim.secret {
        ApprovalSecret::Pin(pin) => verify_pin(auth, claim.user_id, pin, address).await,
        ApprovalSecret::Password(password) => {
            verify_password(auth, claim.user_id, password, address).await
        }
    }
}

fn store_unavailable(error: impl std::fmt::Display) -> Refused {
    tracing::warn!(%error, "could not read an approving manager");
    Reject::new(
        RejectCode::Unavailable,
        "the approval could not be checked now; send it again",
    )
    .into()
}

fn too_many_checks(error: impl std::fmt::Display) -> Refused {
    tracing::warn!(%error, "an approval could not be checked");
    Reject::new(
        RejectCode::RateLimited,
        "too many checks at once; send the approval again in a second",
    )
    .into()
}

/// A manager's password as an approval: counted in the logins' throttle under
/// the manager's login (an unknown user under a key no login can have), checked
/// against their password hash only when they are an active manager.
async fn verify_password(
    auth: &AuthState,
    user_id: UserId,
    password: Password,
    address: IpAddr,
) -> Result<UserId, Refused> {
    let now = auth.clock.now();
    let user = match auth.store.get_user(user_id).await {
        Ok(user) => Some(user),
        Err(possync_store::StoreError::NotFound(_)) => None,
        Err(error) => return Err(store_unavailable(error)),
    };
    // Logins are lower case letters, digits and `.-_`: "#<id>" is no one's.
    let key = user.as_ref().map_or_else(
        || format!("#{user_id}"),
        |user| user.login.as_str().to_owned(),
    );
    let attempt = auth
        .throttle
        .try_begin(&key, address, now)
        .map_err(|refused| throttled("passwords", refused.retry_after_s))?;
    let password_hash = match &user {
        Some(user) if user.active && user.role == Role::Manager => {
            match auth.store.find_login(&user.login).await {
                Ok(found) => found
                    .filter(|(found, _)| found.id == user_id)
                    .map(|(_, hash)| hash),
                Err(error) => {
                    auth.throttle.forgive(attempt, now);
                    return Err(store_unavailable(error));
                }
            }
        }
        _ => None,
    };
    let matches = match auth
        .passwords
        .verify(password.as_str().to_owned(), password_hash)
        .await
    {
        Ok(matches) => matches,
        Err(error) => {
            auth.throttle.forgive(attempt, now);
            return Err(too_many_checks(error));
        }
    };
    if !matches {
        drop(attempt);
        tracing::info!(approver = %user_id, %address, "approval by password refused");
        return Err(Reject::new(RejectCode::Forbidden, APPROVAL_REFUSED_MESSAGE).into());
    }
    auth.throttle.forgive(attempt, now);
    Ok(user_id)
}

/// A manager's PIN as an approval, counted in the PIN throttle.
async fn verify_pin(
    auth: &AuthState,
    user_id: UserId,
    pin: Pin,
    address: IpAddr,
) -> Result<UserId, Refused> {
    let claim_user_id = user_id;
    let now = auth.clock.now();
    let attempt = auth
        .pins
        .try_begin(&throttle_key(claim_user_id), address, now)
        .map_err(|refused| throttled("PINs", refused.retry_after_s))?;
    let found = match auth.store.find_pin(claim_user_id).await {
        Ok(found) => found,
        Err(error) => {
            auth.pins.forgive(attempt, now);
            return Err(store_unavailable(error));
        }
    };
    // Only an active manager's PIN is ever compared; anyone else's approval is
    // checked against the dummy hash, so it costs the same and matches nothing.
    let pin_hash = found
        .filter(|(user, _)| user.active && user.role == Role::Manager)
        .and_then(|(_, pin_hash)| pin_hash);
    let pin = pin.as_str().to_owned();
    let matches = match auth.passwords.verify(pin, pin_hash).await {
        Ok(matches) => matches,
        Err(error) => {
            // The PIN was never checked: this attempt must not count as a wrong one.
            auth.pins.forgive(attempt, now);
            return Err(too_many_checks(error));
        }
    };
    if !matches {
        // The attempt stays counted.
        drop(attempt);
        tracing::info!(approver = %claim_user_id, %address, "approval refused");
        return Err(Reject::new(RejectCode::Forbidden, APPROVAL_REFUSED_MESSAGE).into());
    }
    auth.pins.forgive(attempt, now);
    Ok(claim_user_id)
}

/// Replaces a claimed approval by the verified one, or answers why not. An
/// approval already verified, or none, passes as it is.
pub async fn verify_claim(
    auth: &AuthState,
    approval: &mut Option<Box<Approval>>,
    address: IpAddr,
) -> Result<(), Refused> {
    match approval.take().map(|approval| *approval) {
        Some(Approval::Claimed(claim)) => {
            let user_id = verify_approval(auth, claim, address).await?;
            *approval = Some(Box::new(Approval::Verified { user_id }));
        }
        other => *approval = other.map(Box::new),
    }
    Ok(())
}
