//! Every bound and tunable of a node, with the defaults a shop runs with.
//! Names end with their unit; the server exposes each as a flag and an
//! environment variable (see the README's configuration table).

use possync_core::limits;

/// A token bucket: `burst` messages at once, then `per_s` a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub burst: u32,
    pub per_s: u32,
}

impl RateLimit {
    pub const fn new(burst: u32, per_s: u32) -> Self {
        RateLimit { burst, per_s }
    }
}

/// Whether the node may skip the store when an id is new to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookups {
    /// Skip the store for UUIDv7 ids newer than anything this node forgot
    /// (see `freshness`): right when this node is the only writer.
    FreshIdsSkipStore,
    /// Ask the store about every id this node does not hold: needed when
    /// several nodes write to one database.
    Always,
}

/// The limits of one sync node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSettings {
    /// How long `begin_payment` locks an order.
    pub lease_ms: i64,
    /// Decisions in one group commit at most.
    pub ops_per_batch_max: usize,
    /// Batches committing at once. With more than one, the next batch is
    /// written while the previous one is still being made durable.
    pub batches_in_flight_max: usize,
    /// Frames queued for one connection before it is closed as too slow (4008).
    pub frames_per_connection_max: u32,
    /// Bytes queued for one connection before it is closed as too slow (4008).
    pub bytes_per_connection_max: u64,
    /// Catch-up sends orders while fewer than this many bytes are queued for
    /// the connection, then waits for the terminal to read them.
    pub catch_up_bytes_ahead_max: u64,
    /// A ping is sent by the server this often; a terminal silent for
    /// `heartbeats_missed_max` of them is closed (4000).
    pub heartbeat_ms: i64,
    pub heartbeats_missed_max: u32,
    /// A connection that has not said `hello` this long after connecting is
    /// closed (4000), even if it answers pings.
    pub hello_deadline_ms: i64,
    /// Live sync connections of one terminal token at once.
    pub connections_per_token_max: usize,
    /// Open drafts one config may originate.
    pub drafts_per_config_max: usize,
    /// Per connection, per message kind.
    pub ops_rate: RateLimit,
    pub presence_rate: RateLimit,
    pub resync_rate: RateLimit,
    pub ping_rate: RateLimit,
    pub hello_rate: RateLimit,
    /// Frames that do not decode (garbage, unknown types, oversized).
    pub invalid_rate: RateLimit,
    /// `POST /orders/{id}/ops`, per terminal token.
    pub http_ops_rate: RateLimit,
    /// Messages refused in a row (over a rate limit) before the connection is closed (4008).
    pub refusals_in_row_max: u32,
    /// Messages of one connection waiting behind a store lookup or the hello's identity check.
    pub messages_waiting_per_connection_max: usize,
    /// First answers of ops kept in memory; older ones are asked of the store.
    pub outcomes_cached_max: usize,
    /// Paid and cancelled orders kept in memory; older ones are asked of the store.
    pub finished_cached_max: usize,
    /// Terminal id → token bindings kept in memory; older ones are asked of the store.
    pub terminal_bindings_cached_max: usize,
    /// Token buckets of HTTP callers kept; the least recently used go first.
    pub http_callers_tracked_max: usize,
    /// Closed sessions remembered, so that a request authenticated just before
    /// the close is still refused.
    pub closed_sessions_remembered_max: usize,
    pub lookups: Lookups,
    /// How far ahead of the server's clock a client's UUIDv7 may be and still
    /// count as new (see `freshness`).
    pub id_clock_skew_ms: i64,
}

impl NodeSettings {
    /// The default cap of open drafts per config (PROTOCOL.md guarantee 9: at least 10,000).
    pub const DRAFTS_PER_CONFIG_MAX_DEFAULT: usize = 10_000;
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            lease_ms: limits::PAYMENT_LEASE_MS_DEFAULT,
            ops_per_batch_max: 1_024,
            batches_in_flight_max: 1,
            frames_per_connection_max: 8_192,
            bytes_per_connection_max: 16 * 1024 * 1024,
            catch_up_bytes_ahead_max: 256 * 1024,
            heartbeat_ms: 15_000,
            heartbeats_missed_max: 3,
            hello_deadline_ms: 10_000,
            connections_per_token_max: 64,
            drafts_per_config_max: Self::DRAFTS_PER_CONFIG_MAX_DEFAULT,
            ops_rate: RateLimit::new(200, 100),
            presence_rate: RateLimit::new(20, 10),
            resync_rate: RateLimit::new(20, 5),
            ping_rate: RateLimit::new(10, 2),
            hello_rate: RateLimit::new(3, 1),
            invalid_rate: RateLimit::new(20, 5),
            http_ops_rate: RateLimit::new(200, 100),
            refusals_in_row_max: 1_000,
            messages_waiting_per_connection_max: 1_024,
            outcomes_cached_max: 100_000,
            finished_cached_max: 20_000,
            terminal_bindings_cached_max: 50_000,
            http_callers_tracked_max: 10_000,
            closed_sessions_remembered_max: 4_096,
            lookups: Lookups::FreshIdsSkipStore,
            id_clock_skew_ms: 120_000,
        }
    }
}
