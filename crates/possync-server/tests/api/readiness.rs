//! `/readyz` says whether this node can serve (its store answers); `/healthz`
//! stays liveness: it answers while the process runs, whatever the store does.

use possync_core::Timestamp;
use possync_server::{ManualClock, ServerConfig};
use possync_store::sqlite::SqliteStore;
use possync_testkit::{DATABASE_FILE, start_server};
use serde_json::{Value, json};
use std::sync::Arc;

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(url).send().await.expect("send a request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn readyz_follows_the_store_while_healthz_stays_up() {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let store = Arc::new(
        SqliteStore::open(&data_dir.path().join(DATABASE_FILE))
            .await
            .expect("open a store"),
    );
    let clock = ManualClock::starting_at(Timestamp::from_unix_millis(1_800_000_000_000));
    let server = start_server(store.clone(), clock, ServerConfig::default(), None).await;
    let base = server.base_url();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client");

    let ready = json!({"status": "ready", "reasons": []});
    assert_eq!(
        get(&client, format!("{base}/readyz")).await,
        (200, ready.clone())
    );
    assert_eq!(
        get(&client, format!("{base}/api/v1/readyz")).await,
        (200, ready)
    );

    // The database goes away under the running server.
    store.close().await;
    let not_ready = json!({"status": "unavailable", "reasons": ["store"]});
    assert_eq!(
        get(&client, format!("{base}/readyz")).await,
        (503, not_ready.clone())
    );
    assert_eq!(
        get(&client, format!("{base}/api/v1/readyz")).await,
        (503, not_ready)
    );
    let (status, _) = get(&client, format!("{base}/healthz")).await;
    assert_eq!(status, 200, "liveness does not depend on the store");
    server.shutdown().await.expect("a clean shutdown");
}
