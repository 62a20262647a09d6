//! Money rights: which ops a counter with `restrict_price_control` keeps for
//! managers, and the manager's approval that lets a cashier make one anyway.
//!
//! An approval travels inside the op object (`"approval": {"user_id", "pin"}`).
//! The PIN is a secret: it is parsed here into a [`Pin`] that never prints and
//! never serializes, checked by the server against the manager's stored hash,
//! and replaced by [`Approval::Verified`] before the op reaches the engine. The
//! engine and `apply` only ever see who approved, never how.

use crate::catalog::Password;
use crate::ids::UserId;
use crate::numbers::Money;
use crate::op::{Op, Reject, RejectCode};
use crate::order::Line;
use serde::{Deserialize, Deserializer, de};
use std::fmt;

/// The shortest and longest PIN, in digits.
pub const PIN_DIGITS_MIN: usize = 4;
pub const PIN_DIGITS_MAX: usize = 8;

/// A manager's PIN as typed: 4 to 8 ASCII digits. Never printed, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

/// Why a PIN does not parse. The message never quotes what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a PIN is {PIN_DIGITS_MIN} to {PIN_DIGITS_MAX} digits")]
pub struct PinError;

impl Pin {
    pub fn parse(text: &str) -> Result<Pin, PinError> {
        let digits = text.len();
        if !(PIN_DIGITS_MIN..=PIN_DIGITS_MAX).contains(&digits)
            || !text.bytes().all(|byte| byte.is_ascii_digit())
        {
            return Err(PinError);
        }
        Ok(Pin(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

impl<'de> Deserialize<'de> for Pin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Not `String::deserialize` + a custom error quoting the input: a
        // refusal must not echo a PIN, even a malformed one.
        let value = serde_json::Value::deserialize(deserializer)?;
        value
            .as_str()
            .ok_or(PinError)
            .and_then(Pin::parse)
            .map_err(de::Error::custom)
    }
}

/// What a manager typed to approve: their PIN, or their password (issue 8:
/// "by entering their PIN or password"). Neither ever prints nor serializes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalSecret {
    Pin(Pin),
    Password(Password),
}

/// A manager's approval as a terminal sends it: who approves, and their PIN
/// (`{"user_id", "pin"}`) or their password (`{"user_id", "password"}`), one
/// of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalClaim {
    pub user_id: UserId,
    pub secret: ApprovalSecret,
}

impl ApprovalClaim {
    /// The PIN, when the approval was given with one.
    pub fn pin(&self) -> Option<&Pin> {
        match &self.secret {
            ApprovalSecret::Pin(pin) => Some(pin),
            ApprovalSecret::Password(_) => None,
        }
    }
}

/// The approval's fields as they arrive, before exactly one secret is chosen.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalFields {
    user_id: UserId,
    #[serde(default)]
    pin: Option<Pin>,
    #[serde(default)]
    password: Option<Password>,
}

impl<'de> Deserialize<'de> for ApprovalClaim {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = ApprovalFields::deserialize(deserializer)?;
        let secret = match (fields.pin, fields.password) {
            (Some(pin), None) => ApprovalSecret::Pin(pin),
            (None, Some(password)) => ApprovalSecret::Password(password),
            _ => {
                return Err(de::Error::custom(
                    "an approval carries either a \"pin\" or a \"password\"",
                ));
            }
        };
        Ok(ApprovalClaim {
            user_id: fields.user_id,
            secret,
        })
    }
}

/// A manager's approval of one op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// As the terminal sent it, not checked yet. The engine treats it as no
    /// approval at all: only the server checks PINs.
    Claimed(ApprovalClaim),
    /// Checked by the server: `user_id` is an active manager and the PIN was theirs.
    Verified { user_id: UserId },
}

impl Approval {
    /// The manager who approved, once the approval is checked.
    pub fn verified_user(approval: Option<&Approval>) -> Option<UserId> {
        match approval {
            Some(Approval::Verified { user_id }) => Some(*user_id),
            _ => None,
        }
    }
}

/// What the acting terminal may do with money, as `apply` needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights {
    /// The acting config restricts price control and the acting user is a cashier.
    pub price_control_restricted: bool,
    /// A manager approved this op (checked by the server).
    pub approved_by: Option<UserId>,
}

impl Rights {
    /// Every right: an unrestricted counter, or a manager's own session.
    pub const FULL: Rights = Rights {
        price_control_restricted: false,
        approved_by: None,
    };

    /// Refuses `op` when it needs a manager and none approved it.
    pub fn check(&self, op: &Op) -> Result<(), Reject> {
        if self.price_control_restricted && self.approved_by.is_none() && needs_price_control(op) {
            return Err(Reject::new(
                RejectCode::Forbidden,
                "at this counter, prices, discounts and returns need a manager's approval",
            ));
        }
        Ok(())
    }

