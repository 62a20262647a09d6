//! The real `possync serve --demo` process, and the HTTP calls a test makes to
//! check what the server holds (as any third-party client would).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_possync");
/// Generous: a debug build hashes the demo passwords before listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `target/`: the browser tests keep their screenshots beside the binary's folder.
pub fn target_dir() -> std::path::PathBuf {
    let binary = Path::new(BINARY);
    binary
        .parent()
        .and_then(Path::parent)
        .map(Path::to_owned)
        .unwrap_or_else(|| Path::new("target").to_owned())
}

/// A running `possync serve --demo`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// `127.0.0.1:PORT`, to restart on the same address.
    pub listen: String,
}

impl Server {
    /// Starts the server on `listen` (`127.0.0.1:0` for any port) and waits for
    /// its `possync listening on http://ADDR` line.
    pub fn start(data_dir: &Path, listen: &str) -> Server {
        let started = std::time::Instant::now();
        let mut child = Command::new(BINARY)
            .args(["serve", "--demo", "--listen", listen])
            .env("POSSYNC_DATA_DIR", data_dir)
            .env("POSSYNC_LOG", "warn")
            .env_remove("POSSYNC_LISTEN")
            .env_remove("POSSYNC_DEMO")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("possync listening on ") {
                    let _ = sender.send(url.trim().to_owned());
                }
            }
        });
        let base_url = match receiver.recv_timeout(START_TIMEOUT) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("possync did not start on {listen} within {START_TIMEOUT:?}");
            }
        };
        let listen = base_url.trim_start_matches("http://").to_owned();
        eprintln!(
            "[server] listening on {listen} after {:?}",
            started.elapsed()
        );
        Server {
            child,
            base_url,
            listen,
        }
    }

    /// SIGKILL, as a power cut or a crash would stop it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// A few HTTP calls under `/api/v1`.
#[derive(Debug)]
pub struct Api {
    client: reqwest::Client,
    base_url: String,
}

impl Api {
    pub fn new(base_url: &str) -> Api {
        Api {
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            base_url: format!("{base_url}/api/v1"),
        }
    }

    /// `(status, body)` of a GET with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `(status, body)` of a PATCH with a bearer token.
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .patch(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    /// `(status, body)` of a POST with a bearer token, whatever the status.
    pub async fn post_answer(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A terminal token of the open session of `config_name`, as a cashier.
    pub async fn terminal_token(&self, config_name: &str) -> String {
        let login = self
            .post(
                "/login",
                None,
                json!({"login": "cashier", "password": "cashier"}),
            )
            .await;
        let user_token = login["token"].as_str().unwrap().to_owned();
        let (_, configs) = self.get("/configs", &user_token).await;
        let config_id = configs
            .as_array()
            .unwrap()
            .iter()
            .find(|config| config["name"] == config_name)
            .unwrap_or_else(|| panic!("no config {config_name}: {configs}"))["id"]
            .clone();
        let session = self
            .post(
                "/sessions",
                Some(&user_token),
                json!({"config_id": config_id}),
            )
            .await;
        session["terminal_token"].as_str().unwrap().to_owned()
    }
}
