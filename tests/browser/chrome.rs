//! Chromium and chromedriver for one test: find them (or skip loudly), start
//! chromedriver on a free loopback port with a short TMPDIR, open independent
//! headless browsers (one profile each), and end every session before
//! chromedriver goes, so no Chromium is left behind.

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

const CHROMEDRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
const SESSION_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// The till's reference screen: a 1280x800 viewport.
const VIEWPORT: (u32, u32) = (1280, 800);

/// The flags every browser gets. The background-networking ones keep Chromium from
/// calling hosts this closed network refuses; the window size is the till's.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
];

/// Where the browser programs are.
#[derive(Debug, Clone)]
pub struct BrowserPrograms {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for directory in std::env::split_paths(&path) {
        for name in names {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        _ => on_path(names),
    }
}

/// Finds chromium and chromedriver (`POSSYNC_CHROMIUM` / `POSSYNC_CHROMEDRIVER`
/// override the search). When either is missing: with `POSSYNC_REQUIRE_BROWSER=1`
/// the test fails; otherwise a banner says the test was skipped and `None` comes back.
pub fn programs_or_skip(test_name: &str) -> Option<BrowserPrograms> {
    let chromium = program(
        "POSSYNC_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let chromedriver = program("POSSYNC_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(BrowserPrograms {
            chromium,
            chromedriver,
        }),
        (chromium, chromedriver) => {
            let missing = [
                chromium.is_none().then_some("chromium"),
                chromedriver.is_none().then_some("chromedriver"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and ");
            if std::env::var("POSSYNC_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!(
                    "{test_name}: POSSYNC_REQUIRE_BROWSER=1 but {missing} cannot be found \
                     (apt-get install chromium chromium-driver)"
                );
            }
            let rule = "*".repeat(78);
            // Straight to the stderr handle, not `eprintln!`: the test harness
            // captures the macros' output of passing tests, and this must be seen.
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n{rule}\n*** SKIPPED: browser tests need chromium and chromedriver; set \
                 POSSYNC_REQUIRE_BROWSER=1 to fail instead\n*** {test_name}: {missing} not \
                 found (apt-get install chromium chromium-driver)\n{rule}\n"
            );
            None
        }
    }
}

/// A free loopback port (the listener is closed at once; chromedriver binds it).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running chromedriver and the browser sessions opened through it.
#[derive(Debug)]
pub struct Chrome {
    programs: BrowserPrograms,
    chromedriver: Child,
    webdriver_url: String,
    /// Short, so Chromium's `SingletonSocket` path stays under the 108-byte limit.
    scratch: tempfile::TempDir,
    sessions: Mutex<Vec<Client>>,
}

impl Chrome {
    /// Starts chromedriver on a free port and waits until it says it is ready.
    pub fn start(programs: BrowserPrograms) -> Chrome {
        let scratch = tempfile::Builder::new()
            .prefix("pb")
            .tempdir_in(short_temp_root())
            .unwrap();
        let xdg = scratch.path().join("xdg");
        std::fs::create_dir_all(xdg.join("config")).unwrap();
        std::fs::create_dir_all(xdg.join("cache")).unwrap();
        std::fs::create_dir_all(scratch.path().join("t")).unwrap();
        let started = std::time::Instant::now();
        let port = free_port();
        let log = std::fs::File::create(scratch.path().join("chromedriver.log")).unwrap();
        let mut command = Command::new(&programs.chromedriver);
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .env("TMPDIR", scratch.path().join("t"))
            .env("XDG_CONFIG_HOME", xdg.join("config"))
            .env("XDG_CACHE_HOME", xdg.join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        // Its own process group: if a test dies before closing the sessions, Drop
        // can still end chromedriver and the browsers it started, and nothing else.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut chromedriver = command.spawn().unwrap();
        let stdout = chromedriver.stdout.take().unwrap();
        let (sender, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("started successfully") {
                    let _ = sender.send(());
                }
            }
        });
        if ready.recv_timeout(CHROMEDRIVER_START_TIMEOUT).is_err() {
            let _ = chromedriver.kill();
            let log = std::fs::read_to_string(scratch.path().join("chromedriver.log"))
                .unwrap_or_default();
            panic!("chromedriver did not start within {CHROMEDRIVER_START_TIMEOUT:?}: {log}");
        }
        eprintln!("[chrome] chromedriver ready in {:?}", started.elapsed());
        Chrome {
            programs,
            chromedriver,
            webdriver_url: format!("http://127.0.0.1:{port}"),
            scratch,
            sessions: Mutex::new(Vec::new()),
        }
    }

