//! What changed in the database, told to every node: PostgreSQL's
//! `LISTEN/NOTIFY`.
//!
//! Writes notify inside their own transaction, so a notification goes out if
//! and only if the write committed, after it committed. Payloads are small: an
//! order's id and version, or the kind of shop data that changed; a node reads
//! the rows itself. Notifications are not stored: a listener whose connection
//! drops misses whatever was sent meanwhile, so [`ChangeListener::next`] says
//! [`StoreChange::Missed`] first, and the node re-reads what may have changed
//! before it trusts anything newer.

use crate::database_errors::unavailable;
use crate::{StoreError, StoreResult};
use possync_core::{OpId, OrderId, SessionId};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use std::str::FromStr;
use uuid::Uuid;

/// The channel of order changes; payload `<order id> <version> <op id>` (the
/// op that brought the order to that version; older writers sent no op id).
pub(crate) const ORDERS_CHANNEL: &str = "possync_orders";
/// The channel of shop changes; payload `links`, `configs`, `catalog`, `users`,
/// `session_closed <id>` or `token_revoked <token hash>`.
pub(crate) const SHOP_CHANNEL: &str = "possync_shop";

/// The hex digits of a token hash (SHA-256) in a `token_revoked` payload.
const TOKEN_HASH_HEX_DIGITS: usize = 64;

/// One change another node (or this one) committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChange {
    /// The order is at `version` now (or later: notifications of one order
    /// may arrive after a newer one was read), brought there by `op_id`.
    Order {
        order_id: OrderId,
        version: u64,
        op_id: Option<OpId>,
    },
    /// Sync links changed.
    Links,
    /// A config was created or changed.
    Configs,
    /// Products, categories, taxes, customers or payment methods changed.
    Catalog,
    /// A user was created or changed (role, password, active): their tokens may be revoked.
    Users,
    /// A session was closed: its terminals must stop.
    SessionClosed(SessionId),
    /// A token was revoked (logout, a password changed, a user deactivated):
    /// live connections of it must close. Carries the token's hash (64 hex digits).
    TokenRevoked(String),
    /// The listener's connection was lost: notifications sent meanwhile are
    /// gone. Re-read what may have changed before acting on newer ones.
    Missed,
}

/// A shop change, as written by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShopChange {
    Links,
    Configs,
    Catalog,
    Users,
    SessionClosed(SessionId),
}

impl ShopChange {
    fn payload(self) -> String {
        match self {
            ShopChange::Links => "links".to_owned(),
            ShopChange::Configs => "configs".to_owned(),
            ShopChange::Catalog => "catalog".to_owned(),
            ShopChange::Users => "users".to_owned(),
            ShopChange::SessionClosed(session_id) => format!("session_closed {}", session_id.0),
        }
    }
}

/// Sends one `token_revoked <hash>` per token when (and only if) the
/// transaction of `conn` commits: every node closes the live connections of
/// those tokens (a node checks tokens on every request and connection, but a
/// WebSocket that is already open would otherwise keep working).
pub(crate) async fn notify_tokens_revoked(
    conn: &mut PgConnection,
    token_hashes: &[String],
) -> StoreResult<()> {
    if token_hashes.is_empty() {
        return Ok(());
    }
    let payloads: Vec<String> = token_hashes
        .iter()
        .map(|hash| format!("token_revoked {hash}"))
        .collect();
    sqlx::query("SELECT pg_notify($1, payload) FROM UNNEST($2::text[]) AS payload")
        .bind(SHOP_CHANNEL)
        .bind(&payloads)
        .execute(&mut *conn)
        .await
        .map_err(unavailable("could not notify revoked tokens"))?;
    Ok(())
}

/// Sends `changes` when (and only if) the transaction of `conn` commits.
pub(crate) async fn notify_shop(
    conn: &mut PgConnection,
    changes: &[ShopChange],
) -> StoreResult<()> {
    let payloads: Vec<String> = changes.iter().map(|change| change.payload()).collect();
    sqlx::query("SELECT pg_notify($1, payload) FROM UNNEST($2::text[]) AS payload")
        .bind(SHOP_CHANNEL)
        .bind(&payloads)
        .execute(&mut *conn)
        .await
        .map_err(unavailable("could not notify a shop change"))?;
    Ok(())
}

