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

use super::AuthState;
use possync_core::{Approval, ApprovalClaim, Reject, RejectCode, Role, UserId};
use std::net::IpAddr;

/// The same words for an unknown user, a cashier, a manager without a PIN and a
/// wrong PIN: a till must not be able to probe which it was.
const APPROVAL_REFUSED_MESSAGE: &str =
    "this approval is refused: the manager or the PIN is wrong (or that manager has no PIN)";

/// The key a manager's PIN attempts are counted under in the PIN throttle.
fn throttle_key(user_id: UserId) -> String {
    format!("pin:{user_id}")
}

/// Checks a claimed approval: the user must be an active manager whose PIN
/// this is. Answers the manager's id, or the reject to answer the op with:
/// `forbidden` for a wrong approval, `rate_limited` when too many wrong PINs
/// came from this address (or too many password checks run at once), and
/// `unavailable` when the store could not be read.
pub async fn verify_approval(
    auth: &AuthState,
    claim: ApprovalClaim,
    address: IpAddr,
) -> Result<UserId, Reject> {
    let now = auth.clock.now();
    let attempt = auth
        .pins
        .try_begin(&throttle_key(claim.user_id), address, now)
        .map_err(|throttled| {
            Reject::new(
                RejectCode::RateLimited,
                format!(
                    "too many wrong PINs from this till; try again in {} s",
                    throttled.retry_after_s
                ),
            )
        })?;
    let found = match auth.store.find_pin(claim.user_id).await {
        Ok(found) => found,
        Err(error) => {
            auth.pins.forgive(attempt, now);
            tracing::warn!(%error, "could not read a manager's PIN");
            return Err(Reject::new(
                RejectCode::Unavailable,
                "the approval could not be checked now; send it again",
            ));
        }
    };
    // Only an active manager's PIN is ever compared; anyone else's approval is
    // checked against the dummy hash, so it costs the same and matches nothing.
    let pin_hash = found
        .filter(|(user, _)| user.active && user.role == Role::Manager)
        .and_then(|(_, pin_hash)| pin_hash);
    let pin = claim.pin.as_str().to_owned();
    let matches = match auth.passwords.verify(pin, pin_hash).await {
        Ok(matches) => matches,
        Err(error) => {
            // The PIN was never checked: this attempt must not count as a wrong one.
            auth.pins.forgive(attempt, now);
            tracing::warn!(%error, "a PIN could not be checked");
            return Err(Reject::new(
                RejectCode::RateLimited,
                "too many checks at once; send the approval again in a second",
            ));
        }
    };
    if !matches {
        // The attempt stays counted.
        drop(attempt);
        tracing::info!(approver = %claim.user_id, %address, "approval refused");
        return Err(Reject::new(RejectCode::Forbidden, APPROVAL_REFUSED_MESSAGE));
    }
    auth.pins.forgive(attempt, now);
    Ok(claim.user_id)
}

/// Replaces a claimed approval by the verified one, or answers why not. An
/// approval already verified, or none, passes as it is.
pub async fn verify_claim(
    auth: &AuthState,
    approval: &mut Option<Box<Approval>>,
    address: IpAddr,
) -> Result<(), Reject> {
    match approval.take().map(|approval| *approval) {
        Some(Approval::Claimed(claim)) => {
            let user_id = verify_approval(auth, claim, address).await?;
            *approval = Some(Box::new(Approval::Verified { user_id }));
        }
        other => *approval = other.map(Box::new),
    }
    Ok(())
}
