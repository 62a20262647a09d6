//! The server's tunable limits and switches, with the defaults a shop runs with.

/// How the HTTP server behaves. Every limit is named with its unit last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Live sync: leases, batch sizes, queue bounds, heartbeats, rate limits.
    pub sync: crate::sync::SyncSettings,
    /// HTTP connections: how many, from one address, and how long one may stay silent.
    pub connections: crate::connections::ConnectionSettings,
    /// Largest request body accepted, in bytes; a larger one is answered 413 `too_large`.
    pub body_bytes_max: usize,
    /// Tokens, cookies, the login throttle, password checks and the metrics token.
    pub auth: crate::auth::AuthSettings,
    /// The PostgreSQL database whose LISTEN/NOTIFY this node hears, when
    /// several nodes share it: what the others commit reaches this node's
    /// counters. `None` for a node alone on its database (SQLite).
    pub hear_other_nodes: Option<DatabaseUrl>,
    /// Receipt printers: how often the queues are read, retries and timeouts.
    pub printing: crate::printing::PrintSettings,
}

/// A database URL, which may hold a password: never printed whole.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(..)")
    }
}

impl ServerConfig {
    /// 256 KiB: an order with hundreds of lines or a catalog import batch fits; a flood does not.
    pub const BODY_BYTES_MAX_DEFAULT: usize = 256 * 1024;
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            sync: crate::sync::SyncSettings::default(),
            connections: crate::connections::ConnectionSettings::default(),
            body_bytes_max: Self::BODY_BYTES_MAX_DEFAULT,
            auth: crate::auth::AuthSettings::default(),
            hear_other_nodes: None,
            printing: crate::printing::PrintSettings::default(),
        }
    }
}
