//! The small shop every fuzz scenario runs in: a catalog whose products cover
//! every tax shape and the largest prices, two customers, three payment
//! methods, and four terminals in three sessions of two counters.

use possync_core::limits::LINE_AMOUNT_ABS_MAX_MINOR;
use possync_core::{
    By, CatalogView, ConfigId, CustomerId, LineTax, Money, Name, PaymentMethodId,
    PaymentMethodKind, ProductId, SaleProduct, SessionId, TaxId, TaxRate, TerminalId,
};
use uuid::Uuid;

/// Products as `(id, name, shelf price in minor units, taxes)`, each tax
/// `(tax id, basis points, price included)`.
type ProductRow = (i64, &'static str, i64, &'static [(i64, i64, bool)]);

const PRODUCTS: &[ProductRow] = &[
    (1, "Espresso", 250, &[(1, 1_000, true)]),
    (2, "Sandwich", 1_000, &[(2, 2_100, false)]),
    (3, "Wine", 1_100, &[(1, 1_000, true), (3, 500, false)]),
    (4, "Gift card", 2_000, &[]),
    // A 100% tax both ways and eight taxes at once: the widest tax arithmetic.
    (
        5,
        "Everything taxed",
        999,
        &[
            (4, 10_000, true),
            (5, 10_000, false),
            (6, 1, true),
            (7, 1, false),
            (8, 3_333, true),
            (9, 3_333, false),
            (10, 9_999, true),
            (11, 9_999, false),
        ],
    ),
    // The largest shelf price a line may have.
    (6, "Yacht", LINE_AMOUNT_ABS_MAX_MINOR, &[(2, 2_100, false)]),
    (7, "Refund voucher", -500, &[]),
];

/// Product ids scenarios pick from: every product of the catalog, and one that is not in it.
pub const PRODUCT_IDS: [ProductId; 8] = [
    ProductId(1),
    ProductId(2),
    ProductId(3),
    ProductId(4),
    ProductId(5),
    ProductId(6),
    ProductId(7),
    ProductId(99),
];

/// Customers scenarios pick from; the last one does not exist.
pub const CUSTOMER_IDS: [CustomerId; 3] = [CustomerId(7), CustomerId(8), CustomerId(99)];

/// Payment methods scenarios pick from: cash, card, other, and one that does not exist.
pub const PAYMENT_METHOD_IDS: [PaymentMethodId; 4] = [
    PaymentMethodId(1),
    PaymentMethodId(2),
    PaymentMethodId(3),
    PaymentMethodId(99),
];

/// The catalog view `apply` reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct FuzzCatalog;

impl CatalogView for FuzzCatalog {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        let &(_, name, price, taxes) = PRODUCTS.iter().find(|row| row.0 == product_id.0)?;
        Some(SaleProduct {
            name: Name::parse(name).ok()?,
            price: Money::new(price).ok()?,
            taxes: taxes
                .iter()
                .filter_map(|&(tax_id, basis_points, price_included)| {
                    Some(LineTax {
                        tax_id: TaxId(tax_id),
                        rate: TaxRate::from_basis_points(basis_points).ok()?,
                        price_included,
                    })
                })
                .collect(),
        })
    }

    fn customer_exists(&self, customer_id: CustomerId) -> bool {
        CUSTOMER_IDS[..2].contains(&customer_id)
    }

    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind> {
        match method_id.0 {
            1 => Some(PaymentMethodKind::Cash),
            2 => Some(PaymentMethodKind::Card),
            3 => Some(PaymentMethodKind::Other),
            _ => None,
        }
    }
}

/// Who sends an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, arbitrary::Arbitrary)]
pub enum Actor {
    /// Counter 1, first tab.
    Counter,
    /// Counter 1, a second tab in the same session.
    CounterSecondTab,
    /// Counter 1, the next shift (another session of the same config).
    CounterNextShift,
    /// The Bar, a linked config that shares every new draft at once.
    Bar,
}

impl Actor {
    pub fn by(self) -> By {
        let (session_id, config_id, config_name, terminal) = match self {
            Actor::Counter => (10, 1, "Counter 1", 0xa1),
            Actor::CounterSecondTab => (10, 1, "Counter 1", 0xa2),
            Actor::CounterNextShift => (11, 1, "Counter 1", 0xa3),
            Actor::Bar => (20, 2, "Bar", 0xb1),
        };
        By {
            session_id: SessionId(session_id),
            config_id: ConfigId(config_id),
            // A constant, valid name.
            config_name: Name::parse(config_name).unwrap_or_else(|error| unreachable!("{error}")),
            terminal: TerminalId(uuid(terminal)),
        }
    }

    pub fn auto_share(self) -> bool {
        self == Actor::Bar
    }
}

/// A v7-shaped UUID numbered `n`.
pub fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}
