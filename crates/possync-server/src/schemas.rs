//! OpenAPI schemas of the `possync-core` and `possync-store` types the API sends and accepts.
//!
//! The core stays free of documentation dependencies, so this module mirrors its
//! wire shapes for utoipa: each struct here has the name and the JSON fields of the
//! core type it documents, and is never used to parse or encode anything.
//! `tests/openapi.rs` compares these schemas with the JSON the server really sends,
//! so a field added to a core type without a mirror fails the tests.

#![allow(dead_code)] // The structs exist for their ToSchema impls only.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The body of every error answer (nothing else beside `error`; an op's
/// reject carries the same `error` inside a [`RejectMessage`]).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"error": {"code": "invalid", "message": "invalid request body: missing field `name`"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// invalid, unauthorized, forbidden, not_found, conflict (or a precise 409 code such as
    /// login_taken, barcode_taken, last_manager, session_closed), too_large, rate_limited, unavailable.
    pub code: String,
    /// A sentence for people; never contains internal details.
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Manager,
    Cashier,
}

/// A back-office user. The password hash is never sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: Role,
    /// An inactive user cannot log in and holds no working token.
    pub active: bool,
    /// The counters (config ids) a cashier may open or join, ascending; a manager opens any.
    pub config_ids: Vec<i64>,
    /// Whether the user has a PIN to approve ops at a till (the PIN itself is never sent).
    pub has_pin: bool,
}

/// A manager who can approve an op at a till: every active manager, by their
/// password, or by their PIN when `has_pin`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Approver {
    pub id: i64,
    pub name: String,
    /// Whether this manager has a PIN (else they approve by password only).
    pub has_pin: bool,
}

/// A manager's approval of one op: inside the op object of an op, at the top
/// of a refund; with the manager's PIN or their password, one of the two.
/// Wrong PINs are throttled like logins (in a count of their own), wrong
/// passwords as failed logins of that manager; neither is stored or echoed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Approval {
    Pin(ApprovalByPin),
    Password(ApprovalByPassword),
}

/// An approval with the manager's PIN.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalByPin {
    /// The approving manager's user id.
    pub user_id: i64,
    /// 4 to 8 digits.
    #[schema(format = Password, pattern = "^[0-9]{4,8}$")]
    pub pin: String,
}

/// An approval with the manager's password (the one they log in with).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalByPassword {
    /// The approving manager's user id.
    pub user_id: i64,
    /// 1 to 256 characters.
    #[schema(format = Password, min_length = 1, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserNew {
    /// 1 to 64 of a-z, 0-9, `.`, `_`, `-` (upper case is folded to lower case).
    pub login: String,
    pub name: String,
    pub role: Role,
    /// 1 to 256 characters.
    pub password: String,
    /// The counters a cashier may open or join (at most 1000 ids).
    #[schema(default = json!([]))]
    pub config_ids: Option<Vec<i64>>,
    /// A PIN to approve ops at a till: 4 to 8 digits, stored hashed, never answered.
    #[schema(format = Password, pattern = "^[0-9]{4,8}$")]
    pub pin: Option<String>,
}

/// A new `password` or `active: false` revokes every token of the user at once
/// (their live sync connections close with 4001).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
    pub active: Option<bool>,
    /// Replaces the user's counters (at most 1000 ids).
    pub config_ids: Option<Vec<i64>>,
    /// A new PIN (4 to 8 digits), or `null` to remove it.
    #[schema(format = Password, pattern = "^[0-9]{4,8}$")]
    pub pin: Option<String>,
}

/// One entry of the audit trail: who did what, when.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// The user who did it.
    pub user_id: i64,
    /// What was done: `links.set`, `config.create`, `config.update`, `product.create`,
    /// `product.update` (and the same for categories, taxes, customers and payment
    /// methods), `stock.adjust`, `user.create`, `user.update`, `session.close`, and
    /// `op.approve` (a manager's approval of an op at a till, recorded with the op:
    /// its `op_id`, `kind`, `version`, and the counter, session and terminal that sent it).
    pub action: String,
    /// What it was done to, e.g. `config 3`.
    pub target: String,
    /// The change (never a password or a PIN): a JSON object whose fields depend on `action`.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub details: serde_json::Value,
}

