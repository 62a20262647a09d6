//! One browser acting as one till: navigation, clicks and typing by `data-testid`,
//! waits on DOM conditions (polled, with a timeout), and numbered screenshots.
//!
//! Conditions are JavaScript expressions evaluated in the page with three helpers:
//! `$(testid, root?)` (first match), `$$(testid, root?)` (all matches, as an array)
//! and `txt(element)` (trimmed text, or null).

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a DOM condition may take by default: generous for a debug server on
/// two busy cores, and still short enough that a broken step fails quickly.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(40);

const HELPERS: &str = r#"
const $ = (t, root) => (root || document).querySelector(`[data-testid="${t}"]`);
const $$ = (t, root) => [...(root || document).querySelectorAll(`[data-testid="${t}"]`)];
const txt = (e) => (e ? e.textContent.trim() : null);
"#;

/// The screenshots of one test, numbered in the order they were taken, under
/// `target/e2e-screenshots/<test>/`.
#[derive(Debug)]
pub struct Screenshots {
    dir: PathBuf,
    next: AtomicUsize,
}

impl Screenshots {
    pub fn for_test(test_name: &str) -> Arc<Screenshots> {
        let dir = crate::server::target_dir()
            .join("e2e-screenshots")
            .join(test_name);
        // Last run's pictures would only mislead.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Arc::new(Screenshots {
            dir,
            next: AtomicUsize::new(1),
        })
    }

    fn path(&self, till: &str, step: &str) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        self.dir.join(format!("{n:02}-{till}-{step}.png"))
    }
}

