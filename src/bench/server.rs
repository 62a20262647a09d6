//! The server a bench measures: the real `possync` binary in its own process
//! (so /proc shows its CPU and memory apart from the load generator's), on a
//! fresh data directory, with the per-connection rate limits raised so that
//! a load generator is not throttled like a misbehaving till.

use crate::database::DatabaseArgs;
use crate::users::hash_off_thread;
use anyhow::{Context, Result, bail};
use clap::Args;
use possync_core::{Login, Name, Password, Role};
use possync_server::sync::{NodeSettings, RateLimit, SyncSettings};
use possync_server::{AppState, DatabaseUrl, ServerConfig};
use possync_store::{Store, UserEdit};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// The manager the bench logs in as.
pub const BENCH_LOGIN: &str = "bench";
const BENCH_PASSWORD_ENV: &str = "POSSYNC_BENCH_PASSWORD";
/// Ops per second (and burst) a bench connection may send: far above any till.
const BENCH_OPS_PER_S_MAX: u32 = 1_000_000;

/// `possync bench-server` (hidden): what [`BenchServer::start`] runs.
#[derive(Debug, Args)]
pub struct BenchServerArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Caches of answers and finished orders a few seconds of traffic fill
    /// (the soak: its memory must reach its steady state early, so that
    /// growth after that is a leak, not a cache filling up).
    #[arg(long)]
    small_caches: bool,
}

/// `--small-caches`: first answers and finished orders kept in memory.
const SMALL_OUTCOMES_CACHED_MAX: usize = 1_000;
const SMALL_FINISHED_CACHED_MAX: usize = 200;

/// Serves like `possync serve`, with the bench manager and raised rate limits:
/// on the data directory's SQLite file, or on the PostgreSQL database of
/// `--database` (a node among others, hearing what they commit).
pub async fn run(data_dir: &Path, database: &DatabaseArgs, args: BenchServerArgs) -> Result<()> {
    let password = std::env::var(BENCH_PASSWORD_ENV)
        .with_context(|| format!("{BENCH_PASSWORD_ENV} is not set"))?;
    let hear_other_nodes = database.database_url.clone().map(DatabaseUrl);
    let database = database.open(data_dir, "the bench server").await?;
    let store: Arc<dyn Store> = Arc::clone(&database.store);
    let login = Login::parse(BENCH_LOGIN)?;
    let hash = hash_off_thread(Password::parse(&password)?).await?;
    let existing = store
        .list_users()
        .await?
        .into_iter()
        .find(|user| user.login == login);
    match existing {
        None => {
            store
                .create_user(&login, &Name::parse("Bench")?, Role::Manager, &hash, &[])
                .await?;
        }
        // A PostgreSQL database an earlier bench used: its random password is gone.
        Some(user) => {
            store
                .update_user(
                    user.id,
                    &UserEdit {
                        password_hash: Some(&hash),
                        ..UserEdit::default()
                    },
                )
                .await?;
        }
    }
    let config = ServerConfig {
        sync: SyncSettings {
            node: NodeSettings {
                ops_rate: RateLimit::new(BENCH_OPS_PER_S_MAX, BENCH_OPS_PER_S_MAX),
                http_ops_rate: RateLimit::new(BENCH_OPS_PER_S_MAX, BENCH_OPS_PER_S_MAX),
                // Terminals of one counter may share its token in a bench.
                connections_per_token_max: 100_000,
                outcomes_cached_max: if args.small_caches {
                    SMALL_OUTCOMES_CACHED_MAX
                } else {
                    NodeSettings::default().outcomes_cached_max
                },
                finished_cached_max: if args.small_caches {
                    SMALL_FINISHED_CACHED_MAX
                } else {
                    NodeSettings::default().finished_cached_max
                },
                ..NodeSettings::default()
            },
            ..SyncSettings::default()
        },
        hear_other_nodes,
        ..ServerConfig::default()
    };
    let listener = TcpListener::bind(&args.listen).await?;
    let local_addr = listener.local_addr()?;
    let state = AppState::start_with_system_clock(store, config).await?;
    crate::console::say(format!("possync listening on http://{local_addr}"));
    possync_server::serve(listener, state, crate::serve::shutdown_signal()).await?;
    drop(database);
    Ok(())
}

/// A bench server process.
#[derive(Debug)]
pub struct BenchServer {
    child: Child,
    pub pid: u32,
    pub base_url: String,
    pub data_dir: PathBuf,
    pub password: String,
    small_caches: bool,
    /// The PostgreSQL database it serves, if not its own SQLite file.
    database_url: Option<String>,
}

impl BenchServer {
    /// Starts `possync bench-server` on a free port and waits for its first line.
    /// With `database_url`, a node on that PostgreSQL database (migrated),
    /// beside any other node on it; else on its own SQLite file.
    pub async fn start(
        data_dir: &Path,
        password: &str,
        small_caches: bool,
        database_url: Option<&str>,
    ) -> Result<BenchServer> {
        Self::start_on(
            data_dir,
            password,
            "127.0.0.1:0",
            small_caches,
            database_url,
        )
        .await
    }

    /// Stops the server and starts it again on the same port and data; answers
    /// the time from starting the new process to its first `/healthz` 200.
    pub async fn restart(&mut self) -> Result<Duration> {
        self.terminate().await?;
        let listen = self.base_url.trim_start_matches("http://").to_owned();
        let started = std::time::Instant::now();
        let next = Self::start_on(
            &self.data_dir,
            &self.password,
            &listen,
            self.small_caches,
            self.database_url.as_deref(),
        )
        .await?;
        let client = reqwest::Client::builder().no_proxy().build()?;
        loop {
            let healthy = client
                .get(format!("{}/healthz", next.base_url))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if healthy {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("the restarted server did not answer /healthz within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let serve_time = started.elapsed();
        *self = next;
        Ok(serve_time)
    }

    async fn start_on(
        data_dir: &Path,
        password: &str,
        listen: &str,
        small_caches: bool,
        database_url: Option<&str>,
    ) -> Result<BenchServer> {
        let exe = std::env::current_exe().context("cannot find the possync binary")?;
        let mut command = Command::new(exe);
        command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("bench-server")
            .arg("--listen")
            .arg(listen);
        if small_caches {
            command.arg("--small-caches");
        }
        // Through the environment: a command line is visible to every local user.
        match database_url {
            Some(url) => command.env("POSSYNC_DATABASE_URL", url),
            None => command.env_remove("POSSYNC_DATABASE_URL"),
        };
        let mut child = command
            .env(BENCH_PASSWORD_ENV, password)
            .env("POSSYNC_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("could not start the bench server")?;
        let pid = child.id().context("the bench server exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("the bench server did not start within 60 s")??
            .context("the bench server exited before listening")?;
        let Some(base_url) = first.strip_prefix("possync listening on ") else {
            bail!("unexpected first line from the bench server: {first}");
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(BenchServer {
            child,
            pid,
            base_url: base_url.to_owned(),
            data_dir: data_dir.to_owned(),
            password: password.to_owned(),
            small_caches,
            database_url: database_url.map(str::to_owned),
        })
    }

    /// SIGTERM, then wait for the process to finish its shutdown.
    pub async fn stop(mut self) -> Result<()> {
        self.terminate().await
    }

    async fn terminate(&mut self) -> Result<()> {
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .context("could not run kill")?;
        if !status.success() {
            bail!("kill -TERM {} failed", self.pid);
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(result) => {
                result?;
                Ok(())
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("the bench server did not stop within 30 s of SIGTERM")
            }
        }
    }
}
