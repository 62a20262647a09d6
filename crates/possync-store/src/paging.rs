//! The SQL of one page of orders, shared by every database: only placeholders
//! and the spelling of a UUID parameter differ between SQLite and PostgreSQL.
//!
//! A page is a keyset page: it starts after the last order of the previous one
//! (`(created_at, id)` compared as a row), so it reads only its own rows through
//! the `orders_by_state` index however deep in history it is.

use crate::{OrdersPage, ReadableBy};
use possync_core::{ConfigId, OrderState};

/// A value bound to one placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// How a database spells parameters.
pub(crate) struct Dialect {
    /// The `n`th placeholder (1-based).
    pub(crate) placeholder: fn(usize) -> String,
    /// How a text parameter is read as a UUID in a comparison with `orders.id`.
    pub(crate) uuid_param: fn(&str) -> String,
    /// The selected columns, as `OrderRow` reads them.
    pub(crate) columns: &'static str,
    /// The literal of `shared = true`.
    pub(crate) shared_true: &'static str,
}

/// The orders one branch of a page reads (besides their state).
enum Branch {
    /// Every order: a manager's page.
    All,
    /// The orders made at a config.
    Origin(ConfigId),
    /// The shared drafts of a linked config.
    SharedFrom(ConfigId),
    /// The paid orders a config took the money for.
    PaidBy(ConfigId),
}

/// The statement and its arguments for `page`.
///
/// A manager's page walks `orders_by_state`. A terminal's page is the union
/// of at most three branches, each walking an index of its own in page order
/// and stopping at the page's size: its counter's own orders
/// (`orders_by_origin_state`), a linked counter's shared drafts (the same
/// index, one branch per link), and the paid orders its counter took the
/// money for (`orders_by_paying_config`). The union is then cut to the page.
pub(crate) fn orders_page_query(dialect: &Dialect, page: &OrdersPage<'_>) -> (String, Vec<Arg>) {
    let mut args = Vec::new();
    let mut arg = |value: Arg| {
        args.push(value);
        (dialect.placeholder)(args.len())
    };
    let newest_first = page.state != OrderState::Draft;
    let order = if newest_first {
        "created_at DESC, id DESC"
    } else {
        "created_at, id"
    };
    let state = page.state.as_str();
    // One branch: the rows of `filter` in page order, after the previous
    // page, at most a page of them. Each branch binds its own arguments
    // (SQLite's `?` are positional).
    let mut branch = |filter: Branch| {
        let state = arg(Arg::Text(state.to_owned()));
        let filter = match filter {
            Branch::All => String::new(),
            Branch::Origin(config_id) => {
                format!("origin_config_id = {}", arg(Arg::Int(config_id.0)))
            }
            Branch::SharedFrom(config_id) => format!(
                "origin_config_id = {} AND shared = {}",
                arg(Arg::Int(config_id.0)),
                dialect.shared_true
            ),
            Branch::PaidBy(config_id) => {
                format!("paid_by_config_id = {}", arg(Arg::Int(config_id.0)))
            }
        };
        let mut sql = format!(
            "SELECT {}, created_at AS page_at, id AS page_id FROM orders WHERE state = {state}",
            dialect.columns
        );
        if !filter.is_empty() {
            sql.push_str(" AND ");
            sql.push_str(&filter);
        }
        if let Some(after) = page.after {
            let created_at = arg(Arg::Int(after.created_at.unix_millis()));
            let order_id = (dialect.uuid_param)(&arg(Arg::Text(after.order_id.to_string())));
            let direction = if newest_first { "<" } else { ">" };
            sql.push_str(&format!(
                " AND (created_at, id) {direction} ({created_at}, {order_id})"
            ));
        }
        let limit = arg(Arg::Int(i64::from(page.limit)));
        format!("{sql} ORDER BY {order} LIMIT {limit}")
    };
    let branches: Vec<String> = match page.readable_by {
        None => vec![branch(Branch::All)],
        Some(ReadableBy { config_id, linked }) => {
            let mut branches = vec![branch(Branch::Origin(config_id))];
            match page.state {
                OrderState::Draft => {
                    for linked in linked {
                        branches.push(branch(Branch::SharedFrom(*linked)));
                    }
                }
                OrderState::Paid => branches.push(branch(Branch::PaidBy(config_id))),
                OrderState::Cancelled => {}
            }
            branches
        }
    };
    let sql = match branches.as_slice() {
        [only] => only.clone(),
        // UNION (not ALL): an order of the counter's own that it also paid is
        // in two branches, and on the page once.
        _ => {
            let limit = arg(Arg::Int(i64::from(page.limit)));
            let page_order = if newest_first {
                "page_at DESC, page_id DESC"
            } else {
                "page_at, page_id"
            };
            format!(
                "SELECT id, version, body FROM ({}) AS page ORDER BY {page_order} LIMIT {limit}",
                branches
                    .iter()
                    .map(|branch| format!("SELECT * FROM ({branch}) AS branch"))
                    .collect::<Vec<_>>()
                    .join(" UNION ")
            )
        }
    };
    (sql, args)
}