/// Sends one notification per order, at the version the transaction of
/// `conn` leaves it and with the op id of that version, when (and only if)
/// that transaction commits.
pub(crate) async fn notify_orders(
    conn: &mut PgConnection,
    orders: &[(OrderId, u64, &str)],
) -> StoreResult<()> {
    let payloads: Vec<String> = orders
        .iter()
        .map(|(order_id, version, op_id)| format!("{} {version} {op_id}", order_id.0))
        .collect();
    sqlx::query("SELECT pg_notify($1, payload) FROM UNNEST($2::text[]) AS payload")
        .bind(ORDERS_CHANNEL)
        .bind(&payloads)
        .execute(&mut *conn)
        .await
        .map_err(unavailable("could not notify order changes"))?;
    Ok(())
}

fn parse(channel: &str, payload: &str) -> Option<StoreChange> {
    match channel {
        ORDERS_CHANNEL => {
            let mut fields = payload.split(' ');
            let order_id = OrderId(Uuid::parse_str(fields.next()?).ok()?);
            let version = fields.next()?.parse().ok()?;
            let op_id = match fields.next() {
                Some(op_id) => Some(OpId(Uuid::parse_str(op_id).ok()?)),
                None => None,
            };
            if fields.next().is_some() {
                return None;
            }
            Some(StoreChange::Order {
                order_id,
                version,
                op_id,
            })
        }
        SHOP_CHANNEL => match payload.split_once(' ') {
            None => match payload {
                "links" => Some(StoreChange::Links),
                "configs" => Some(StoreChange::Configs),
                "catalog" => Some(StoreChange::Catalog),
                "users" => Some(StoreChange::Users),
                _ => None,
            },
            Some(("session_closed", session_id)) => Some(StoreChange::SessionClosed(SessionId(
                session_id.parse().ok()?,
            ))),
            Some(("token_revoked", hash))
                if hash.len() == TOKEN_HASH_HEX_DIGITS
                    && hash.bytes().all(|byte| byte.is_ascii_hexdigit()) =>
            {
                Some(StoreChange::TokenRevoked(hash.to_owned()))
            }
            Some(_) => None,
        },
        _ => None,
    }
}

/// One node's subscription to what every node commits, on a connection of its own.
#[derive(Debug)]
pub struct ChangeListener {
    /// A pool of one connection, kept for the listener's life: a new listener
    /// takes its connection from it after the old one failed.
    pool: PgPool,
    /// `None` after a failure: the next call starts a new one and answers `Missed`.
    listener: Option<PgListener>,
}

impl ChangeListener {
    /// Connects and subscribes. The connection is named `possync-listener` in
    /// `pg_stat_activity`.
    pub async fn connect(url: &str) -> StoreResult<ChangeListener> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| {
                StoreError::Invalid(format!("the PostgreSQL URL does not parse: {error}"))
            })?
            .application_name("possync-listener");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(unavailable("could not connect the change listener"))?;
        let listener = subscribe(&pool).await?;
        Ok(ChangeListener {
            pool,
            listener: Some(listener),
        })
    }

    /// The next change. After a lost connection it answers [`StoreChange::Missed`]
    /// once it is subscribed again; while the database is unreachable it answers
    /// `Unavailable`, and the next call tries again (after a pause of the
    /// caller's choosing). Notifications this build does not understand are skipped.
    pub async fn next(&mut self) -> StoreResult<StoreChange> {
        let Some(listener) = self.listener.as_mut() else {
            // The failed listener (and its connection) is gone; this one
            // starts clean, and what happened meanwhile must be re-read.
            self.listener = Some(subscribe(&self.pool).await?);
            return Ok(StoreChange::Missed);
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    match parse(notification.channel(), notification.payload()) {
                        Some(change) => return Ok(change),
                        None => tracing::warn!(
                            channel = notification.channel(),
                            payload = notification.payload(),
                            "change listener: a notification it does not understand"
                        ),
                    }
                }
                // The connection was lost and is back (sqlx reconnected and
                // subscribed again before answering).
                Ok(None) => return Ok(StoreChange::Missed),
                Err(error) => {
                    self.listener = None;
                    return Err(unavailable("the change listener lost the database")(error));
                }
            }
        }
    }
}

async fn subscribe(pool: &PgPool) -> StoreResult<PgListener> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .map_err(unavailable("could not start the change listener"))?;
    listener
        .listen_all([ORDERS_CHANNEL, SHOP_CHANNEL])
        .await
        .map_err(unavailable("could not listen for changes"))?;
    Ok(listener)
}
