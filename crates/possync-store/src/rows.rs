//! Rows as both databases answer them, and their parsing back into core types.
//!
//! Values are stored as exact integers (minor units, thousandths, basis points,
//! unix milliseconds); SQLite keeps ids and JSON as text, PostgreSQL as `uuid`
//! and `jsonb`, which its queries read back as text so that one row type serves
//! both. What comes back is parsed again into core types: a row that does not
//! parse is reported as `Unavailable` and logged, never unwrapped.

use crate::{HistoryEntry, Invoice, SessionReport, StockMove, StoreError, StoreResult, TokenOwner};
use possync_core::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use uuid::Uuid;

/// A stored value that no longer parses: reported, logged, never unwrapped.
pub(crate) fn corrupt(what: &'static str, detail: impl Display) -> StoreError {
    tracing::error!(%detail, "store: a stored {what} cannot be read back");
    StoreError::Unavailable(format!("a stored {what} cannot be read back"))
}

pub(crate) fn decode_name(text: &str, what: &'static str) -> StoreResult<Name> {
    Name::parse(text).map_err(|error| corrupt(what, format!("{text:?}: {error}")))
}

pub(crate) fn decode_optional_name(
    text: Option<String>,
    what: &'static str,
) -> StoreResult<Option<Name>> {
    text.map(|text| decode_name(&text, what)).transpose()
}

pub(crate) fn decode_money(minor: i64, what: &'static str) -> StoreResult<Money> {
    Money::new(minor).map_err(|error| corrupt(what, error))
}

pub(crate) fn decode_quantity(milli: i64, what: &'static str) -> StoreResult<Quantity> {
    Quantity::from_milli(milli).map_err(|error| corrupt(what, error))
}

pub(crate) fn decode_u64(value: i64, what: &'static str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|error| corrupt(what, format!("{value}: {error}")))
}

pub(crate) fn decode_uuid(text: &str, what: &'static str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|error| corrupt(what, format!("{text:?}: {error}")))
}

pub(crate) fn decode_json<T: DeserializeOwned>(text: &str, what: &'static str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|error| corrupt(what, error))
}

pub(crate) fn encode_json<T: Serialize>(value: &T, what: &'static str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Invalid(format!("cannot encode the {what}: {error}")))
}

pub(crate) fn encode_version(version: u64) -> StoreResult<i64> {
    i64::try_from(version)
        .map_err(|_| StoreError::Invalid(format!("version {version} is out of range")))
}

/// A count or number kept as a signed 64-bit integer column (signed 64 bits).
pub(crate) fn encode_count(value: u64, what: &'static str) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{what} {value} is out of range")))
}

pub(crate) fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: i64,
    pub(crate) login: String,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) active: bool,
    /// The user's config ids, comma-separated, in no particular order (NULL: none).
    pub(crate) config_ids: Option<String>,
    pub(crate) has_pin: bool,
}

impl UserRow {
    pub(crate) fn decode(self) -> StoreResult<User> {
        let mut config_ids = self
            .config_ids
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|id| !id.is_empty())
            .map(|id| {
                id.trim()
                    .parse::<i64>()
                    .map(ConfigId)
                    .map_err(|error| corrupt("user config id", error))
            })
            .collect::<StoreResult<Vec<ConfigId>>>()?;
        config_ids.sort_unstable();
        config_ids.dedup();
        Ok(User {
            id: UserId(self.id),
            login: Login::parse(&self.login).map_err(|error| corrupt("login", error))?,
            name: decode_name(&self.name, "user name")?,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("user role", &self.role))?,
            active: self.active,
            config_ids,
            has_pin: self.has_pin,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProductRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) price_minor: i64,
    pub(crate) category_id: Option<i64>,
    pub(crate) barcode: Option<String>,
    pub(crate) tracks_stock: bool,
    pub(crate) on_hand_milli: i64,
    pub(crate) low_stock_milli: Option<i64>,
}