    /// What [`Rights::check`] cannot see in the op alone: under restricted
    /// price control, an unapproved op that takes a line's total below zero,
    /// or further below (a product the catalog prices below zero), pays
    /// money out without an original sale, and needs a manager too.
    /// `before` is the line's total before the op (zero for a new line).
    pub fn check_line(&self, before: Money, line: &Line) -> Result<(), Reject> {
        if self.price_control_restricted
            && self.approved_by.is_none()
            && line.total.minor() < 0
            && line.total.minor() < before.minor()
        {
            return Err(Reject::new(
                RejectCode::Forbidden,
                "at this counter, a line that pays money out needs a manager's approval",
            ));
        }
        Ok(())
    }
}

/// Whether `op` is one that `restrict_price_control` keeps for managers:
/// `set_price`, `set_discount`, a refund, a negative `qty` or `delta`, and `add_line`
/// with its own `unit_price` or a discount (a discount of 0 changes nothing,
/// as the till's `needsPriceControl` agrees).
pub fn needs_price_control(op: &Op) -> bool {
    match op {
        Op::SetPrice { .. } | Op::SetDiscount { .. } | Op::Refund { .. } => true,
        Op::SetQty { qty, .. } => qty.milli() < 0,
        Op::AddQty { delta, .. } => delta.milli() < 0,
        Op::AddLine {
            qty,
            unit_price,
            discount,
            ..
        } => {
            qty.milli() < 0
                || unit_price.is_some()
                || discount.is_some_and(|discount| discount.basis_points() != 0)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LineId, ProductId};
    use crate::numbers::{Discount, Money, Quantity};

    #[test]
    fn pins_are_four_to_eight_digits_and_never_print() {
        for good in ["0000", "1234", "12345678"] {
            assert_eq!(Pin::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "123", "123456789", "12a4", " 1234", "１２３４", "-123"] {
            assert_eq!(Pin::parse(bad), Err(PinError), "{bad:?}");
        }
        assert_eq!(format!("{:?}", Pin::parse("1234").unwrap()), "Pin(***)");
        let claim =
            serde_json::from_str::<ApprovalClaim>(r#"{"user_id":1,"password":"s3cret pass"}"#)
                .unwrap();
        assert!(
            matches!(&claim.secret, ApprovalSecret::Password(password) if password.as_str() == "s3cret pass")
        );
        assert!(!format!("{claim:?}").contains("s3cret"), "{claim:?}");
        for both_or_none in [
            r#"{"user_id":1,"pin":"1234","password":"x"}"#,
            r#"{"user_id":1}"#,
            r#"{"user_id":1,"password":""}"#,
        ] {
            assert!(
                serde_json::from_str::<ApprovalClaim>(both_or_none).is_err(),
                "{both_or_none}"
            );
        }
        let error = serde_json::from_str::<ApprovalClaim>(r#"{"user_id":1,"pin":"98x7654"}"#)
            .unwrap_err()
            .to_string();
        assert!(!error.contains("98x7654"), "{error}");
        assert!(serde_json::from_str::<ApprovalClaim>(r#"{"user_id":1,"pin":1234}"#).is_err());
        assert!(
            serde_json::from_str::<ApprovalClaim>(r#"{"user_id":1,"pin":"1234","x":1}"#).is_err()
        );
    }

    #[test]
    fn restricted_cashiers_need_approval_for_money_ops_only() {
        let line_id = LineId(uuid::Uuid::from_u128(1));
        let qty = |text: &str| text.parse::<Quantity>().unwrap();
        let needs = [
            Op::set_price(line_id, Money::new(100).unwrap()),
            Op::set_discount(line_id, "10".parse::<Discount>().unwrap()),
            Op::set_qty(line_id, qty("-1")),
            Op::add_qty(line_id, qty("-1")),
            Op::add_line(line_id, ProductId(1), qty("-2")),
            Op::AddLine {
                line_id,
                product_id: ProductId(1),
                qty: qty("1"),
                unit_price: Some(Money::new(5).unwrap()),
                discount: None,
                note: None,
            },
        ];
        let free = [
            Op::add_line(line_id, ProductId(1), qty("2")),
            Op::add_qty(line_id, qty("1")),
            Op::set_qty(line_id, qty("0")),
            Op::cancel_payment(),
            Op::begin_payment(),
            Op::AddLine {
                line_id,
                product_id: ProductId(1),
                qty: qty("1"),
                unit_price: None,
                discount: Some(Discount::ZERO),
                note: None,
            },
        ];
        let restricted = Rights {
            price_control_restricted: true,
            approved_by: None,
        };
        let approved = Rights {
            approved_by: Some(UserId(1)),
            ..restricted
        };
        for op in &needs {
            assert!(needs_price_control(op), "{op:?}");
            assert_eq!(
                restricted.check(op).unwrap_err().code,
                RejectCode::Forbidden
            );
            assert!(approved.check(op).is_ok());
            assert!(Rights::FULL.check(op).is_ok());
        }
        for op in &free {
            assert!(!needs_price_control(op), "{op:?}");
            assert!(restricted.check(op).is_ok());
        }
    }
}
