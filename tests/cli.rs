//! The real `possync` binary, as a shop owner runs it: `serve --demo`, restarts,
//! a second process on the same data directory, SIGTERM, the first manager's
//! password, and `user add` / `user passwd`.
//!
//! `serve` prints `possync listening on http://ADDR` once it accepts connections;
//! the tests read it from stdout instead of guessing a port, and wait for events
//! (a line, an answer, an exit) with timeouts, never for fixed sleeps.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_possync");
/// Generous: a debug build hashes the demo passwords with argon2 before listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A `possync serve` child process with its stdout lines and stderr text.
struct ServerProcess {
    child: Child,
    base_url: String,
    lines: Receiver<String>,
    seen_lines: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

fn command(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_remove("POSSYNC_LISTEN")
        .env_remove("POSSYNC_DEMO")
        .env_remove("POSSYNC_CONNECTIONS_MAX")
        .env_remove("POSSYNC_CONNECTIONS_PER_ADDRESS_MAX")
        .env_remove("POSSYNC_HEADER_READ_TIMEOUT_MS")
        .env("POSSYNC_DATA_DIR", data_dir)
        .env("POSSYNC_LOG", "warn");
    command
}

fn spawn_output_readers(child: &mut Child) -> (Receiver<String>, Arc<Mutex<String>>) {
    let (sender, lines) = channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let stderr_text = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = stderr_text.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    (lines, stderr_text)
}

impl ServerProcess {
    /// Starts `possync serve --listen 127.0.0.1:0 [extra...]` and waits for its listening line.
    fn start(data_dir: &Path, extra: &[&str]) -> ServerProcess {
        let mut serve = command(data_dir);
        serve.args(["serve", "--listen", "127.0.0.1:0"]).args(extra);
        ServerProcess::start_command(serve)
    }

    /// Starts a prepared `possync serve` command and waits for its listening line.
    fn start_command(mut serve: Command) -> ServerProcess {
        let mut child = serve
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, stderr) = spawn_output_readers(&mut child);
        let mut server = ServerProcess {
            child,
            base_url: String::new(),
            lines,
            seen_lines: Vec::new(),
            stderr,
        };
        let listening = server.wait_for_line(
            |line| line.starts_with("possync listening on "),
            START_TIMEOUT,
        );
        server.base_url = listening
            .trim_start_matches("possync listening on ")
            .to_owned();
        server
    }

