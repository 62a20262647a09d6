//! `possync serve`: take the data directory, prepare the database (demo shop or
//! first manager), listen, and serve until SIGINT or SIGTERM.

use crate::console::say;
use crate::database::DatabaseArgs;
use crate::demo;
use crate::logging::{self, LogFormat};
use crate::sync_args::SyncArgs;
use crate::users;
use anyhow::{Context, Result};
use clap::Args;
use possync_server::auth::{AuthSettings, ThrottleLimits};
use possync_server::connections::ConnectionSettings;
use possync_server::{AppState, DatabaseUrl, ServerConfig};
use possync_store::Store;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, env = "POSSYNC_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,

    /// Seed a demo shop (products, three counters, demo logins) into an empty database.
    /// POSSYNC_DEMO accepts 1/0, true/false, yes/no, on/off.
    #[arg(long, env = "POSSYNC_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    demo: bool,

    /// How logs are written to stderr.
    #[arg(long, env = "POSSYNC_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,

    #[command(flatten)]
    security: SecurityArgs,

    #[command(flatten)]
    connections: ConnectionArgs,

    #[command(flatten)]
    sync: SyncArgs,
}

/// How many connections the server holds, and how long one may stay silent.
#[derive(Debug, Args)]
struct ConnectionArgs {
    /// Connections held at once from all clients (browsers, devices, WebSockets included);
    /// one more is answered 503 and closed.
    #[arg(long, env = "POSSYNC_CONNECTIONS_MAX",
        default_value_t = ConnectionSettings::CONNECTIONS_MAX_DEFAULT as u64,
        value_parser = clap::value_parser!(u64).range(1..))]
    connections_max: u64,

    /// Connections held at once from one client IP address.
    #[arg(long, env = "POSSYNC_CONNECTIONS_PER_ADDRESS_MAX",
        default_value_t = ConnectionSettings::CONNECTIONS_PER_ADDRESS_MAX_DEFAULT as u64,
        value_parser = clap::value_parser!(u64).range(1..))]
    connections_per_address_max: u64,

    /// Milliseconds a connection has to send complete request headers, when it opens
    /// and after each response; a slower or silent connection is closed.
    #[arg(long, env = "POSSYNC_HEADER_READ_TIMEOUT_MS",
        default_value_t = ConnectionSettings::HEADER_READ_TIMEOUT_MS_DEFAULT,
        value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout_ms: u64,
}

impl ConnectionArgs {
    fn connection_settings(&self) -> ConnectionSettings {
        let as_usize = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
        ConnectionSettings {
            connections_max: as_usize(self.connections_max),
            connections_per_address_max: as_usize(self.connections_per_address_max),
            header_read_timeout_ms: self.header_read_timeout_ms,
        }
    }
}

/// File descriptors the server needs besides its connections: the database
/// and its journal, the lock file, the listener, logs, the runtime.
const FILES_RESERVED: u64 = 64;

/// Raises this process's open-file limit as far as the system allows, and
/// says so when it is still too low to hold `connections_max` connections:
/// past it, new connections wait in the kernel's queue until others close.
fn raise_open_files_limit(connections_max: u64) {
    let needed = connections_max.saturating_add(FILES_RESERVED);
    match rlimit::increase_nofile_limit(needed) {
        Ok(limit) if limit < needed => {
            tracing::warn!(
                open_files_limit = limit,
                connections_max,
                "the open-file limit allows about {} connections, fewer than --connections-max; raise it (ulimit -n, or LimitNOFILE= in a systemd unit) to hold more",
                limit.saturating_sub(FILES_RESERVED)
            );
        }
        Ok(limit) => tracing::debug!(open_files_limit = limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not read or raise the open-file limit"),
    }
}

/// Tokens, cookies and the limits that keep logins from being turned against the shop.
#[derive(Debug, Args)]
struct SecurityArgs {
    /// A secret that lets a metrics scraper read /metrics (as `Authorization: Bearer <it>`),
    /// besides managers' tokens: 16 to 256 visible ASCII characters. Prefer the
    /// environment variable: command lines are visible to every local user.
    #[arg(long, env = "POSSYNC_METRICS_TOKEN", value_parser = parse_metrics_token, hide_env_values = true)]
    metrics_token: Option<String>,

    /// How long a user token (from login) works: a number with `s`, `m`, `h` or
    /// `d` (`90m`, `12h`), 1 minute to 30 days. After that it answers 401 `expired`.
    #[arg(long, env = "POSSYNC_TOKEN_TTL", default_value = "12h", value_parser = parse_token_ttl_ms)]
    token_ttl: i64,

    /// Mark the token cookie `Secure`, for a server reached over HTTPS.
    #[arg(long, env = "POSSYNC_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new())]
    secure_cookies: bool,

    /// Failed logins per minute for one login from one client address.
    #[arg(long, env = "POSSYNC_LOGIN_FAILURES_PER_LOGIN_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    login_failures_per_login_per_minute: u32,

    /// Failed logins per minute from one client address, whatever the login.
    #[arg(long, env = "POSSYNC_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    login_failures_per_address_per_minute: u32,

    /// Password and PIN checks (argon2, about 19 MiB each) run at once; default: the machine's cores.
    #[arg(long, env = "POSSYNC_PASSWORD_CHECKS_PARALLEL_MAX", value_parser = clap::value_parser!(u16).range(1..=1024))]
    password_checks_parallel_max: Option<u16>,

    /// Password checks that may wait for a turn; past that, logins answer 429 with Retry-After.
    #[arg(long, env = "POSSYNC_PASSWORD_CHECKS_WAITING_MAX", default_value_t = 32, value_parser = clap::value_parser!(u16).range(0..=10_000))]
    password_checks_waiting_max: u16,
}

impl SecurityArgs {
    fn auth_settings(&self) -> AuthSettings {
        let defaults = AuthSettings::default();
        AuthSettings {
            token_ttl_ms: self.token_ttl,
            secure_cookies: self.secure_cookies,
            throttle: ThrottleLimits {
                failures_per_login_and_address_max: self.login_failures_per_login_per_minute,
                failures_per_address_max: self.login_failures_per_address_per_minute,
            },
            password_checks_parallel_max: self
                .password_checks_parallel_max
                .map_or(defaults.password_checks_parallel_max, usize::from),
            password_checks_waiting_max: usize::from(self.password_checks_waiting_max),
            metrics_token: self.metrics_token.clone(),
        }
    }
}

/// A token lifetime such as `12h`, `90m`, `3600s` or `1d`, in milliseconds.
fn parse_token_ttl_ms(text: &str) -> Result<i64, String> {
    const MINUTE_MS: i64 = 60_000;
    const TTL_MS_MAX: i64 = 30 * 24 * 60 * MINUTE_MS;
    let refused =
        || format!("{text:?}: give a number followed by s, m, h or d (like 12h), from 1m to 30d");
    let unit_at = text.len().checked_sub(1).ok_or_else(refused)?;
    let (number, unit) = text.split_at(unit_at);
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => MINUTE_MS,
        "h" => 60 * MINUTE_MS,
        "d" => 24 * 60 * MINUTE_MS,
        _ => return Err(refused()),
    };
    let number: i64 = number.parse().map_err(|_| refused())?;
    let ttl_ms = number.checked_mul(unit_ms).ok_or_else(refused)?;
    if (MINUTE_MS..=TTL_MS_MAX).contains(&ttl_ms) {
        Ok(ttl_ms)
    } else {
        Err(refused())
    }
}

