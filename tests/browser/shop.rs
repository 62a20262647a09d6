//! One shop for one test: the real server with the demo data, chromedriver, and
//! tills opened on it (each its own headless browser and profile, signed in with a
//! session open). A story runs against it; whatever happens, every browser session
//! ends, then chromedriver, then the server, and a panic is passed on.

use crate::chrome::{Chrome, programs_or_skip};
use crate::server::{Api, Server};
use crate::till::{Screenshots, Till};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

#[derive(Debug)]
pub struct Shop {
    pub server: Server,
    pub chrome: Chrome,
    pub shots: Arc<Screenshots>,
    pub api: Api,
    _data_dir: tempfile::TempDir,
}

impl Shop {
    /// Opens a browser named `profile` on `base_url` (the server's own unless a
    /// test puts a proxy in between), signs in as `login` and opens (or joins) the
    /// session of `config_name`.
    pub async fn till_at(
        &self,
        profile: &str,
        base_url: &str,
        login: &str,
        config_name: &str,
    ) -> Till {
        let client = self.chrome.open_browser(profile).await;
        let till = Till::new(profile, client, base_url, self.shots.clone());
        till.sign_in(login, login).await;
        till.open_session(config_name).await;
        till
    }

    /// [`Shop::till_at`] on the server's own address.
    pub async fn till(&self, profile: &str, login: &str, config_name: &str) -> Till {
        self.till_at(profile, &self.server.base_url.clone(), login, config_name)
            .await
    }

    /// Signs the demo's manager (`admin`) in through the API: their token and user id.
    pub async fn manager(&self) -> (String, Value) {
        let login = self
            .api
            .post(
                "/login",
                None,
                json!({"login": "admin", "password": "admin"}),
            )
            .await;
        let token = login["token"].as_str().expect("the manager's token");
        (token.to_owned(), login["user"]["id"].clone())
    }

    /// The id of the demo's counter named `name`.
    pub async fn config_id(&self, token: &str, name: &str) -> Value {
        let (_, configs) = self.api.get("/configs", token).await;
        configs
            .as_array()
            .expect("a list of configs")
            .iter()
            .find(|config| config["name"] == name)
            .unwrap_or_else(|| panic!("the demo has no counter {name}"))["id"]
            .clone()
    }

    /// Gives the user `user_id` the approval PIN `pin` (as the manager `token`).
    pub async fn set_pin(&self, token: &str, user_id: &Value, pin: &str) {
        let (status, user) = self
            .api
            .patch(&format!("/users/{user_id}"), token, json!({"pin": pin}))
            .await;
        assert_eq!(status, 200, "{user}");
    }

    /// Signs the demo's manager in, gives them `pin` and makes Counter 1 keep
    /// prices and discounts for managers. Answers the manager's token and id.
    pub async fn restrict_counter_1(&self, pin: &str) -> (String, Value) {
        let (manager, manager_id) = self.manager().await;
        self.set_pin(&manager, &manager_id, pin).await;
        let counter_1 = self.config_id(&manager, "Counter 1").await;
        let (status, config) = self
            .api
            .patch(
                &format!("/configs/{counter_1}"),
                &manager,
                json!({"restrict_price_control": true}),
            )
            .await;
        assert_eq!(status, 200, "{config}");
        (manager, manager_id)
    }
}

/// Runs `story` in a fresh shop (or skips loudly without Chromium).
pub async fn run(name: &'static str, story: impl for<'a> FnOnce(&'a Shop) -> BoxFuture<'a, ()>) {
    let Some(programs) = programs_or_skip(name) else {
        return;
    };
    let data_dir = tempfile::tempdir().unwrap();
    let server = Server::start(data_dir.path(), "127.0.0.1:0");
    let shop = Shop {
        api: Api::new(&server.base_url),
        server,
        chrome: Chrome::start(programs),
        shots: Screenshots::for_test(name),
        _data_dir: data_dir,
    };
    let outcome = AssertUnwindSafe(story(&shop)).catch_unwind().await;
    let Shop { chrome, server, .. } = shop;
    chrome.shutdown().await;
    drop(server);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