    /// Waits for a stdout line matching `predicate` and returns it.
    fn wait_for_line(&mut self, predicate: impl Fn(&str) -> bool, timeout: Duration) -> String {
        if let Some(line) = self.seen_lines.iter().find(|line| predicate(line)) {
            return line.clone();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(remaining) {
                Ok(line) => {
                    self.seen_lines.push(line.clone());
                    if predicate(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no such line within {timeout:?}; stdout so far: {:?}; stderr: {}",
                    self.seen_lines,
                    self.stderr.lock().unwrap()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the server exited ({:?}); stdout: {:?}; stderr: {}",
                    self.child.try_wait(),
                    self.seen_lines,
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = wait_with_timeout(&mut self.child, EXIT_TIMEOUT);
        // The rest of stdout, now that the pipe is closed.
        while let Ok(line) = self.lines.recv_timeout(EXIT_TIMEOUT) {
            self.seen_lines.push(line);
        }
        (exit, std::mem::take(&mut self.seen_lines))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not exit within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a one-shot command (`user ...`, a refused `serve`) and returns (exit, stdout, stderr).
fn run(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> (ExitStatus, String, String) {
    let mut child = command(data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let (lines, stderr) = spawn_output_readers(&mut child);
    let exit = wait_with_timeout(&mut child, START_TIMEOUT);
    let stdout: Vec<String> =
        std::iter::from_fn(|| lines.recv_timeout(EXIT_TIMEOUT).ok()).collect();
    let stderr = stderr.lock().unwrap().clone();
    (exit, stdout.join("\n"), stderr)
}

struct Api {
    client: reqwest::Client,
    base_url: String,
}

impl Api {
    fn new(base_url: &str) -> Api {
        Api {
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            base_url: base_url.to_owned(),
        }
    }

    async fn login(&self, login: &str, password: &str) -> Result<String, u16> {
        let response = self
            .client
            .post(format!("{}/api/v1/login", self.base_url))
            .json(&json!({"login": login, "password": password}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if status != 200 {
            return Err(status);
        }
        let body: Value = response.json().await.unwrap();
        Ok(body["token"].as_str().unwrap().to_owned())
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    async fn healthz(&self) -> u16 {
        let response = self
            .client
            .get(format!("{}/healthz", self.base_url))
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|record| record["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn demo_serves_a_believable_shop_and_stops_cleanly_on_sigterm() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data_dir.path(), &["--demo"]);
    let created = server.wait_for_line(
        |line| line.starts_with("Demo shop created: "),
        START_TIMEOUT,
    );
    server.wait_for_line(
        |line| line.contains("Demo logins: admin / admin"),
        START_TIMEOUT,
    );
    let data_line = server.wait_for_line(|line| line.starts_with("Data: "), START_TIMEOUT);
    assert!(data_line.ends_with("possync.db"), "{data_line}");
    server.wait_for_line(
        |line| line.starts_with("Open http://127.0.0.1:"),
        START_TIMEOUT,
    );

    let api = Api::new(&server.base_url);
    assert_eq!(api.healthz().await, 200);
    let manager = api.login("admin", "admin").await.unwrap();
    let cashier = api.login("cashier", "cashier").await.unwrap();
    let me = api.get("/api/v1/me", &cashier).await;
    assert_eq!(me["user"]["role"], "cashier");

    let products = api.get("/api/v1/products", &cashier).await;
    let products = products.as_array().unwrap();
    assert!(products.len() >= 30, "{} products", products.len());
    for product in products {
        let barcode = product["barcode"].as_str().unwrap();
        assert!(
            barcode.len() == 13 && barcode.bytes().all(|b| b.is_ascii_digit()),
            "{barcode}"
        );
        assert!(product["price"].as_i64().unwrap() > 0);
    }
    assert!(
        products
            .iter()
            .any(|product| product["tracks_stock"] == true)
    );
    let categories = api.get("/api/v1/categories", &cashier).await;
    assert!(categories.as_array().unwrap().len() >= 4);
    let taxes = api.get("/api/v1/taxes", &cashier).await;
    let rates: std::collections::BTreeSet<&str> = taxes
        .as_array()
        .unwrap()
        .iter()
        .map(|tax| tax["rate"].as_str().unwrap())
        .collect();
    assert_eq!(rates.len(), 2, "{taxes}");
    let methods = api.get("/api/v1/payment_methods", &cashier).await;
    assert_eq!(names(&methods), ["Cash", "Card"]);
    let customers = api.get("/api/v1/customers", &cashier).await;
    assert_eq!(customers.as_array().unwrap().len(), 10);

    let configs = api.get("/api/v1/configs", &manager).await;
    assert_eq!(names(&configs), ["Bar", "Counter 1", "Counter 2"]);
    let id_of = |name: &str| {
        configs
            .as_array()
            .unwrap()
            .iter()
            .find(|config| config["name"] == name)
            .unwrap()["id"]
            .clone()
    };
    let by_name = |name: &str| {
        configs
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("Bar")["sync_with"], json!([]));
    assert_eq!(
        by_name("Counter 1")["sync_with"],
        json!([id_of("Counter 2")])
    );
    assert_eq!(
        by_name("Counter 2")["sync_with"],
        json!([id_of("Counter 1")])
    );
    // The banner names each counter's config id, which `possync order --config` takes.
    for counter in ["Bar", "Counter 1", "Counter 2"] {
        let named = format!("{counter} (config {})", id_of(counter));
        assert!(created.contains(&named), "{named:?} in {created:?}");
    }

    // The web POS is served at the root.
    let index = api
        .client
        .get(format!("{}/", server.base_url))
        .send()
        .await
        .unwrap();
    if Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/web/index.html")).exists() {
        assert_eq!(index.status(), 200);
    }

    let (exit, lines) = server.terminate();
    assert!(
        exit.success(),
        "SIGTERM must end the server with exit 0, got {exit:?}"
    );
    assert!(
        lines.iter().any(|line| line == "possync stopped"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_restart_keeps_all_data_and_does_not_seed_again() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data_dir.path(), &["--demo"]);
    let api = Api::new(&server.base_url);
    let manager = api.login("admin", "admin").await.unwrap();
    let created = api
        .client
        .post(format!("{}/api/v1/products", server.base_url))
        .bearer_auth(&manager)
        .json(&json!({"name": "Seasonal Pumpkin Latte", "price": 450}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let products_before = api.get("/api/v1/products", &manager).await;
    let configs_before = api.get("/api/v1/configs", &manager).await;
    let users_before = api.get("/api/v1/users", &manager).await;
    let (exit, _) = server.terminate();
    assert!(exit.success());

    // The same data directory, this time through the environment.
    let mut serve = command(data_dir.path());
    serve
        .env("POSSYNC_DEMO", "true")
        .env("POSSYNC_LISTEN", "127.0.0.1:0")
        .arg("serve");
    let mut server = ServerProcess::start_command(serve);
    server.wait_for_line(|line| line.contains("already has data"), START_TIMEOUT);
    let api = Api::new(&server.base_url);
    let manager = api.login("admin", "admin").await.unwrap();
    assert_eq!(api.get("/api/v1/products", &manager).await, products_before);
    assert_eq!(api.get("/api/v1/configs", &manager).await, configs_before);
    assert_eq!(api.get("/api/v1/users", &manager).await, users_before);
    let (exit, _) = server.terminate();
    assert!(exit.success());
}

#[tokio::test]
async fn a_second_process_on_the_same_data_dir_refuses_clearly() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data_dir.path(), &["--demo"]);

    let (exit, _, stderr) = run(data_dir.path(), &["serve", "--listen", "127.0.0.1:0"], None);
    assert!(!exit.success());
    assert!(
        stderr.contains("is in use by another possync process"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (exit, _, stderr) = run(
        data_dir.path(),
        &[
            "user",
            "add",
            "--login",
            "eve",
            "--name",
            "Eve",
            "--role",
            "cashier",
            "--password",
            "x",
        ],
        None,
    );
    assert!(!exit.success());
    assert!(
        stderr.contains("is in use by another possync process"),
        "{stderr}"
    );

    // The running server was not disturbed.
    assert_eq!(Api::new(&server.base_url).healthz().await, 200);
    let (exit, _) = server.terminate();
    assert!(exit.success());
}

#[tokio::test]
async fn the_first_start_prints_a_working_manager_password_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data_dir.path(), &[]);
    let line = server.wait_for_line(|line| line.contains("with password: "), START_TIMEOUT);
    let password = line
        .rsplit("with password: ")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert!(password.len() >= 12, "{line}");
    let api = Api::new(&server.base_url);
    let token = api.login("admin", &password).await.unwrap();
    let me = api.get("/api/v1/me", &token).await;
    assert_eq!(me["user"]["role"], "manager");
    assert_eq!(api.login("admin", "admin").await, Err(401));
    let (exit, first_lines) = server.terminate();
    assert!(exit.success());
    assert!(
        !first_lines.iter().any(|line| line.contains("Demo")),
        "{first_lines:?}"
    );

    let server = ServerProcess::start(data_dir.path(), &[]);
    assert!(
        Api::new(&server.base_url)
            .login("admin", &password)
            .await
            .is_ok()
    );
    let (exit, lines) = server.terminate();
    assert!(exit.success());
    assert!(
        !lines.iter().any(|line| line.contains("password")),
        "printed once: {lines:?}"
    );
}

#[tokio::test]
async fn user_add_and_passwd_manage_logins() {
    let data_dir = tempfile::tempdir().unwrap();
    let (exit, stdout, stderr) = run(
        data_dir.path(),
        &[
            "user",
            "add",
            "--login",
            "Eve",
            "--name",
            "Eve Adams",
            "--role",
            "manager",
            "--password",
            "first-pw",
        ],
        None,
    );
    assert!(exit.success(), "{stderr}");
    assert!(stdout.contains("Added manager `eve`"), "{stdout}");

    let (exit, _, stderr) = run(
        data_dir.path(),
        &[
            "user",
            "add",
            "--login",
            "eve",
            "--name",
            "Eve",
            "--role",
            "cashier",
            "--password",
            "x",
        ],
        None,
    );
    assert!(!exit.success());
    assert!(stderr.contains("already taken"), "{stderr}");

    // Without --password, a script pipes it on stdin.
    let (exit, stdout, stderr) = run(
        data_dir.path(),
        &[
            "user", "add", "--login", "bob", "--name", "Bob", "--role", "cashier",
        ],
        Some("bob-pw\n"),
    );
    assert!(exit.success(), "{stderr}");
    assert!(stdout.contains("Added cashier `bob`"), "{stdout}");
    let (exit, stdout, stderr) = run(
        data_dir.path(),
        &["user", "passwd", "--login", "eve"],
        Some("second-pw\n"),
    );
    assert!(exit.success(), "{stderr}");
    assert!(stdout.contains("Changed the password of `eve`"), "{stdout}");

    let (exit, _, stderr) = run(
        data_dir.path(),
        &["user", "passwd", "--login", "nobody", "--password", "x"],
        None,
    );
    assert!(!exit.success());
    assert!(
        stderr.contains("no user has the login `nobody`"),
        "{stderr}"
    );
    let (exit, _, stderr) = run(
        data_dir.path(),
        &[
            "user",
            "add",
            "--login",
            "bad login",
            "--name",
            "X",
            "--role",
            "cashier",
            "--password",
            "x",
        ],
        None,
    );
    assert!(!exit.success());
    assert!(stderr.contains("login"), "{stderr}");

    let (exit, stdout, _) = run(data_dir.path(), &["user", "list"], None);
    assert!(exit.success());
    assert!(
        stdout.contains("eve\tmanager") && stdout.contains("bob\tcashier"),
        "{stdout}"
    );

    // Users exist, so the server creates no extra manager.
    let server = ServerProcess::start(data_dir.path(), &[]);
    let api = Api::new(&server.base_url);
    assert_eq!(api.login("eve", "first-pw").await, Err(401));
    let token = api.login("eve", "second-pw").await.unwrap();
    api.login("bob", "bob-pw").await.unwrap();
    let users = api.get("/api/v1/users", &token).await;
    assert_eq!(users.as_array().unwrap().len(), 2, "{users}");
    let (exit, lines) = server.terminate();
    assert!(exit.success());
    assert!(
        !lines.iter().any(|line| line.contains("password")),
        "{lines:?}"
    );
}

/// Sends `GET /healthz` from `local_ip` on a new connection and answers the status line.
fn health_status_line_from(address: &str, local_ip: &str) -> String {
    let address: std::net::SocketAddr = address.trim_start_matches("http://").parse().unwrap();
    let mut stream = connect_from(local_ip, address);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: possync\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

/// A blocking TCP connection from `local_ip` (an address of the loopback range), made
/// with tokio's socket API on a throwaway runtime: std cannot bind before connecting.
fn connect_from(local_ip: &str, address: std::net::SocketAddr) -> std::net::TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(format!("{local_ip}:0").parse().unwrap())
            .unwrap();
        socket.connect(address).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
}

/// The connection bounds and the header deadline reach the server from flags
/// and environment variables (README, "Configuration").
#[test]
fn connection_bounds_and_the_header_deadline_come_from_flags_and_environment() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut serve = command(data_dir.path());
    serve
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--connections-max", "10", "--header-read-timeout-ms", "500"])
        .env("POSSYNC_CONNECTIONS_PER_ADDRESS_MAX", "1");
    let server = ServerProcess::start_command(serve);
    let address: std::net::SocketAddr = server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .unwrap();

    // One silent connection takes 127.0.0.1's only slot...
    let mut silent = connect_from("127.0.0.1", address);
    assert!(
        health_status_line_from(&server.base_url, "127.0.0.1").starts_with("HTTP/1.1 503"),
        "a second connection from the same address is refused"
    );
    // ...another address is served...
    assert_eq!(
        health_status_line_from(&server.base_url, "127.0.0.2"),
        "HTTP/1.1 200 OK"
    );
    // ...and the silent one is closed at the header deadline, which frees the slot.
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buffer = [0u8; 64];
    match silent.read(&mut buffer) {
        Ok(_) => {}
        Err(error) => panic!("the silent connection was not closed: {error}"),
    }
    assert_eq!(
        health_status_line_from(&server.base_url, "127.0.0.1"),
        "HTTP/1.1 200 OK"
    );
    let (status, _) = server.terminate();
    assert!(status.success(), "{status:?}");
}
