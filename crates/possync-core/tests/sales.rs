//! Golden tests of the day's numbers (`sales_report`): one day of a café one hour
//! ahead of UTC, its orders written out by hand, and every grouping's answer
//! worked out by hand and compared as the JSON the API sends.
//!
//! The day (30 November, local time):
//! - A: started at Counter 1, paid at Counter 2 at 09:15: 2 espressos (440) and a
//!   croissant (180), 620 with 56 tax, 300 by card and 500 cash, 180 change;
//! - B: Counter 2 at 09:40: an espresso, 220 cash exact (20 tax);
//! - C: the Bar at 14:05: a sandwich, 1,000 by card (91 tax);
//! - D: Counter 2 at 16:00: a croissant brought back, −180 paid out in cash (−16 tax);
//! - E: the Bar at 23:59 the day before: not in the day.

use possync_core::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

const COUNTER_1: ConfigId = ConfigId(1);
const COUNTER_2: ConfigId = ConfigId(2);
const BAR: ConfigId = ConfigId(3);
const CASH: PaymentMethodId = PaymentMethodId(1);
const CARD: PaymentMethodId = PaymentMethodId(2);
const ESPRESSO: ProductId = ProductId(1);
const CROISSANT: ProductId = ProductId(2);
const SANDWICH: ProductId = ProductId(3);
const ONE_HOUR_AHEAD: i32 = 60;

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

fn money(minor: i64) -> Money {
    Money::new(minor).unwrap()
}

fn line(product_id: ProductId, name: &str, qty: &str, total: i64) -> SaleLine {
    SaleLine {
        product_id,
        name: name.to_owned(),
        qty: qty.parse().unwrap(),
        total: money(total),
    }
}

#[allow(clippy::too_many_arguments)]
fn fact(
    n: u128,
    paid_at: &str,
    started_at: ConfigId,
    paid_by: ConfigId,
    (total, tax, change): (i64, i64, i64),
    payments: &[(PaymentMethodId, i64)],
    lines: Vec<SaleLine>,
) -> SaleFact {
    SaleFact {
        order_id: OrderId(Uuid::from_u128(n)),
        paid_at: at(paid_at),
        started_at,
        paid_by,
        total: money(total),
        tax: money(tax),
        change: money(change),
        payments: payments
            .iter()
            .map(|&(method_id, amount)| Payment {
                method_id,
                amount: money(amount),
            })
            .collect(),
        lines,
    }
}

fn the_day() -> Vec<SaleFact> {
    vec![
        fact(
            1,
            "2026-11-30T08:15:00Z",
            COUNTER_1,
            COUNTER_2,
            (620, 56, 180),
            &[(CARD, 300), (CASH, 500)],
            vec![
                line(ESPRESSO, "Espresso", "2", 440),
                line(CROISSANT, "Croissant", "1", 180),
            ],
        ),
        fact(
            2,
            "2026-11-30T08:40:00Z",
            COUNTER_2,
            COUNTER_2,
            (220, 20, 0),
            &[(CASH, 220)],
            vec![line(ESPRESSO, "Espresso", "1", 220)],
        ),
        fact(
            3,
            "2026-11-30T13:05:00Z",
            BAR,
            BAR,
            (1_000, 91, 0),
            &[(CARD, 1_000)],
            vec![line(SANDWICH, "Sandwich", "1", 1_000)],
        ),
        fact(
            4,
            "2026-11-30T15:00:00Z",
            COUNTER_2,
            COUNTER_2,
            (-180, -16, 0),
            &[(CASH, -180)],
            vec![line(CROISSANT, "Croissant", "-1", -180)],
        ),
        fact(
            5,
            "2026-11-29T22:59:00Z",
            BAR,
            BAR,
            (999, 90, 0),
            &[(CARD, 999)],
            vec![line(SANDWICH, "Sandwich", "1", 999)],
        ),
    ]
}

fn names() -> SalesNames {
    SalesNames {
        methods: BTreeMap::from([
            (CASH, ("Cash".into(), true)),
            (CARD, ("Card".into(), false)),
        ]),
        configs: BTreeMap::from([
            (COUNTER_1, "Counter 1".into()),
            (COUNTER_2, "Counter 2".into()),
            (BAR, "Bar".into()),
        ]),
        // The sandwich was renamed since: the report says what it is called now.
        products: BTreeMap::from([(SANDWICH, "Club sandwich".into())]),
    }
}

/// The shop's 30 November: from 23:00 UTC on the 29th to 23:00 UTC on the 30th.
fn day() -> SalesPeriod {
    SalesPeriod::day_of(at("2026-11-30T10:30:00Z"), ONE_HOUR_AHEAD).unwrap()
}

fn report(group: SalesGrouping) -> Value {
    let report = sales_report(day(), group, &the_day(), &names()).unwrap();
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(
        (&value["orders"], &value["total"], &value["tax"]),
        (&json!(4), &json!(1_660), &json!(151)),
        "every grouping adds up the same day"
    );
    value
}

#[test]
fn the_shops_day_runs_from_its_own_midnight() {
    let period = day();
    assert_eq!(period.from, at("2026-11-29T23:00:00Z"));
    assert_eq!(period.to, at("2026-11-30T23:00:00Z"));
    let behind = SalesPeriod::day_of(at("2026-11-30T02:00:00Z"), -5 * 60).unwrap();
    assert_eq!(
        (behind.from, behind.to),
        (at("2026-11-29T05:00:00Z"), at("2026-11-30T05:00:00Z")),
        "02:00 UTC is still the 29th five hours behind"
    );
}

