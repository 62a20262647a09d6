//! Logins that cannot be turned against the shop, cookies that another site
//! cannot use, and metrics that are not public.

use possync_server::ServerConfig;
use possync_server::auth::{AuthSettings, ThrottleLimits};
use possync_testkit::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::net::IpAddr;

/// A client whose connections come from another loopback address (all of
/// 127.0.0.0/8 reaches the server on Linux), to stand for another till or device.
fn client_from(address: &str) -> reqwest::Client {
    let address: IpAddr = address.parse().unwrap();
    reqwest::Client::builder()
        .no_proxy()
        .local_address(address)
        .build()
        .unwrap()
}

async fn try_login(
    app: &TestApp,
    client: &reqwest::Client,
    login: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{}/api/v1/login", app.base_url))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after_s(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn bad_tries_from_one_address_never_lock_the_manager_out_from_another() {
    let app = spawn_app().await;
    for _ in 0..10 {
        let response = try_login(&app, &app.client, MANAGER_LOGIN, "guess").await;
        assert_eq!(response.status(), 401);
    }
    // From the attacker's address even the right password now waits, with a Retry-After.
    let response = try_login(&app, &app.client, MANAGER_LOGIN, MANAGER_PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert_eq!(retry_after_s(&response), 6, "one try back every 60/10 s");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // The manager, at another till, is not affected.
    let manager_till = client_from("127.0.0.2");
    let response = try_login(&app, &manager_till, MANAGER_LOGIN, MANAGER_PASSWORD).await;
    assert_eq!(response.status(), 200);
    // Once the Retry-After has passed, one more try is allowed from the first address.
    app.clock.advance_millis(6_000);
    let response = try_login(&app, &app.client, MANAGER_LOGIN, MANAGER_PASSWORD).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn parallel_wrong_passwords_are_counted_before_they_are_checked() {
    let app = spawn_app().await;
    // Forty at once from one address: the check and the count are one step, so
    // exactly the ten tries the limit allows reach a password check.
    let attempts = (0..40).map(|_| try_login(&app, &app.client, CASHIER_LOGIN, "guess"));
    let mut statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![401; 10], vec![429; 30]].concat());
}

#[tokio::test]
async fn an_address_is_limited_whatever_login_it_tries() {
    let app = spawn_app_with(ServerConfig {
        auth: AuthSettings {
            throttle: ThrottleLimits {
                failures_per_login_and_address_max: 10,
                failures_per_address_max: 4,
            },
            ..AuthSettings::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let prober = client_from("127.0.0.3");
    // Successful logins take nothing from the address's tries...
    for _ in 0..6 {
        let response = try_login(&app, &prober, CASHIER_LOGIN, CASHIER_PASSWORD).await;
        assert_eq!(response.status(), 200);
    }
    // ...wrong ones do, whatever the login.
    for login in ["alice", "bob", "carol", "dave"] {
        assert_eq!(try_login(&app, &prober, login, "guess").await.status(), 401);
    }
    let response = try_login(&app, &prober, CASHIER_LOGIN, CASHIER_PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert_eq!(retry_after_s(&response), 15);
    // Other addresses are not affected.
    app.login(CASHIER_LOGIN, CASHIER_PASSWORD).await;
}

#[tokio::test]
async fn the_login_cookie_is_http_only_same_site_strict_and_expires_with_the_token() {
    let app = spawn_app().await;
    let response = try_login(&app, &app.client, CASHIER_LOGIN, CASHIER_PASSWORD).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let attributes: Vec<&str> = cookie.split("; ").skip(1).collect();
    assert_eq!(
        attributes,
        ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"],
        "{cookie}"
    );
}

/// A request authenticated only by the cookie, with extra headers.
async fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base_url))
        .header("cookie", format!("possync_token={token}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_change_sent_with_the_cookie_needs_the_csrf_token_and_the_same_origin() {
    let app = spawn_app().await;
    let response = try_login(&app, &app.client, MANAGER_LOGIN, MANAGER_PASSWORD).await;
    let login: Value = response.json().await.unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let csrf_token = login["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(csrf_token.len(), 64);
    assert_ne!(csrf_token, token);
    let own_origin = format!("http://{}", app.base_url.trim_start_matches("http://"));
    let new_category = || Some(json!({"name": "Tea"}));

    // A page of another site can make the browser send the cookie, but not the header.
    let before = app.snapshot().await;
    for headers in [
        vec![],
        vec![("x-csrf-token", "0".repeat(64))],
        vec![("x-csrf-token", token.clone())],
        vec![
            ("x-csrf-token", csrf_token.clone()),
            ("origin", "http://evil.example".to_owned()),
        ],
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (status, body) = with_cookie(
            &app,
            Method::POST,
            "/api/v1/categories",
            &token,
            &headers,
            new_category(),
        )
        .await;
        assert_eq!(status, 403, "{headers:?}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    // Reading from another site's page is refused too; from our own page it works.
    let (status, _) = with_cookie(
        &app,
        Method::GET,
        "/api/v1/me",
        &token,
        &[("origin", "http://evil.example")],
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.snapshot().await, before, "nothing changed");

    // The page that logged in knows the CSRF token (from the login or from /me) and may change things.
    let (status, me) = with_cookie(&app, Method::GET, "/api/v1/me", &token, &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(me["csrf_token"], csrf_token.as_str());
    let (status, body) = with_cookie(
        &app,
        Method::POST,
        "/api/v1/categories",
        &token,
        &[("x-csrf-token", &csrf_token), ("origin", &own_origin)],
        new_category(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // A bearer token needs no CSRF token: no other site can make a browser send it.
    let (status, body) = app
        .post("/api/v1/categories", &token, json!({"name": "Juice"}))
        .await;
    assert_eq!(status, 201, "{body}");
}

const METRICS_TOKEN: &str = "scraper-secret-0123456789";

#[tokio::test]
async fn metrics_are_for_managers_and_the_metrics_token_only() {
    let app = spawn_app_with(ServerConfig {
        auth: AuthSettings {
            metrics_token: Some(METRICS_TOKEN.to_owned()),
            ..AuthSettings::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let config_id = app.create_config("Counter 1").await;
    let (_, terminal_token) = app.open_session(config_id).await;
    let refused = [
        ("no token", Auth::None, 401),
        ("a made-up token", Auth::Bearer("ab".repeat(32)), 401),
        (
            "a wrong metrics token",
            Auth::Bearer(format!("{METRICS_TOKEN}x")),
            401,
        ),
        (
            "the metrics token as a cookie",
            Auth::Cookie(METRICS_TOKEN.into()),
            401,
        ),
        ("a cashier", Auth::Bearer(app.cashier_token.clone()), 403),
        ("a terminal", Auth::Bearer(terminal_token), 403),
    ];
    for (name, auth, status) in refused {
        let response = app
            .send_raw(Method::GET, "/metrics", &auth, &Body::None)
            .await;
        assert_eq!(response.status(), status, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{name}: {body}");
    }
    for auth in [
        Auth::Bearer(app.manager_token.clone()),
        Auth::Bearer(METRICS_TOKEN.into()),
        Auth::Query(METRICS_TOKEN.into()),
    ] {
        let response = app
            .send_raw(Method::GET, "/metrics", &auth, &Body::None)
            .await;
        assert_eq!(response.status(), 200, "{auth:?}");
        let text = response.text().await.unwrap();
        assert!(text.contains("possync_ops_accepted_total"), "{text}");
    }
}
