//! The authorization matrix (issue 8, point 8): every HTTP route and every op
//! kind, tried as every kind of caller, against one table of expected answers.
//! Nothing leaks: an order of an unlinked counter answers exactly as an order
//! that does not exist.

use possync_engine::{NodeSettings, RateLimit};
use possync_server::ServerConfig;
use possync_server::sync::SyncSettings;
use possync_testkit::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

/// Who calls, one column of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No token at all.
    Nobody,
    /// A manager's login past its time to live.
    Expired,
    /// A cashier's login after `POST /logout`.
    Revoked,
    /// A cashier assigned to every counter.
    Cashier,
    /// A cashier assigned only to the Bar, not to Counter 1 (nor the spare counter).
    Stranger,
    Manager,
    /// A terminal of Counter 1, where the orders under test were made.
    Own,
    /// A terminal of Counter 2, linked to Counter 1.
    Linked,
    /// A terminal of the Bar, not linked to Counter 1.
    Unlinked,
    /// A terminal of a session that was closed.
    Closed,
}

const WHO: [Who; 10] = [
    Who::Nobody,
    Who::Expired,
    Who::Revoked,
    Who::Cashier,
    Who::Stranger,
    Who::Manager,
    Who::Own,
    Who::Linked,
    Who::Unlinked,
    Who::Closed,
];

/// What a cell needs before its request, so that one cell's success cannot
/// change what the next cell meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fresh {
    Nothing,
    /// A token of its own (the request revokes it).
    Token,
    /// An open session of the spare counter, opened by the cashier (`{spare_session}`).
    SpareSession,
}

struct World {
    shop: Shop,
    tokens: Vec<String>,
    spare: i64,
    session_1: i64,
    order: Uuid,
    bar_order: Uuid,
    /// An order of Counter 1, paid there in cash with an invoice.
    paid_order: Uuid,
    /// The one line (an espresso) of `paid_order`.
    paid_line: Uuid,
    invoice: i64,
    category: i64,
    tax: i64,
    temp_user: i64,
    stranger_password: String,
    unique: AtomicU64,
}

