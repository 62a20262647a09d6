//! The OpenAPI document: valid OpenAPI 3, complete for every route the router
//! serves, and true to the JSON the server really sends.

use possync_testkit::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every route of the HTTP API. A route added to the router must be added here
/// and to the document (registering it with `utoipa_axum::routes!` does the latter).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/api/v1/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/readyz"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/login"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/logout"),
    ("get", "/api/v1/configs"),
    ("post", "/api/v1/configs"),
    ("get", "/api/v1/configs/{id}"),
    ("patch", "/api/v1/configs/{id}"),
    ("put", "/api/v1/configs/{id}/sync_with"),
    ("get", "/api/v1/products"),
    ("post", "/api/v1/products"),
    ("get", "/api/v1/products/{id}"),
    ("patch", "/api/v1/products/{id}"),
    ("get", "/api/v1/categories"),
    ("post", "/api/v1/categories"),
    ("get", "/api/v1/categories/{id}"),
    ("patch", "/api/v1/categories/{id}"),
    ("get", "/api/v1/taxes"),
    ("post", "/api/v1/taxes"),
    ("get", "/api/v1/taxes/{id}"),
    ("patch", "/api/v1/taxes/{id}"),
    ("get", "/api/v1/customers"),
    ("post", "/api/v1/customers"),
    ("get", "/api/v1/customers/{id}"),
    ("patch", "/api/v1/customers/{id}"),
    ("get", "/api/v1/payment_methods"),
    ("post", "/api/v1/payment_methods"),
    ("get", "/api/v1/payment_methods/{id}"),
    ("patch", "/api/v1/payment_methods/{id}"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/users/{id}"),
    ("get", "/api/v1/approvers"),
    ("get", "/api/v1/sessions"),
    ("post", "/api/v1/sessions"),
    ("post", "/api/v1/sessions/{id}/close"),
    ("get", "/api/v1/sessions/{id}/report"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/{id}"),
    ("get", "/api/v1/orders/{id}/history"),
    ("post", "/api/v1/orders/{id}/ops"),
    ("post", "/api/v1/orders/{id}/refund"),
    ("get", "/api/v1/sync"),
    ("get", "/metrics"),
    ("get", "/api/v1/shop"),
    ("patch", "/api/v1/shop"),
    ("get", "/api/v1/orders/{id}/receipt"),
    ("post", "/api/v1/sessions/{id}/cash_moves"),
    ("get", "/api/v1/invoices"),
    ("get", "/api/v1/invoices/{id}"),
    ("get", "/api/v1/invoices/{id}/pdf"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/products/{id}/stock_moves"),
    ("post", "/api/v1/products/{id}/stock_moves"),
    ("get", "/api/v1/reports/sales"),
    ("get", "/api/v1/configs/{id}/printer"),
    ("post", "/api/v1/orders/{id}/print"),
    ("post", "/api/v1/sessions/{id}/print"),
];

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    let response = app
        .send_raw(
            Method::GET,
            "/api/v1/openapi.json",
            &Auth::None,
            &Body::None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let text = response.text().await.unwrap();
    // A typed OpenAPI 3.1 parser refuses a structurally invalid document.
    if let Err(error) = oas3::from_json(&text) {
        panic!("the document is not valid OpenAPI 3.1: {error}");
    }
    serde_json::from_str(&text).unwrap()
}

fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if HTTP_METHODS.contains(&method.as_str()) {
                routes.insert((method.clone(), path.clone()));
            }
        }
    }
    routes
}

/// Every `$ref` in the document, to check each one resolves.
fn collect_refs(value: &Value, refs: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                refs.insert(reference.clone());
            }
            map.values().for_each(|child| collect_refs(child, refs));
        }
        Value::Array(items) => items.iter().for_each(|child| collect_refs(child, refs)),
        _ => {}
    }
}