/// `[data-testid="..."]`
pub fn tid(testid: &str) -> String {
    format!(r#"[data-testid="{testid}"]"#)
}

/// A JavaScript string literal of `text`.
pub fn js_str(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// One browser, one till.
#[derive(Debug, Clone)]
pub struct Till {
    pub name: String,
    pub client: Client,
    base_url: String,
    shots: Arc<Screenshots>,
}

impl Till {
    pub fn new(name: &str, client: Client, base_url: &str, shots: Arc<Screenshots>) -> Till {
        Till {
            name: name.to_owned(),
            client,
            base_url: base_url.to_owned(),
            shots,
        }
    }

    pub async fn open_app(&self) {
        self.client
            .goto(&format!("{}/", self.base_url))
            .await
            .unwrap();
    }

    /// Reloads the page, as a cashier pressing F5 (or a crashed tab coming back).
    pub async fn reload(&self) {
        self.client.refresh().await.unwrap();
    }

    /// Saves a screenshot named after this till and the step.
    pub async fn shot(&self, step: &str) {
        let path = self.shots.path(&self.name, step);
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(&path, png).unwrap(),
            Err(error) => eprintln!("screenshot {} failed: {error}", path.display()),
        }
    }

    /// Saves the step at 1280x800 and again on a 768x1024 tablet, then goes back to
    /// 1280x800 (every new state is looked at in both sizes).
    pub async fn shot_both(&self, step: &str) {
        self.shot(step).await;
        crate::chrome::set_viewport(&self.client, 768, 1024).await;
        self.wait("the tablet viewport", "innerWidth === 768").await;
        self.shot(&format!("{step}-768")).await;
        crate::chrome::set_viewport(&self.client, 1280, 800).await;
        self.wait("the till viewport", "innerWidth === 1280").await;
    }

    /// Evaluates a JavaScript expression (with the helpers) and returns its value.
    pub async fn eval(&self, expression: &str) -> Value {
        self.try_eval(expression)
            .await
            .unwrap_or_else(|error| panic!("[{}] script failed: {error}\n{expression}", self.name))
    }

    async fn try_eval(&self, expression: &str) -> Result<Value, CmdError> {
        let script = format!("{HELPERS}\nreturn ({expression});");
        self.client.execute(&script, Vec::new()).await
    }

    /// Waits until `expression` is truthy and returns its value.
    pub async fn wait(&self, what: &str, expression: &str) -> Value {
        self.wait_for(what, expression, WAIT_TIMEOUT).await
    }

    /// [`Till::wait`] with an explicit timeout.
    pub async fn wait_for(&self, what: &str, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            // A script may fail while the page navigates or reloads: try again.
            match self.try_eval(expression).await {
                Ok(value) if truthy(&value) => return value,
                Ok(value) => last = value,
                Err(error) => last = Value::String(format!("script error: {error}")),
            }
            if Instant::now() >= deadline {
                self.fail(what, &last).await;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Screenshot, page text and sync state, then panic: what a person needs to see why.
    async fn fail(&self, what: &str, last: &Value) -> ! {
        self.shot(&format!("FAILED-{}", slug(what))).await;
        let page = self
            .try_eval(
                "[location.href, (document.body ? document.body.innerText : '').slice(0, 3000)].join('\\n')",
            )
            .await
            .unwrap_or(Value::Null);
        let page = page.as_str().unwrap_or("").to_owned();
        panic!(
            "[{}] timed out waiting for: {what}\nlast value: {last}\npage:\n{page}",
            self.name
        );
    }

    /// Waits for the element to be shown and enabled, then clicks it.
    pub async fn click(&self, css: &str) {
        let ready = format!(
            "(() => {{ const e = document.querySelector({}); return !!(e && !e.disabled && e.getClientRects().length); }})()",
            js_str(css)
        );
        self.click_when_ready(css, &ready, Locator::Css(css)).await;
    }

    /// Clicks the element with this `data-testid`.
    pub async fn click_tid(&self, testid: &str) {
        self.click(&tid(testid)).await;
    }

    /// Clicks the first element matched by an XPath expression (waits for it).
    pub async fn click_xpath(&self, xpath: &str) {
        let ready = format!(
            "(() => {{ const e = document.evaluate({}, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue; return !!(e && !e.disabled && e.getClientRects().length); }})()",
            js_str(xpath)
        );
        self.click_when_ready(xpath, &ready, Locator::XPath(xpath))
            .await;
    }

    /// The views re-render from state, so the element found may be replaced before
    /// the click lands (stale), or a toast may pass over it: find it and click again.
    async fn click_when_ready(&self, what: &str, ready: &str, locator: Locator<'_>) {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            self.wait(&format!("{what} to be clickable"), ready).await;
            let clicked = match self.client.find(locator).await {
                Ok(element) => element.click().await,
                Err(error) => Err(error),
            };
            match clicked {
                Ok(()) => return,
                Err(error) if Instant::now() >= deadline => {
                    self.fail(&format!("click on {what}: {error}"), &Value::Null)
                        .await
                }
                Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }

    /// Types into the field with this `data-testid`.
    pub async fn type_into(&self, testid: &str, text: &str) {
        let css = tid(testid);
        self.wait(
            &format!("{testid} to be shown"),
            &format!("!!document.querySelector({})", js_str(&css)),
        )
        .await;
        let element = self.client.find(Locator::Css(&css)).await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    /// Types `keys` on the keyboard into whatever has the focus, `gap` apart (a
    /// person, or a slow barcode scanner, rather than WebDriver's burst).
    /// `fantoccini::key::Key` values give Enter, Escape and the like.
    pub async fn type_keys(&self, keys: &[char], gap: Duration) {
        let mut actions = KeyActions::new("keyboard".to_owned());
        for (i, &key) in keys.iter().enumerate() {
            if i > 0 && !gap.is_zero() {
                actions = actions.then(KeyAction::Pause { duration: gap });
            }
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    /// Presses one key on the keyboard (into whatever has the focus).
    pub async fn press_key(&self, key: impl Into<char>) {
        self.type_keys(&[key.into()], Duration::ZERO).await;
    }

    /// Waits until the text of `testid` equals `expected`.
    pub async fn wait_text(&self, testid: &str, expected: &str) {
        self.wait(
            &format!("{testid} to read {expected:?}"),
            &format!("txt($({})) === {}", js_str(testid), js_str(expected)),
        )
        .await;
    }

    /// Waits until the text of `testid` contains `expected`.
    pub async fn wait_text_contains(&self, testid: &str, expected: &str) {
        self.wait(
            &format!("{testid} to contain {expected:?}"),
            &format!(
                "(txt($({})) || '').includes({})",
                js_str(testid),
                js_str(expected)
            ),
        )
        .await;
    }

    // ---- the till's own steps -------------------------------------------------

    /// Signs in from the login form and waits for the counter picker.
    pub async fn sign_in(&self, login: &str, password: &str) {
        self.open_app().await;
        self.type_into("login-user", login).await;
        self.type_into("login-password", password).await;
        self.click_tid("login-submit").await;
        self.wait(
            "the counter picker with its counters",
            "$$('config-option').length > 0",
        )
        .await;
    }

    /// Picks `config_name` on the counter picker, opens (or joins) its session,
    /// and waits for the till to be live.
    pub async fn open_session(&self, config_name: &str) {
        self.click_xpath(&format!(
            "//*[@data-testid='config-option'][.//*[@class='config-name' and normalize-space()={}]]",
            xpath_str(config_name)
        ))
        .await;
        self.click_tid("session-open").await;
        self.wait_text("counter-name", config_name).await;
        self.wait_live().await;
    }

    /// Waits until the till is connected, caught up and has nothing pending.
    pub async fn wait_live(&self) {
        self.wait(
            "the till to be live with nothing pending",
            "(() => { const s = $('sync-state'); return !!s && s.dataset.state === 'live' && s.dataset.pending === '0'; })()",
        )
        .await;
    }

    /// Taps the product tile with this name.
    pub async fn tap_product(&self, product_name: &str) {
        self.click_xpath(&format!(
            "//*[@data-testid='product-tile'][.//*[@class='tile-name' and normalize-space()={}]]",
            xpath_str(product_name)
        ))
        .await;
    }

    /// Taps the order line of this product (selects it).
    pub async fn tap_line(&self, product_name: &str) {
        self.click_xpath(&format!(
            "//*[@data-testid='order-line'][.//*[@data-testid='line-name' and normalize-space()={}]]",
            xpath_str(product_name)
        ))
        .await;
    }

    /// Sets the quantity of the selected line with the numpad.
    pub async fn numpad_qty(&self, digits: &str) {
        self.click_tid("numpad-mode-qty").await;
        for digit in digits.chars() {
            self.click_tid(&format!("numpad-key-{digit}")).await;
        }
    }

    /// Waits until the open order shows exactly these lines, as (product, qty).
    pub async fn wait_lines(&self, expected: &[(&str, &str)]) {
        let expected_js = Value::Array(
            expected
                .iter()
                .map(|(name, qty)| Value::String(format!("{name} × {qty}")))
                .collect(),
        );
        self.wait(
            &format!("the order lines to be {expected_js}"),
            &format!(
                "JSON.stringify($$('order-line').map((l) => txt($('line-name', l)) + ' × ' + txt($('line-qty', l)))) === JSON.stringify({expected_js})"
            ),
        )
        .await;
    }

    /// The id of the order open on the till.
    pub async fn current_order_id(&self) -> String {
        self.wait(
            "an open order",
            "window.possync && window.possync.till && window.possync.till.currentOrderId",
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// The terminal token this till works with (to check the server's view over HTTP).
    pub async fn terminal_token(&self) -> String {
        self.wait(
            "a terminal token",
            "window.possync && window.possync.auth && window.possync.auth.terminal_token",
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// Goes to the orders screen through the top bar.
    pub async fn show_orders(&self) {
        self.click_tid("orders-button").await;
        self.wait(
            "the orders screen",
            "!!$('orders-list') && location.hash === '#/orders'",
        )
        .await;
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// An XPath string literal (the names used here have no single quotes).
pub fn xpath_str(text: &str) -> String {
    assert!(!text.contains('\''), "{text}");
    format!("'{text}'")
}

fn slug(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    slug.split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .take(60)
        .collect()
}