#[test]
fn per_hour_every_hour_of_the_day_is_a_row() {
    let value = report(SalesGrouping::Hour);
    let rows = value["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 24);
    assert_eq!(rows[0]["key"], "2026-11-29T23:00:00Z");
    assert_eq!(rows[0]["label"], "2026-11-30 00:00");
    let sold: Vec<(String, u64, i64)> = rows
        .iter()
        .filter(|row| row["orders"] != 0)
        .map(|row| {
            (
                row["label"].as_str().unwrap().to_owned(),
                row["orders"].as_u64().unwrap(),
                row["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sold,
        vec![
            ("2026-11-30 09:00".to_owned(), 2, 840),
            ("2026-11-30 14:00".to_owned(), 1, 1_000),
            ("2026-11-30 16:00".to_owned(), 1, -180),
        ]
    );
    assert_eq!(
        rows[9],
        json!({"key": "2026-11-30T08:00:00Z", "label": "2026-11-30 09:00", "orders": 2, "total": 840})
    );
}

#[test]
fn per_day_and_per_method_with_cash_net_of_change_and_refunds() {
    assert_eq!(
        report(SalesGrouping::Day)["rows"],
        json!([{"key": "2026-11-29T23:00:00Z", "label": "2026-11-30", "orders": 4, "total": 1_660}])
    );
    // Cash: 500 − 180 change + 220 − 180 paid out; card: 300 + 1,000.
    assert_eq!(
        report(SalesGrouping::Method)["rows"],
        json!([
            {"key": "1", "label": "Cash", "orders": 3, "total": 360},
            {"key": "2", "label": "Card", "orders": 2, "total": 1_300},
        ])
    );
}

#[test]
fn per_product_quantities_are_net_of_returns() {
    assert_eq!(
        report(SalesGrouping::Product)["rows"],
        json!([
            {"key": "1", "label": "Espresso", "orders": 2, "total": 660, "qty": "3"},
            {"key": "2", "label": "Croissant", "orders": 2, "total": 0, "qty": "0"},
            {"key": "3", "label": "Club sandwich", "orders": 1, "total": 1_000, "qty": "1"},
        ])
    );
}

#[test]
fn per_counter_an_order_counts_where_it_was_started_and_where_it_was_paid() {
    assert_eq!(
        report(SalesGrouping::Config)["rows"],
        json!([
            {"key": "1", "label": "Counter 1", "orders": 0, "total": 0,
             "started": {"orders": 1, "total": 620}, "paid": {"orders": 0, "total": 0}},
            {"key": "2", "label": "Counter 2", "orders": 3, "total": 660,
             "started": {"orders": 2, "total": 40}, "paid": {"orders": 3, "total": 660}},
            {"key": "3", "label": "Bar", "orders": 1, "total": 1_000,
             "started": {"orders": 1, "total": 1_000}, "paid": {"orders": 1, "total": 1_000}},
        ])
    );
}

#[test]
fn change_comes_out_of_the_cash_paid() {
    let cash_only = |method_id| method_id == CASH;
    let split = &the_day()[0];
    assert_eq!(kept(split, cash_only), vec![(CARD, 300), (CASH, 320)]);
    // Two cash payments: the change comes out of the first, then the second.
    let two_cash = fact(
        9,
        "2026-11-30T10:00:00Z",
        BAR,
        BAR,
        (100, 0, 250),
        &[(CASH, 200), (CASH, 150)],
        vec![],
    );
    assert_eq!(kept(&two_cash, cash_only), vec![(CASH, 0), (CASH, 100)]);
}

fn kept(
    fact: &SaleFact,
    is_cash: impl Fn(PaymentMethodId) -> bool,
) -> Vec<(PaymentMethodId, i128)> {
    possync_core::sales::kept_per_method(fact, is_cash)
}

#[test]
fn periods_are_bounded_and_say_what_to_ask_instead() {
    let from = at("2026-01-01T00:00:00Z");
    let check = |to: &str, offset: i32, group: SalesGrouping| {
        SalesPeriod::new(from, at(to), offset, group).map_err(|error| error.to_string())
    };
    assert!(check("2026-01-01T01:00:00Z", 0, SalesGrouping::Hour).is_ok());
    assert!(check("2026-02-01T00:00:00Z", 0, SalesGrouping::Hour).is_ok());
    assert_eq!(
        check("2026-02-01T00:00:01Z", 0, SalesGrouping::Hour),
        Err("sales per hour cover at most 31 days; group per day instead".into())
    );
    assert!(check("2027-01-01T00:00:00Z", 0, SalesGrouping::Day).is_ok());
    assert_eq!(
        check("2027-01-02T00:00:01Z", 0, SalesGrouping::Day),
        Err("a report covers at most 366 days".into())
    );
    assert_eq!(
        check("2026-01-01T00:00:00Z", 0, SalesGrouping::Day),
        Err("`to` must come after `from`".into())
    );
    assert_eq!(
        check("2026-01-02T00:00:00Z", 15 * 60, SalesGrouping::Day),
        Err("a UTC offset is at most 14 hours either way".into())
    );
    assert!(SalesPeriod::day_of(from, -14 * 60 - 1).is_err());
    assert_eq!(SalesGrouping::parse("week"), None);
    assert_eq!(SalesGrouping::parse("config"), Some(SalesGrouping::Config));
}

#[test]
fn a_method_the_shop_no_longer_names_is_shown_by_its_id() {
    let mut lost = names();
    lost.methods.remove(&CARD);
    let report = sales_report(day(), SalesGrouping::Method, &the_day(), &lost).unwrap();
    assert_eq!(report.rows[1].label, "Method #2");
    assert_eq!(report.rows[1].total, money(1_300));
}
