//! Money rights in the browser (issue 8, "How it is checked"): at a counter that
//! keeps prices, discounts and returns for managers, a cashier's discount asks
//! for a manager's approval once the cashier confirms the whole value typed
//! ("10", never the "1" on the way); a wrong PIN is refused, the right one sends
//! the discount again with the approval, and the order's history names the approver.

use crate::shop::{Shop, run};
use futures_util::FutureExt;
use serde_json::json;

const TEST_NAME: &str = "approval";
const PIN: &str = "2468";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_counter_asks_for_a_managers_approval_before_a_discount() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

async fn story(shop: &Shop) {
    let login = shop
        .api
        .post(
            "/login",
            None,
            json!({"login": "admin", "password": "admin"}),
        )
        .await;
    let manager = login["token"].as_str().unwrap().to_owned();
    let manager_id = login["user"]["id"].clone();
    let (status, _) = shop
        .api
        .patch(
            &format!("/users/{manager_id}"),
            &manager,
            json!({"pin": PIN}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, configs) = shop.api.get("/configs", &manager).await;
    let counter_1 = configs
        .as_array()
        .unwrap()
        .iter()
        .find(|config| config["name"] == "Counter 1")
        .expect("the demo's Counter 1")["id"]
        .clone();
    let (status, _) = shop
        .api
        .patch(
            &format!("/configs/{counter_1}"),
            &manager,
            json!({"restrict_price_control": true}),
        )
        .await;
    assert_eq!(status, 200);

    let till = shop.till("cashier", "cashier", "Counter 1").await;
    till.tap_product("Croissant").await;
    till.wait_lines(&[("Croissant", "1")]).await;
    till.tap_line("Croissant").await;
    till.click_tid("numpad-mode-discount").await;
    // "1" then "0": the till holds the whole value, asks nobody on the "1", and
    // the manager is asked once the cashier confirms 10 %.
    till.click_tid("numpad-key-1").await;
    till.wait_text_contains("qty-confirm-text", "1% discount")
        .await;
    assert_eq!(
        till.eval("!!$('approval-dialog')").await,
        json!(false),
        "nothing is asked on the first key"
    );
    till.click_tid("numpad-key-0").await;
    till.wait_text_contains("qty-confirm-text", "10% discount")
        .await;
    till.shot("approval-discount-typed").await;
    till.click_tid("qty-confirm").await;
    till.wait("the approval dialog", "!!$('approval-dialog')")
        .await;
    till.wait_text_contains("approval-what", "managers").await;
    till.wait_text_contains("approval-what", "10%").await;
    let offered = till
        .eval("[...$('approval-manager').options].map((option) => option.textContent)")
        .await;
    assert_eq!(offered.as_array().map(Vec::len), Some(1), "{offered}");
    till.shot("approval-asked").await;

    till.type_into("approval-pin", "1111").await;
    till.click_tid("approval-ok").await;
    till.wait_text_contains("approval-error", "not right").await;
    till.shot("approval-wrong-pin").await;
    till.type_into("approval-pin", PIN).await;
    till.click_tid("approval-ok").await;
    till.wait("the dialog closed", "!$('approval-dialog')")
        .await;
    till.wait_text_contains("line-discount", "10%").await;
    till.shot("approval-discount-applied").await;

    let order_id = till.current_order_id().await;
    let (status, history) = shop
        .api
        .get(&format!("/orders/{order_id}/history"), &manager)
        .await;
    assert_eq!(status, 200, "{history}");
    let approved: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry.get("approved_by").is_some())
        .collect();
    assert_eq!(approved.len(), 1, "{history}");
    assert_eq!(approved[0]["approved_by"], manager_id);
    assert_eq!(approved[0]["op"]["kind"], "set_discount");
    assert_eq!(
        approved[0]["op"]["discount"], "10",
        "the whole value typed, approved once"
    );
    assert!(!history.to_string().contains(PIN));
}
