//! Every class of bad input is answered 4xx with the contract's JSON error, and
//! changes nothing: malformed JSON, wrong types, missing and unknown fields,
//! unknown ids, malformed ids, huge bodies, wrong content types, unknown routes.

use possync_testkit::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn bad_bodies_are_400_invalid() {
    let app = spawn_app().await;
    let ids = seed_catalog(&app).await;
    let manager = Auth::Bearer(app.manager_token.clone());
    let post = |name: &'static str, path: &str, body: Body| {
        Case::new(name, Method::POST, path, manager.clone(), body)
    };
    let product_path = format!("/api/v1/products/{}", ids.product_id);
    let cases = vec![
        post(
            "malformed JSON",
            "/api/v1/categories",
            Body::text("application/json", "{\"name\":"),
        ),
        post(
            "not JSON at all",
            "/api/v1/categories",
            Body::text("application/json", "hello"),
        ),
        post(
            "JSON null",
            "/api/v1/categories",
            Body::text("application/json", "null"),
        ),
        post(
            "a JSON array",
            "/api/v1/categories",
            Body::json(json!([{"name": "Tea"}])),
        ),
        post(
            "empty body",
            "/api/v1/categories",
            Body::text("application/json", ""),
        ),
        post(
            "invalid UTF-8",
            "/api/v1/categories",
            Body::Raw {
                content_type: Some("application/json"),
                bytes: b"{\"name\":\"\xff\xfe\"}".to_vec(),
            },
        ),
        post(
            "deeply nested",
            "/api/v1/categories",
            Body::text(
                "application/json",
                &format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
            ),
        ),
        post(
            "wrong content type",
            "/api/v1/categories",
            Body::text("text/plain", "{\"name\":\"Tea\"}"),
        ),
        post(
            "form content type",
            "/api/v1/categories",
            Body::text("application/x-www-form-urlencoded", "name=Tea"),
        ),
        post(
            "no content type",
            "/api/v1/categories",
            Body::Raw {
                content_type: None,
                bytes: b"{\"name\":\"Tea\"}".to_vec(),
            },
        ),
        post("missing field", "/api/v1/categories", Body::json(json!({}))),
        post(
            "missing price",
            "/api/v1/products",
            Body::json(json!({"name": "Tea"})),
        ),
        post(
            "unknown field",
            "/api/v1/categories",
            Body::json(json!({"name": "Tea", "colour": "green"})),
        ),
        post(
            "misspelt field",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "prize": 250})),
        ),
        post(
            "empty name",
            "/api/v1/categories",
            Body::json(json!({"name": "   "})),
        ),
        post(
            "name too long",
            "/api/v1/categories",
            Body::json(json!({"name": "x".repeat(121)})),
        ),
        post(
            "name with a control character",
            "/api/v1/categories",
            Body::json(json!({"name": "Te\u{0007}a"})),
        ),
        post(
            "name is a number",
            "/api/v1/categories",
            Body::json(json!({"name": 5})),
        ),
        post(
            "price as text",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "price": "250"})),
        ),
        post(
            "price with decimals",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "price": 2.5})),
        ),
        post(
            "price out of range",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "price": 1e30})),
        ),
        post(
            "quantity too precise",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "price": 250, "on_hand": "1.0001"})),
        ),
        post(
            "tax ids not a list",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "price": 250, "tax_ids": "1"})),
        ),
        post(
            "too many taxes",
            "/api/v1/products",
            Body::json(
                json!({"name": "Tea", "price": 250, "tax_ids": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
            ),
        ),
        post(
            "barcode with spaces",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "price": 250, "barcode": "12 34"})),
        ),
        post(
            "unknown category",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "price": 250, "category_id": 9999})),
        ),
        post(
            "unknown tax",
            "/api/v1/products",
            Body::json(json!({"name": "Tea", "price": 250, "tax_ids": [9999]})),
        ),
        post(
            "tax rate above 100",
            "/api/v1/taxes",
            Body::json(json!({"name": "VAT", "rate": "101"})),
        ),
        post(
            "tax rate negative",
            "/api/v1/taxes",
            Body::json(json!({"name": "VAT", "rate": "-1"})),
        ),
        post(
            "unknown payment kind",
            "/api/v1/payment_methods",
            Body::json(json!({"name": "Coin", "kind": "bitcoin"})),
        ),
        post(
            "unknown role",
            "/api/v1/users",
            Body::json(json!({"login": "eve", "name": "Eve", "role": "owner", "password": "x"})),
        ),
        post(
            "user without password",
            "/api/v1/users",
            Body::json(json!({"login": "eve", "name": "Eve", "role": "cashier"})),
        ),
        post(
            "login with spaces",
            "/api/v1/users",
            Body::json(json!({"login": "e ve", "name": "Eve", "role": "cashier", "password": "x"})),
        ),
        post(
            "auto_share as text",
            "/api/v1/configs",
            Body::json(json!({"name": "Kiosk", "auto_share": "yes"})),
        ),
        post(
            "login body missing password",
            "/api/v1/login",
            Body::json(json!({"login": "manager"})),
        ),
        post(
            "login body with wrong types",
            "/api/v1/login",
            Body::json(json!({"login": 1, "password": 2})),
        ),
        Case::new(
            "patch with an unknown field",
            Method::PATCH,
            product_path.clone(),
            manager.clone(),
            Body::json(json!({"colour": "red"})),
        ),
        Case::new(
            "patch with a wrong type",
            Method::PATCH,
            product_path.clone(),
            manager.clone(),
            Body::json(json!({"price": "free"})),
        ),
        Case::new(
            "patch to an unknown category",
            Method::PATCH,
            product_path.clone(),
            manager.clone(),
            Body::json(json!({"category_id": 9999})),
        ),
        // serde reads a struct from an array of its fields; with every field
        // optional, `[null, null]` was a patch that changed nothing, answered 200.
        Case::new(
            "a JSON array as a patch whose fields are all optional",
            Method::PATCH,
            product_path,
            manager.clone(),
            Body::json(json!([null, null])),
        ),
        Case::new(
            "an invoice cursor past the largest id",
            Method::GET,
            "/api/v1/invoices?before=9223372036854775808",
            manager.clone(),
            Body::None,
        ),
    ];
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|case| case.expect(400, "invalid"))
        .collect();
    check(&app, &cases).await;
}