/// A POS configuration: one counter or till.
#[derive(Debug, Serialize, ToSchema)]
pub struct Config {
    pub id: i64,
    pub name: String,
    /// The configs linked to this one (two-way, not transitive).
    pub sync_with: Vec<i64>,
    /// New drafts are shared with the linked configs at once.
    pub auto_share: bool,
    pub open_session_id: Option<i64>,
    /// "host:port" of the counter's network receipt printer (raw ESC/POS
    /// over TCP, usually port 9100), or null: no printer.
    pub printer: Option<String>,
    /// A cashier's `set_price`, `set_discount`, negative quantity, `add_line` with its
    /// own price or discount, and refund need a manager's approval.
    pub restrict_price_control: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigNew {
    pub name: String,
    #[schema(default = json!([]))]
    pub sync_with: Option<Vec<i64>>,
    #[schema(default = false)]
    pub auto_share: Option<bool>,
    /// "host:port" (a DNS name, an IPv4 address or `[IPv6]`, a port 1 to 65535).
    pub printer: Option<String>,
    #[schema(default = false)]
    pub restrict_price_control: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigChanges {
    pub name: Option<String>,
    pub auto_share: Option<bool>,
    /// "host:port", or null to remove the printer; absent leaves it.
    pub printer: Option<String>,
    pub restrict_price_control: Option<bool>,
}

/// How a counter's receipt printer is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterStatus {
    pub config_id: i64,
    /// "host:port", or null when the counter has no printer.
    pub printer: Option<String>,
    /// `none`: no printer; `unknown`: nothing sent yet; `online`: the last
    /// job reached it; `offline`: the last attempt could not reach it.
    #[schema(pattern = "^(none|unknown|online|offline)$")]
    pub state: String,
    /// Jobs waiting for the printer.
    pub queued: u64,
    #[schema(format = DateTime)]
    pub checked_at: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// What a print job prints: exactly one of the two.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrintDocument {
    #[schema(required = false)]
    pub order: Option<Uuid>,
    #[schema(required = false)]
    pub session_report: Option<i64>,
}

/// A job queued for a receipt printer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrintJob {
    pub id: i64,
    pub config_id: i64,
    /// What it prints: `{"order": <uuid>}` (a receipt) or `{"session_report": <session id>}`.
    pub document: PrintDocument,
    /// `receipt` (queued by the payment), `reprint` or `session_report`.
    #[schema(pattern = "^(receipt|reprint|session_report)$")]
    pub kind: String,
    /// Whether printing it opens the cash drawer.
    pub open_drawer: bool,
    #[schema(format = DateTime)]
    pub queued_at: String,
    pub attempts: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub id: i64,
    pub name: String,
    /// Unit price in minor units, as on the shelf (tax included when the tax says so).
    pub price: i64,
    pub category_id: Option<i64>,
    pub barcode: Option<String>,
    pub tax_ids: Vec<i64>,
    pub tracks_stock: bool,
    /// Quantity as a decimal string, at most 3 fractional digits.
    #[schema(example = "12")]
    pub on_hand: String,
    /// At or below this, a tracked product is low on stock; `null`: no threshold.
    #[schema(example = "5")]
    pub low_stock: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductNew {
    pub name: String,
    pub price: i64,
    pub category_id: Option<i64>,
    /// 1 to 64 ASCII letters and digits.
    pub barcode: Option<String>,
    /// At most 8.
    pub tax_ids: Option<Vec<i64>>,
    pub tracks_stock: Option<bool>,
    #[schema(example = "12")]
    pub on_hand: Option<String>,
    /// Zero or more; `null` for no threshold.
    #[schema(example = "5")]
    pub low_stock: Option<String>,
}

/// A partial update; `null` clears `category_id` or `barcode`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub price: Option<i64>,
    pub category_id: Option<i64>,
    pub barcode: Option<String>,
    pub tax_ids: Option<Vec<i64>>,
    pub tracks_stock: Option<bool>,
    /// For a tracked product, a new on-hand is recorded as a stock count (a
    /// move with reason `count`) by the manager who sent it.
    pub on_hand: Option<String>,
    /// `null` removes the threshold.
    pub low_stock: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Category {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryNew {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryChanges {
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tax {
    pub id: i64,
    pub name: String,
    /// Percent as a decimal string, 0 to 100, at most 2 fractional digits.
    #[schema(example = "21")]
    pub rate: String,
    /// The tax is contained in the shelf price (else it is added on top).
    pub price_included: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxNew {
    pub name: String,
    #[schema(example = "21")]
    pub rate: String,
    pub price_included: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxChanges {
    pub name: Option<String>,
    pub rate: Option<String>,
    pub price_included: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerNew {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodKind {
    Cash,
    Card,
    Other,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethod {
    pub id: i64,
    pub name: String,
    pub kind: PaymentMethodKind,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodNew {
    pub name: String,
    pub kind: PaymentMethodKind,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodChanges {
    pub name: Option<String>,
    pub kind: Option<PaymentMethodKind>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Open,
    Closed,
}

/// One opening of a config (a shift).
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    pub id: i64,
    pub config_id: i64,
    pub state: SessionState,
    #[schema(format = DateTime)]
    pub opened_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub opened_by: i64,
    /// Minor units.
    pub opening_cash: i64,
    pub counted_cash: Option<i64>,
}

/// The cash and payment summary of a session, as printed at closing.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionReport {
    pub session: Session,
    pub orders_paid: u64,
    pub sales_total: i64,
    pub tax_total: i64,
    /// Tax per (tax, rate), by tax id; the amounts add up to `tax_total`.
    pub taxes: Vec<ReportTax>,
    pub payments: Vec<PaymentTotal>,
    pub cash: CashSummary,
    /// Cash put in or taken out during the session, oldest first.
    pub cash_moves: Vec<CashMove>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportTax {
    pub tax_id: i64,
    pub name: String,
    /// Percent as a decimal string.
    pub rate: String,
    /// The untaxed amount the rate applied to, minor units.
    pub base: i64,
    pub amount: i64,
}

/// Cash put into (positive) or taken out of (negative) a session's drawer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CashMove {
    pub id: i64,
    pub amount: i64,
    pub reason: String,
    pub user_id: i64,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentTotal {
    pub method_id: i64,
    pub name: String,
    pub kind: PaymentMethodKind,
    pub amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CashSummary {
    pub opening: i64,
    /// Cash received, before change.
    pub payments: i64,
    pub change_given: i64,
    /// payments - change_given.
    pub net: i64,
    /// The sum of the cash moves.
    pub moves: i64,
    /// opening + net + moves.
    pub expected: i64,
    pub counted: Option<i64>,
    /// counted - expected, once counted.
    pub difference: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Draft,
    Paid,
    Cancelled,
}

/// Who did something: a terminal of a session of a config.
#[derive(Debug, Serialize, ToSchema)]
pub struct By {
    pub session_id: i64,
    pub config_id: i64,
    pub config_name: String,
    pub terminal: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Origin {
    pub config_id: i64,
    pub session_id: i64,
}

/// A payment lock: while `until` is in the future only `terminal` may edit or pay.
#[derive(Debug, Serialize, ToSchema)]
pub struct Lock {
    pub terminal: Uuid,
    pub session_id: i64,
    pub config_id: i64,
    pub config_name: String,
    #[schema(format = DateTime)]
    pub until: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
    pub method_id: i64,
    /// Minor units.
    pub amount: i64,
}

/// A tax as it applied when the line was added.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineTax {
    pub tax_id: i64,
    #[schema(example = "10")]
    pub rate: String,
    pub price_included: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Totals {
    /// Before tax, minor units.
    pub subtotal: i64,
    pub tax: i64,
    /// After tax: what the customer pays.
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Line {
    pub id: Uuid,
    pub product_id: i64,
    pub name: String,
    #[schema(example = "2")]
    pub qty: String,
    pub unit_price: i64,
    #[schema(example = "0")]
    pub discount: String,
    pub note: String,
    pub taxes: Vec<LineTax>,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
}

/// The order object of the wire contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    pub reference: String,
    pub state: OrderState,
    pub version: u64,
    pub origin: Origin,
    pub shared: bool,
    pub customer_id: Option<i64>,
    pub note: String,
    pub lines: Vec<Line>,
    pub totals: Totals,
    pub lock: Option<Lock>,
    pub payments: Vec<Payment>,
    /// Cash returned, minor units.
    pub change: i64,
    /// An invoice was asked for at payment.
    pub invoice: bool,
    pub paid_by: Option<By>,
    /// "<config name>/<NNNN>": the receipt number the payment was given, per
    /// session of the paying config without gaps. Only on paid orders (absent
    /// on drafts and cancelled orders).
    #[schema(required = false)]
    pub receipt_number: Option<String>,
    /// The paid order this order refunds (`POST /orders/{id}/refund`); absent
    /// on every other order. A refund's lines are fixed: they keep the
    /// `id` of the line of the paid order they refund, with negative `qty`.
    #[schema(required = false)]
    pub refund_of: Option<Uuid>,
    /// Lines removed from this order; an edit of one is refused with `line_removed`.
    pub removed_line_ids: Vec<Uuid>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub updated_by: By,
}

/// One line of a refund: a line of the paid order and how many of it come back.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundLine {
    /// The `id` of a line of the paid order.
    pub line_id: Uuid,
    /// More than zero, at most what was sold minus what its other refunds
    /// (not cancelled) bring back.
    pub qty: DecimalInput,
}

/// `POST /orders/{id}/refund`: a refund draft of some or all lines of a paid order.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundBody {
    /// The new refund draft's id, chosen by the client (also the idempotency
    /// key: the same lines sent again answer the same draft, 200; other lines
    /// under an id already used answer 409 `exists`). A refund refused before
    /// it was made (a wrong approval, a quantity beyond what is left) may be
    /// asked again with the same id.
    pub order_id: Uuid,
    /// One entry per refunded line, each line at most once.
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<RefundLine>,
    /// Needed at a counter with `restrict_price_control` when the session was
    /// opened by a cashier.
    #[schema(required = false)]
    pub approval: Option<Approval>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentInput {
    pub method_id: i64,
    /// Minor units; negative for a refund.
    pub amount: i64,
}

/// A quantity or a discount: a decimal string (`"2"`, `"0.350"`, `"-1"`);
/// a JSON number is accepted too, and answers always use strings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DecimalInput {
    Text(String),
    Number(f64),
}

/// One edit of one order: `kind` says which, and which fields it has (the
/// ops table of the protocol). Fields of other kinds are ignored. Any op may
/// carry a manager's `approval`; it matters for the money ops a counter with
/// `restrict_price_control` keeps for managers, and for `cancel_payment` of a
/// lock another terminal holds.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Op {
    /// A new draft with this order id, at the caller's session.
    Create {
        config_id: Option<i64>,
        customer_id: Option<i64>,
        note: Option<String>,
        share: Option<bool>,
    },
    Share {},
    Unshare {},
    AddLine {
        line_id: Uuid,
        product_id: i64,
        qty: DecimalInput,
        unit_price: Option<i64>,
        discount: Option<DecimalInput>,
        note: Option<String>,
        approval: Option<Approval>,
    },
    AddQty {
        line_id: Uuid,
        delta: DecimalInput,
        approval: Option<Approval>,
    },
    SetQty {
        line_id: Uuid,
        qty: DecimalInput,
        approval: Option<Approval>,
    },
    SetPrice {
        line_id: Uuid,
        unit_price: i64,
        approval: Option<Approval>,
    },
    SetDiscount {
        line_id: Uuid,
        discount: DecimalInput,
        approval: Option<Approval>,
    },
    SetLineNote {
        line_id: Uuid,
        note: String,
    },
    RemoveLine {
        line_id: Uuid,
    },
    SetCustomer {
        customer_id: Option<i64>,
    },
    SetNote {
        note: String,
    },
    BeginPayment {},
    CancelPayment {
        approval: Option<Approval>,
    },
    Pay {
        payments: Vec<PaymentInput>,
        expected_total: i64,
        invoice: Option<bool>,
    },
    Cancel {
        reason: Option<String>,
    },
}

/// One accepted op in an order's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub version: u64,
    pub op_id: Uuid,
    pub op: Op,
    pub by: By,
    #[schema(format = DateTime)]
    pub at: String,
    /// The manager who approved this op at the till (absent when none did).
    pub approved_by: Option<i64>,
}

/// Liveness: `ok`, `degraded` (still serving, with the reasons), or `stopped`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
    /// Why the server is degraded or stopped, in words; empty when `ok`.
    pub reasons: Vec<String>,
}

/// Whether a node can serve: `ready`, or `unavailable` with what is down (`store`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: String,
    pub reasons: Vec<String>,
}

/// The body of `POST /api/v1/orders/{id}/ops`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpBody {
    /// Chosen by the client; the idempotency key.
    pub op_id: Uuid,
    pub op: Op,
}

/// An op was accepted (`duplicate`: it had been before, and this is its first answer again).
#[derive(Debug, Serialize, ToSchema)]
pub struct AckMessage {
    /// Always `ack`.
    #[serde(rename = "type")]
    pub message_type: String,
    pub op_id: Uuid,
    pub order_id: Uuid,
    pub version: u64,
    pub duplicate: bool,
}

/// An op was refused; nothing changed. `rate_limited` and `unavailable` may be
/// resent with the same `op_id`; every other code is final for that op.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectMessage {
    /// Always `reject`.
    #[serde(rename = "type")]
    pub message_type: String,
    pub op_id: Uuid,
    pub order_id: Uuid,
    /// invalid, forbidden, not_found, exists, line_removed, unknown_line, paid, cancelled,
    /// locked, stale, underpaid, session_closed, rate_limited, too_large, unavailable.
    pub code: String,
    pub message: String,
    /// The order as it is now, when the caller may see it.
    pub order: Option<Order>,
    /// The same code and message in the shape of every HTTP error.
    pub error: ErrorDetail,
}

/// An op refused on `POST /orders/{id}/ops`: the reject message when the op
/// was read, else the plain error body (a body with no `op_id`, a token that
/// is not a terminal's).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OpRefusal {
    Reject(Box<RejectMessage>),
    Error(ErrorBody),
}

/// The shop as receipts and invoices name it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Shop {
    pub name: String,
    pub address: String,
    pub vat_number: String,
    pub receipt_footer: String,
}

/// A change of the shop's header: absent fields stay.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopChanges {
    pub name: Option<String>,
    pub address: Option<String>,
    pub vat_number: Option<String>,
    pub receipt_footer: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLine {
    pub name: String,
    pub qty: String,
    pub unit_price: i64,
    pub discount: String,
    pub note: String,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptTax {
    pub tax_id: i64,
    pub name: String,
    pub rate: String,
    pub base: i64,
    pub amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptPayment {
    pub method_id: i64,
    pub name: String,
    pub amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptCounter {
    pub config_id: i64,
    pub name: String,
    pub session_id: i64,
}

/// A paid order's receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub order_id: Uuid,
    pub reference: String,
    /// `<paying config>/<NNNN>`, numbered per session without gaps.
    pub receipt_number: Option<String>,
    pub shop: Shop,
    /// The counter that started the order.
    pub started_at: ReceiptCounter,
    /// The counter that took the payment.
    pub paid_at: ReceiptCounter,
    pub paid_on: String,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub note: String,
    pub lines: Vec<ReceiptLine>,
    pub taxes: Vec<ReceiptTax>,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub payments: Vec<ReceiptPayment>,
    pub change: i64,
    pub invoice_requested: bool,
    /// The order's invoice, once made.
    pub invoice: Option<ReceiptInvoice>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptInvoice {
    pub id: u64,
    /// `INV/<year>/<NNNNN>`.
    pub number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceCustomer {
    pub id: i64,
    pub name: String,
}

/// An invoice: its order's figures under a gap-free number.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceDocument {
    pub id: u64,
    /// `INV/<year>/<NNNNN>`.
    pub number: String,
    pub order_id: Uuid,
    pub issued_at: String,
    pub customer: InvoiceCustomer,
    pub shop: Shop,
    pub receipt_number: Option<String>,
    pub lines: Vec<ReceiptLine>,
    pub taxes: Vec<ReceiptTax>,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub payments: Vec<ReceiptPayment>,
}

/// Why stock moved: a paid order (`sale`, `refund`) or a manager's adjustment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockMoveReason {
    Sale,
    Refund,
    Count,
    Delivery,
    Damage,
    Loss,
    Correction,
}

/// The reasons a manager may give for an adjustment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    Count,
    Delivery,
    Damage,
    Loss,
    Correction,
}

/// One stock move of a product.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockMoveEntry {
    /// Ascending in the order moves were written.
    pub id: i64,
    pub product_id: i64,
    /// Signed quantity as a decimal string: positive brings goods in.
    #[schema(example = "-2")]
    pub qty: String,
    pub reason: StockMoveReason,
    pub note: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// The paid order of a sale or refund.
    pub order_id: Option<Uuid>,
    /// That order's receipt number.
    pub receipt_number: Option<String>,
    /// The manager who made an adjustment.
    pub user_id: Option<i64>,
}

/// A manual adjustment: a count gives `counted`, every other reason a signed
/// `qty` (a delivery positive, damage and loss negative); a correction needs a note.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"reason": "delivery", "qty": "24", "note": "Supplier note 118"}))]
pub struct StockAdjustmentInput {
    pub reason: AdjustmentReason,
    #[schema(example = "24")]
    pub qty: Option<String>,
    #[schema(example = "12")]
    pub counted: Option<String>,
    /// Up to 1,000 characters.
    pub note: Option<String>,
}

/// The move an adjustment made, and the product's stock after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockAdjusted {
    #[serde(rename = "move")]
    pub stock_move: StockMoveEntry,
    /// On hand after the move, as a decimal string.
    #[schema(example = "36")]
    pub on_hand: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SalesGrouping {
    Hour,
    Day,
    Method,
    Product,
    Config,
}

/// Orders and their total, one side of a counter's sales.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterSales {
    pub orders: u64,
    /// Minor units.
    pub total: i64,
}

/// One row: an hour, a day, a payment method, a product or a counter.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesRow {
    /// The bucket's start (RFC 3339, UTC), or the method, product or config id.
    pub key: String,
    /// For people: `2026-11-30 14:00`, `2026-11-30`, `Card`, `Croissant`, `Counter 2`.
    pub label: String,
    /// Orders in the row (per method: orders paid with it at least in part).
    pub orders: u64,
    /// Minor units. Per hour, day or counter: the orders' totals (per counter,
    /// those it took payment for); per method: what it kept (cash net of
    /// change); per product: its lines' totals.
    pub total: i64,
    /// Per product: the quantity sold, net of returns (a decimal string).
    #[schema(nullable = false)]
    pub qty: Option<String>,
    /// Per counter: the orders started there, wherever they were paid.
    #[schema(nullable = false)]
    pub started: Option<CounterSales>,
    /// Per counter: the orders it took payment for, wherever they were started.
    #[schema(nullable = false)]
    pub paid: Option<CounterSales>,
}

/// The sums of the orders paid in `[from, to)`, net of refunds.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesReport {
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    pub utc_offset_minutes: i32,
    pub group: SalesGrouping,
    pub orders: u64,
    /// Minor units.
    pub total: i64,
    pub tax: i64,
    /// Hours and days: every one of the period, empty ones too; methods,
    /// products and counters: those with sales, by id.
    pub rows: Vec<SalesRow>,
}