fn parse_metrics_token(text: &str) -> Result<String, String> {
    let length_ok = (16..=256).contains(&text.len());
    if length_ok && text.bytes().all(|byte| byte.is_ascii_graphic()) {
        Ok(text.to_owned())
    } else {
        Err(String::from(
            "the metrics token must be 16 to 256 visible ASCII characters, without spaces",
        ))
    }
}

pub async fn run(data_dir: &Path, database: &DatabaseArgs, args: ServeArgs) -> Result<()> {
    logging::init(args.log_format);
    raise_open_files_limit(args.connections.connections_max);
    // On PostgreSQL other nodes may share the database: hear what they commit.
    let hear_other_nodes = database.database_url.clone().map(DatabaseUrl);
    let database = database.open(data_dir, "the server").await?;
    let store: Arc<dyn Store> = Arc::clone(&database.store);

    let mut notices = Vec::new();
    if args.demo {
        notices.extend(demo::seed_if_empty(store.as_ref()).await?.describe());
    } else if let Some(password) = users::create_first_manager_if_none(store.as_ref()).await? {
        notices.push(format!(
            "First start: created the manager login `{}` with password: {password}",
            users::FIRST_MANAGER_LOGIN
        ));
        notices.push(String::from(
            "  (shown once; change it with `possync user passwd --login admin`)",
        ));
    }

    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let local_addr = listener
        .local_addr()
        .context("could not read the listening address")?;

    // The first line is parsed by tests and scripts: keep its shape.
    say(format!("possync listening on http://{local_addr}"));
    say(format!("Open {} in a browser.", browser_url(local_addr)));
    say(format!("Data: {}", database.description));
    for notice in notices {
        say(notice);
    }
    tracing::info!(%local_addr, database = %database.description, "serving");

    let config = ServerConfig {
        auth: args.security.auth_settings(),
        connections: args.connections.connection_settings(),
        sync: args.sync.sync_settings(),
        hear_other_nodes,
        ..ServerConfig::default()
    };
    let state = AppState::start_with_system_clock(store, config)
        .await
        .context("could not load the open orders from the store")?;
    possync_server::serve(listener, state, shutdown_signal())
        .await
        .context("the server stopped with an error")?;
    tracing::info!("stopped");
    say("possync stopped");
    // The data directory's lock (SQLite) is released only now.
    drop(database);
    Ok(())
}

/// The URL a person opens: a wildcard address is not something a browser can open.
fn browser_url(local_addr: SocketAddr) -> String {
    if local_addr.ip().is_unspecified() {
        format!("http://localhost:{}/", local_addr.port())
    } else {
        format!("http://{local_addr}/")
    }
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot watch for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_token_ttl_ms;

    #[test]
    fn token_lifetimes_read_with_their_unit_and_stay_in_bounds() {
        assert_eq!(parse_token_ttl_ms("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_token_ttl_ms("90m"), Ok(90 * 60_000));
        assert_eq!(parse_token_ttl_ms("60s"), Ok(60_000));
        assert_eq!(parse_token_ttl_ms("30d"), Ok(30 * 86_400_000));
        for refused in [
            "",
            "h",
            "12",
            "59s",
            "31d",
            "-1h",
            "1.5h",
            "12 h",
            "99999999999999999d",
        ] {
            assert!(parse_token_ttl_ms(refused).is_err(), "{refused:?}");
        }
    }
}
