//! Structured logs with tracing, on stderr (stdout is for what a person must read:
//! the URL, the logins), filtered by `POSSYNC_LOG` (an EnvFilter, default `info`).

use clap::ValueEnum;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// Installs the global subscriber. A bad `POSSYNC_LOG` falls back to `info` with a warning.
pub fn init(format: LogFormat) {
    let (filter, filter_error) = match std::env::var("POSSYNC_LOG") {
        Ok(directives) if !directives.trim().is_empty() => match EnvFilter::try_new(&directives) {
            Ok(filter) => (filter, None),
            Err(error) => (
                EnvFilter::new("info"),
                Some(format!("POSSYNC_LOG={directives:?} ignored: {error}")),
            ),
        },
        _ => (EnvFilter::new("info"), None),
    };
    // Colours only on a terminal: escape codes make log files and collectors unreadable.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (never done by the binary) would fail; nothing to do about it then.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Some(warning) = filter_error {
        tracing::warn!("{warning}");
    }
}
