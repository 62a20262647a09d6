//! The SQL of one page of orders, shared by every database: only placeholders
//! and the spelling of a UUID parameter differ between SQLite and PostgreSQL.
//!
//! A page is a keyset page: it starts after the last order of the previous one
//! (`(created_at, id)` compared as a row), so it reads only its own rows through
//! the `orders_by_state` index however deep in history it is.

use crate::{OrdersPage, ReadableBy};
use possync_core::OrderState;

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

/// The statement and its arguments for `page`.
pub(crate) fn orders_page_query(dialect: &Dialect, page: &OrdersPage<'_>) -> (String, Vec<Arg>) {
    let mut args = Vec::new();
    let mut arg = |value: Arg| {
        args.push(value);
        (dialect.placeholder)(args.len())
    };
    let newest_first = page.state != OrderState::Draft;
    let mut sql = format!(
        "SELECT {} FROM orders WHERE state = {}",
        dialect.columns,
        arg(Arg::Text(page.state.as_str().to_owned()))
    );
    if let Some(after) = page.after {
        let created_at = arg(Arg::Int(after.created_at.unix_millis()));
        let order_id = (dialect.uuid_param)(&arg(Arg::Text(after.order_id.to_string())));
        let direction = if newest_first { "<" } else { ">" };
        sql.push_str(&format!(
            " AND (created_at, id) {direction} ({created_at}, {order_id})"
        ));
    }
    if let Some(ReadableBy { config_id, linked }) = page.readable_by {
        let own = arg(Arg::Int(config_id.0));
        let visible = match page.state {
            OrderState::Draft if linked.is_empty() => format!("origin_config_id = {own}"),
            OrderState::Draft => {
                let linked: Vec<String> = linked.iter().map(|id| arg(Arg::Int(id.0))).collect();
                format!(
                    "(origin_config_id = {own} OR (shared = {} AND origin_config_id IN ({})))",
                    dialect.shared_true,
                    linked.join(", ")
                )
            }
            OrderState::Paid => {
                let paying = arg(Arg::Int(config_id.0));
                format!(
                    "(origin_config_id = {own} OR paid_by_session_id IN (SELECT id FROM sessions WHERE config_id = {paying}))"
                )
            }
            OrderState::Cancelled => format!("origin_config_id = {own}"),
        };
        sql.push_str(" AND ");
        sql.push_str(&visible);
    }
    let order = if newest_first {
        "created_at DESC, id DESC"
    } else {
        "created_at, id"
    };
    let limit = arg(Arg::Int(i64::from(page.limit)));
    sql.push_str(&format!(" ORDER BY {order} LIMIT {limit}"));
    (sql, args)
}
