//! The golden cases in `golden/` (at the repository root), which the browser till's
//! JavaScript (`web/tests/golden.test.js`) is held to as well: line amounts, op
//! sequences with each step's resulting order or reject, and the limits. The core
//! is the authority: `POSSYNC_GOLDEN_BLESS=1` rewrites the expectations from it
//! (after a deliberate change of a rule; read the diff), and without it any
//! difference fails, naming the case and step.

use possync_core::limits::{
    LINE_AMOUNT_ABS_MAX_MINOR, LINES_PER_ORDER_MAX, MONEY_ABS_MAX_MINOR, NAME_CHARS_MAX,
    NOTE_CHARS_MAX, PAYMENTS_PER_ORDER_MAX, QUANTITY_ABS_MAX_MILLI,
};
use possync_core::totals::line_amounts;
use possync_core::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn golden_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../golden")
        .join(file)
}

fn read(file: &str) -> Value {
    let path = golden_path(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn blessing() -> bool {
    std::env::var("POSSYNC_GOLDEN_BLESS").as_deref() == Ok("1")
}

/// Writes the file back with one-space indents, as it is kept.
fn write(file: &str, document: &Value) {
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    serde::Serialize::serialize(document, &mut serializer).unwrap();
    bytes.push(b'\n');
    std::fs::write(golden_path(file), bytes).unwrap();
}

/// Compares (or, blessing, records) every `expect` of a file, then fails with the
/// list of what differed.
fn settle(file: &str, mut document: Value, actual: Vec<(String, Value)>) {
    let mut failures = Vec::new();
    {
        let mut slots = expect_slots(&mut document);
        assert_eq!(
            slots.len(),
            actual.len(),
            "{file}: one result per expectation"
        );
        for ((name, got), slot) in actual.into_iter().zip(slots.iter_mut()) {
            if blessing() {
                **slot = got;
            } else if **slot != got {
                failures.push(format!("{name}:\n  expected {}\n  got      {got}", **slot));
            }
        }
    }
    if blessing() {
        write(file, &document);
        return;
    }
    assert!(
        failures.is_empty(),
        "{file}: {} case(s) differ from possync-core (bless with POSSYNC_GOLDEN_BLESS=1 only after a deliberate change):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every `expect` in document order (cases, then their steps).
fn expect_slots(document: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    for case in document["cases"].as_array_mut().unwrap() {
        let case = case.as_object_mut().unwrap();
        if case.contains_key("steps") {
            for step in case["steps"].as_array_mut().unwrap() {
                out.push(step.get_mut("expect").unwrap());
            }
        } else {
            out.push(case.get_mut("expect").unwrap());
        }
    }
    out
}

// ---- line amounts ---------------------------------------------------------------

#[test]
fn line_amounts_match_the_golden_cases() {
    let document = read("totals.json");
    let mut actual = Vec::new();
    for case in document["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap().to_owned();
        let unit_price = Money::new(case["unit_price"].as_i64().unwrap()).unwrap();
        let qty: Quantity = case["qty"].as_str().unwrap().parse().unwrap();
        let discount: Discount = case["discount"].as_str().unwrap().parse().unwrap();
        let taxes: Vec<LineTax> = serde_json::from_value(case["taxes"].clone()).unwrap();
        let got = match line_amounts(unit_price, qty, discount, &taxes) {
            Ok(amounts) => json!({
                "subtotal": amounts.subtotal.minor(),
                "tax": amounts.tax.minor(),
                "total": amounts.total.minor(),
            }),
            Err(_) => json!("out_of_range"),
        };
        actual.push((name, got));
    }
    assert!(actual.len() >= 20, "the totals cases are all there");
    settle("totals.json", document, actual);
}

// ---- op sequences -------------------------------------------------------------------

struct GoldenCatalog {
    products: BTreeMap<i64, SaleProduct>,
    customers: Vec<i64>,
    methods: BTreeMap<i64, PaymentMethodKind>,
}

impl GoldenCatalog {
    fn from_json(catalog: &Value) -> GoldenCatalog {
        let taxes: BTreeMap<i64, LineTax> = catalog["taxes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tax| {
                let id = tax["id"].as_i64().unwrap();
                let line_tax = LineTax {
                    tax_id: TaxId(id),
                    rate: tax["rate"].as_str().unwrap().parse().unwrap(),
                    price_included: tax["price_included"].as_bool().unwrap(),
                };
                (id, line_tax)
            })
            .collect();
        let products = catalog["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|product| {
                let sale = SaleProduct {
                    name: Name::parse(product["name"].as_str().unwrap()).unwrap(),
                    price: Money::new(product["price"].as_i64().unwrap()).unwrap(),
                    taxes: product["tax_ids"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|id| taxes[&id.as_i64().unwrap()])
                        .collect(),
                };
                (product["id"].as_i64().unwrap(), sale)
            })
            .collect();
        let methods = catalog["payment_methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|method| {
                let kind: PaymentMethodKind =
                    serde_json::from_value(method["kind"].clone()).unwrap();
                (method["id"].as_i64().unwrap(), kind)
            })
            .collect();
        let customers = catalog["customer_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_i64().unwrap())
            .collect();
        GoldenCatalog {
            products,
            customers,
            methods,
        }
    }
}

impl CatalogView for GoldenCatalog {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        self.products.get(&product_id.0).cloned()
    }
    fn customer_exists(&self, customer_id: CustomerId) -> bool {
        self.customers.contains(&customer_id.0)
    }
    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind> {
        self.methods.get(&method_id.0).copied()
    }
}

/// What both implementations must agree on about an order after a step.
fn projection(order: &Order) -> Value {
    let wire = serde_json::to_value(order).unwrap();
    let lock = match &order.lock {
        None => Value::Null,
        Some(lock) => json!({
            "terminal": lock.terminal,
            "config_name": lock.config_name,
            "until_ms": lock.until.unix_millis(),
        }),
    };
    let lines: Vec<Value> = wire["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            let mut picked = serde_json::Map::new();
            for key in [
                "id",
                "product_id",
                "name",
                "qty",
                "unit_price",
                "discount",
                "note",
                "taxes",
                "subtotal",
                "tax",
                "total",
            ] {
                picked.insert(key.to_owned(), line[key].clone());
            }
            Value::Object(picked)
        })
        .collect();
    json!({
        "state": wire["state"],
        "shared": wire["shared"],
        "customer_id": wire["customer_id"],
        "note": wire["note"],
        "lines": lines,
        "totals": wire["totals"],
        "lock": lock,
        "payments": wire["payments"],
        "change": wire["change"],
        "invoice": wire["invoice"],
    })
}