#[tokio::test]
async fn bad_ids_are_400_and_unknown_ids_404() {
    let app = spawn_app().await;
    seed_catalog(&app).await;
    let manager = Auth::Bearer(app.manager_token.clone());
    let get = |name: &'static str, path: &str| {
        Case::new(name, Method::GET, path, manager.clone(), Body::None)
    };
    let mut cases = Vec::new();
    for collection in [
        "products",
        "categories",
        "taxes",
        "customers",
        "payment_methods",
        "users",
        "configs",
    ] {
        for bad in ["abc", "1.5", "99999999999999999999999", "-", "%20"] {
            cases.push(
                get("non-integer id", &format!("/api/v1/{collection}/{bad}"))
                    .expect(400, "invalid"),
            );
        }
        cases.push(
            get("unknown id", &format!("/api/v1/{collection}/9999")).expect(404, "not_found"),
        );
        cases
            .push(get("negative id", &format!("/api/v1/{collection}/-1")).expect(404, "not_found"));
        cases.push(
            Case::new(
                "patch an unknown id",
                Method::PATCH,
                format!("/api/v1/{collection}/9999"),
                manager.clone(),
                Body::json(json!({"name": "Nobody"})),
            )
            .expect(404, "not_found"),
        );
    }
    for bad in ["not-a-uuid", "123", "0190a0e0-0000-7000-8000-00000000000"] {
        cases.push(
            get("malformed order id", &format!("/api/v1/orders/{bad}")).expect(400, "invalid"),
        );
        cases.push(
            get(
                "malformed order id",
                &format!("/api/v1/orders/{bad}/history"),
            )
            .expect(400, "invalid"),
        );
    }
    let unknown_order = "0190a0e0-0000-7000-8000-000000000001";
    cases.push(
        get("unknown order", &format!("/api/v1/orders/{unknown_order}")).expect(404, "not_found"),
    );
    cases.push(
        get(
            "unknown order history",
            &format!("/api/v1/orders/{unknown_order}/history"),
        )
        .expect(404, "not_found"),
    );
    cases.push(get("unknown order state", "/api/v1/orders?state=bogus").expect(400, "invalid"));
    cases.push(get("non-integer session", "/api/v1/sessions/abc/report").expect(400, "invalid"));
    cases.push(get("unknown session", "/api/v1/sessions/9999/report").expect(404, "not_found"));
    check(&app, &cases).await;
}

#[tokio::test]
async fn huge_bodies_are_413_too_large() {
    let app = spawn_app().await;
    let manager = Auth::Bearer(app.manager_token.clone());
    let huge_name = "x".repeat(300 * 1024);
    let huge_json = json!({"name": huge_name}).to_string();
    check(
        &app,
        &[
            Case::new(
                "300 KiB product",
                Method::POST,
                "/api/v1/products",
                manager.clone(),
                Body::text("application/json", &huge_json),
            )
            .expect(413, "too_large"),
            Case::new(
                "300 KiB login",
                Method::POST,
                "/api/v1/login",
                Auth::None,
                Body::text("application/json", &huge_json),
            )
            .expect(413, "too_large"),
            Case::new(
                "300 KiB close",
                Method::POST,
                "/api/v1/sessions/1/close",
                manager,
                Body::text("application/json", &huge_json),
            )
            .expect(413, "too_large"),
        ],
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let manager = Auth::Bearer(app.manager_token.clone());
    check(
        &app,
        &[
            Case::new(
                "unknown API route",
                Method::GET,
                "/api/v1/nope",
                manager.clone(),
                Body::None,
            )
            .expect(404, "not_found"),
            Case::new(
                "unknown API version",
                Method::GET,
                "/api/v2/products",
                manager.clone(),
                Body::None,
            )
            .expect(404, "not_found"),
            Case::new("bare /api", Method::GET, "/api", Auth::None, Body::None)
                .expect(404, "not_found"),
            Case::new(
                "unknown sub-route",
                Method::POST,
                "/api/v1/products/1/explode",
                manager.clone(),
                Body::None,
            )
            .expect(404, "not_found"),
            Case::new(
                "unknown file",
                Method::GET,
                "/no-such-file.js",
                Auth::None,
                Body::None,
            )
            .expect(404, "not_found"),
            Case::new(
                "POST to a web path",
                Method::POST,
                "/index.html",
                Auth::None,
                Body::None,
            )
            .expect(404, "not_found"),
            Case::new(
                "wrong method",
                Method::DELETE,
                "/api/v1/products",
                manager.clone(),
                Body::None,
            )
            .expect(405, "invalid"),
            Case::new(
                "wrong method on an item",
                Method::PUT,
                "/api/v1/products/1",
                manager,
                Body::json(json!({})),
            )
            .expect(405, "invalid"),
        ],
    )
    .await;
}
