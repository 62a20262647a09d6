//! [`Nodes`]: several real server nodes on one PostgreSQL database, as a
//! chain runs them behind a load balancer. Each test gets a database of its
//! own (dropped with it); without PostgreSQL, [`spawn_nodes`] skips loudly, and
//! fails under `POSSYNC_REQUIRE_POSTGRES=1`.

use crate::app::{TestApp, create_test_users, spawn_app_on};
use crate::shop::Shop;
use possync_server::{DatabaseUrl, ServerConfig};
use possync_store::postgres::PostgresStore;
use possync_store::{ConnectionSettings, Store};
use possync_store_contract::postgres_database::TestDatabase;
use std::sync::Arc;

/// Node 0 holds the shop (configs, catalog, payment methods); every node
/// serves the same database and hears the others.
pub struct Nodes {
    /// Node 0, with the shop's ids.
    pub shop: Shop,
    /// Nodes 1, 2, ...
    pub others: Vec<TestApp>,
    /// Dropped after the nodes (fields drop in order).
    pub database: TestDatabase,
}

/// `n` nodes (at least 1) on a fresh database of the machine's PostgreSQL, or
/// `None` after a loud skip message.
pub async fn spawn_nodes(n: usize) -> Option<Nodes> {
    let database = TestDatabase::create().await?;
    Some(spawn_nodes_on(database, n).await)
}

/// `n` nodes (at least 1) on `database` (migrated, empty).
pub async fn spawn_nodes_on(database: TestDatabase, n: usize) -> Nodes {
    let first = spawn_node(&database.url(), true).await;
    let shop = Shop::stock(first).await;
    let mut others = Vec::new();
    for _ in 1..n.max(1) {
        others.push(spawn_node(&database.url(), false).await);
    }
    Nodes {
        shop,
        others,
        database,
    }
}

/// One more node on the database at `url`.
pub async fn spawn_node(url: &str, create_users: bool) -> TestApp {
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(url, &ConnectionSettings::default())
            .await
            .unwrap(),
    );
    if create_users {
        create_test_users(store.as_ref()).await;
    }
    let config = ServerConfig {
        hear_other_nodes: Some(DatabaseUrl(url.to_owned())),
        ..ServerConfig::default()
    };
    spawn_app_on(store, config).await
}

/// A node on the database at `url` that does not hear the others: as if its
/// change listener never got a notification through. What it holds of an
/// order goes stale when another node moves it, and the database's checks at
/// commit are all that keep it right: the races a hearing node only loses
/// sometimes, this one loses every time, which makes them testable.
pub async fn spawn_deaf_node(url: &str) -> TestApp {
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(url, &ConnectionSettings::default())
            .await
            .unwrap(),
    );
    spawn_app_on(store, ServerConfig::default()).await
}

impl Nodes {
    /// Node `i`: 0 is the shop's, then the others in order.
    pub fn node(&self, i: usize) -> &TestApp {
        match i {
            0 => &self.shop.app,
            i => &self.others[i - 1],
        }
    }

    pub fn node_mut(&mut self, i: usize) -> &mut TestApp {
        match i {
            0 => &mut self.shop.app,
            i => &mut self.others[i - 1],
        }
    }
}
