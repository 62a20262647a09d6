//! Paging over HTTP (issue 8, point 6): `GET /orders`, `GET /sessions` and an
//! order's history take `limit` and answer `Link: <...>; rel="next"` while
//! more remain. Following the links gives every item the caller may read
//! exactly once, in order, and nothing it may not.

use possync_testkit::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Follows `path` and its next links with `token`; answers every item, and
/// how many pages it took.
async fn follow(shop: &Shop, token: &str, path: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut next = Some(path.to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        assert!(pages <= 100, "the links of {path} never end");
        let response = shop
            .send_raw(
                Method::GET,
                &path,
                &Auth::Bearer(token.to_owned()),
                &Body::None,
            )
            .await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        next = response.headers().get("link").map(|link| {
            let link = link.to_str().unwrap();
            assert!(link.ends_with("rel=\"next\""), "{link}");
            let url = link.trim_start_matches('<');
            url[..url.find('>').unwrap()].to_owned()
        });
        let page: Value = response.json().await.unwrap();
        items.extend(page.as_array().unwrap().iter().cloned());
    }
    (items, pages)
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|item| item["id"].to_string()).collect()
}

fn pay_in_cash(shop: &Shop) -> Value {
    json!({"kind": "pay", "payments": [{"method_id": shop.cash, "amount": 180}], "expected_total": 180})
}

/// A shared draft of one croissant made at `counter`.
async fn draft(shop: &Shop, counter: &mut Counter) -> Uuid {
    let order_id = Uuid::now_v7();
    counter.ok(order_id, create(true)).await;
    counter
        .ok(order_id, add_line(Uuid::now_v7(), shop.croissant, "1"))
        .await;
    order_id
}

/// A sale of one croissant made and paid at `counter`.
async fn sale(shop: &Shop, counter: &mut Counter) -> Uuid {
    let order_id = draft(shop, counter).await;
    counter.ok(order_id, pay_in_cash(shop)).await;
    order_id
}

#[tokio::test]
async fn following_next_links_reads_every_readable_order_session_and_history_entry_once() {
    let shop = Shop::open().await;
    let mut one = shop.counter(shop.counter_1).await;
    let mut two = shop.counter(shop.counter_2).await;
    let mut bar = shop.counter(shop.bar).await;
    let mut own_of_one = Vec::new();
    for _ in 0..5 {
        own_of_one.push(sale(&shop, &mut one).await);
    }
    // Made at Counter 1, paid at Counter 2: both may read it.
    let across = draft(&shop, &mut one).await;
    two.ok(across, pay_in_cash(&shop)).await;
    let mut own_of_two = Vec::new();
    for _ in 0..3 {
        own_of_two.push(sale(&shop, &mut two).await);
    }
    let at_bar = sale(&shop, &mut bar).await;
    let quoted = |ids: &[Uuid]| -> BTreeSet<String> {
        ids.iter()
            .map(|id| json!(id.to_string()).to_string())
            .collect()
    };

    // Newest first, two per page, each once.
    let (paid, pages) = follow(&shop, &one.token, "/api/v1/orders?state=paid&limit=2").await;
    let mut expected: Vec<Uuid> = own_of_one.clone();
    expected.push(across);
    expected.reverse();
    assert_eq!(
        ids(&paid),
        ids(&expected
            .iter()
            .map(|id| json!({"id": id}))
            .collect::<Vec<_>>())
    );
    assert_eq!(pages, 3);
    let (paid, _) = follow(&shop, &two.token, "/api/v1/orders?state=paid&limit=2").await;
    let mut readable_by_two = own_of_two.clone();
    readable_by_two.push(across);
    assert_eq!(
        ids(&paid).into_iter().collect::<BTreeSet<_>>(),
        quoted(&readable_by_two)
    );
    assert_eq!(paid.len(), 4, "the order both may read comes once");
    let (paid, _) = follow(&shop, &bar.token, "/api/v1/orders?state=paid&limit=1").await;
    assert_eq!(
        ids(&paid).into_iter().collect::<BTreeSet<_>>(),
        quoted(&[at_bar])
    );
    // A manager reads them all.
    let (paid, _) = follow(
        &shop,
        &shop.manager_token,
        "/api/v1/orders?state=paid&limit=3",
    )
    .await;
    let mut all = own_of_one.clone();
    all.extend(&own_of_two);
    all.extend([across, at_bar]);
    assert_eq!(paid.len(), all.len());
    assert_eq!(
        ids(&paid).into_iter().collect::<BTreeSet<_>>(),
        quoted(&all)
    );

    // Sessions, one per page: the three open ones.
    let (sessions, pages) = follow(&shop, &shop.manager_token, "/api/v1/sessions?limit=1").await;
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!(pages, 3);
    let session_ids: BTreeSet<String> = ids(&sessions).into_iter().collect();
    assert_eq!(session_ids.len(), 3);

    // History of the order paid across counters: create, add_line, pay.
    let path = format!("/api/v1/orders/{across}/history?limit=2");
    let (history, pages) = follow(&shop, &shop.manager_token, &path).await;
    let versions: Vec<u64> = history
        .iter()
        .map(|entry| entry["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2, 3]);
    assert_eq!(pages, 2);
}
