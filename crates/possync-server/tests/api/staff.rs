//! Staff and counters, and the life of tokens (issue 8, points 1 and 2): a
//! cashier opens only their counters, sessions close only for managers and
//! their own users, tokens expire and are revoked, and revoking a token closes
//! its live sync connections with 4001.

use possync_testkit::*;
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

const HOUR_MS: i64 = 3_600_000;

#[tokio::test]
async fn a_cashier_opens_only_their_counters_and_a_manager_any() {
    let shop = Shop::open().await;
    let (_, ann) = shop.add_user("ann", "cashier", &[shop.counter_1]).await;
    let (status, me) = shop.get("/api/v1/me", &ann).await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["config_ids"], json!([shop.counter_1]));
    assert_eq!(me["user"]["active"], json!(true));

    shop.open_session_as(&ann, shop.counter_1).await;
    for other in [shop.counter_2, shop.bar] {
        let (status, body) = shop
            .post("/api/v1/sessions", &ann, json!({"config_id": other}))
            .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (403, &json!("forbidden")),
            "{body}"
        );
    }
    // Joining an open session of a counter that is not hers is refused too.
    shop.open_session_as(&shop.manager_token, shop.counter_2)
        .await;
    let (status, _) = shop
        .post(
            "/api/v1/sessions",
            &ann,
            json!({"config_id": shop.counter_2}),
        )
        .await;
    assert_eq!(status, 403);
    shop.open_session_as(&shop.manager_token, shop.bar).await;

    // A manager gives her counter 2; she may join it now.
    let ann_id = shop.get("/api/v1/me", &ann).await.1["user"]["id"]
        .as_i64()
        .unwrap();
    let (status, user) = shop
        .patch(
            &format!("/api/v1/users/{ann_id}"),
            &shop.manager_token,
            json!({"config_ids": [shop.counter_2, shop.counter_1]}),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["config_ids"], json!([shop.counter_1, shop.counter_2]));
    shop.open_session_as(&ann, shop.counter_2).await;

    let (status, body) = shop
        .patch(
            &format!("/api/v1/users/{ann_id}"),
            &shop.manager_token,
            json!({"config_ids": [999_999]}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid")),
        "{body}"
    );
    let (status, body) = shop
        .patch(
            &format!("/api/v1/users/{ann_id}"),
            &shop.manager_token,
            json!({"config_ids": vec![shop.counter_1; 1001]}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid")),
        "{body}"
    );
}

#[tokio::test]
async fn a_session_is_closed_by_a_manager_or_its_own_users_only() {
    let shop = Shop::open().await;
    let (_, ann) = shop.add_user("ann", "cashier", &[shop.counter_1]).await;
    let (_, bob) = shop
        .add_user("bob", "cashier", &[shop.counter_1, shop.counter_2])
        .await;
    let (_, cid) = shop.add_user("cid", "cashier", &[shop.counter_2]).await;
    let (session_1, _) = shop.open_session_as(&ann, shop.counter_1).await;
    let (session_2, _) = shop.open_session_as(&cid, shop.counter_2).await;
    let close = |session: i64| format!("/api/v1/sessions/{session}/close");

    // Bob may open counter 1 but has not joined this session: not his to close.
    let (status, body) = shop.post(&close(session_1), &bob, json!({})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("forbidden")),
        "{body}"
    );
    let (status, _) = shop.post(&close(session_1), &cid, json!({})).await;
    assert_eq!(status, 403);
    // Once he joins, it is his session too.
    shop.open_session_as(&bob, shop.counter_1).await;
    let (status, report) = shop
        .post(&close(session_1), &bob, json!({"counted_cash": 0}))
        .await;
    assert_eq!(status, 200, "{report}");
    // A manager closes any session.
    let (status, _) = shop
        .post(&close(session_2), &shop.manager_token, json!({}))
        .await;
    assert_eq!(status, 200);
    // An unknown session is a 404.
    let (status, _) = shop.post(&close(999_999), &ann, json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn order_history_with_a_user_token_is_for_managers() {
    let shop = Shop::open().await;
    let mut till = shop.counter(shop.counter_1).await;
    let order = Uuid::now_v7();
    till.ok(order, create(false)).await;
    let history = format!("/api/v1/orders/{order}/history");
    let (status, body) = shop.get(&history, &shop.cashier_token).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("forbidden")),
        "{body}"
    );
    let (status, body) = shop.get(&history, &shop.manager_token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    let (status, _) = shop
        .get(&history, &shop.terminal_token(shop.counter_1).await)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_user_token_expires_after_its_time_to_live() {
    let app = spawn_app().await;
    let (status, body) = app
        .request(
            reqwest::Method::POST,
            "/api/v1/login",
            "",
            Some(json!({"login": MANAGER_LOGIN, "password": MANAGER_PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    let token = body["token"].as_str().unwrap().to_owned();
    let expires_at = body["expires_at"].as_str().unwrap();
    assert!(expires_at.ends_with('Z'), "{expires_at}");
    app.clock.advance_millis(12 * HOUR_MS - 1);
    assert_eq!(app.get("/api/v1/me", &token).await.0, 200, "just before");
    app.clock.advance_millis(1);
    let (status, body) = app.get("/api/v1/me", &token).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("expired")),
        "{body}"
    );
}

#[tokio::test]
async fn logout_revokes_the_token_it_was_sent_with_and_closes_its_connections() {
    let shop = Shop::open().await;
    let user_token = shop.login(CASHIER_LOGIN, CASHIER_PASSWORD).await;
    let (status, body) = shop.post("/api/v1/logout", &user_token, json!({})).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = shop.get("/api/v1/me", &user_token).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("unauthorized")),
        "{body}"
    );
    assert_eq!(
        shop.post("/api/v1/logout", &user_token, json!({})).await.0,
        401
    );
    // The cashier's other token is untouched.
    assert_eq!(shop.get("/api/v1/me", &shop.cashier_token).await.0, 200);

    let terminal_token = shop.terminal_token(shop.counter_1).await;
    let mut till = Counter::connect(
        &shop.base_url,
        &terminal_token,
        Uuid::now_v7(),
        BTreeMap::new(),
    )
    .await;
    let mut other_till = shop.counter(shop.counter_1).await;
    let (status, _) = shop
        .post("/api/v1/logout", &terminal_token, json!({}))
        .await;
    assert_eq!(status, 204);
    assert_eq!(till.closed_with().await, Some(4001));
    assert_eq!(shop.get("/api/v1/products", &terminal_token).await.0, 401);
    // Another terminal of the same session keeps working.
    other_till.ok(Uuid::now_v7(), create(false)).await;
}

#[tokio::test]
async fn deactivating_a_user_or_changing_their_password_revokes_every_token_of_theirs() {
    let shop = Shop::open().await;
    let (ann_id, ann) = shop
        .add_user("ann", "cashier", &[shop.counter_1, shop.bar])
        .await;
    let (_, ann_till) = shop.open_session_as(&ann, shop.counter_1).await;
    let mut till =
        Counter::connect(&shop.base_url, &ann_till, Uuid::now_v7(), BTreeMap::new()).await;
    // Someone else's till in the same session stays.
    let mut other_till = shop.counter(shop.counter_1).await;
    let user = format!("/api/v1/users/{ann_id}");

    let (status, body) = shop
        .patch(
            &user,
            &shop.manager_token,
            json!({"password": "a new secret"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(till.closed_with().await, Some(4001));
    assert_eq!(shop.get("/api/v1/me", &ann).await.0, 401);
    assert_eq!(shop.get("/api/v1/me", &ann_till).await.0, 401);
    other_till.ok(Uuid::now_v7(), create(false)).await;

    // She logs in with the new password; then she is deactivated.
    let ann = shop.login("ann", "a new secret").await;
    let (_, ann_till) = shop.open_session_as(&ann, shop.bar).await;
    let mut till =
        Counter::connect(&shop.base_url, &ann_till, Uuid::now_v7(), BTreeMap::new()).await;
    let (status, body) = shop
        .patch(&user, &shop.manager_token, json!({"active": false}))
        .await;
    assert_eq!((status, &body["active"]), (200, &json!(false)), "{body}");
    assert_eq!(till.closed_with().await, Some(4001));
    assert_eq!(shop.get("/api/v1/me", &ann).await.0, 401);
    assert_eq!(shop.get("/api/v1/me", &ann_till).await.0, 401);
    let (status, body) = shop
        .request(
            reqwest::Method::POST,
            "/api/v1/login",
            "",
            Some(json!({"login": "ann", "password": "a new secret"})),
        )
        .await;
    assert_eq!(status, 401, "an inactive user cannot log in: {body}");

    // Active again, she logs in; the last active manager cannot be deactivated.
    assert_eq!(
        shop.patch(&user, &shop.manager_token, json!({"active": true}))
            .await
            .0,
        200
    );
    shop.login("ann", "a new secret").await;
    let manager_id = shop.get("/api/v1/me", &shop.manager_token).await.1["user"]["id"]
        .as_i64()
        .unwrap();
    let (status, body) = shop
        .patch(
            &format!("/api/v1/users/{manager_id}"),
            &shop.manager_token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("last_manager")),
        "{body}"
    );
}
