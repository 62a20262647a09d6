//! Logging in, the three ways to send a token, and what a token resolves to.

use possync_testkit::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn manager_and_cashier_log_in_and_see_who_they_are() {
    let app = spawn_app().await;
    for (token, login, role) in [
        (&app.manager_token, MANAGER_LOGIN, "manager"),
        (&app.cashier_token, CASHIER_LOGIN, "cashier"),
    ] {
        assert_eq!(token.len(), 64, "32 random bytes as hex");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        let (status, me) = app.get("/api/v1/me", token).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["user"]["login"], login);
        assert_eq!(me["user"]["role"], role);
        assert!(me["user"]["id"].is_i64());
        assert!(me["session"].is_null() && me["config"].is_null(), "{me}");
    }
}

#[tokio::test]
async fn login_answers_the_user_without_secrets_and_sets_an_http_only_cookie() {
    let app = spawn_app().await;
    let response = app
        .send_raw(
            Method::POST,
            "/api/v1/login",
            &Auth::None,
            &Body::json(json!({"login": "  MANAGER ", "password": MANAGER_PASSWORD})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        cookie.starts_with(&format!(
            "possync_token={}",
            body["token"].as_str().unwrap()
        )),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(
        body["user"]["login"], MANAGER_LOGIN,
        "logins are case-insensitive and trimmed"
    );
    let text = body.to_string();
    assert!(
        !text.contains("argon2") && !text.contains("password"),
        "{text}"
    );
}

#[tokio::test]
async fn every_login_failure_reads_the_same() {
    let app = spawn_app().await;
    let mut messages = Vec::new();
    for (login, password) in [
        (MANAGER_LOGIN, "wrong password"),
        ("nobody", MANAGER_PASSWORD),
        ("not a valid login!", "x"),
        (MANAGER_LOGIN, ""),
    ] {
        let (status, body) = app
            .send(
                Method::POST,
                "/api/v1/login",
                &Auth::None,
                &Body::json(json!({"login": login, "password": password})),
            )
            .await;
        assert_eq!(status, 401, "{login}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        messages.push(body["error"]["message"].as_str().unwrap().to_owned());
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");
}

#[tokio::test]
async fn a_token_works_from_the_header_the_query_and_the_cookie() {
    let app = spawn_app().await;
    for auth in [
        Auth::Bearer(app.cashier_token.clone()),
        Auth::Query(app.cashier_token.clone()),
        Auth::Cookie(app.cashier_token.clone()),
        Auth::Header(format!("bearer {}", app.cashier_token)),
    ] {
        let (status, body) = app
            .send(Method::GET, "/api/v1/me", &auth, &Body::None)
            .await;
        assert_eq!(status, 200, "{auth:?}: {body}");
        assert_eq!(body["user"]["login"], CASHIER_LOGIN);
    }
    // The header wins over the cookie.
    let response = app
        .client
        .get(format!("{}/api/v1/me", app.base_url))
        .bearer_auth(&app.manager_token)
        .header("cookie", format!("possync_token={}", app.cashier_token))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user"]["login"], MANAGER_LOGIN);
}

#[tokio::test]
async fn a_terminal_token_knows_its_session_and_config() {
    let app = spawn_app().await;
    let config_id = app.create_config("Counter 1").await;
    let (session_id, terminal_token) = app.open_session(config_id).await;
    let (status, me) = app.get("/api/v1/me", &terminal_token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["login"], CASHIER_LOGIN);
    assert_eq!(me["session"]["id"], session_id);
    assert_eq!(me["session"]["state"], "open");
    assert_eq!(me["config"]["id"], config_id);
    assert_eq!(me["config"]["name"], "Counter 1");
}

#[tokio::test]
async fn missing_and_bad_tokens_are_401() {
    let app = spawn_app().await;
    let unknown_but_well_formed = "ab".repeat(32);
    let cases: Vec<Case> = [
        ("no token", Auth::None),
        ("garbage bearer", Auth::Bearer("garbage".into())),
        (
            "unknown token",
            Auth::Bearer(unknown_but_well_formed.clone()),
        ),
        (
            "unknown query token",
            Auth::Query(unknown_but_well_formed.clone()),
        ),
        (
            "unknown cookie token",
            Auth::Cookie(unknown_but_well_formed),
        ),
        ("basic auth", Auth::Header("Basic YWRtaW46YWRtaW4=".into())),
        ("empty bearer", Auth::Header("Bearer ".into())),
    ]
    .into_iter()
    .flat_map(|(name, auth)| {
        [
            Case::new(name, Method::GET, "/api/v1/me", auth.clone(), Body::None),
            Case::new(
                name,
                Method::GET,
                "/api/v1/products",
                auth.clone(),
                Body::None,
            ),
            Case::new(
                name,
                Method::POST,
                "/api/v1/categories",
                auth,
                Body::json(json!({"name": "Tea"})),
            ),
        ]
    })
    .map(|case| case.expect(401, "unauthorized"))
    .collect();
    check(&app, &cases).await;
}

#[tokio::test]
async fn repeated_login_failures_are_rate_limited_per_name_for_a_minute() {
    let app = spawn_app().await;
    let attempt = |login: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/login",
                &Auth::None,
                &Body::json(json!({"login": login, "password": password})),
            )
            .await
        }
    };
    for _ in 0..10 {
        assert_eq!(attempt(CASHIER_LOGIN, "guess").await.0, 401);
    }
    // Even the right password waits now, so guessing gains nothing from it.
    for password in ["guess", CASHIER_PASSWORD] {
        let (status, body) = attempt("Cashier", password).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"]["code"], "rate_limited");
    }
    // Other names are not affected.
    app.login(MANAGER_LOGIN, MANAGER_PASSWORD).await;
    app.clock.advance_millis(60_000);
    app.login(CASHIER_LOGIN, CASHIER_PASSWORD).await;
}

#[tokio::test]
async fn the_server_shuts_down_cleanly() {
    let app = spawn_app().await;
    let base_url = app.base_url.clone();
    let client = app.client.clone();
    app.stop().await;
    assert!(
        client
            .get(format!("{base_url}/healthz"))
            .send()
            .await
            .is_err(),
        "no longer listening"
    );
}
