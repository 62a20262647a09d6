//! Target `json_parsers`: any bytes through the JSON parsers of the domain
//! types a client or a file controls: ops (the body of `POST .../ops` and of
//! an `op` frame), op requests, orders (as the store reads them back and as the
//! SDK reads `order` messages) and patches (as terminals read `change` messages).
//!
//! What must hold:
//! - parsing never panics;
//! - a value the parser accepts encodes, and its encoding parses back to the
//!   same value and encodes to the same text (one canonical form);
//! - a patch the parser accepts applies to an order, or refuses, without panicking.

use crate::shop::{Actor, FuzzCatalog};
use possync_core::{Applied, ApplyContext, Op, Order, OrderId, Patch, Timestamp, apply};
use possync_protocol::OpRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Checks one input against every parser.
pub fn check_json_parsers(data: &[u8]) {
    round_trip::<Op>(data, "op");
    round_trip::<OpRequest>(data, "op request");
    round_trip::<Order>(data, "order");
    if let Ok(patch) = serde_json::from_slice::<Patch>(data) {
        // The outcome may be a refusal; reaching it without a panic is the property.
        let _ = patch.apply_to(&sample_order());
    }
}

fn round_trip<T>(data: &[u8], what: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let text = serde_json::to_string(&value)
        .unwrap_or_else(|error| panic!("an accepted {what} does not encode: {error}\n{value:?}"));
    let again: T = serde_json::from_str(&text).unwrap_or_else(|error| {
        panic!("an accepted {what} does not parse from its own encoding: {error}\n{text}")
    });
    assert_eq!(
        again, value,
        "an accepted {what} parses back to another value: {text}"
    );
    let text_again = serde_json::to_string(&again)
        .unwrap_or_else(|error| panic!("an accepted {what} does not encode twice: {error}"));
    assert_eq!(text_again, text, "an accepted {what} has two encodings");
}

/// A draft with no lines, for patches to apply to.
fn sample_order() -> Order {
    let by = Actor::Counter.by();
    let context = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now: Timestamp::from_unix_millis(1_795_000_000_000),
        catalog: &FuzzCatalog,
        lease_ms: 60_000,
        auto_share: false,
        reference: "Counter 1 - 0001",
    };
    let create = Op::Create {
        config_id: None,
        customer_id: None,
        note: None,
        share: None,
    };
    match apply(None, OrderId(crate::shop::uuid(1)), &create, &context) {
        Ok(Applied::Changed(order)) => order,
        other => panic!("creating the sample order failed: {other:?}"),
    }
}