impl ProductRow {
    pub(crate) fn decode(self, tax_ids: Vec<TaxId>) -> StoreResult<Product> {
        Ok(Product {
            id: ProductId(self.id),
            name: decode_name(&self.name, "product name")?,
            price: decode_money(self.price_minor, "product price")?,
            category_id: self.category_id.map(CategoryId),
            barcode: self
                .barcode
                .map(|text| Barcode::parse(&text).map_err(|error| corrupt("barcode", error)))
                .transpose()?,
            tax_ids,
            tracks_stock: self.tracks_stock,
            on_hand: decode_quantity(self.on_hand_milli, "stock on hand")?,
            low_stock: self
                .low_stock_milli
                .map(|milli| decode_quantity(milli, "low-stock threshold"))
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TaxRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) rate_bp: i64,
    pub(crate) price_included: bool,
}

impl TaxRow {
    pub(crate) fn decode(self) -> StoreResult<Tax> {
        Ok(Tax {
            id: TaxId(self.id),
            name: decode_name(&self.name, "tax name")?,
            rate: TaxRate::from_basis_points(self.rate_bp)
                .map_err(|error| corrupt("tax rate", error))?,
            price_included: self.price_included,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CustomerRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

impl CustomerRow {
    pub(crate) fn decode(self) -> StoreResult<Customer> {
        Ok(Customer {
            id: CustomerId(self.id),
            name: decode_name(&self.name, "customer name")?,
            email: decode_optional_name(self.email, "customer email")?,
            phone: decode_optional_name(self.phone, "customer phone")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PaymentMethodRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) kind: String,
}

impl PaymentMethodRow {
    pub(crate) fn decode(self) -> StoreResult<PaymentMethod> {
        Ok(PaymentMethod {
            id: PaymentMethodId(self.id),
            name: decode_name(&self.name, "payment method name")?,
            kind: PaymentMethodKind::parse(&self.kind)
                .ok_or_else(|| corrupt("payment method kind", &self.kind))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConfigRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) auto_share: bool,
    pub(crate) printer: Option<String>,
    pub(crate) restrict_price_control: bool,
}

pub(crate) fn decode_printer(text: Option<String>) -> StoreResult<Option<PrinterAddress>> {
    text.map(|text| PrinterAddress::parse(&text).map_err(|error| corrupt("printer address", error)))
        .transpose()
}

#[derive(sqlx::FromRow)]
pub(crate) struct PrintJobRow {
    pub(crate) id: i64,
    pub(crate) config_id: i64,
    pub(crate) order_id: Option<String>,
    pub(crate) session_id: Option<i64>,
    pub(crate) kind: String,
    pub(crate) open_drawer: bool,
    pub(crate) queued_at: i64,
    pub(crate) attempts: i64,
}

impl PrintJobRow {
    pub(crate) fn decode(self) -> StoreResult<PrintJob> {
        let kind =
            PrintKind::parse(&self.kind).ok_or_else(|| corrupt("print job kind", &self.kind))?;
        Ok(PrintJob {
            id: self.id,
            config_id: ConfigId(self.config_id),
            document: match (kind, self.order_id, self.session_id) {
                (PrintKind::SessionReport, None, Some(session_id)) => {
                    PrintDocument::SessionReport(SessionId(session_id))
                }
                (PrintKind::Receipt | PrintKind::Reprint, Some(order_id), None) => {
                    PrintDocument::Order(OrderId(decode_uuid(&order_id, "print job order id")?))
                }
                _ => {
                    return Err(corrupt(
                        "print job",
                        format!("job {} prints nothing", self.id),
                    ));
                }
            },
            kind,
            open_drawer: self.open_drawer,
            queued_at: timestamp(self.queued_at),
            attempts: u32::try_from(self.attempts)
                .map_err(|error| corrupt("print job attempts", error))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) id: i64,
    pub(crate) config_id: i64,
    pub(crate) state: String,
    pub(crate) opened_at: i64,
    pub(crate) closed_at: Option<i64>,
    pub(crate) opened_by: i64,
    pub(crate) opening_cash: i64,
    pub(crate) counted_cash: Option<i64>,
}

impl SessionRow {
    pub(crate) fn decode(self) -> StoreResult<Session> {
        let state = match self.state.as_str() {
            "open" => SessionState::Open,
            "closed" => SessionState::Closed,
            other => return Err(corrupt("session state", other)),
        };
        Ok(Session {
            id: SessionId(self.id),
            config_id: ConfigId(self.config_id),
            state,
            opened_at: timestamp(self.opened_at),
            closed_at: self.closed_at.map(timestamp),
            opened_by: UserId(self.opened_by),
            opening_cash: decode_money(self.opening_cash, "opening cash")?,
            counted_cash: self
                .counted_cash
                .map(|minor| decode_money(minor, "counted cash"))
                .transpose()?,
        })
    }
}

pub(crate) const SESSION_COLUMNS: &str =
    "id, config_id, state, opened_at, closed_at, opened_by, opening_cash, counted_cash";

#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
    pub(crate) id: String,
    pub(crate) version: i64,
    pub(crate) body: String,
}

impl OrderRow {
    /// Parses the JSON body and checks it against the columns written with it.
    pub(crate) fn decode(self) -> StoreResult<Order> {
        let order: Order = decode_json(&self.body, "order")?;
        let id = decode_uuid(&self.id, "order id")?;
        let version = decode_u64(self.version, "order version")?;
        if order.id.0 != id || order.version != version {
            return Err(corrupt(
                "order",
                format!(
                    "row {id} at version {version} holds order {} at version {}",
                    order.id, order.version
                ),
            ));
        }
        Ok(order)
    }
}

/// Products with their tax ids, from the product rows and the `(product id, tax id)`
/// rows of `product_taxes`.
pub(crate) fn decode_products(
    rows: Vec<ProductRow>,
    product_taxes: Vec<(i64, i64)>,
) -> StoreResult<Vec<Product>> {
    let mut tax_ids: BTreeMap<i64, Vec<TaxId>> = BTreeMap::new();
    for (product_id, tax_id) in product_taxes {
        tax_ids.entry(product_id).or_default().push(TaxId(tax_id));
    }
    rows.into_iter()
        .map(|row| {
            let product_tax_ids = tax_ids.remove(&row.id).unwrap_or_default();
            row.decode(product_tax_ids)
        })
        .collect()
}

/// Configs with their links and open session filled in, from the config rows,
/// the links and the `(config id, session id)` rows of open sessions.
pub(crate) fn decode_configs(
    rows: Vec<ConfigRow>,
    links: &SyncLinks,
    open_sessions: Vec<(i64, i64)>,
) -> StoreResult<Vec<Config>> {
    let open_sessions: BTreeMap<ConfigId, SessionId> = open_sessions
        .into_iter()
        .map(|(config_id, session_id)| (ConfigId(config_id), SessionId(session_id)))
        .collect();
    rows.into_iter()
        .map(|row| {
            let id = ConfigId(row.id);
            Ok(Config {
                id,
                name: decode_name(&row.name, "config name")?,
                sync_with: links.sync_with(id),
                auto_share: row.auto_share,
                open_session_id: open_sessions.get(&id).copied(),
                printer: decode_printer(row.printer)?,
                restrict_price_control: row.restrict_price_control,
            })
        })
        .collect()
}

/// The links a relink removes and adds: `(config_a, config_b)` pairs.
pub(crate) type LinkChanges = (Vec<(ConfigId, ConfigId)>, Vec<(ConfigId, ConfigId)>);

/// What changes from `before` to `after`, so a relink writes only the difference.
pub(crate) fn link_changes(before: &SyncLinks, after: &SyncLinks) -> LinkChanges {
    let before: BTreeSet<(ConfigId, ConfigId)> = before.pairs().collect();
    let after: BTreeSet<(ConfigId, ConfigId)> = after.pairs().collect();
    (
        before.difference(&after).copied().collect(),
        after.difference(&before).copied().collect(),
    )
}

/// What a session report is made from, as both databases read it.
pub(crate) struct ReportRows {
    /// `(total, tax, change)` of each order the session took payment for.
    pub(crate) paid_orders: Vec<(i64, i64, i64)>,
    /// `(method id, amount)` of each payment booked to the session.
    pub(crate) payments: Vec<(i64, i64)>,
    /// `(tax id, rate, base, amount)` of each paid order's tax per rate.
    pub(crate) taxes: Vec<(i64, i64, i64, i64)>,
    /// `(id, amount, reason, user id, at)` of each cash move.
    pub(crate) cash_moves: Vec<(i64, i64, String, i64, i64)>,
    pub(crate) methods: Vec<PaymentMethod>,
    pub(crate) tax_catalog: Vec<Tax>,
}

/// The report of `session` from what it did, added up by the core.
pub(crate) fn decode_session_report(
    session: Session,
    rows: ReportRows,
) -> StoreResult<SessionReport> {
    let activity = SessionActivity {
        paid_orders: rows
            .paid_orders
            .into_iter()
            .map(|(total, tax, change)| {
                Ok(PaidOrderSummary {
                    total: decode_money(total, "order total")?,
                    tax: decode_money(tax, "order tax")?,
                    change: decode_money(change, "order change")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        payments: rows
            .payments
            .into_iter()
            .map(|(method_id, amount)| {
                Ok(Payment {
                    method_id: PaymentMethodId(method_id),
                    amount: decode_money(amount, "payment amount")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        taxes: rows
            .taxes
            .into_iter()
            .map(|(tax_id, rate_bp, base, amount)| {
                Ok(TaxAmount {
                    tax_id: TaxId(tax_id),
                    rate: TaxRate::from_basis_points(rate_bp)
                        .map_err(|error| corrupt("tax rate", error))?,
                    base: decode_money(base, "tax base")?,
                    amount: decode_money(amount, "tax amount")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        cash_moves: rows
            .cash_moves
            .into_iter()
            .map(decode_cash_move)
            .collect::<StoreResult<_>>()?,
    };
    possync_core::session_report(session, &activity, &rows.methods, &rows.tax_catalog)
        .map_err(|error| corrupt("session report", error))
}

/// A cash move from its `(id, amount, reason, user id, at)` row.
pub(crate) fn decode_cash_move(
    (id, amount, reason, user_id, at): (i64, i64, String, i64, i64),
) -> StoreResult<CashMove> {
    Ok(CashMove {
        id,
        amount: decode_money(amount, "cash move amount")?,
        reason: Note::parse(&reason).map_err(|error| corrupt("cash move reason", error))?,
        user_id: UserId(user_id),
        at: timestamp(at),
    })
}

/// A row of an order's history as both databases read it (ids and JSON as text).
#[derive(sqlx::FromRow)]
pub(crate) struct HistoryReadRow {
    pub(crate) version: i64,
    pub(crate) op_id: String,
    pub(crate) op: String,
    pub(crate) by_json: String,
    pub(crate) at: i64,
    pub(crate) approved_by: Option<i64>,
}

/// An order's history, checked to run from version 1 without a gap.
pub(crate) fn decode_history(
    order_id: OrderId,
    rows: Vec<HistoryReadRow>,
) -> StoreResult<Vec<HistoryEntry>> {
    decode_history_from(order_id, 1, rows)
}

/// A run of history rows that starts at `first_version` (one page of it).
pub(crate) fn decode_history_from(
    order_id: OrderId,
    first_version: u64,
    rows: Vec<HistoryReadRow>,
) -> StoreResult<Vec<HistoryEntry>> {
    let mut history = Vec::with_capacity(rows.len());
    for (expected_version, row) in (first_version..).zip(rows) {
        let version = decode_u64(row.version, "history version")?;
        // Versions are contiguous from 1 after load, as they were before append.
        if version != expected_version {
            return Err(corrupt(
                "order history",
                format!(
                    "order {order_id} jumps to version {version} where {expected_version} was due"
                ),
            ));
        }
        history.push(HistoryEntry {
            version,
            op_id: OpId(decode_uuid(&row.op_id, "op id")?),
            op: decode_json(&row.op, "op")?,
            by: decode_json(&row.by_json, "author of an op")?,
            at: timestamp(row.at),
            approved_by: row.approved_by.map(UserId),
        });
    }
    Ok(history)
}

/// The stock moves of `product_id` from `(order id, qty in thousandths, at)` rows.
pub(crate) fn decode_stock_moves(
    product_id: ProductId,
    rows: Vec<(String, i64, i64)>,
) -> StoreResult<Vec<StockMove>> {
    rows.into_iter()
        .map(|(order_id, qty_milli, at)| {
            Ok(StockMove {
                product_id,
                order_id: OrderId(decode_uuid(&order_id, "order id")?),
                qty: decode_quantity(qty_milli, "stock move")?,
                at: timestamp(at),
            })
        })
        .collect()
}

/// A stock move as read by a listing: `(id, qty, at, reason, note, order id,
/// receipt number, user id)`. A move with an order is a sale or refund (its
/// reason is empty); one without names the reason a manager gave.
pub(crate) type StockMoveRow = (
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
);

pub(crate) fn decode_stock_move_entries(
    product_id: ProductId,
    rows: Vec<StockMoveRow>,
) -> StoreResult<Vec<StockMoveEntry>> {
    rows.into_iter()
        .map(
            |(id, qty_milli, at, reason, note, order_id, receipt_number, user_id)| {
                let qty = decode_quantity(qty_milli, "stock move")?;
                let order_id = order_id
                    .map(|text| decode_uuid(&text, "order id").map(OrderId))
                    .transpose()?;
                let reason = match order_id {
                    Some(_) => StockMoveReason::of_payment(qty),
                    None => AdjustmentReason::parse(&reason)
                        .ok_or_else(|| corrupt("stock move reason", &reason))?
                        .into(),
                };
                Ok(StockMoveEntry {
                    id,
                    product_id,
                    qty,
                    reason,
                    note: Note::parse(&note).map_err(|error| corrupt("stock move note", error))?,
                    at: timestamp(at),
                    order_id,
                    receipt_number,
                    user_id: user_id.map(UserId),
                })
            },
        )
        .collect()
}

/// A paid order as a sales report reads it: `(id, origin config, paying
/// config, total, tax, change, paid at, body)`; the body only when lines are asked for.
pub(crate) type SaleOrderRow = (String, i64, i64, i64, i64, i64, i64, Option<String>);

/// Assembles one [`SaleFact`] per order row, with its `(order id, method id,
/// amount)` payments (in the order they were written) and, from the body, its lines.
pub(crate) fn decode_sale_facts(
    orders: Vec<SaleOrderRow>,
    payments: Vec<(String, i64, i64)>,
) -> StoreResult<Vec<SaleFact>> {
    let mut payments_of: BTreeMap<String, Vec<Payment>> = BTreeMap::new();
    for (order_id, method_id, amount_minor) in payments {
        payments_of.entry(order_id).or_default().push(Payment {
            method_id: PaymentMethodId(method_id),
            amount: decode_money(amount_minor, "payment amount")?,
        });
    }
    orders
        .into_iter()
        .map(
            |(id, started_at, paid_by, total_minor, tax_minor, change_minor, paid_at, body)| {
                let lines = match body {
                    None => Vec::new(),
                    Some(body) => decode_json::<Order>(&body, "order")?
                        .lines
                        .into_iter()
                        .map(|line| SaleLine {
                            product_id: line.product_id,
                            name: line.name.as_str().to_owned(),
                            qty: line.qty,
                            total: line.total,
                        })
                        .collect(),
                };
                Ok(SaleFact {
                    order_id: OrderId(decode_uuid(&id, "order id")?),
                    paid_at: timestamp(paid_at),
                    started_at: ConfigId(started_at),
                    paid_by: ConfigId(paid_by),
                    total: decode_money(total_minor, "order total")?,
                    tax: decode_money(tax_minor, "order tax")?,
                    change: decode_money(change_minor, "order change")?,
                    payments: payments_of.remove(&id).unwrap_or_default(),
                    lines,
                })
            },
        )
        .collect()
}

/// Invoices from `(number, order id, customer id, order total, at)` rows.
pub(crate) fn decode_invoices(
    rows: Vec<(i64, String, i64, i64, i64)>,
) -> StoreResult<Vec<Invoice>> {
    rows.into_iter()
        .map(|(number, order_id, customer_id, total_minor, at)| {
            Ok(Invoice {
                number: decode_u64(number, "invoice number")?,
                order_id: OrderId(decode_uuid(&order_id, "order id")?),
                customer_id: CustomerId(customer_id),
                total: decode_money(total_minor, "invoice total")?,
                at: timestamp(at),
            })
        })
        .collect()
}

/// A user with their password hash, as a login reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct LoginRow {
    pub(crate) id: i64,
    pub(crate) login: String,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) active: bool,
    pub(crate) config_ids: Option<String>,
    pub(crate) has_pin: bool,
    pub(crate) password_hash: String,
}

impl LoginRow {
    pub(crate) fn decode(self) -> StoreResult<(User, String)> {
        let user = UserRow {
            id: self.id,
            login: self.login,
            name: self.name,
            role: self.role,
            active: self.active,
            config_ids: self.config_ids,
            has_pin: self.has_pin,
        }
        .decode()?;
        Ok((user, self.password_hash))
    }
}

/// A user with their PIN's hash, as an approval reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct PinRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    pub(crate) pin_hash: Option<String>,
}

impl PinRow {
    pub(crate) fn decode(self) -> StoreResult<(User, Option<String>)> {
        Ok((self.user.decode()?, self.pin_hash))
    }
}

/// A token's owner as the `tokens` table keeps it: (owner kind, user id, session id).
pub(crate) fn encode_token_owner(owner: TokenOwner) -> (&'static str, i64, Option<i64>) {
    match owner {
        TokenOwner::User { user_id } => ("user", user_id.0, None),
        TokenOwner::Terminal {
            user_id,
            session_id,
        } => ("terminal", user_id.0, Some(session_id.0)),
    }
}

/// A token row: (owner kind, user id, session id, created_at, expires_at, revoked_at).
pub(crate) type TokenRow = (String, i64, Option<i64>, i64, Option<i64>, Option<i64>);

pub(crate) fn decode_token_record(
    (owner_kind, user_id, session_id, created_at, expires_at, revoked_at): TokenRow,
) -> StoreResult<crate::TokenRecord> {
    Ok(crate::TokenRecord {
        owner: decode_token_owner((owner_kind, user_id, session_id))?,
        created_at: Timestamp::from_unix_millis(created_at),
        expires_at: expires_at.map(Timestamp::from_unix_millis),
        revoked_at: revoked_at.map(Timestamp::from_unix_millis),
    })
}

pub(crate) fn decode_token_owner(
    (owner_kind, user_id, session_id): (String, i64, Option<i64>),
) -> StoreResult<TokenOwner> {
    match (owner_kind.as_str(), session_id) {
        ("user", None) => Ok(TokenOwner::User {
            user_id: UserId(user_id),
        }),
        ("terminal", Some(session_id)) => Ok(TokenOwner::Terminal {
            user_id: UserId(user_id),
            session_id: SessionId(session_id),
        }),
        _ => Err(corrupt("token owner", owner_kind)),
    }
}

/// The shop's header row.
#[derive(sqlx::FromRow)]
pub(crate) struct ShopRow {
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) vat_number: String,
    pub(crate) receipt_footer: String,
}

impl ShopRow {
    pub(crate) fn decode(self) -> StoreResult<Shop> {
        let note = |text: &str, what: &'static str| {
            Note::parse(text).map_err(|error| corrupt(what, error))
        };
        Ok(Shop {
            name: decode_name(&self.name, "shop name")?,
            address: note(&self.address, "shop address")?,
            vat_number: note(&self.vat_number, "shop VAT number")?,
            receipt_footer: note(&self.receipt_footer, "receipt footer")?,
        })
    }
}
