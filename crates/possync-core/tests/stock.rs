//! Golden tests of manual stock adjustments (`plan_stock_adjustment`): one
//! table of a level, what the manager sent (as JSON, as the API receives it)
//! and the move and on-hand, or the refusal, worked out by hand.

use possync_core::*;

fn qty(text: &str) -> Quantity {
    text.parse().unwrap()
}

fn tracked(on_hand: &str) -> StockLevel {
    StockLevel {
        tracks_stock: true,
        on_hand: qty(on_hand),
    }
}

/// Plans `body` against `level` and answers `"<move> -> <on hand>"` or the refusal's message.
fn check(level: StockLevel, body: &str) -> String {
    let input: StockAdjustmentInput = match serde_json::from_str(body) {
        Ok(input) => input,
        Err(error) => return format!("unparsed: {error}"),
    };
    match plan_stock_adjustment(level, &input) {
        Ok(adjustment) => {
            assert_eq!(adjustment.reason, input.reason);
            assert_eq!(
                level.on_hand.milli() + adjustment.qty.milli(),
                adjustment.on_hand.milli(),
                "the move takes the level to the new on-hand"
            );
            format!("{} -> {}", adjustment.qty, adjustment.on_hand)
        }
        Err(error) => error.to_string(),
    }
}

#[test]
fn adjustments_move_stock_by_their_reason() {
    let cases: &[(StockLevel, &str, &str)] = &[
        // A count moves the level to what was counted, down or up, or not at all.
        (
            tracked("12"),
            r#"{"reason": "count", "counted": "9"}"#,
            "-3 -> 9",
        ),
        (
            tracked("-2"),
            r#"{"reason": "count", "counted": "4.5"}"#,
            "6.5 -> 4.5",
        ),
        (
            tracked("7"),
            r#"{"reason": "count", "counted": "7"}"#,
            "0 -> 7",
        ),
        (
            tracked("7"),
            r#"{"reason": "count", "counted": 0}"#,
            "-7 -> 0",
        ),
        // A delivery brings goods in; damage and loss take them out.
        (
            tracked("3"),
            r#"{"reason": "delivery", "qty": "24", "note": "Supplier note 118"}"#,
            "24 -> 27",
        ),
        (
            tracked("3"),
            r#"{"reason": "damage", "qty": "-1"}"#,
            "-1 -> 2",
        ),
        (
            tracked("0"),
            r#"{"reason": "loss", "qty": "-0.250"}"#,
            "-0.25 -> -0.25",
        ),
        // A correction goes either way, with a note.
        (
            tracked("5"),
            r#"{"reason": "correction", "qty": "2", "note": "booked twice"}"#,
            "2 -> 7",
        ),
        (
            tracked("5"),
            r#"{"reason": "correction", "qty": "-2", "note": "typo"}"#,
            "-2 -> 3",
        ),
        // Refusals, each saying what to send.
        (
            StockLevel {
                tracks_stock: false,
                on_hand: qty("0"),
            },
            r#"{"reason": "delivery", "qty": "5"}"#,
            "this product does not track stock",
        ),
        (
            tracked("1"),
            r#"{"reason": "count", "qty": "5"}"#,
            "a count gives what was counted (`counted`), not a `qty`",
        ),
        (
            tracked("1"),
            r#"{"reason": "count"}"#,
            "a count gives what was counted (`counted`), not a `qty`",
        ),
        (
            tracked("1"),
            r#"{"reason": "count", "counted": "-1"}"#,
            "a counted quantity cannot be negative",
        ),
        (
            tracked("1"),
            r#"{"reason": "delivery", "counted": "5"}"#,
            "reason `delivery` gives the quantity moved (`qty`), not `counted`",
        ),
        (
            tracked("1"),
            r#"{"reason": "damage"}"#,
            "reason `damage` gives the quantity moved (`qty`), not `counted`",
        ),
        (
            tracked("1"),
            r#"{"reason": "delivery", "qty": "0"}"#,
            "reason `delivery` moves a quantity other than zero",
        ),
        (
            tracked("1"),
            r#"{"reason": "delivery", "qty": "-3"}"#,
            "a delivery brings goods in: qty must be positive",
        ),
        (
            tracked("1"),
            r#"{"reason": "damage", "qty": "1"}"#,
            "reason `damage` takes goods out: qty must be negative",
        ),
        (
            tracked("1"),
            r#"{"reason": "loss", "qty": "1"}"#,
            "reason `loss` takes goods out: qty must be negative",
        ),
        (
            tracked("1"),
            r#"{"reason": "correction", "qty": "1", "note": "  "}"#,
            "a correction needs a note that says why",
        ),
        (
            tracked("999999"),
            r#"{"reason": "delivery", "qty": "2"}"#,
            "the stock on hand would leave the range of a quantity",
        ),
        (
            tracked("-999999"),
            r#"{"reason": "count", "counted": "999999"}"#,
            "the stock on hand would leave the range of a quantity",
        ),
    ];
    for (level, body, expected) in cases {
        assert_eq!(
            &check(*level, body),
            expected,
            "{body} at {}",
            level.on_hand
        );
    }
}