#[test]
fn op_sequences_match_the_golden_cases() {
    let document = read("apply.json");
    let catalog = GoldenCatalog::from_json(&document["catalog"]);
    let start = Timestamp::parse_rfc3339(document["start"].as_str().unwrap()).unwrap();
    let lease_ms = document["lease_ms"].as_i64().unwrap();
    let actors: BTreeMap<String, By> = serde_json::from_value(document["actors"].clone()).unwrap();
    let mut actual = Vec::new();
    for case in document["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let order_id: OrderId = serde_json::from_value(case["order_id"].clone()).unwrap();
        let mut order: Option<Order> = None;
        let mut now = start;
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            now = now.plus_millis(step["after_ms"].as_i64().unwrap_or(1000));
            let by = &actors[step["by"].as_str().unwrap()];
            let mut op_json = step["op"].clone();
            if op_json["expected_total"] == "current" {
                op_json["expected_total"] =
                    json!(order.as_ref().map_or(0, |order| order.totals.total.minor()));
            }
            let got = match serde_json::from_value::<Op>(op_json) {
                // A value out of its bounds never becomes an op: the decoder refuses it.
                Err(_) => json!({"reject": "invalid"}),
                Ok(op) => {
                    let ctx = ApplyContext {
                        rights: possync_core::Rights::FULL,
                        by,
                        now,
                        catalog: &catalog,
                        lease_ms,
                        auto_share: false,
                        reference: "Golden 0001",
                    };
                    match apply(order.as_ref(), order_id, &op, &ctx) {
                        Ok(Applied::Changed(next)) => {
                            let seen = projection(&next);
                            order = Some(next);
                            seen
                        }
                        Ok(Applied::Unchanged) => projection(order.as_ref().unwrap()),
                        Err(reject) => json!({"reject": reject.code.as_str()}),
                    }
                }
            };
            actual.push((format!("{name}, step {}", i + 1), got));
        }
    }
    assert!(actual.len() >= 60, "the apply cases are all there");
    settle("apply.json", document, actual);
}

#[test]
fn the_limits_match_the_golden_file() {
    let limits = read("limits.json");
    let pairs: [(&str, i64); 7] = [
        ("QUANTITY_ABS_MAX_MILLI", QUANTITY_ABS_MAX_MILLI),
        ("LINE_AMOUNT_ABS_MAX_MINOR", LINE_AMOUNT_ABS_MAX_MINOR),
        ("MONEY_ABS_MAX_MINOR", MONEY_ABS_MAX_MINOR),
        ("NOTE_CHARS_MAX", NOTE_CHARS_MAX as i64),
        ("NAME_CHARS_MAX", NAME_CHARS_MAX as i64),
        ("LINES_PER_ORDER_MAX", LINES_PER_ORDER_MAX as i64),
        ("PAYMENTS_PER_ORDER_MAX", PAYMENTS_PER_ORDER_MAX as i64),
    ];
    for (name, value) in pairs {
        assert_eq!(
            limits[name].as_i64(),
            Some(value),
            "golden/limits.json {name}"
        );
    }
}
