//! Session rules: a second open joins, close then reopen starts a new session,
//! closing twice is a conflict, and a closed session's terminal tokens stop working.

use possync_testkit::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_second_open_joins_the_same_session_with_a_new_token() {
    let app = spawn_app().await;
    let config_id = app.create_config("Counter 1").await;
    let (status, first) = app
        .post(
            "/api/v1/sessions",
            &app.cashier_token,
            json!({"config_id": config_id, "opening_cash": 10000}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["joined"], false);
    assert_eq!(first["session"]["config_id"], config_id);
    assert_eq!(first["session"]["state"], "open");
    assert!(
        first["session"]["opened_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let (status, second) = app
        .post(
            "/api/v1/sessions",
            &app.manager_token,
            json!({"config_id": config_id}),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["joined"], true);
    assert_eq!(second["session"]["id"], first["session"]["id"]);
    assert_ne!(second["terminal_token"], first["terminal_token"]);

    for token in [&first["terminal_token"], &second["terminal_token"]] {
        let (status, me) = app.get("/api/v1/me", token.as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(me["session"]["id"], first["session"]["id"]);
    }
}

#[tokio::test]
async fn close_then_reopen_starts_a_new_session_and_closing_twice_is_a_conflict() {
    let app = spawn_app().await;
    let config_id = app.create_config("Counter 1").await;
    let (session_id, terminal_token) = app.open_session(config_id).await;

    let (status, report) = app
        .post(
            &format!("/api/v1/sessions/{session_id}/close"),
            &app.cashier_token,
            json!({"counted_cash": 2500}),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["session"]["id"], session_id);
    assert_eq!(report["session"]["state"], "closed");
    assert_eq!(report["orders_paid"], 0);
    assert_eq!(report["cash"]["counted"], 2500);

    let (_, config) = app
        .get(&format!("/api/v1/configs/{config_id}"), &app.manager_token)
        .await;
    assert_eq!(config["open_session_id"], serde_json::Value::Null);

    check(
        &app,
        &[
            Case::new(
                "close twice",
                Method::POST,
                format!("/api/v1/sessions/{session_id}/close"),
                Auth::Bearer(app.cashier_token.clone()),
                Body::None,
            )
            .expect(409, "session_closed"),
            Case::new(
                "a closed session's terminal token",
                Method::GET,
                "/api/v1/orders",
                Auth::Bearer(terminal_token.clone()),
                Body::None,
            )
            .expect(401, "session_closed"),
            Case::new(
                "a closed session's terminal token on the catalog",
                Method::GET,
                "/api/v1/products",
                Auth::Bearer(terminal_token),
                Body::None,
            )
            .expect(401, "session_closed"),
            Case::new(
                "close an unknown session",
                Method::POST,
                "/api/v1/sessions/9999/close",
                Auth::Bearer(app.cashier_token.clone()),
                Body::None,
            )
            .expect(404, "not_found"),
        ],
    )
    .await;

    let (reopened_id, _) = app.open_session(config_id).await;
    assert_ne!(reopened_id, session_id);

    // The report of the closed session is still there; the list is newest first.
    let (status, report) = app
        .get(
            &format!("/api/v1/sessions/{session_id}/report"),
            &app.manager_token,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["session"]["state"], "closed");
    let (status, sessions) = app.get("/api/v1/sessions", &app.cashier_token).await;
    assert_eq!(status, 200, "{sessions}");
    let ids: Vec<i64> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![reopened_id, session_id]);
}

#[tokio::test]
async fn sessions_need_a_user_token_and_a_real_config() {
    let app = spawn_app().await;
    let config_id = app.create_config("Counter 1").await;
    let (session_id, terminal_token) = app.open_session(config_id).await;
    let terminal = Auth::Bearer(terminal_token);
    check(
        &app,
        &[
            Case::new(
                "open with a terminal token",
                Method::POST,
                "/api/v1/sessions",
                terminal.clone(),
                Body::json(json!({"config_id": config_id})),
            )
            .expect(403, "forbidden"),
            Case::new(
                "close with a terminal token",
                Method::POST,
                format!("/api/v1/sessions/{session_id}/close"),
                terminal.clone(),
                Body::None,
            )
            .expect(403, "forbidden"),
            Case::new(
                "list with a terminal token",
                Method::GET,
                "/api/v1/sessions",
                terminal,
                Body::None,
            )
            .expect(403, "forbidden"),
            Case::new(
                "open an unknown config",
                Method::POST,
                "/api/v1/sessions",
                Auth::Bearer(app.cashier_token.clone()),
                Body::json(json!({"config_id": 9999})),
            )
            .expect(404, "not_found"),
            Case::new(
                "negative opening cash beyond bounds",
                Method::POST,
                "/api/v1/sessions",
                Auth::Bearer(app.cashier_token.clone()),
                Body::json(json!({"config_id": config_id, "opening_cash": 1e30})),
            )
            .expect(400, "invalid"),
            Case::new(
                "report of an unknown session",
                Method::GET,
                "/api/v1/sessions/9999/report",
                Auth::Bearer(app.cashier_token.clone()),
                Body::None,
            )
            .expect(404, "not_found"),
        ],
    )
    .await;
}

#[tokio::test]
async fn concurrent_opens_of_one_config_share_one_session() {
    let app = spawn_app().await;
    let config_id = app.create_config("Counter 1").await;
    let opens = (0..8).map(|_| {
        app.post(
            "/api/v1/sessions",
            &app.cashier_token,
            json!({"config_id": config_id}),
        )
    });
    let answers = futures_util::future::join_all(opens).await;
    let mut session_ids = std::collections::BTreeSet::new();
    let mut tokens = std::collections::BTreeSet::new();
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        session_ids.insert(answer["session"]["id"].as_i64().unwrap());
        tokens.insert(answer["terminal_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(session_ids.len(), 1, "{answers:?}");
    assert_eq!(tokens.len(), 8, "a new terminal token for every call");
    let joined = answers
        .iter()
        .filter(|(_, answer)| answer["joined"] == false)
        .count();
    assert_eq!(joined, 1, "exactly one call opened the session");
}
