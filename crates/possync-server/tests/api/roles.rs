//! Who may do what: managers configure, cashiers sell, terminal tokens work
//! their session and read the catalog.

use possync_testkit::*;
use reqwest::Method;
use serde_json::Value;

async fn cashier_user_id(app: &TestApp) -> i64 {
    let (_, me) = app.get("/api/v1/me", &app.cashier_token).await;
    me["user"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn cashiers_and_terminals_get_403_on_every_write_route_but_a_till_adding_a_customer() {
    let app = spawn_app().await;
    let ids = seed_catalog(&app).await;
    let config_id = app.create_config("Counter 1").await;
    let (_, terminal_token) = app.open_session(config_id).await;
    let user_id = cashier_user_id(&app).await;
    let mut cases = Vec::new();
    for (name, method, path, body) in write_routes(&ids, config_id, user_id) {
        for auth in [
            Auth::Bearer(app.cashier_token.clone()),
            Auth::Bearer(terminal_token.clone()),
        ] {
            // The one write a till may make: adding a customer at the counter
            // (catalog.rs tests it).
            if name == "create customer"
                && matches!(&auth, Auth::Bearer(token) if *token == terminal_token)
            {
                continue;
            }
            cases.push(
                Case::new(
                    name,
                    method.clone(),
                    path.clone(),
                    auth,
                    Body::json(body.clone()),
                )
                .expect(403, "forbidden"),
            );
        }
    }
    check(&app, &cases).await;
}

#[tokio::test]
async fn managers_may_use_every_write_route() {
    let app = spawn_app().await;
    let ids = seed_catalog(&app).await;
    let config_id = app.create_config("Counter 1").await;
    let user_id = cashier_user_id(&app).await;
    for (name, method, path, body) in write_routes(&ids, config_id, user_id) {
        let expected_status = if method == Method::POST { 201 } else { 200 };
        let (status, answer) = app
            .send(
                method,
                &path,
                &Auth::Bearer(app.manager_token.clone()),
                &Body::json(body),
            )
            .await;
        assert_eq!(status, expected_status, "{name}: {answer}");
        assert!(answer["id"].is_i64(), "{name}: {answer}");
    }
}

#[tokio::test]
async fn the_catalog_is_readable_by_users_and_terminals_but_users_by_managers_only() {
    let app = spawn_app().await;
    let ids = seed_catalog(&app).await;
    let config_id = app.create_config("Counter 1").await;
    let (_, terminal_token) = app.open_session(config_id).await;
    let readable = [
        "/api/v1/products".to_owned(),
        format!("/api/v1/products/{}", ids.product_id),
        "/api/v1/categories".to_owned(),
        format!("/api/v1/categories/{}", ids.category_id),
        "/api/v1/taxes".to_owned(),
        format!("/api/v1/taxes/{}", ids.tax_id),
        "/api/v1/customers".to_owned(),
        format!("/api/v1/customers/{}", ids.customer_id),
        "/api/v1/payment_methods".to_owned(),
        format!("/api/v1/payment_methods/{}", ids.payment_method_id),
        "/api/v1/configs".to_owned(),
        format!("/api/v1/configs/{config_id}"),
    ];
    for token in [&app.manager_token, &app.cashier_token, &terminal_token] {
        for path in &readable {
            let (status, body) = app.get(path, token).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert!(
                matches!(body, Value::Array(_) | Value::Object(_)),
                "{path}: {body}"
            );
        }
    }
    let user_id = cashier_user_id(&app).await;
    let (status, users) = app.get("/api/v1/users", &app.manager_token).await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(users.as_array().unwrap().len(), 2);
    for user in users.as_array().unwrap() {
        let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "active",
                "config_ids",
                "has_pin",
                "id",
                "login",
                "name",
                "role"
            ],
            "no password or PIN hash in a user object"
        );
    }
    let manager_only = [
        "/api/v1/users".to_owned(),
        format!("/api/v1/users/{user_id}"),
    ];
    let mut cases = Vec::new();
    for path in &manager_only {
        for token in [&app.cashier_token, &terminal_token] {
            cases.push(
                Case::new(
                    "read users",
                    Method::GET,
                    path.clone(),
                    Auth::Bearer(token.clone()),
                    Body::None,
                )
                .expect(403, "forbidden"),
            );
        }
    }
    check(&app, &cases).await;
}
