//! The real `possync` binary on disks that fail: a data directory that fills
//! up and frees again, one that cannot be written, and a damaged database file.
//!
//! The full and read-only disks are small tmpfs mounts made for each test
//! (root only, as CI runs). Where mounting is impossible those tests say so
//! loudly and pass; with `POSSYNC_REQUIRE_TMPFS=1` (CI) they fail instead.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_possync");
/// Generous: a debug build hashes the demo passwords with argon2 before listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

fn command(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_remove("POSSYNC_LISTEN")
        .env_remove("POSSYNC_DEMO")
        .env("POSSYNC_DATA_DIR", data_dir)
        .env("POSSYNC_LOG", "warn");
    command
}

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop.
struct SmallDisk {
    mount_point: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(options: &str) -> Option<SmallDisk> {
        let parent = tempfile::tempdir().ok()?;
        let mount_point = parent.path().join("disk");
        std::fs::create_dir(&mount_point).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&mount_point)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(SmallDisk {
            mount_point,
            _parent: parent,
        })
    }

    /// Mounts, or skips loudly (None), or fails under `POSSYNC_REQUIRE_TMPFS=1`.
    fn mount_or_skip(options: &str, test: &str) -> Option<SmallDisk> {
        if let Some(disk) = SmallDisk::mount(options) {
            return Some(disk);
        }
        if std::env::var("POSSYNC_REQUIRE_TMPFS").is_ok_and(|value| value == "1") {
            panic!("POSSYNC_REQUIRE_TMPFS=1 but a tmpfs could not be mounted (run as root)");
        }
        eprintln!(
            "\n*** SKIPPED {test}: it needs to mount a tmpfs (run as root); \
             set POSSYNC_REQUIRE_TMPFS=1 to make this a failure ***\n"
        );
        None
    }

    fn path(&self) -> &Path {
        &self.mount_point
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.mount_point)
            .status()
            .unwrap();
        assert!(status.success(), "remount {options} failed");
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) -> PathBuf {
        let filler = self.mount_point.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        while file.write_all(&[0]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}

/// A `possync serve` child process.
struct ServerProcess {
    child: Child,
    base_url: String,
}

impl ServerProcess {
    fn start(data_dir: &Path, extra: &[&str]) -> ServerProcess {
        let mut child = command(data_dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = stdout_lines(&mut child);
        let deadline = Instant::now() + START_TIMEOUT;
        let base_url = loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(remaining)
                .unwrap_or_else(|error| panic!("the server did not start: {error}"));
            if let Some(address) = line.strip_prefix("possync listening on ") {
                break address.to_owned();
            }
        };
        ServerProcess { child, base_url }
    }

    fn terminate(mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        wait_with_timeout(&mut self.child, EXIT_TIMEOUT)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stdout_lines(child: &mut Child) -> Receiver<String> {
    let (sender, lines) = channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "no exit within {timeout:?}");
        // Polling a child's exit: std has no wait with a timeout.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `possync serve` expecting it to refuse to start; answers (status, stderr).
fn serve_refused(data_dir: &Path) -> (ExitStatus, String) {
    let mut child = command(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut child, EXIT_TIMEOUT);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

/// A till of the demo shop's Counter 1, driving orders over HTTP.
struct Till {
    client: reqwest::Client,
    base_url: String,
    token: String,
}

impl Till {
    async fn open(base_url: &str) -> Till {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let login: Value = client
            .post(format!("{base_url}/api/v1/login"))
            .json(&json!({"login": "cashier", "password": "cashier"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let user_token = login["token"].as_str().unwrap().to_owned();
        let configs: Value = client
            .get(format!("{base_url}/api/v1/configs"))
            .bearer_auth(&user_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let counter = configs
            .as_array()
            .unwrap()
            .iter()
            .find(|config| config["name"] == "Counter 1")
            .unwrap()["id"]
            .clone();
        let session: Value = client
            .post(format!("{base_url}/api/v1/sessions"))
            .bearer_auth(&user_token)
            .json(&json!({"config_id": counter}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Till {
            client,
            base_url: base_url.to_owned(),
            token: session["terminal_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn product_id(&self) -> Value {
        let products: Value = self
            .client
            .get(format!("{}/api/v1/products", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        products[0]["id"].clone()
    }

    /// Sends one op; answers the HTTP status and body.
    async fn op(&self, order_id: Uuid, op_id: Uuid, op: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/orders/{order_id}/ops", self.base_url))
            .bearer_auth(&self.token)
            .json(&json!({"op_id": op_id, "op": op}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn history_op_ids(&self, order_id: Uuid) -> Vec<String> {
        let history: Value = self
            .client
            .get(format!(
                "{}/api/v1/orders/{order_id}/history?limit=1000",
                self.base_url
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        history
            .as_array()
            .unwrap_or_else(|| panic!("no history: {history}"))
            .iter()
            .map(|entry| entry["op_id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `/healthz`: its status code and body.
    async fn health(&self) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}/healthz", self.base_url))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A token of the demo's manager (logging in writes to the disk: get it
    /// before the disk fills).
    async fn manager_token(&self) -> String {
        let login: Value = self
            .client
            .post(format!("{}/api/v1/login", self.base_url))
            .json(&json!({"login": "admin", "password": "admin"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        login["token"].as_str().unwrap().to_owned()
    }

    /// The value of `possync_degraded{reason="commits_failing"}` in `/metrics`.
    async fn commits_failing_metric(&self, manager_token: &str) -> String {
        let metrics = self
            .client
            .get(format!("{}/metrics", self.base_url))
            .bearer_auth(manager_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(r#"possync_degraded{reason="commits_failing"} "#))
            .unwrap_or_else(|| panic!("no possync_degraded metric: {metrics}"))
            .to_owned()
    }
}

fn assert_each_once(acked: &[Uuid], history: &[String]) {
    for op_id in acked {
        let times = history
            .iter()
            .filter(|entry| **entry == op_id.to_string())
            .count();
        assert_eq!(
            times, 1,
            "acknowledged op {op_id} is in the history {times} times"
        );
    }
}

#[tokio::test]
async fn a_full_disk_answers_unavailable_keeps_every_ack_and_recovers_by_itself() {
    let Some(disk) = SmallDisk::mount_or_skip("size=24m", "the full-disk test") else {
        return;
    };
    let data_dir = disk.path().join("data");
    let server = ServerProcess::start(&data_dir, &["--demo"]);
    let till = Till::open(&server.base_url).await;
    let manager_token = till.manager_token().await;
    assert_eq!(till.commits_failing_metric(&manager_token).await, "0");
    let product_id = till.product_id().await;
    let order_id = Uuid::now_v7();
    let mut acked = Vec::new();
    let create = Uuid::now_v7();
    assert_eq!(
        till.op(order_id, create, &json!({"kind": "create"}))
            .await
            .0,
        StatusCode::OK
    );
    acked.push(create);
    let add_line = || {
        json!({"kind": "add_line", "line_id": Uuid::now_v7(), "product_id": product_id,
               "qty": "1", "note": "x".repeat(900)})
    };

    let filler = disk.fill();
    // Keep editing until the full disk refuses an op; every answer is an ack or `unavailable`.
    let mut refused = None;
    for _ in 0..2_000 {
        let (op_id, op) = (Uuid::now_v7(), add_line());
        let (status, body) = till.op(order_id, op_id, &op).await;
        match status {
            StatusCode::OK => acked.push(op_id),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["code"], "unavailable", "{body}");
                refused = Some((op_id, op));
                break;
            }
            other => panic!("a full disk answered {other}: {body}"),
        }
    }
    let (refused_op_id, refused_op) = refused.expect("the full disk never refused an op");
    // Still up, and says why it is degraded: in /healthz and in the metrics.
    let (status, health) = till.health().await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    let reasons = health["reasons"].to_string();
    assert!(
        reasons.contains("changes cannot be saved") && reasons.contains("full"),
        "the reason does not name the full disk: {health}"
    );
    assert_eq!(till.commits_failing_metric(&manager_token).await, "1");
    // Refused again while the disk is still full.
    let (status, _) = till.op(order_id, refused_op_id, &refused_op).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    // Space returns: the very next resend of the refused op is accepted, once.
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = till.op(order_id, refused_op_id, &refused_op).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "no recovery once space returned: {body}"
    );
    acked.push(refused_op_id);
    let (op_id, op) = (Uuid::now_v7(), add_line());
    assert_eq!(till.op(order_id, op_id, &op).await.0, StatusCode::OK);
    acked.push(op_id);
    assert_each_once(&acked, &till.history_op_ids(order_id).await);
    // Well again, and says so.
    let (status, health) = till.health().await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health, json!({"status": "ok", "reasons": []}));
    assert_eq!(till.commits_failing_metric(&manager_token).await, "0");

    // And all of it survives a restart.
    assert!(server.terminate().success());
    let server = ServerProcess::start(&data_dir, &[]);
    let till = Till {
        base_url: server.base_url.clone(),
        ..till
    };
    assert_each_once(&acked, &till.history_op_ids(order_id).await);
}

#[test]
fn a_data_directory_that_cannot_be_written_is_refused_with_a_clear_message() {
    let Some(disk) = SmallDisk::mount_or_skip("size=1m", "the read-only data directory test")
    else {
        return;
    };
    let existing = disk.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    disk.remount("ro");
    for (data_dir, what) in [
        (disk.path().join("missing"), "cannot be created"),
        (existing, "cannot be written"),
    ] {
        let (status, stderr) = serve_refused(&data_dir);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("the data directory {} {what}", data_dir.display())),
            "{stderr}"
        );
        assert!(stderr.contains("Read-only file system"), "{stderr}");
    }
}

#[test]
fn a_damaged_database_is_refused_untouched_and_names_possync_restore() {
    let data_dir = tempfile::tempdir().unwrap();
    let database = data_dir.path().join("possync.db");
    let damaged: Vec<u8> = b"this is not an SQLite database, it was damaged\n"
        .iter()
        .copied()
        .cycle()
        .take(8192)
        .collect();
    std::fs::write(&database, &damaged).unwrap();

    let (status, stderr) = serve_refused(data_dir.path());
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is damaged"), "{stderr}");
    assert!(stderr.contains("possync restore"), "{stderr}");
    assert_eq!(
        std::fs::read(&database).unwrap(),
        damaged,
        "the damaged file was changed"
    );
}
