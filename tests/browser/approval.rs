//! Money rights in the browser (issue 8, "How it is checked"): at a counter that
//! keeps prices, discounts and returns for managers, a cashier's discount asks
//! for a manager's approval once the cashier confirms the whole value typed
//! ("10", never the "1" on the way); a wrong PIN is refused, the right one sends
//! the discount again with the approval, and the order's history names the approver.
//! A manager without a PIN is offered too, and approves with their password
//! (issue 8, point 3: "by entering their PIN or password").

use crate::shop::{Shop, run};
use crate::till::{Till, tid};
use futures_util::FutureExt;
use serde_json::{Value, json};

const TEST_NAME: &str = "approval";
const TEST_NAME_PASSWORD: &str = "approval_password";
const PIN: &str = "2468";
const MIA_PASSWORD: &str = "mia-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_counter_asks_for_a_managers_approval_before_a_discount() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_without_a_pin_approves_a_discount_with_their_password() {
    run(TEST_NAME_PASSWORD, |shop| story_by_password(shop).boxed()).await;
}

async fn story(shop: &Shop) {
    let (manager, manager_id) = shop.restrict_counter_1(PIN).await;
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

    let (history, approved) = approved_ops(shop, &manager, &till).await;
    assert_eq!(approved.len(), 1, "{history}");
    assert_eq!(approved[0]["approved_by"], manager_id);
    assert_eq!(approved[0]["op"]["kind"], "set_discount");
    assert_eq!(
        approved[0]["op"]["discount"], "10",
        "the whole value typed, approved once"
    );
    assert!(!history.to_string().contains(PIN));
}

/// The history of the till's current order, and its entries that name an approver.
async fn approved_ops(shop: &Shop, manager: &str, till: &Till) -> (Value, Vec<Value>) {
    let order_id = till.current_order_id().await;
    let (status, history) = shop
        .api
        .get(&format!("/orders/{order_id}/history"), manager)
        .await;
    assert_eq!(status, 200, "{history}");
    let approved = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry.get("approved_by").is_some())
        .cloned()
        .collect();
    (history, approved)
}

/// Whether the element with this test id is shown (in the page and not hidden).
fn shown(testid: &str) -> String {
    format!("(() => {{ const e = $('{testid}'); return !!(e && e.getClientRects().length); }})()")
}

async fn story_by_password(shop: &Shop) {
    // The demo's manager has a PIN; Mia, a second manager, has none.
    let (manager, _) = shop.restrict_counter_1(PIN).await;
    let mia = shop
        .api
        .post(
            "/users",
            Some(&manager),
            json!({"login": "mia", "name": "Mia", "role": "manager", "password": MIA_PASSWORD}),
        )
        .await;
    assert_eq!(mia["has_pin"], json!(false), "{mia}");

    let till = shop.till("cashier", "cashier", "Counter 1").await;
    till.tap_product("Croissant").await;
    till.wait_lines(&[("Croissant", "1")]).await;
    till.tap_line("Croissant").await;
    till.click_tid("numpad-mode-discount").await;
    till.click_tid("numpad-key-1").await;
    till.click_tid("numpad-key-0").await;
    till.wait_text_contains("qty-confirm-text", "10% discount")
        .await;
    till.click_tid("qty-confirm").await;
    till.wait("the approval dialog", "!!$('approval-dialog')")
        .await;
    till.wait_text_contains("approval-what", "10%").await;
    let offered = till
        .eval("[...$('approval-manager').options].map((option) => option.textContent)")
        .await;
    assert_eq!(
        offered,
        json!(["Alex Manager", "Mia"]),
        "every active manager, with a PIN or not"
    );

    // The first manager has a PIN: it is asked for first, the password is a tap away.
    till.wait("the PIN asked first", &shown("approval-pin"))
        .await;
    assert_eq!(till.eval(&shown("approval-password")).await, json!(false));
    till.shot("approval-pin-or-password").await;
    till.click_tid("approval-use-password").await;
    till.wait("the password field", &shown("approval-password"))
        .await;
    assert_eq!(till.eval(&shown("approval-pin")).await, json!(false));
    till.wait_text("approval-use-password", "Use PIN instead")
        .await;

    // Mia has no PIN: her password is asked for, with no PIN to switch to.
    till.client
        .find(fantoccini::Locator::Css(&tid("approval-manager")))
        .await
        .unwrap()
        .select_by_label("Mia")
        .await
        .unwrap();
    till.wait(
        "Mia's password field, and no PIN",
        &format!(
            "{} && !{} && !{}",
            shown("approval-password"),
            shown("approval-pin"),
            shown("approval-use-password")
        ),
    )
    .await;
    till.shot("approval-by-password").await;

    till.type_into("approval-password", "not-her-password")
        .await;
    till.click_tid("approval-ok").await;
    till.wait_text_contains("approval-error", "password is not right")
        .await;
    assert_eq!(
        till.eval("$('approval-password').value").await,
        json!(""),
        "nothing typed is kept"
    );
    till.shot("approval-wrong-password").await;
    till.type_into("approval-password", MIA_PASSWORD).await;
    till.click_tid("approval-ok").await;
    till.wait("the dialog closed", "!$('approval-dialog')")
        .await;
    till.wait_text_contains("line-discount", "10%").await;
    till.shot("approval-by-password-applied").await;

    let (history, approved) = approved_ops(shop, &manager, &till).await;
    assert_eq!(approved.len(), 1, "{history}");
    assert_eq!(approved[0]["approved_by"], mia["id"], "Mia approved");
    assert_eq!(approved[0]["op"]["kind"], "set_discount");
    assert_eq!(approved[0]["op"]["discount"], "10");
    assert!(!history.to_string().contains(MIA_PASSWORD));
}
