//! Staff and counters in the browser (issue 8): a cashier assigned only to
//! Counter 1 sees only Counter 1 in the till's counter picker, and "Sign out"
//! revokes the tokens the till held, so a copy of them no longer works.

use crate::shop::{Shop, run};
use crate::till::Till;
use futures_util::FutureExt;
use serde_json::json;

const TEST_NAME: &str = "staff";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_sees_only_their_counters_and_sign_out_revokes_the_tokens() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

async fn story(shop: &Shop) {
    let (manager, _) = shop.manager().await;
    let counter_1 = shop.config_id(&manager, "Counter 1").await;
    shop.api
        .post(
            "/users",
            Some(&manager),
            json!({"login": "ann", "name": "Ann", "role": "cashier", "password": "ann-password", "config_ids": [counter_1]}),
        )
        .await;

    let client = shop.chrome.open_browser("ann").await;
    let till = Till::new("ann", client, &shop.server.base_url, shop.shots.clone());
    till.sign_in("ann", "ann-password").await;
    let offered = till
        .eval(
            "$$('config-option').map((option) => option.querySelector('.config-name').textContent)",
        )
        .await;
    assert_eq!(offered, json!(["Counter 1"]), "only her counter is offered");
    till.shot("picker-of-a-cashier-of-counter-1").await;
    till.open_session("Counter 1").await;

    let user_token = till.eval("window.possync.auth.user_token").await;
    let user_token = user_token.as_str().unwrap().to_owned();
    let terminal_token = till.terminal_token().await;
    assert_eq!(shop.api.get("/me", &user_token).await.0, 200);
    assert_eq!(shop.api.get("/me", &terminal_token).await.0, 200);
    till.click_tid("menu-button").await;
    till.click_tid("menu-logout").await;
    // Sign out waits for the server's answer before it shows the sign-in form.
    till.wait("the sign-in form", "!!$('login-user')").await;
    for token in [&user_token, &terminal_token] {
        let (status, body) = shop.api.get("/me", token).await;
        assert_eq!(
            status, 401,
            "a token of the till still works after Sign out: {body}"
        );
    }
}
