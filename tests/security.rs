//! The real `possync serve` process under attack: a flood of parallel wrong
//! passwords must not grow its memory past the bound on password checks nor
//! lock the manager out, and a token sent in `?token=` must never reach its log.
//!
//! The server's memory is its peak resident set (`VmHWM` in `/proc/<pid>/status`),
//! read before and after the flood. Each argon2 check takes about 19 MiB; without
//! a bound, 500 parallel checks would take gigabytes.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_possync");
/// Generous: a debug build hashes the demo passwords with argon2 before listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// One argon2id run with the default parameters (m = 19 MiB).
const ARGON2_KIB: u64 = 19 * 1024;

/// A `possync serve --demo` child with its stderr collected.
struct Server {
    child: Child,
    base_url: String,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    _stdout_lines: Receiver<String>,
}

impl Server {
    fn start(data_dir: &Path, log_filter: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(BINARY)
            .env_remove("POSSYNC_LISTEN")
            .env("POSSYNC_DATA_DIR", data_dir)
            .env("POSSYNC_LOG", log_filter)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let first = lines.recv_timeout(START_TIMEOUT).unwrap_or_else(|_| {
            panic!(
                "the server did not start; stderr: {}",
                stderr.lock().unwrap()
            )
        });
        let base_url = first
            .strip_prefix("possync listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Server {
            child,
            base_url,
            stderr,
            stderr_reader: Some(stderr_reader),
            _stdout_lines: lines,
        }
    }

    /// A field of `/proc/<pid>/status`, in KiB.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().strip_suffix("kB"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    /// Stops the server with SIGTERM and answers everything it logged.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        // The reader drains the pipe until it closes, which the exit just did.
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client whose connections come from `address` (any of 127.0.0.0/8 reaches the server).
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
}

async fn login(client: &reqwest::Client, base_url: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("{base_url}/api/v1/login"))
        .json(&json!({"login": "admin", "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_parallel_wrong_passwords_keeps_memory_bounded_and_the_manager_in() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("SKIPPED: no /proc on this system, so the server's memory cannot be read");
        return;
    }
    let data_dir = tempfile::tempdir().unwrap();
    let parallel_max = 2u64;
    let server = Server::start(
        data_dir.path(),
        "warn",
        &["--password-checks-parallel-max", &parallel_max.to_string()],
    );
    let base_url = server.base_url.clone();
    let manager_till = client_from([127, 0, 0, 1]);
    // One real login first, so the baseline already holds one argon2 run.
    assert_eq!(login(&manager_till, &base_url, "admin").await.status(), 200);
    let peak_before_kib = server.status_kib("VmHWM");

    // 500 attackers at once, each from its own address so no address limit
    // stops them before the password check: only the bound on checks can.
    let attackers: Vec<reqwest::Client> = (0..500u16)
        .map(|n| client_from([127, 1, (n / 200) as u8, (n % 200 + 1) as u8]))
        .collect();
    let answers = futures_util::future::join_all(
        attackers
            .iter()
            .map(|client| login(client, &base_url, "wrong password")),
    )
    .await;
    let mut n_checked_and_refused = 0;
    let mut n_told_to_wait = 0;
    for answer in &answers {
        match answer.status().as_u16() {
            401 => n_checked_and_refused += 1,
            429 => {
                n_told_to_wait += 1;
                assert!(answer.headers().contains_key("retry-after"));
            }
            other => panic!("a flooded login answered {other}"),
        }
    }
    let peak_after_kib = server.status_kib("VmHWM");
    let growth_kib = peak_after_kib.saturating_sub(peak_before_kib);
    eprintln!(
        "login flood: {n_checked_and_refused} checked (401), {n_told_to_wait} told to wait (429); \
         peak RSS {peak_before_kib} KiB before, {peak_after_kib} KiB after (+{growth_kib} KiB)"
    );
    assert!(n_checked_and_refused >= 1 && n_checked_and_refused + n_told_to_wait == 500);
    // At most `parallel_max` checks at once, plus room for 500 connections'
    // buffers; unbounded, the growth would be hundreds of times ARGON2_KIB.
    let growth_max_kib = parallel_max * ARGON2_KIB + 48 * 1024;
    assert!(
        growth_kib <= growth_max_kib,
        "peak RSS grew by {growth_kib} KiB, more than {growth_max_kib} KiB"
    );
    // The manager logs in at once from the shop's till: the flood locked nobody out.
    let response = login(&manager_till, &base_url, "admin").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["role"], "manager");
    server.stop();
}

#[tokio::test]
async fn a_token_in_the_query_never_reaches_the_log() {
    let data_dir = tempfile::tempdir().unwrap();
    // Everything the server and its libraries log, request spans included.
    let server = Server::start(data_dir.path(), "trace", &[]);
    let client = client_from([127, 0, 0, 1]);
    let body: Value = login(&client, &server.base_url, "admin")
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    for (path, status) in [
        ("/api/v1/me", 200),
        ("/api/v1/orders?state=nonsense", 400),
        ("/api/v1/sync", 403),
        ("/no/such/route", 404),
    ] {
        let separator = if path.contains('?') { '&' } else { '?' };
        let response = client
            .get(format!("{}{path}{separator}token={token}", server.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    let log = server.stop();
    assert!(
        log.contains("token=REDACTED"),
        "the request URLs were logged (redacted); log: {log}"
    );
    assert!(!log.contains(&token), "the token was logged: {log}");
}
