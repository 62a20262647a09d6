//! The sync node's limits as `possync serve` flags and `POSSYNC_*` variables.
//! Every default is the node's own (`NodeSettings::default()`), so the README's
//! table, `--help` and the code cannot disagree.

use clap::Args;
use clap::builder::RangedU64ValueParser;
use possync_server::sync::{NodeSettings, RateLimit, SyncSettings};
use std::fmt;
use std::str::FromStr;

/// A rate limit written `PER_SECOND:BURST`, e.g. `100:200`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub RateLimit);

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (per_s, burst) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: write a rate as PER_SECOND:BURST, e.g. 100:200"))?;
        let number = |part: &str| {
            part.trim()
                .parse::<u32>()
                .ok()
                .filter(|value| (1..=10_000_000).contains(value))
                .ok_or_else(|| format!("{text:?}: {part:?} is not a number from 1 to 10000000"))
        };
        Ok(Rate(RateLimit::new(number(burst)?, number(per_s)?)))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0.per_s, self.0.burst)
    }
}

fn defaults() -> NodeSettings {
    NodeSettings::default()
}

/// What one terminal and one shop may make the sync node spend.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// How long `begin_payment` locks an order, in milliseconds.
    #[arg(long, env = "POSSYNC_LEASE_MS", default_value_t = defaults().lease_ms, value_parser = clap::value_parser!(i64).range(1_000..=3_600_000))]
    lease_ms: i64,

    /// Ops written in one group commit at most.
    #[arg(long, env = "POSSYNC_OPS_PER_BATCH_MAX", default_value_t = defaults().ops_per_batch_max, value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    ops_per_batch_max: usize,

    /// Frames queued for one connection before it is closed as too slow (4008).
    #[arg(long, env = "POSSYNC_FRAMES_PER_CONNECTION_MAX", default_value_t = defaults().frames_per_connection_max, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    frames_per_connection_max: u32,

    /// Bytes queued for one connection before it is closed as too slow (4008).
    #[arg(long, env = "POSSYNC_BYTES_PER_CONNECTION_MAX", default_value_t = defaults().bytes_per_connection_max, value_parser = clap::value_parser!(u64).range(65_536..=1_073_741_824))]
    bytes_per_connection_max: u64,

    /// Catch-up sends orders while fewer than this many bytes are queued for the connection.
    #[arg(long, env = "POSSYNC_CATCH_UP_BYTES_AHEAD_MAX", default_value_t = defaults().catch_up_bytes_ahead_max, value_parser = clap::value_parser!(u64).range(1..=1_073_741_824))]
    catch_up_bytes_ahead_max: u64,

    /// The server pings every terminal this often, in milliseconds; a terminal
    /// silent for three of them is closed (4000).
    #[arg(long, env = "POSSYNC_HEARTBEAT_MS", default_value_t = defaults().heartbeat_ms, value_parser = clap::value_parser!(i64).range(100..=600_000))]
    heartbeat_ms: i64,

    /// A sync connection that has not said `hello` this long after connecting is closed (4000).
    #[arg(long, env = "POSSYNC_HELLO_DEADLINE_MS", default_value_t = defaults().hello_deadline_ms, value_parser = clap::value_parser!(i64).range(100..=600_000))]
    hello_deadline_ms: i64,

    /// Live sync connections of one terminal token at once.
    #[arg(long, env = "POSSYNC_CONNECTIONS_PER_TOKEN_MAX", default_value_t = defaults().connections_per_token_max, value_parser = RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    connections_per_token_max: usize,

    /// Open drafts one counter may originate (PROTOCOL.md guarantee 9: at least 10,000).
    #[arg(long, env = "POSSYNC_DRAFTS_PER_CONFIG_MAX", default_value_t = defaults().drafts_per_config_max, value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    drafts_per_config_max: usize,

    /// Ops one connection may send, as PER_SECOND:BURST.
    #[arg(long, env = "POSSYNC_OPS_RATE", default_value_t = Rate(defaults().ops_rate))]
    ops_rate: Rate,

    /// Presence messages one connection may send, as PER_SECOND:BURST.
    #[arg(long, env = "POSSYNC_PRESENCE_RATE", default_value_t = Rate(defaults().presence_rate))]
    presence_rate: Rate,

    /// Resync messages one connection may send, as PER_SECOND:BURST.
    #[arg(long, env = "POSSYNC_RESYNC_RATE", default_value_t = Rate(defaults().resync_rate))]
    resync_rate: Rate,

    /// Pings one connection may send, as PER_SECOND:BURST.
    #[arg(long, env = "POSSYNC_PING_RATE", default_value_t = Rate(defaults().ping_rate))]
    ping_rate: Rate,

    /// Hellos one connection may send, as PER_SECOND:BURST.
    #[arg(long, env = "POSSYNC_HELLO_RATE", default_value_t = Rate(defaults().hello_rate))]
    hello_rate: Rate,

    /// Frames that do not decode one connection may send, as PER_SECOND:BURST.
    #[arg(long, env = "POSSYNC_INVALID_RATE", default_value_t = Rate(defaults().invalid_rate))]
    invalid_rate: Rate,

    /// `POST /orders/{id}/ops` per terminal token, as PER_SECOND:BURST.
    #[arg(long, env = "POSSYNC_HTTP_OPS_RATE", default_value_t = Rate(defaults().http_ops_rate))]
    http_ops_rate: Rate,

    /// Messages refused in a row (over a rate limit) before a connection is closed (4008).
    #[arg(long, env = "POSSYNC_REFUSALS_IN_ROW_MAX", default_value_t = defaults().refusals_in_row_max, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    refusals_in_row_max: u32,

    /// Messages of one connection held while the store is asked about its op or terminal id.
    #[arg(long, env = "POSSYNC_MESSAGES_WAITING_PER_CONNECTION_MAX", default_value_t = defaults().messages_waiting_per_connection_max, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    messages_waiting_per_connection_max: usize,

    /// Op answers kept in memory for resends; older ones are read from the database.
    #[arg(long, env = "POSSYNC_OUTCOMES_CACHED_MAX", default_value_t = defaults().outcomes_cached_max, value_parser = RangedU64ValueParser::<usize>::new().range(1..=100_000_000))]
    outcomes_cached_max: usize,

    /// Paid and cancelled orders kept in memory; older ones are read from the database.
    #[arg(long, env = "POSSYNC_FINISHED_CACHED_MAX", default_value_t = defaults().finished_cached_max, value_parser = RangedU64ValueParser::<usize>::new().range(1..=100_000_000))]
    finished_cached_max: usize,

    /// Messages waiting for the sync node from all connections; readers wait when it is full.
    #[arg(long, env = "POSSYNC_COMMANDS_QUEUED_MAX", default_value_t = SyncSettings::default().commands_queued_max, value_parser = RangedU64ValueParser::<usize>::new().range(16..=10_000_000))]
    commands_queued_max: usize,
}

