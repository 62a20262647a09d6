//! Reading orders: a terminal sees exactly what `possync_core::can_read` allows
//! its config (never learning that other orders exist), a manager sees all.
//!
//! Orders are put in through the store's `commit_batch` with orders built by
//! `possync_core::apply`, as the sync engine would.

use possync_core::*;
use possync_store::{CommitEntry, HistoryEntry};
use possync_testkit::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

struct TestCatalog {
    product_id: ProductId,
    cash_id: PaymentMethodId,
}

impl CatalogView for TestCatalog {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        (product_id == self.product_id).then(|| SaleProduct {
            name: Name::parse("Espresso").unwrap(),
            price: Money::new(220).unwrap(),
            taxes: Vec::new(),
        })
    }

    fn customer_exists(&self, _customer_id: CustomerId) -> bool {
        true
    }

    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind> {
        (method_id == self.cash_id).then_some(PaymentMethodKind::Cash)
    }
}

/// Applies ops and commits them to the store, one op per batch.
struct OrderWriter<'a> {
    app: &'a TestApp,
    catalog: TestCatalog,
    next_op: AtomicU64,
}

impl OrderWriter<'_> {
    async fn commit(&self, order_id: OrderId, op: Op, by: &By) -> Order {
        let n = self.next_op.fetch_add(1, Ordering::SeqCst);
        let current = self.app.store.get_order(order_id).await.unwrap();
        let now = Timestamp::from_unix_millis(1_800_000_000_000 + i64::try_from(n).unwrap() * 1000);
        let reference = format!("{} - {n:04}", by.config_name);
        let context = ApplyContext {
            rights: possync_core::Rights::FULL,
            by,
            now,
            catalog: &self.catalog,
            lease_ms: 60_000,
            auto_share: false,
            reference: &reference,
        };
        let Applied::Changed(order) = apply(current.as_ref(), order_id, &op, &context).unwrap()
        else {
            panic!("{op:?} changed nothing");
        };
        let entry = HistoryEntry {
            approved_by: None,
            version: order.version,
            op_id: OpId(Uuid::from_u128(
                0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(n),
            )),
            op,
            by: by.clone(),
            at: now,
        };
        self.app
            .store
            .commit_batch(&[CommitEntry::Accepted {
                order: order.clone(),
                entry,
            }])
            .await
            .unwrap();
        order
    }

    async fn create(&self, n: u128, by: &By, share: bool) -> OrderId {
        let order_id = OrderId(Uuid::from_u128(
            0x0190_1111_0000_7000_8000_0000_0000_0000 + n,
        ));
        let op = Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: Some(share),
        };
        self.commit(order_id, op, by).await;
        order_id
    }
}

struct Counter {
    config_id: i64,
    token: String,
    by: By,
}

async fn counter(app: &TestApp, name: &str, terminal: u128) -> Counter {
    let config_id = app.create_config(name).await;
    let (session_id, token) = app.open_session(config_id).await;
    Counter {
        config_id,
        token,
        by: By {
            session_id: SessionId(session_id),
            config_id: ConfigId(config_id),
            config_name: Name::parse(name).unwrap(),
            terminal: TerminalId(Uuid::from_u128(terminal)),
        },
    }
}

fn ids_of(orders: &Value) -> BTreeSet<String> {
    orders
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {orders}"))
        .iter()
        .map(|order| order["id"].as_str().unwrap().to_owned())
        .collect()
}

