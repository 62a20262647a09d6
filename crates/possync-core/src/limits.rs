//! Bounds on every value a client controls. Names end with their unit.

/// Largest absolute money amount accepted anywhere, in minor units (10^13 major units).
pub const MONEY_ABS_MAX_MINOR: i64 = 1_000_000_000_000_000;
/// Largest absolute unit price, line subtotal, tax or total, in minor units.
pub const LINE_AMOUNT_ABS_MAX_MINOR: i64 = 1_000_000_000_000;
/// Largest absolute quantity, in thousandths of a unit (one million units).
pub const QUANTITY_ABS_MAX_MILLI: i64 = 1_000_000_000;
/// Live lines in one order.
pub const LINES_PER_ORDER_MAX: usize = 500;
/// Refunds of one paid order, cancelled ones included: each refund request
/// reads them all, so their number is bounded.
pub const REFUNDS_PER_ORDER_MAX: usize = 100;
/// Line ids ever used in one order, live or removed.
pub const LINE_IDS_PER_ORDER_MAX: usize = 1_000;
/// Taxes on one product or line.
pub const TAXES_PER_LINE_MAX: usize = 8;
/// Payments in one `pay` op.
pub const PAYMENTS_PER_ORDER_MAX: usize = 20;
/// Characters in a name (product, customer, config, user, ...).
pub const NAME_CHARS_MAX: usize = 120;
/// Characters in a note (order note, line note, cancel reason).
pub const NOTE_CHARS_MAX: usize = 1_000;
/// Configs one config may be linked to.
pub const LINKS_PER_CONFIG_MAX: usize = 100;
/// Default payment lock lease.
pub const PAYMENT_LEASE_MS_DEFAULT: i64 = 60_000;
