//! Catalog and staff management: create answers 201 with the object, reads and
//! partial updates round-trip, and clashes are 409 with a precise code.

use possync_testkit::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn products_round_trip_with_exact_numbers() {
    let app = spawn_app().await;
    let ids = seed_catalog(&app).await;
    let (status, product) = app
        .get(
            &format!("/api/v1/products/{}", ids.product_id),
            &app.cashier_token,
        )
        .await;
    assert_eq!(status, 200, "{product}");
    assert_eq!(
        product,
        json!({
            "id": ids.product_id, "name": "Espresso", "price": 220, "category_id": ids.category_id,
            "barcode": "8420001000005", "tax_ids": [ids.tax_id], "tracks_stock": false, "on_hand": "0",
            "low_stock": null
        })
    );
    let (status, changed) = app
        .patch(
            &format!("/api/v1/products/{}", ids.product_id),
            &app.manager_token,
            json!({"price": 250, "barcode": null, "tracks_stock": true, "on_hand": 12.5}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["price"], 250);
    assert_eq!(changed["barcode"], serde_json::Value::Null);
    assert_eq!(changed["on_hand"], "12.5", "quantities answer as strings");
    assert_eq!(
        changed["category_id"], ids.category_id,
        "absent fields are kept"
    );
    let (_, listed) = app.get("/api/v1/products", &app.cashier_token).await;
    assert_eq!(listed, json!([changed]));

    let (_, tax) = app
        .get(&format!("/api/v1/taxes/{}", ids.tax_id), &app.cashier_token)
        .await;
    assert_eq!(
        tax,
        json!({"id": ids.tax_id, "name": "VAT 10%", "rate": "10", "price_included": true})
    );
}

#[tokio::test]
async fn every_collection_creates_with_201_reads_and_patches() {
    let app = spawn_app().await;
    for (collection, new, changes, changed_field) in [
        (
            "categories",
            json!({"name": "Tea"}),
            json!({"name": "Teas"}),
            "name",
        ),
        (
            "taxes",
            json!({"name": "VAT 4%", "rate": "4"}),
            json!({"rate": "5.5"}),
            "rate",
        ),
        (
            "customers",
            json!({"name": "Eve", "email": "eve@example.com"}),
            json!({"email": null}),
            "email",
        ),
        (
            "payment_methods",
            json!({"name": "Voucher", "kind": "other"}),
            json!({"kind": "card"}),
            "kind",
        ),
        (
            "users",
            json!({"login": "eve", "name": "Eve", "role": "cashier", "password": "eve-password"}),
            json!({"name": "Eve Adams"}),
            "name",
        ),
    ] {
        let path = format!("/api/v1/{collection}");
        let (status, created) = app.post(&path, &app.manager_token, new).await;
        assert_eq!(status, 201, "{collection}: {created}");
        let id = created["id"].as_i64().unwrap();
        let (status, read) = app.get(&format!("{path}/{id}"), &app.manager_token).await;
        assert_eq!((status, &read), (200, &created), "{collection}");
        let (status, patched) = app
            .patch(&format!("{path}/{id}"), &app.manager_token, changes.clone())
            .await;
        assert_eq!(status, 200, "{collection}: {patched}");
        assert_eq!(
            patched[changed_field], changes[changed_field],
            "{collection}: {patched}"
        );
        let (_, listed) = app.get(&path, &app.manager_token).await;
        assert!(
            listed.as_array().unwrap().contains(&patched),
            "{collection}: {listed}"
        );
    }
}

#[tokio::test]
async fn users_never_show_a_password_and_can_change_it() {
    let app = spawn_app().await;
    let (status, eve) = app
        .post(
            "/api/v1/users",
            &app.manager_token,
            json!({"login": "Eve", "name": "Eve", "role": "cashier", "password": "first-password"}),
        )
        .await;
    assert_eq!(status, 201, "{eve}");
    assert_eq!(eve["login"], "eve");
    assert!(
        !eve.to_string().contains("password") && !eve.to_string().contains("argon2"),
        "{eve}"
    );
    app.login("eve", "first-password").await;

    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{}", eve["id"]),
            &app.manager_token,
            json!({"password": "second-password"}),
        )
        .await;
    assert_eq!(status, 200);
    app.login("eve", "second-password").await;
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/login",
            &Auth::None,
            &Body::json(json!({"login": "eve", "password": "first-password"})),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn clashes_are_409_with_a_precise_code_and_change_nothing() {
    let app = spawn_app().await;
    let ids = seed_catalog(&app).await;
    let (_, me) = app.get("/api/v1/me", &app.manager_token).await;
    let manager_id = me["user"]["id"].as_i64().unwrap();
    let manager = Auth::Bearer(app.manager_token.clone());
    let (status, other) = app
        .post(
            "/api/v1/products",
            &app.manager_token,
            json!({"name": "Tea", "price": 250, "barcode": "123"}),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    check(
        &app,
        &[
            Case::new(
                "taken login",
                Method::POST,
                "/api/v1/users",
                manager.clone(),
                Body::json(json!({"login": CASHIER_LOGIN, "name": "Other", "role": "cashier", "password": "x"})),
            )
            .expect(409, "login_taken"),
            Case::new(
                "taken login in another case",
                Method::POST,
                "/api/v1/users",
                manager.clone(),
                Body::json(json!({"login": "CASHIER", "name": "Other", "role": "cashier", "password": "x"})),
            )
            .expect(409, "login_taken"),
            Case::new(
                "taken barcode",
                Method::POST,
                "/api/v1/products",
                manager.clone(),
                Body::json(json!({"name": "Espresso 2", "price": 220, "barcode": "8420001000005"})),
            )
            .expect(409, "barcode_taken"),
            Case::new(
                "taken barcode by update",
                Method::PATCH,
                format!("/api/v1/products/{}", other["id"]),
                manager.clone(),
                Body::json(json!({"barcode": "8420001000005"})),
            )
            .expect(409, "barcode_taken"),
            Case::new(
                "demote the last manager",
                Method::PATCH,
                format!("/api/v1/users/{manager_id}"),
                manager,
                Body::json(json!({"role": "cashier"})),
            )
            .expect(409, "last_manager"),
        ],
    )
    .await;
    let _ = ids;
}

#[tokio::test]
async fn a_till_adds_a_customer_at_the_counter_but_changes_nothing_else() {
    let app = spawn_app().await;
    let ids = seed_catalog(&app).await;
    let config_id = app.create_config("Counter 1").await;
    let (_, terminal_token) = app.open_session(config_id).await;
    let (status, customer) = app
        .post(
            "/api/v1/customers",
            &terminal_token,
            json!({"name": "Nadia Haddad", "phone": "+32 470 12 34 56", "email": "nadia@example.com"}),
        )
        .await;
    assert_eq!(status, 201, "{customer}");
    assert_eq!(customer["name"], "Nadia Haddad");
    assert_eq!(customer["phone"], "+32 470 12 34 56");
    let (_, listed) = app.get("/api/v1/customers", &terminal_token).await;
    assert!(listed.as_array().unwrap().contains(&customer), "{listed}");
    // Bad input from a till is refused like any other, and adds nothing.
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(121)}),
        json!({"phone": "123"}),
    ] {
        let (status, answer) = app
            .post("/api/v1/customers", &terminal_token, bad.clone())
            .await;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
    let (_, after) = app.get("/api/v1/customers", &terminal_token).await;
    assert_eq!(after, listed);
    // A till still may not change a customer, nor add anything else; nor may a
    // cashier's own login add a customer.
    let (status, _) = app
        .patch(
            &format!("/api/v1/customers/{}", ids.customer_id),
            &terminal_token,
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .post(
            "/api/v1/products",
            &terminal_token,
            json!({"name": "Tea", "price": 250}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .post(
            "/api/v1/customers",
            &app.cashier_token,
            json!({"name": "Eve"}),
        )
        .await;
    assert_eq!(status, 403);
}