fn resolve<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("external ref {reference}"));
    document
        .pointer(pointer)
        .unwrap_or_else(|| panic!("unresolved ref {reference}"))
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_and_lists_every_route() {
    let app = spawn_app().await;
    let document = document(&app).await;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        document["openapi"]
    );
    assert_eq!(document["info"]["title"], "possync");

    let documented = documented_routes(&document);
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let unlisted: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    assert!(
        unlisted.is_empty(),
        "documented routes missing from ROUTES in this test: {unlisted:?}"
    );

    let mut refs = BTreeSet::new();
    collect_refs(&document, &mut refs);
    assert!(!refs.is_empty());
    for reference in &refs {
        resolve(&document, reference);
    }

    let mut operation_ids = BTreeSet::new();
    for (method, path) in &documented {
        let operation = &document["paths"][path][method];
        let operation_id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        assert!(
            operation_ids.insert(operation_id.to_owned()),
            "duplicate operationId {operation_id}"
        );
        assert!(
            operation["tags"]
                .as_array()
                .is_some_and(|tags| !tags.is_empty()),
            "{method} {path}: no tag"
        );
        let responses = operation["responses"].as_object().unwrap();
        // The sync WebSocket succeeds by switching protocols.
        assert!(
            responses.keys().any(
                |status| status.starts_with('2') || (path == "/api/v1/sync" && status == "101")
            ),
            "{method} {path}: no success answer"
        );
        for (status, response) in responses {
            if status.starts_with('4') {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                // An op's refusal is a `reject` message that also carries the
                // `error` object, or (when no op could be read) the error alone.
                // A refund the node refused answers the same reject message.
                let reject_allowed = (path == "/api/v1/orders/{id}/ops"
                    || path == "/api/v1/orders/{id}/refund")
                    && (schema == "#/components/schemas/RejectMessage"
                        || schema == "#/components/schemas/OpRefusal");
                assert!(
                    schema == "#/components/schemas/ErrorBody" || reject_allowed,
                    "{method} {path} {status}: {schema}"
                );
            }
        }
        for parameter in path.split('/').filter(|segment| segment.starts_with('{')) {
            let name = parameter.trim_matches(['{', '}']);
            let declared = operation["parameters"]
                .as_array()
                .is_some_and(|parameters| {
                    parameters
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path")
                });
            assert!(
                declared,
                "{method} {path}: path parameter {name} undeclared"
            );
        }
    }
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = spawn_app().await;
    let document = document(&app).await;
    for (method, path) in documented_routes(&document) {
        let concrete = if path.starts_with("/api/v1/orders/") {
            path.replace("{id}", "0190a0e0-0000-7000-8000-000000000001")
        } else {
            path.replace("{id}", "1")
        };
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .send_raw(method.clone(), &concrete, &Auth::None, &Body::None)
            .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{method} {concrete}: method not routed");
        assert_ne!(
            body["error"]["message"], "no such route",
            "{method} {concrete}: documented but not routed"
        );
    }
}

/// Checks that `value` has exactly the shape `schema` documents: no undocumented
/// field, every required field present, and the JSON types right, recursively.
fn assert_matches_schema(document: &Value, schema: &Value, value: &Value, at: &str) {
    if let Err(mismatch) = schema_mismatch(document, schema, value, at) {
        panic!("{mismatch}");
    }
}