impl SyncArgs {
    pub fn sync_settings(&self) -> SyncSettings {
        SyncSettings {
            node: NodeSettings {
                lease_ms: self.lease_ms,
                ops_per_batch_max: self.ops_per_batch_max,
                frames_per_connection_max: self.frames_per_connection_max,
                bytes_per_connection_max: self.bytes_per_connection_max,
                catch_up_bytes_ahead_max: self.catch_up_bytes_ahead_max,
                heartbeat_ms: self.heartbeat_ms,
                hello_deadline_ms: self.hello_deadline_ms,
                connections_per_token_max: self.connections_per_token_max,
                drafts_per_config_max: self.drafts_per_config_max,
                ops_rate: self.ops_rate.0,
                presence_rate: self.presence_rate.0,
                resync_rate: self.resync_rate.0,
                ping_rate: self.ping_rate.0,
                hello_rate: self.hello_rate.0,
                invalid_rate: self.invalid_rate.0,
                http_ops_rate: self.http_ops_rate.0,
                refusals_in_row_max: self.refusals_in_row_max,
                messages_waiting_per_connection_max: self.messages_waiting_per_connection_max,
                outcomes_cached_max: self.outcomes_cached_max,
                finished_cached_max: self.finished_cached_max,
                ..NodeSettings::default()
            },
            commands_queued_max: self.commands_queued_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_per_second_then_burst() {
        assert_eq!(
            "100:200".parse::<Rate>(),
            Ok(Rate(RateLimit::new(200, 100)))
        );
        assert_eq!(Rate(RateLimit::new(200, 100)).to_string(), "100:200");
        for bad in ["100", "0:10", "10:0", "a:b", "1:99999999999"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }
}
