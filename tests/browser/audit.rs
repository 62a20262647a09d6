//! The audit trail in the back office (issue 8, point 7: "readable in the back
//! office"): the manager changes the Espresso's price in the product form, then
//! opens the audit trail and finds the change at the top, naming the manager,
//! the product and the old and new price as money.

use crate::shop::{Shop, run};
use crate::till::{Till, js_str};
use futures_util::FutureExt;
use serde_json::json;

const TEST_NAME: &str = "audit";
const PRODUCT: &str = "Espresso";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_change_in_the_back_office_is_in_the_audit_trail_with_who_and_what() {
    run(TEST_NAME, |shop| story(shop).boxed()).await;
}

/// The products list's row of `product`, as a script expression.
fn product_row(product: &str) -> String {
    format!(
        "$$('bo-row').find((r) => txt(r.querySelector('[data-col=\"name\"]')) === {})",
        js_str(product)
    )
}

async fn story(shop: &Shop) {
    let client = shop.chrome.open_browser("office").await;
    let till = Till::new("office", client, &shop.server.base_url, shop.shots.clone());
    till.sign_in("admin", "admin").await;
    till.click_tid("backoffice-link").await;
    till.click_tid("bo-nav-products").await;
    till.wait(
        "the Espresso at 2.20 in the product list",
        &format!(
            "(() => {{ const r = {}; return !!r && txt(r.querySelector('[data-col=\"price\"]')) === '2.20'; }})()",
            product_row(PRODUCT)
        ),
    )
    .await;
    till.eval(&format!("{}.click()", product_row(PRODUCT)))
        .await;
    till.wait(
        "the Espresso's form",
        "!!$('bo-field-price') && $('bo-field-price').value === '2.20'",
    )
    .await;
    till.eval("(() => { $('bo-field-price').value = ''; return true; })()")
        .await;
    till.type_into("bo-field-price", "2.45").await;
    till.shot("new-price").await;
    till.click_tid("bo-save").await;
    till.wait(
        "the Espresso at 2.45 in the product list",
        &format!(
            "(() => {{ const r = {}; return !!r && txt(r.querySelector('[data-col=\"price\"]')) === '2.45'; }})()",
            product_row(PRODUCT)
        ),
    )
    .await;

    till.click_tid("bo-nav-audit").await;
    let newest = till
        .wait(
            "the price change at the top of the audit trail",
            "(() => { const r = $$('audit-row')[0]; return !!r && r.dataset.action === 'product.update' && [txt($('audit-who', r)), txt($('audit-target', r)), txt($('audit-what', r))]; })()",
        )
        .await;
    till.shot("audit-trail").await;
    let [who, target, what] = [0, 1, 2].map(|i| newest[i].as_str().unwrap().to_owned());
    assert_eq!(who, "Alex Manager", "the manager who changed it");
    assert!(
        target.starts_with("Espresso (product "),
        "the product by name: {target}"
    );
    assert_eq!(what, "price: 2.20 → 2.45", "only the price changed");

    // The page reads what the API holds: the same entry, by the same manager.
    let (manager, manager_id) = shop.manager().await;
    let (status, trail) = shop.api.get("/audit?limit=1", &manager).await;
    assert_eq!(status, 200, "{trail}");
    assert_eq!(trail[0]["action"], "product.update");
    assert_eq!(trail[0]["user_id"], manager_id);
    assert_eq!(trail[0]["details"]["after"]["price"], json!(245));
    assert_eq!(
        target,
        format!("Espresso ({})", trail[0]["target"].as_str().unwrap())
    );
    shop.chrome
        .check_console(&till.name, &till.client, &[])
        .await;
}