    /// Opens a new headless browser with a fresh profile of its own.
    pub async fn open_browser(&self, profile: &str) -> Client {
        let profile_dir = self.scratch.path().join(format!("p-{profile}"));
        std::fs::create_dir_all(&profile_dir).unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile_dir.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.programs.chromium,
                "args": args,
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "pageLoadStrategy": "normal",
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let started = std::time::Instant::now();
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&self.webdriver_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "could not open a browser ({profile}): {error}; chromedriver log: {}",
                    self.log()
                )
            });
        self.sessions.lock().unwrap().push(client.clone());
        let session_time = started.elapsed();
        // `--window-size` sizes the window; the till is designed for a 1280x800
        // viewport, so grow the window by whatever the browser keeps for itself.
        set_viewport(&client, VIEWPORT.0, VIEWPORT.1).await;
        eprintln!(
            "[chrome] browser {profile}: session in {session_time:?}, sized in {:?}",
            started.elapsed() - session_time
        );
        client
    }

    /// The browser's console messages since the last call (chromedriver's log
    /// endpoint), as `LEVEL message` lines.
    pub async fn console_messages(&self, client: &Client) -> Vec<String> {
        let Ok(Some(session_id)) = client.session_id().await else {
            return Vec::new();
        };
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!(
                "{}/session/{session_id}/se/log",
                self.webdriver_url
            ))
            .json(&json!({"type": "browser"}))
            .send()
            .await;
        let Ok(response) = response else {
            return Vec::new();
        };
        let body: Value = response.json().await.unwrap_or(Value::Null);
        body["value"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| {
                        format!(
                            "{} {}",
                            entry["level"].as_str().unwrap_or("?"),
                            entry["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.scratch.path().join("chromedriver.log")).unwrap_or_default()
    }

    /// Prints what the browser logged, and fails on an error message unless it
    /// contains one of `expected` (e.g. the refused connections of an outage).
    pub async fn check_console(&self, name: &str, client: &Client, expected: &[&str]) {
        let messages = self.console_messages(client).await;
        let mut unexpected = Vec::new();
        for message in &messages {
            eprintln!("[{name} console] {message}");
            if message.starts_with("SEVERE") && !expected.iter().any(|e| message.contains(e)) {
                unexpected.push(message.clone());
            }
        }
        assert!(
            unexpected.is_empty(),
            "[{name}] the browser logged errors: {unexpected:#?}"
        );
    }

    /// Ends every browser session, then chromedriver.
    pub async fn shutdown(mut self) {
        let sessions = std::mem::take(&mut *self.sessions.lock().unwrap());
        for client in sessions {
            let _ = tokio::time::timeout(SESSION_CLOSE_TIMEOUT, client.close()).await;
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // Normally `shutdown` ran and chromedriver is gone. If not (a panic in a
        // place that skipped it), end chromedriver's process group: chromedriver and
        // the browsers it started, which killing chromedriver alone would leave.
        if let Ok(None) = self.chromedriver.try_wait() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.chromedriver.id())])
                .status();
            let _ = self.chromedriver.wait();
        }
    }
}

/// Resizes the window so that the page itself gets `width` x `height`.
pub async fn set_viewport(client: &Client, width: u32, height: u32) {
    let frame = client
        .execute(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            Vec::new(),
        )
        .await
        .unwrap();
    let frame_width = frame[0].as_u64().unwrap_or(0) as u32;
    let frame_height = frame[1].as_u64().unwrap_or(0) as u32;
    client
        .set_window_size(width + frame_width, height + frame_height)
        .await
        .unwrap();
}

/// `/tmp` when it exists (the system temp dir may be set to a long path).
fn short_temp_root() -> PathBuf {
    let tmp = Path::new("/tmp");
    if tmp.is_dir() {
        tmp.to_owned()
    } else {
        std::env::temp_dir()
    }
}