#[test]
fn a_manager_sends_only_what_an_adjustment_knows() {
    for body in [
        r#"{"reason": "theft", "qty": "-1"}"#,
        r#"{"reason": "delivery", "qty": "5", "by": 3}"#,
        r#"{"reason": "delivery", "qty": "1.0001"}"#,
        r#"{"reason": "delivery", "qty": "1000001"}"#,
        r#"{"qty": "1"}"#,
    ] {
        assert!(
            check(tracked("1"), body).starts_with("unparsed: "),
            "{body}"
        );
    }
    let long_note = format!(
        r#"{{"reason": "delivery", "qty": "1", "note": "{}"}}"#,
        "x".repeat(1_001)
    );
    assert!(check(tracked("1"), &long_note).starts_with("unparsed: "));
}

#[test]
fn a_paid_order_moves_stock_as_a_sale_or_a_refund() {
    assert_eq!(
        StockMoveReason::of_payment(qty("-2")),
        StockMoveReason::Sale
    );
    assert_eq!(
        StockMoveReason::of_payment(qty("1")),
        StockMoveReason::Refund
    );
    for reason in AdjustmentReason::ALL {
        assert_eq!(AdjustmentReason::parse(reason.as_str()), Some(reason));
        assert_eq!(
            serde_json::to_value(reason).unwrap(),
            serde_json::to_value(StockMoveReason::from(reason)).unwrap(),
            "an adjustment is listed under the reason it was given"
        );
    }
}

#[test]
fn a_product_is_low_at_or_below_its_threshold_when_it_tracks_stock() {
    let product = |tracks_stock: bool, on_hand: &str, low_stock: Option<&str>| Product {
        id: ProductId(1),
        name: Name::parse("Beans").unwrap(),
        price: Money::new(990).unwrap(),
        category_id: None,
        barcode: None,
        tax_ids: vec![],
        tracks_stock,
        on_hand: qty(on_hand),
        low_stock: low_stock.map(qty),
    };
    assert!(product(true, "5", Some("5")).is_low_on_stock());
    assert!(product(true, "-1", Some("0")).is_low_on_stock());
    assert!(!product(true, "5.001", Some("5")).is_low_on_stock());
    assert!(
        !product(true, "0", None).is_low_on_stock(),
        "no threshold, never low"
    );
    assert!(
        !product(false, "0", Some("5")).is_low_on_stock(),
        "untracked, never low"
    );
    let refused: Result<ProductNew, _> =
        serde_json::from_str(r#"{"name": "Beans", "price": 990, "low_stock": "-1"}"#);
    assert!(refused.is_err(), "a negative threshold is refused");
    let cleared: ProductChanges = serde_json::from_str(r#"{"low_stock": null}"#).unwrap();
    assert_eq!(cleared.low_stock, Some(None));
}