fn schema_mismatch(
    document: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        return schema_mismatch(document, resolve(document, reference), value, at);
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[combinator].as_array() {
            let mismatches: Vec<String> = alternatives
                .iter()
                .filter_map(|alternative| schema_mismatch(document, alternative, value, at).err())
                .collect();
            return if mismatches.len() < alternatives.len() {
                Ok(())
            } else {
                Err(format!(
                    "{at}: {value} matches no alternative: {mismatches:?}"
                ))
            };
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for part in all {
            schema_mismatch(document, part, value, at)?;
        }
        return Ok(());
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(single) => vec![single.as_str()],
        Value::Array(several) => several.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    // An integer is also a JSON Schema number.
    let type_documented = types.is_empty()
        || types.contains(&actual)
        || (actual == "integer" && types.contains(&"number"));
    if !type_documented {
        return Err(format!(
            "{at}: {value} is {actual}, documented as {types:?}"
        ));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} not in {allowed:?}"));
    }
    match value {
        Value::Object(fields) => {
            let properties = schema["properties"].as_object();
            // `additionalProperties` documents a free-form map (an audit entry's details).
            let additional = schema
                .get("additionalProperties")
                .filter(|additional| additional.is_object() || additional.as_bool() == Some(true));
            for (key, field) in fields {
                let Some(property) = properties
                    .and_then(|properties| properties.get(key))
                    .or(additional)
                else {
                    return Err(format!("{at}.{key} is sent but not documented"));
                };
                schema_mismatch(document, property, field, &format!("{at}.{key}"))?;
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let required = required.as_str().unwrap_or_default();
                if !fields.contains_key(required) {
                    return Err(format!(
                        "{at}.{required} is documented as required but missing"
                    ));
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                schema_mismatch(document, &schema["items"], item, &format!("{at}[{index}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn success_schema<'a>(document: &'a Value, method: &str, path: &str) -> &'a Value {
    let responses = &document["paths"][path][method]["responses"];
    let status = ["200", "201"]
        .into_iter()
        .find(|status| !responses[status].is_null())
        .unwrap();
    &responses[status]["content"]["application/json"]["schema"]
}

#[tokio::test]
async fn documented_schemas_match_real_answers() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let ids = seed_catalog(&app).await;
    let config_id = app.create_config("Counter 1").await;
    let (status, opened) = app
        .post(
            "/api/v1/sessions",
            &app.cashier_token,
            json!({"config_id": config_id}),
        )
        .await;
    assert_eq!(status, 200);
    let session_id = opened["session"]["id"].as_i64().unwrap();
    let terminal_token = opened["terminal_token"].as_str().unwrap().to_owned();
    let (_, me) = app.get("/api/v1/me", &app.manager_token).await;
    let user_id = me["user"]["id"].as_i64().unwrap();

    let mut checked = vec![(
        "post",
        "/api/v1/sessions".to_owned(),
        "/api/v1/sessions",
        opened,
    )];
    let reads: Vec<(&str, String, &str, &str)> = vec![
        ("get", "/api/v1/me".into(), "/api/v1/me", &terminal_token),
        ("get", "/api/v1/me".into(), "/api/v1/me", &app.manager_token),
        (
            "get",
            "/api/v1/configs".into(),
            "/api/v1/configs",
            &app.manager_token,
        ),
        (
            "get",
            format!("/api/v1/configs/{config_id}"),
            "/api/v1/configs/{id}",
            &app.manager_token,
        ),
        (
            "get",
            "/api/v1/products".into(),
            "/api/v1/products",
            &terminal_token,
        ),
        (
            "get",
            format!("/api/v1/products/{}", ids.product_id),
            "/api/v1/products/{id}",
            &terminal_token,
        ),
        (
            "get",
            "/api/v1/categories".into(),
            "/api/v1/categories",
            &terminal_token,
        ),
        (
            "get",
            "/api/v1/reports/sales?group=hour".into(),
            "/api/v1/reports/sales",
            &app.manager_token,
        ),
        (
            "get",
            format!("/api/v1/products/{}/stock_moves", ids.product_id),
            "/api/v1/products/{id}/stock_moves",
            &app.manager_token,
        ),
        (
            "get",
            "/api/v1/taxes".into(),
            "/api/v1/taxes",
            &terminal_token,
        ),
        (
            "get",
            "/api/v1/customers".into(),
            "/api/v1/customers",
            &terminal_token,
        ),
        (
            "get",
            "/api/v1/payment_methods".into(),
            "/api/v1/payment_methods",
            &terminal_token,
        ),
        (
            "get",
            "/api/v1/users".into(),
            "/api/v1/users",
            &app.manager_token,
        ),
        (
            "get",
            format!("/api/v1/users/{user_id}"),
            "/api/v1/users/{id}",
            &app.manager_token,
        ),
        // The manager (no PIN) is an approver: a non-empty list is checked.
        (
            "get",
            "/api/v1/approvers".into(),
            "/api/v1/approvers",
            &terminal_token,
        ),
        (
            "get",
            "/api/v1/sessions".into(),
            "/api/v1/sessions",
            &app.manager_token,
        ),
        (
            "get",
            format!("/api/v1/sessions/{session_id}/report"),
            "/api/v1/sessions/{id}/report",
            &app.manager_token,
        ),
        (
            "get",
            "/api/v1/healthz".into(),
            "/api/v1/healthz",
            &app.manager_token,
        ),
        ("get", "/healthz".into(), "/healthz", &app.manager_token),
        ("get", "/readyz".into(), "/readyz", &app.manager_token),
        (
            "get",
            "/api/v1/orders".into(),
            "/api/v1/orders",
            &terminal_token,
        ),
        (
            "get",
            "/api/v1/shop".into(),
            "/api/v1/shop",
            &terminal_token,
        ),
        (
            "get",
            "/api/v1/invoices".into(),
            "/api/v1/invoices",
            &app.manager_token,
        ),
        (
            "get",
            "/api/v1/audit".into(),
            "/api/v1/audit",
            &app.manager_token,
        ),
    ];
    for (method, concrete, documented, token) in reads {
        let (status, body) = app.get(&concrete, token).await;
        assert_eq!(status, 200, "{concrete}: {body}");
        checked.push((method, concrete, documented, body));
    }
    let (status, login) = app
        .send(
            Method::POST,
            "/api/v1/login",
            &Auth::None,
            &Body::json(json!({"login": MANAGER_LOGIN, "password": MANAGER_PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    checked.push(("post", "/api/v1/login".into(), "/api/v1/login", login));
    let (status, report) = app
        .post(
            &format!("/api/v1/sessions/{session_id}/close"),
            &app.cashier_token,
            json!({"counted_cash": 0}),
        )
        .await;
    assert_eq!(status, 200);
    checked.push((
        "post",
        "close".into(),
        "/api/v1/sessions/{id}/close",
        report,
    ));

    for (method, concrete, documented, body) in &checked {
        let schema = success_schema(&document, method, documented);
        assert_matches_schema(&document, schema, body, concrete);
    }

    // Error answers, whatever the route.
    let (status, error) = app.get("/api/v1/products/abc", &app.manager_token).await;
    assert_eq!(status, 400);
    let error_schema = json!({"$ref": "#/components/schemas/ErrorBody"});
    assert_matches_schema(&document, &error_schema, &error, "error");
}

#[tokio::test]
async fn the_order_and_history_schemas_match_the_core_types() {
    use possync_core::*;
    let app = spawn_app().await;
    let document = document(&app).await;
    let by = By {
        session_id: SessionId(1),
        config_id: ConfigId(1),
        config_name: Name::parse("Counter 1").unwrap(),
        terminal: TerminalId(uuid::Uuid::from_u128(1)),
    };
    struct Catalog;
    impl CatalogView for Catalog {
        fn sale_product(&self, _: ProductId) -> Option<SaleProduct> {
            Some(SaleProduct {
                name: Name::parse("Espresso").unwrap(),
                price: Money::new(220).unwrap(),
                taxes: vec![LineTax {
                    tax_id: TaxId(1),
                    rate: TaxRate::from_basis_points(1000).unwrap(),
                    price_included: true,
                }],
            })
        }
        fn customer_exists(&self, _: CustomerId) -> bool {
            true
        }
        fn payment_method_kind(&self, _: PaymentMethodId) -> Option<PaymentMethodKind> {
            Some(PaymentMethodKind::Cash)
        }
    }
    let context = ApplyContext {
        rights: possync_core::Rights::FULL,
        by: &by,
        now: Timestamp::from_unix_millis(1_800_000_000_000),
        catalog: &Catalog,
        lease_ms: 60_000,
        auto_share: false,
        reference: "Counter 1 - 0001",
    };
    let order_id = OrderId(uuid::Uuid::from_u128(9));
    let apply_op =
        |current: Option<&Order>, op: &Op| match apply(current, order_id, op, &context).unwrap() {
            Applied::Changed(order) => order,
            Applied::Unchanged => panic!("unchanged"),
        };
    let create = Op::Create {
        config_id: None,
        customer_id: Some(CustomerId(1)),
        note: Some(Note::parse("table 4").unwrap()),
        share: Some(true),
    };
    let order = apply_op(None, &create);
    let add_line = Op::AddLine {
        line_id: LineId(uuid::Uuid::from_u128(2)),
        product_id: ProductId(1),
        qty: Quantity::from_milli(2000).unwrap(),
        unit_price: None,
        discount: Some(Discount::from_basis_points(1000).unwrap()),
        note: None,
    };
    let order = apply_op(Some(&order), &add_line);
    // A second line, removed, so `removed_line_ids` is not empty.
    let removed_line_id = LineId(uuid::Uuid::from_u128(4));
    let add_removed_line = Op::AddLine {
        line_id: removed_line_id,
        product_id: ProductId(1),
        qty: Quantity::ONE,
        unit_price: Some(Money::new(100).unwrap()),
        discount: None,
        note: Some(Note::parse("no sugar").unwrap()),
    };
    let order = apply_op(Some(&order), &add_removed_line);
    let order = apply_op(
        Some(&order),
        &Op::RemoveLine {
            line_id: removed_line_id,
        },
    );
    assert!(!order.removed_line_ids.is_empty());
    let order = apply_op(Some(&order), &Op::BeginPayment {});
    let pay = Op::Pay {
        payments: vec![PaymentInput {
            method_id: PaymentMethodId(1),
            amount: Money::new(1000).unwrap(),
        }],
        expected_total: order.totals.total,
        invoice: Some(true),
    };
    let locked = serde_json::to_value(&order).unwrap();
    let paid_order = apply_op(Some(&order), &pay);
    let paid = serde_json::to_value(&paid_order).unwrap();
    // The receipt and invoice of that paid order, with every optional field set.
    let names = ReceiptNames {
        origin_config_name: Some(Name::parse("Counter 1").unwrap()),
        customer_name: Some(Name::parse("Ada").unwrap()),
        invoice: Some(possync_store::Invoice {
            number: 1,
            order_id,
            customer_id: CustomerId(1),
            total: paid_order.totals.total,
            at: Timestamp::from_unix_millis(1_800_000_000_000),
        }),
        ..ReceiptNames::default()
    };
    let receipt = build_receipt(
        &paid_order,
        Some("Counter 1/0001".to_owned()),
        &Shop::default(),
        &names,
    )
    .unwrap();
    assert_matches_schema(
        &document,
        &json!({"$ref": "#/components/schemas/Receipt"}),
        &serde_json::to_value(&receipt).unwrap(),
        "receipt",
    );
    let invoice = possync_store::Invoice {
        number: 1,
        order_id,
        customer_id: CustomerId(1),
        total: paid_order.totals.total,
        at: Timestamp::from_unix_millis(1_800_000_000_000),
    };
    assert_matches_schema(
        &document,
        &json!({"$ref": "#/components/schemas/InvoiceDocument"}),
        &serde_json::to_value(build_invoice(&invoice, receipt)).unwrap(),
        "invoice",
    );
    let cash_move = CashMove {
        id: 1,
        amount: Money::new(-500).unwrap(),
        reason: Note::parse("Bank drop").unwrap(),
        user_id: UserId(1),
        at: Timestamp::from_unix_millis(1_800_000_000_000),
    };
    assert_matches_schema(
        &document,
        &json!({"$ref": "#/components/schemas/CashMove"}),
        &serde_json::to_value(&cash_move).unwrap(),
        "cash move",
    );
    let order_schema = json!({"$ref": "#/components/schemas/Order"});
    assert_matches_schema(&document, &order_schema, &locked, "locked order");
    assert_matches_schema(&document, &order_schema, &paid, "paid order");

    let history_schema = json!({"$ref": "#/components/schemas/HistoryEntry"});
    for op in [
        create,
        add_line,
        add_removed_line,
        pay,
        Op::Cancel { reason: None },
    ] {
        let entry = possync_store::HistoryEntry {
            approved_by: None,
            version: 1,
            op_id: OpId(uuid::Uuid::from_u128(3)),
            op,
            by: by.clone(),
            at: Timestamp::from_unix_millis(1_800_000_000_000),
        };
        assert_matches_schema(
            &document,
            &history_schema,
            &serde_json::to_value(&entry).unwrap(),
            "history",
        );
    }
}