impl World {
    async fn new() -> World {
        // The table makes a few hundred ops from one terminal token in a moment.
        let config = ServerConfig {
            sync: SyncSettings {
                node: NodeSettings {
                    http_ops_rate: RateLimit::new(100_000, 100_000),
                    ..NodeSettings::default()
                },
                ..SyncSettings::default()
            },
            ..ServerConfig::default()
        };
        let shop = Shop::open_with(config).await;
        let spare = shop
            .create("/api/v1/configs", json!({"name": "Spare"}))
            .await;
        let (_, stranger) = shop.add_user("stranger", "cashier", &[shop.bar]).await;
        let (temp_user, _) = shop.add_user("temp", "cashier", &[]).await;
        let category = shop
            .create("/api/v1/categories", json!({"name": "Pastry"}))
            .await;
        let tax = shop
            .create(
                "/api/v1/taxes",
                json!({"name": "Reduced", "rate": "7", "price_included": true}),
            )
            .await;
        let closed_config = shop
            .create("/api/v1/configs", json!({"name": "Closed"}))
            .await;
        let (closed_session, closed) = shop.open_session(closed_config).await;
        let (status, _) = shop
            .post(
                &format!("/api/v1/sessions/{closed_session}/close"),
                &shop.manager_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        let (session_1, own) = shop.open_session(shop.counter_1).await;
        let linked = shop.terminal_token(shop.counter_2).await;
        let unlinked = shop.terminal_token(shop.bar).await;
        let revoked = shop.login(CASHIER_LOGIN, CASHIER_PASSWORD).await;
        assert_eq!(
            shop.post("/api/v1/logout", &revoked, json!({})).await.0,
            204
        );
        let expired = shop.expired_manager_token().await;

        let world = World {
            tokens: vec![
                String::new(),
                expired,
                revoked,
                shop.cashier_token.clone(),
                stranger,
                shop.manager_token.clone(),
                own.clone(),
                linked,
                unlinked.clone(),
                closed,
            ],
            spare,
            session_1,
            order: Uuid::now_v7(),
            bar_order: Uuid::now_v7(),
            paid_order: Uuid::now_v7(),
            paid_line: Uuid::nil(),
            invoice: 0,
            category,
            tax,
            temp_user,
            stranger_password: "strangerstranger".to_owned(),
            unique: AtomicU64::new(0),
            shop,
        };
        let mut world = world;
        world.draft(&own, world.order, true).await;
        world.draft(&unlinked, world.bar_order, true).await;
        (world.invoice, world.paid_line) = world.paid_with_invoice(&own).await;
        world
    }

    /// Pays `paid_order` at `token`'s counter (made there, shared) in cash,
    /// with an invoice for the shop's customer; answers the invoice id and the order's line.
    async fn paid_with_invoice(&self, token: &str) -> (i64, Uuid) {
        let order_id = self.paid_order;
        let line = self.draft(token, order_id, true).await;
        let (status, body) = self
            .op(
                token,
                order_id,
                json!({"kind": "set_customer", "customer_id": self.shop.customer}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, order) = self
            .shop
            .get(&format!("/api/v1/orders/{order_id}"), token)
            .await;
        let total = order["totals"]["total"].as_i64().expect("a total");
        let (status, body) = self
            .op(
                token,
                order_id,
                json!({"kind": "pay", "payments": [{"method_id": self.shop.cash, "amount": total}],
                       "expected_total": total, "invoice": true}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, invoices) = self
            .shop
            .get("/api/v1/invoices", &self.shop.manager_token)
            .await;
        assert_eq!(status, 200, "{invoices}");
        let invoice = invoices
            .as_array()
            .and_then(|list| {
                list.iter()
                    .find(|invoice| invoice["order_id"] == order_id.to_string())
            })
            .and_then(|invoice| invoice["id"].as_i64())
            .expect("the paid order's invoice");
        (invoice, line)
    }

    fn token(&self, who: Who) -> &str {
        &self.tokens[WHO.iter().position(|w| *w == who).unwrap()]
    }

    /// A draft made by `token`'s terminal with one espresso line; answers the line id.
    async fn draft(&self, token: &str, order_id: Uuid, share: bool) -> Uuid {
        let line = Uuid::now_v7();
        for op in [
            json!({"kind": "create", "share": share}),
            json!({"kind": "add_line", "line_id": line, "product_id": self.shop.espresso, "qty": "1"}),
        ] {
            let (status, body) = self.op(token, order_id, op).await;
            assert_eq!(status, 200, "{body}");
        }
        line
    }

    async fn op(&self, token: &str, order_id: Uuid, op: Value) -> (u16, Value) {
        self.shop
            .post(
                &format!("/api/v1/orders/{order_id}/ops"),
                token,
                json!({"op_id": Uuid::now_v7(), "op": op}),
            )
            .await
    }

    /// A token for `who` that no other cell uses.
    async fn fresh_token(&self, who: Who) -> String {
        let shop = &self.shop;
        match who {
            Who::Cashier => shop.login(CASHIER_LOGIN, CASHIER_PASSWORD).await,
            Who::Stranger => shop.login("stranger", &self.stranger_password).await,
            Who::Manager => shop.login(MANAGER_LOGIN, MANAGER_PASSWORD).await,
            Who::Own => shop.terminal_token(shop.counter_1).await,
            Who::Linked => shop.terminal_token(shop.counter_2).await,
            Who::Unlinked => shop.terminal_token(shop.bar).await,
            Who::Nobody | Who::Expired | Who::Revoked | Who::Closed => self.token(who).to_owned(),
        }
    }

    /// The spare counter's open session, opened by the cashier if there is none.
    async fn spare_session(&self) -> i64 {
        self.shop.open_session(self.spare).await.0
    }

    fn fill(&self, text: &str, spare_session: Option<i64>) -> String {
        let n = self.unique.fetch_add(1, Ordering::Relaxed);
        let shop = &self.shop;
        text.replace("{n}", &n.to_string())
            .replace("{counter_1}", &shop.counter_1.to_string())
            .replace("{spare}", &self.spare.to_string())
            .replace("{espresso}", &shop.espresso.to_string())
            .replace("{croissant}", &shop.croissant.to_string())
            .replace("{customer}", &shop.customer.to_string())
            .replace("{cash}", &shop.cash.to_string())
            .replace("{temp_user}", &self.temp_user.to_string())
            .replace("{session_1}", &self.session_1.to_string())
            .replace("{order}", &self.order.to_string())
            .replace("{bar_order}", &self.bar_order.to_string())
            .replace("{paid_order}", &self.paid_order.to_string())
            .replace("{paid_line}", &self.paid_line.to_string())
            .replace("{invoice}", &self.invoice.to_string())
            .replace("{category}", &self.category.to_string())
            .replace("{tax}", &self.tax.to_string())
            .replace("{unknown_order}", &Uuid::now_v7().to_string())
            .replace("{op_id}", &Uuid::now_v7().to_string())
            .replace(
                "{spare_session}",
                &spare_session.map(|id| id.to_string()).unwrap_or_default(),
            )
    }
}

/// One route: method, path and body (with `{placeholders}`), what each cell
/// needs first, and the expected status per caller, in the order of [`WHO`].
type Route = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Fresh,
    [u16; 10],
);

#[rustfmt::skip]
const ROUTES: &[Route] = &[
    //                                                                                                  nobody expired revoked cashier stranger manager own linked unlinked closed
    ("GET", "/healthz", None, Fresh::Nothing,                                                            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/healthz", None, Fresh::Nothing,                                                     [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/readyz", None, Fresh::Nothing,                                                             [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/readyz", None, Fresh::Nothing,                                                      [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/openapi.json", None, Fresh::Nothing,                                                [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("POST", "/api/v1/login", Some(r#"{"login": "cashier", "password": "cashier-password"}"#), Fresh::Nothing, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/me", None, Fresh::Nothing,                                                          [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("POST", "/api/v1/logout", Some("{}"), Fresh::Token,                                                 [401, 401, 401, 204, 204, 204, 204, 204, 204, 401]),
    ("GET", "/api/v1/configs", None, Fresh::Nothing,                                                     [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("POST", "/api/v1/configs", Some(r#"{"name": "New {n}"}"#), Fresh::Nothing,                          [401, 401, 401, 403, 403, 201, 403, 403, 403, 401]),
    ("GET", "/api/v1/configs/{counter_1}", None, Fresh::Nothing,                                         [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("PATCH", "/api/v1/configs/{spare}", Some(r#"{"name": "Spare"}"#), Fresh::Nothing,                  [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("PUT", "/api/v1/configs/{spare}/sync_with", Some(r#"{"config_ids": []}"#), Fresh::Nothing,          [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/products", None, Fresh::Nothing,                                                    [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("POST", "/api/v1/products", Some(r#"{"name": "Tea {n}", "price": 150}"#), Fresh::Nothing,           [401, 401, 401, 403, 403, 201, 403, 403, 403, 401]),
    ("GET", "/api/v1/products/{espresso}", None, Fresh::Nothing,                                         [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("PATCH", "/api/v1/products/{espresso}", Some(r#"{"price": 220}"#), Fresh::Nothing,                  [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/categories", None, Fresh::Nothing,                                                  [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("POST", "/api/v1/categories", Some(r#"{"name": "Drinks {n}"}"#), Fresh::Nothing,                    [401, 401, 401, 403, 403, 201, 403, 403, 403, 401]),
    ("GET", "/api/v1/categories/{category}", None, Fresh::Nothing,                                       [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("PATCH", "/api/v1/categories/{category}", Some(r#"{"name": "Pastry"}"#), Fresh::Nothing,           [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/taxes", None, Fresh::Nothing,                                                       [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("GET", "/api/v1/taxes/{tax}", None, Fresh::Nothing,                                                 [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("PATCH", "/api/v1/taxes/{tax}", Some(r#"{"name": "Reduced"}"#), Fresh::Nothing,                     [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("POST", "/api/v1/taxes", Some(r#"{"name": "VAT {n}", "rate": "5", "price_included": true}"#), Fresh::Nothing, [401, 401, 401, 403, 403, 201, 403, 403, 403, 401]),
    ("GET", "/api/v1/customers", None, Fresh::Nothing,                                                   [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("POST", "/api/v1/customers", Some(r#"{"name": "Guest {n}"}"#), Fresh::Nothing,                      [401, 401, 401, 403, 403, 201, 201, 201, 201, 401]),
    ("GET", "/api/v1/customers/{customer}", None, Fresh::Nothing,                                        [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("PATCH", "/api/v1/customers/{customer}", Some(r#"{"name": "Ada Lovelace"}"#), Fresh::Nothing,       [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/payment_methods", None, Fresh::Nothing,                                             [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("POST", "/api/v1/payment_methods", Some(r#"{"name": "Voucher {n}", "kind": "other"}"#), Fresh::Nothing, [401, 401, 401, 403, 403, 201, 403, 403, 403, 401]),
    ("GET", "/api/v1/payment_methods/{cash}", None, Fresh::Nothing,                                      [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("PATCH", "/api/v1/payment_methods/{cash}", Some(r#"{"name": "Cash"}"#), Fresh::Nothing,            [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/users", None, Fresh::Nothing,                                                       [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("POST", "/api/v1/users", Some(r#"{"login": "user{n}", "name": "User", "role": "cashier", "password": "password{n}"}"#), Fresh::Nothing, [401, 401, 401, 403, 403, 201, 403, 403, 403, 401]),
    ("GET", "/api/v1/users/{temp_user}", None, Fresh::Nothing,                                           [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("PATCH", "/api/v1/users/{temp_user}", Some(r#"{"name": "Temp"}"#), Fresh::Nothing,                  [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/approvers", None, Fresh::Nothing,                                                   [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("GET", "/api/v1/sessions", None, Fresh::Nothing,                                                    [401, 401, 401, 200, 200, 200, 403, 403, 403, 401]),
    ("POST", "/api/v1/sessions", Some(r#"{"config_id": {counter_1}}"#), Fresh::Nothing,                  [401, 401, 401, 200, 403, 200, 403, 403, 403, 401]),
    ("POST", "/api/v1/sessions/{spare_session}/close", Some("{}"), Fresh::SpareSession,                  [401, 401, 401, 200, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/sessions/{session_1}/report", None, Fresh::Nothing,                                 [401, 401, 401, 200, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/orders", None, Fresh::Nothing,                                                      [401, 401, 401, 403, 403, 200, 200, 200, 200, 401]),
    ("GET", "/api/v1/orders?state=paid&limit=5", None, Fresh::Nothing,                                   [401, 401, 401, 403, 403, 200, 200, 200, 200, 401]),
    ("GET", "/api/v1/orders/{order}", None, Fresh::Nothing,                                              [401, 401, 401, 403, 403, 200, 200, 200, 404, 401]),
    ("GET", "/api/v1/orders/{bar_order}", None, Fresh::Nothing,                                          [401, 401, 401, 403, 403, 200, 404, 404, 200, 401]),
    ("GET", "/api/v1/orders/{unknown_order}", None, Fresh::Nothing,                                      [401, 401, 401, 403, 403, 404, 404, 404, 404, 401]),
    ("GET", "/api/v1/orders/{order}/history", None, Fresh::Nothing,                                      [401, 401, 401, 403, 403, 200, 200, 200, 404, 401]),
    ("GET", "/api/v1/orders/{bar_order}/history", None, Fresh::Nothing,                                  [401, 401, 401, 403, 403, 200, 404, 404, 200, 401]),
    ("POST", "/api/v1/orders/{order}/ops", Some(r#"{"op_id": "{op_id}", "op": {"kind": "set_note", "note": "x"}}"#), Fresh::Nothing, [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("POST", "/api/v1/orders/{unknown_order}/ops", Some(r#"{"op_id": "{op_id}", "op": {"kind": "set_note", "note": "x"}}"#), Fresh::Nothing, [401, 401, 401, 403, 403, 403, 404, 404, 404, 401]),
    ("GET", "/api/v1/sync", None, Fresh::Nothing,                                                        [401, 401, 401, 403, 403, 403, 400, 400, 400, 401]),
    // After payment: the receipt and the invoice are the origin's and the paying counter's (both Counter 1 here).
    ("GET", "/api/v1/orders/{paid_order}/receipt", None, Fresh::Nothing,                                 [401, 401, 401, 403, 403, 200, 200, 404, 404, 401]),
    // A refund of a thousandth of the paid order's espresso: by a terminal that may read the paid order.
    ("POST", "/api/v1/orders/{paid_order}/refund", Some(r#"{"order_id": "{unknown_order}", "lines": [{"line_id": "{paid_line}", "qty": "0.001"}]}"#), Fresh::Nothing, [401, 401, 401, 403, 403, 403, 201, 404, 404, 401]),
    ("POST", "/api/v1/orders/{order}/refund", Some(r#"{"order_id": "{unknown_order}", "lines": [{"line_id": "{op_id}", "qty": "1"}]}"#), Fresh::Nothing, [401, 401, 401, 403, 403, 403, 404, 404, 404, 401]),
    // A reprint goes to a printer: Counter 1 has none here (409 no_printer), so who may is what shows.
    ("POST", "/api/v1/orders/{paid_order}/print", Some("{}"), Fresh::Nothing,                           [401, 401, 401, 403, 403, 409, 409, 404, 404, 401]),
    ("POST", "/api/v1/sessions/{session_1}/print", Some("{}"), Fresh::Nothing,                             [401, 401, 401, 409, 403, 409, 409, 403, 403, 401]),
    ("GET", "/api/v1/configs/{counter_1}/printer", None, Fresh::Nothing,                                 [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("GET", "/api/v1/invoices", None, Fresh::Nothing,                                                    [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/invoices/{invoice}", None, Fresh::Nothing,                                          [401, 401, 401, 403, 403, 200, 200, 404, 404, 401]),
    ("GET", "/api/v1/invoices/{invoice}/pdf", None, Fresh::Nothing,                                      [401, 401, 401, 403, 403, 200, 200, 404, 404, 401]),
    ("GET", "/api/v1/shop", None, Fresh::Nothing,                                                        [401, 401, 401, 200, 200, 200, 200, 200, 200, 401]),
    ("PATCH", "/api/v1/shop", Some(r#"{"receipt_footer": "Thank you"}"#), Fresh::Nothing,               [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("POST", "/api/v1/sessions/{session_1}/cash_moves", Some(r#"{"amount": 500, "reason": "float"}"#), Fresh::Nothing, [401, 401, 401, 201, 403, 201, 201, 403, 403, 401]),
    ("GET", "/api/v1/products/{croissant}/stock_moves", None, Fresh::Nothing,                            [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("POST", "/api/v1/products/{croissant}/stock_moves", Some(r#"{"qty": "5", "reason": "delivery"}"#), Fresh::Nothing, [401, 401, 401, 403, 403, 201, 403, 403, 403, 401]),
    ("GET", "/metrics", None, Fresh::Nothing,                                                            [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/audit", None, Fresh::Nothing,                                                       [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
    ("GET", "/api/v1/reports/sales?group=config", None, Fresh::Nothing,                                  [401, 401, 401, 403, 403, 200, 403, 403, 403, 401]),
];

/// One op kind on a fresh shared draft of Counter 1 (with line `{line}`), or
/// on a new order id for `create`; expected status per caller.
type OpCase = (&'static str, &'static str, [u16; 10]);

#[rustfmt::skip]
const OPS: &[OpCase] = &[
    //                                                                                              nobody expired revoked cashier stranger manager own linked unlinked closed
    ("create", r#"{"kind": "create"}"#,                                                             [401, 401, 401, 403, 403, 403, 200, 200, 200, 401]),
    // A linked till may press Manual Sync on a draft shared with it: nothing changes.
    ("share", r#"{"kind": "share"}"#,                                                               [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("unshare", r#"{"kind": "unshare"}"#,                                                           [401, 401, 401, 403, 403, 403, 200, 403, 404, 401]),
    ("add_line", r#"{"kind": "add_line", "line_id": "{op_id}", "product_id": {espresso}, "qty": "1"}"#, [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("add_qty", r#"{"kind": "add_qty", "line_id": "{line}", "delta": "1"}"#,                        [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("set_qty", r#"{"kind": "set_qty", "line_id": "{line}", "qty": "2"}"#,                          [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("set_price", r#"{"kind": "set_price", "line_id": "{line}", "unit_price": 100}"#,               [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("set_discount", r#"{"kind": "set_discount", "line_id": "{line}", "discount": "10"}"#,          [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("set_line_note", r#"{"kind": "set_line_note", "line_id": "{line}", "note": "no sugar"}"#,      [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("remove_line", r#"{"kind": "remove_line", "line_id": "{line}"}"#,                              [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("set_customer", r#"{"kind": "set_customer", "customer_id": {customer}}"#,                      [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("set_note", r#"{"kind": "set_note", "note": "table 4"}"#,                                      [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("begin_payment", r#"{"kind": "begin_payment"}"#,                                               [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("cancel_payment", r#"{"kind": "cancel_payment"}"#,                                             [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    ("pay", r#"{"kind": "pay", "payments": [{"method_id": {cash}, "amount": 220}], "expected_total": 220}"#, [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
    // Only the server makes a refund op (POST /orders/{id}/refund): a terminal's is refused at decoding.
    ("refund", r#"{"kind": "refund", "refund_of": "{line}", "lines": []}"#,                        [401, 401, 401, 403, 403, 403, 400, 400, 400, 401]),
    ("cancel", r#"{"kind": "cancel"}"#,                                                             [401, 401, 401, 403, 403, 403, 200, 200, 404, 401]),
];

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{text}: {error}"))
}

#[tokio::test]
async fn every_route_and_op_kind_answers_every_caller_as_the_table_says() {
    let world = World::new().await;
    let mut mismatches = String::new();

    for (method, path, body, fresh, expected) in ROUTES {
        for (column, who) in WHO.iter().enumerate() {
            let token = match fresh {
                Fresh::Token => world.fresh_token(*who).await,
                _ => world.token(*who).to_owned(),
            };
            let spare_session = match fresh {
                Fresh::SpareSession => Some(world.spare_session().await),
                _ => None,
            };
            let path = world.fill(path, spare_session);
            let body = body.map(|body| parse(&world.fill(body, spare_session)));
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let (status, answer) = world
                .shop
                .request(method.clone(), &path, &token, body)
                .await;
            if status != expected[column] {
                let _ = writeln!(
                    mismatches,
                    "{method} {path} as {who:?}: expected {}, got {status} {answer}",
                    expected[column]
                );
            }
            if status >= 500 {
                let _ = writeln!(mismatches, "{method} {path} as {who:?}: a 5xx");
            }
            // A refusal says why in the contract's shape.
            if (400..500).contains(&status) && answer["error"]["code"].as_str().is_none() {
                let _ = writeln!(
                    mismatches,
                    "{method} {path} as {who:?}: no error code in {answer}"
                );
            }
        }
    }

    for (kind, op, expected) in OPS {
        for (column, who) in WHO.iter().enumerate() {
            let order = Uuid::now_v7();
            let line = world.draft(world.token(Who::Own), order, true).await;
            let target = if *kind == "create" {
                Uuid::now_v7()
            } else {
                order
            };
            let op = parse(&world.fill(op, None).replace("{line}", &line.to_string()));
            let (status, answer) = world.op(world.token(*who), target, op).await;
            if status != expected[column] {
                let _ = writeln!(
                    mismatches,
                    "op {kind} as {who:?}: expected {}, got {status} {answer}",
                    expected[column]
                );
            }
            // No one learns anything about an order of a counter they are not linked to.
            if *who == Who::Unlinked && *kind != "create" {
                let (_, unknown) = world
                    .op(
                        world.token(*who),
                        Uuid::now_v7(),
                        parse(
                            &world
                                .fill(op_body_of(kind), None)
                                .replace("{line}", &line.to_string()),
                        ),
                    )
                    .await;
                if answer["error"] != unknown["error"] {
                    let _ = writeln!(
                        mismatches,
                        "op {kind} as Unlinked: {answer} differs from an unknown order's {unknown}"
                    );
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "the matrix does not hold:\n{mismatches}"
    );
}

fn op_body_of(kind: &str) -> &'static str {
    OPS.iter()
        .find(|(name, _, _)| *name == kind)
        .map(|(_, op, _)| *op)
        .unwrap()
}

/// The table covers every route the server documents (and so serves: the
/// OpenAPI test checks that): a new route fails here until its row is written.
#[tokio::test]
async fn the_table_has_a_row_for_every_documented_route() {
    let app = spawn_app().await;
    let (status, document) = app.get("/api/v1/openapi.json", "").await;
    assert_eq!(status, 200);
    let documented: std::collections::BTreeSet<String> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let in_table: std::collections::BTreeSet<String> = ROUTES
        .iter()
        .map(|(method, path, ..)| {
            let path = path.split('?').next().unwrap_or(path);
            let template: Vec<&str> = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "{id}"
                    } else {
                        segment
                    }
                })
                .collect();
            format!("{method} {}", template.join("/"))
        })
        .collect();
    let missing: Vec<&String> = documented.difference(&in_table).collect();
    assert!(
        missing.is_empty(),
        "routes with no row in the authorization matrix: {missing:?}"
    );
}
