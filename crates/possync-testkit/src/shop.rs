//! [`Shop`]: a running server with a small shop in it.
//!
//! Counter 1 and Counter 2 are linked, the Bar is not. Time is a manual
//! clock, so payment leases expire on demand. A shop derefs to its
//! [`TestApp`], so every HTTP helper works on it too.

use crate::app::{TestApp, WrapSyncStore, spawn_app_wrapping};
use possync_server::ServerConfig;
use serde_json::json;
use std::ops::{Deref, DerefMut};

pub struct Shop {
    pub app: TestApp,
    pub counter_1: i64,
    pub counter_2: i64,
    pub bar: i64,
    pub espresso: i64,
    pub croissant: i64,
    pub cash: i64,
    pub card: i64,
    pub customer: i64,
}

impl Deref for Shop {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl DerefMut for Shop {
    fn deref_mut(&mut self) -> &mut TestApp {
        &mut self.app
    }
}

impl Shop {
    pub async fn open() -> Shop {
        Shop::open_with(ServerConfig::default()).await
    }

    /// A shop whose server runs with these settings (queue bounds, heartbeats, ...).
    pub async fn open_with(config: ServerConfig) -> Shop {
        Shop::open_wrapping(config, None).await
    }

    /// A shop whose sync node sees the store through `wrap`.
    pub async fn open_wrapping(config: ServerConfig, wrap: Option<WrapSyncStore>) -> Shop {
        Shop::stock(spawn_app_wrapping(config, wrap).await).await
    }

    /// Puts the shop (configs, links, taxes, products, payment methods, a
    /// customer) into a running app's empty database.
    pub async fn stock(app: TestApp) -> Shop {
        let bar = app.create("/api/v1/configs", json!({"name": "Bar"})).await;
        let counter_1 = app
            .create("/api/v1/configs", json!({"name": "Counter 1"}))
            .await;
        let counter_2 = app
            .create(
                "/api/v1/configs",
                json!({"name": "Counter 2", "sync_with": [counter_1]}),
            )
            .await;
        let vat = app
            .create(
                "/api/v1/taxes",
                json!({"name": "VAT 10%", "rate": "10", "price_included": true}),
            )
            .await;
        let espresso = app
            .create(
                "/api/v1/products",
                json!({"name": "Espresso", "price": 220, "tax_ids": [vat]}),
            )
            .await;
        let croissant = app
            .create("/api/v1/products", json!({"name": "Croissant", "price": 180, "tax_ids": [vat], "tracks_stock": true, "on_hand": "20"}))
            .await;
        let cash = app
            .create(
                "/api/v1/payment_methods",
                json!({"name": "Cash", "kind": "cash"}),
            )
            .await;
        let card = app
            .create(
                "/api/v1/payment_methods",
                json!({"name": "Card", "kind": "card"}),
            )
            .await;
        let customer = app
            .create("/api/v1/customers", json!({"name": "Ada Lovelace"}))
            .await;
        Shop {
            app,
            counter_1,
            counter_2,
            bar,
            espresso,
            croissant,
            cash,
            card,
            customer,
        }
    }

    /// Gives the manager the approval PIN `pin`; answers the manager's user id.
    pub async fn manager_with_pin(&self, pin: &str) -> i64 {
        let (_, me) = self.get("/api/v1/me", &self.manager_token).await;
        let manager_id = me["user"]["id"].as_i64().expect("the manager's id");
        let (status, user) = self
            .patch(
                &format!("/api/v1/users/{manager_id}"),
                &self.manager_token,
                json!({"pin": pin}),
            )
            .await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(user["has_pin"], json!(true), "{user}");
        manager_id
    }

    /// Turns the counter `config_id`'s `restrict_price_control` on or off.
    pub async fn restrict(&self, config_id: i64, restricted: bool) {
        let (status, config) = self
            .patch(
                &format!("/api/v1/configs/{config_id}"),
                &self.manager_token,
                json!({"restrict_price_control": restricted}),
            )
            .await;
        assert_eq!(status, 200, "{config}");
        assert_eq!(config["restrict_price_control"], json!(restricted));
    }
}
