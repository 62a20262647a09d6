//! One shop for one test: the real server with the demo data, chromedriver, and
//! tills opened on it (each its own headless browser and profile, signed in with a
//! session open). A story runs against it; whatever happens, every browser session
//! ends, then chromedriver, then the server, and a panic is passed on.

use crate::chrome::{Chrome, programs_or_skip};
use crate::server::{Api, Server};
use crate::till::{Screenshots, Till};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
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