fn set(ids: &[OrderId]) -> BTreeSet<String> {
    ids.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn terminals_see_exactly_their_drafts_and_shared_drafts_of_linked_counters() {
    let app = spawn_app().await;
    let catalog_ids = seed_catalog(&app).await;
    let a = counter(&app, "Counter 1", 1).await;
    let b = counter(&app, "Counter 2", 2).await;
    let c = counter(&app, "Bar", 3).await;
    app.set_links(a.config_id, &[b.config_id]).await;

    let writer = OrderWriter {
        app: &app,
        catalog: TestCatalog {
            product_id: ProductId(catalog_ids.product_id),
            cash_id: PaymentMethodId(catalog_ids.payment_method_id),
        },
        next_op: AtomicU64::new(1),
    };
    let private_a = writer.create(1, &a.by, false).await;
    let shared_a = writer.create(2, &a.by, true).await;
    let shared_c = writer.create(3, &c.by, true).await;
    let cancelled_a = writer.create(4, &a.by, true).await;
    writer
        .commit(cancelled_a, Op::Cancel { reason: None }, &a.by)
        .await;
    // Created at A, paid at B: readable by both afterwards, by nobody else.
    let paid_at_b = writer.create(5, &a.by, true).await;
    let line_id = LineId(Uuid::from_u128(77));
    writer
        .commit(
            paid_at_b,
            Op::AddLine {
                line_id,
                product_id: ProductId(catalog_ids.product_id),
                qty: Quantity::ONE,
                unit_price: None,
                discount: None,
                note: None,
            },
            &a.by,
        )
        .await;
    let paid = writer
        .commit(
            paid_at_b,
            Op::Pay {
                payments: vec![PaymentInput {
                    method_id: PaymentMethodId(catalog_ids.payment_method_id),
                    amount: Money::new(500).unwrap(),
                }],
                expected_total: Money::new(220).unwrap(),
                invoice: None,
            },
            &b.by,
        )
        .await;
    assert_eq!(paid.state, OrderState::Paid);

    // Drafts: the default state.
    for (who, expected) in [
        (&a, set(&[private_a, shared_a])),
        (&b, set(&[shared_a])),
        (&c, set(&[shared_c])),
    ] {
        let (status, orders) = app.get("/api/v1/orders", &who.token).await;
        assert_eq!(status, 200, "{orders}");
        assert_eq!(ids_of(&orders), expected, "{}", who.by.config_name);
        let (_, explicit) = app.get("/api/v1/orders?state=draft", &who.token).await;
        assert_eq!(explicit, orders);
    }
    // The token may ride in the query next to the state.
    let (status, orders) = app
        .send(
            reqwest::Method::GET,
            "/api/v1/orders?state=draft",
            &Auth::Query(b.token.clone()),
            &Body::None,
        )
        .await;
    assert_eq!((status, ids_of(&orders)), (200, set(&[shared_a])));

    // Paid: the origin and the payer; cancelled: the origin only.
    for (who, paid_expected, cancelled_expected) in [
        (&a, set(&[paid_at_b]), set(&[cancelled_a])),
        (&b, set(&[paid_at_b]), set(&[])),
        (&c, set(&[]), set(&[])),
    ] {
        let (_, paid) = app.get("/api/v1/orders?state=paid", &who.token).await;
        assert_eq!(ids_of(&paid), paid_expected, "{}", who.by.config_name);
        let (_, cancelled) = app.get("/api/v1/orders?state=cancelled", &who.token).await;
        assert_eq!(
            ids_of(&cancelled),
            cancelled_expected,
            "{}",
            who.by.config_name
        );
    }

    // One order: readable ones answer the order, the others 404 as if they did not exist.
    let readable = [
        (&a, vec![private_a, shared_a, cancelled_a, paid_at_b]),
        (&b, vec![shared_a, paid_at_b]),
        (&c, vec![shared_c]),
    ];
    let all = [private_a, shared_a, shared_c, cancelled_a, paid_at_b];
    for (who, may_read) in readable {
        for order_id in all {
            let (status, order) = app
                .get(&format!("/api/v1/orders/{order_id}"), &who.token)
                .await;
            let (history_status, history) = app
                .get(&format!("/api/v1/orders/{order_id}/history"), &who.token)
                .await;
            if may_read.contains(&order_id) {
                assert_eq!(status, 200, "{order}");
                assert_eq!(order["id"], order_id.to_string());
                assert_eq!(history_status, 200, "{history}");
                let versions: Vec<u64> = history
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["version"].as_u64().unwrap())
                    .collect();
                let expected_versions: Vec<u64> =
                    (1..=order["version"].as_u64().unwrap()).collect();
                assert_eq!(versions, expected_versions);
            } else {
                assert_eq!(
                    (status, &order["error"]["code"]),
                    (404, &json!("not_found")),
                    "{order}"
                );
                assert_eq!(
                    (history_status, &history["error"]["code"]),
                    (404, &json!("not_found"))
                );
                let unknown = app
                    .get(
                        "/api/v1/orders/0190a0e0-0000-7000-8000-0000000000ff",
                        &who.token,
                    )
                    .await
                    .1;
                assert_eq!(
                    order, unknown,
                    "a hidden order reads exactly like a missing one"
                );
            }
        }
    }

    // A manager's user token reads everything; a cashier's user token reads history only.
    let (status, drafts) = app.get("/api/v1/orders", &app.manager_token).await;
    assert_eq!(
        (status, ids_of(&drafts)),
        (200, set(&[private_a, shared_a, shared_c]))
    );
    let (status, order) = app
        .get(&format!("/api/v1/orders/{shared_c}"), &app.manager_token)
        .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(
        order["totals"],
        json!({"subtotal": 0, "tax": 0, "total": 0})
    );
    let (status, _) = app.get("/api/v1/orders", &app.cashier_token).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .get(&format!("/api/v1/orders/{shared_c}"), &app.cashier_token)
        .await;
    assert_eq!(status, 403);
    // A cashier's login reads no history; a manager's does.
    let history_path = format!("/api/v1/orders/{paid_at_b}/history");
    let (status, _) = app.get(&history_path, &app.cashier_token).await;
    assert_eq!(status, 403);
    let (status, history) = app.get(&history_path, &app.manager_token).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["op"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["create", "add_line", "pay"]);
    assert_eq!(history[2]["by"]["config_id"], b.config_id);

    // Unlinking takes effect on the next read.
    app.set_links(a.config_id, &[]).await;
    let (_, orders) = app.get("/api/v1/orders", &b.token).await;
    assert_eq!(ids_of(&orders), set(&[]));
    let (status, _) = app
        .get(&format!("/api/v1/orders/{shared_a}"), &b.token)
        .await;
    assert_eq!(status, 404);
}
