//! The sync-link matrix: two-way, never to itself, never to an unknown config,
//! not transitive, symmetric after every change.

use possync_testkit::*;
use reqwest::Method;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Reads every config's links and checks they are symmetric and never self-links.
async fn links_of(app: &TestApp) -> BTreeMap<i64, BTreeSet<i64>> {
    let (status, configs) = app.get("/api/v1/configs", &app.manager_token).await;
    assert_eq!(status, 200, "{configs}");
    let links: BTreeMap<i64, BTreeSet<i64>> = configs
        .as_array()
        .unwrap()
        .iter()
        .map(|config| {
            let linked = config["sync_with"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_i64().unwrap())
                .collect();
            (config["id"].as_i64().unwrap(), linked)
        })
        .collect();
    for (config_id, linked) in &links {
        assert!(
            !linked.contains(config_id),
            "{config_id} links to itself: {links:?}"
        );
        for other in linked {
            assert!(
                links[other].contains(config_id),
                "{config_id} -> {other} is one-way: {links:?}"
            );
        }
    }
    links
}

fn expected(pairs: &[(i64, &[i64])]) -> BTreeMap<i64, BTreeSet<i64>> {
    pairs
        .iter()
        .map(|(config_id, linked)| (*config_id, linked.iter().copied().collect()))
        .collect()
}

#[tokio::test]
async fn links_are_two_way_symmetric_and_not_transitive() {
    let app = spawn_app().await;
    let a = app.create_config("A").await;
    let b = app.create_config("B").await;
    let c = app.create_config("C").await;
    assert_eq!(
        links_of(&app).await,
        expected(&[(a, &[]), (b, &[]), (c, &[])])
    );

    let answer = app.set_links(a, &[b]).await;
    assert_eq!(answer["id"], a);
    assert_eq!(answer["sync_with"], json!([b]));
    assert_eq!(
        links_of(&app).await,
        expected(&[(a, &[b]), (b, &[a]), (c, &[])])
    );

    // B links to A and C: A and C are not linked to each other.
    app.set_links(b, &[a, c]).await;
    assert_eq!(
        links_of(&app).await,
        expected(&[(a, &[b]), (b, &[a, c]), (c, &[b])])
    );

    // Dropping A from B's list drops B from A's too.
    app.set_links(b, &[c]).await;
    assert_eq!(
        links_of(&app).await,
        expected(&[(a, &[]), (b, &[c]), (c, &[b])])
    );

    // Duplicates collapse; linking from the other side is the same link.
    app.set_links(c, &[b, b, a]).await;
    assert_eq!(
        links_of(&app).await,
        expected(&[(a, &[c]), (b, &[c]), (c, &[a, b])])
    );

    // An empty list unlinks everything of that config, and only of that config.
    app.set_links(c, &[]).await;
    assert_eq!(
        links_of(&app).await,
        expected(&[(a, &[]), (b, &[]), (c, &[])])
    );

    // A config created with links is linked both ways at once.
    let (status, d) = app
        .post(
            "/api/v1/configs",
            &app.manager_token,
            json!({"name": "D", "sync_with": [a, b]}),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    let d = d["id"].as_i64().unwrap();
    assert_eq!(
        links_of(&app).await,
        expected(&[(a, &[d]), (b, &[d]), (c, &[]), (d, &[a, b])])
    );
}

#[tokio::test]
async fn self_links_and_unknown_configs_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let a = app.create_config("A").await;
    let b = app.create_config("B").await;
    app.set_links(a, &[b]).await;
    let manager = Auth::Bearer(app.manager_token.clone());
    let sync_with = |config_id: i64| format!("/api/v1/configs/{config_id}/sync_with");
    check(
        &app,
        &[
            Case::new(
                "self-link",
                Method::PUT,
                sync_with(a),
                manager.clone(),
                Body::json(json!({"config_ids": [a]})),
            )
            .expect(400, "invalid"),
            Case::new(
                "self-link among others",
                Method::PUT,
                sync_with(a),
                manager.clone(),
                Body::json(json!({"config_ids": [b, a]})),
            )
            .expect(400, "invalid"),
            Case::new(
                "unknown linked config",
                Method::PUT,
                sync_with(a),
                manager.clone(),
                Body::json(json!({"config_ids": [b, 9999]})),
            )
            .expect(400, "invalid"),
            Case::new(
                "unknown config in the path",
                Method::PUT,
                sync_with(9999),
                manager.clone(),
                Body::json(json!({"config_ids": [a]})),
            )
            .expect(404, "not_found"),
            Case::new(
                "create linked to an unknown config",
                Method::POST,
                "/api/v1/configs",
                manager.clone(),
                Body::json(json!({"name": "E", "sync_with": [9999]})),
            )
            .expect(400, "invalid"),
            Case::new(
                "ids as strings",
                Method::PUT,
                sync_with(a),
                manager.clone(),
                Body::json(json!({"config_ids": [b.to_string()]})),
            )
            .expect(400, "invalid"),
            Case::new(
                "missing list",
                Method::PUT,
                sync_with(a),
                manager,
                Body::json(json!({})),
            )
            .expect(400, "invalid"),
        ],
    )
    .await;
    assert_eq!(links_of(&app).await, expected(&[(a, &[b]), (b, &[a])]));
}

#[tokio::test]
async fn configs_can_be_read_renamed_and_set_to_auto_share() {
    let app = spawn_app().await;
    let a = app.create_config("Bar").await;
    let (status, config) = app
        .get(&format!("/api/v1/configs/{a}"), &app.cashier_token)
        .await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(
        config,
        json!({"id": a, "name": "Bar", "sync_with": [], "auto_share": false, "open_session_id": null, "printer": null, "restrict_price_control": false})
    );
    let (status, config) = app
        .patch(
            &format!("/api/v1/configs/{a}"),
            &app.manager_token,
            json!({"name": "Terrace Bar", "auto_share": true}),
        )
        .await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["name"], "Terrace Bar");
    assert_eq!(config["auto_share"], true);
    let (session_id, _) = app.open_session(a).await;
    let (_, config) = app
        .get(&format!("/api/v1/configs/{a}"), &app.manager_token)
        .await;
    assert_eq!(config["open_session_id"], session_id);
}
