//! The simulated shop: three counters (1 and 2 linked, the Bar alone), a
//! small catalog, and a history of finished orders that the node must not load.

use possync_core::*;
use possync_engine::{ConfigInfo, EngineCatalog};

/// Configs: 1 and 2 are linked, 3 is alone (until a link change links 2 and 3).
pub const CONFIGS: [(i64, &str); 3] = [(1, "Counter 1"), (2, "Counter 2"), (3, "Bar")];

pub fn name(text: &str) -> Name {
    Name::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
}

pub fn configs() -> Vec<ConfigInfo> {
    CONFIGS
        .iter()
        .map(|(id, config_name)| ConfigInfo {
            id: ConfigId(*id),
            name: name(config_name),
            auto_share: *id == 2,
            restrict_price_control: false,
        })
        .collect()
}

pub fn config(config_id: ConfigId, links: &SyncLinks) -> Config {
    let config_name = CONFIGS
        .iter()
        .find(|(id, _)| *id == config_id.0)
        .map_or("Config", |(_, config_name)| config_name);
    Config {
        id: config_id,
        name: name(config_name),
        sync_with: links.sync_with(config_id),
        auto_share: config_id.0 == 2,
        open_session_id: None,
        printer: None,
        restrict_price_control: false,
    }
}

pub fn session(session_id: SessionId, config_id: ConfigId) -> Session {
    Session {
        id: session_id,
        config_id,
        state: SessionState::Open,
        opened_at: Timestamp::from_unix_millis(1_800_000_000_000),
        closed_at: None,
        opened_by: UserId(1),
        opening_cash: Money::ZERO,
        counted_cash: None,
    }
}

pub fn catalog() -> EngineCatalog {
    let taxes = vec![
        Tax {
            id: TaxId(1),
            name: name("VAT 10%"),
            rate: TaxRate::from_basis_points(1000).unwrap_or_default(),
            price_included: true,
        },
        Tax {
            id: TaxId(2),
            name: name("VAT 21%"),
            rate: TaxRate::from_basis_points(2100).unwrap_or_default(),
            price_included: false,
        },
    ];
    let products: Vec<Product> = (1..=6)
        .map(|n| Product {
            id: ProductId(n),
            name: name(&format!("Product {n}")),
            price: Money::new(n * 135).unwrap_or_default(),
            category_id: None,
            barcode: None,
            tax_ids: vec![TaxId(1 + n % 2)],
            tracks_stock: false,
            on_hand: Quantity::ZERO,
            low_stock: None,
        })
        .collect();
    let customers = vec![Customer {
        id: CustomerId(1),
        name: name("Ada"),
        email: None,
        phone: None,
    }];
    let methods = vec![
        PaymentMethod {
            id: PaymentMethodId(1),
            name: name("Cash"),
            kind: PaymentMethodKind::Cash,
        },
        PaymentMethod {
            id: PaymentMethodId(2),
            name: name("Card"),
            kind: PaymentMethodKind::Card,
        },
    ];
    EngineCatalog::build(&products, &taxes, &customers, &methods)
}

/// A paid order from long ago, as the store keeps it.
pub fn finished_order(order_id: OrderId, config_id: ConfigId, version: u64) -> Order {
    let by = By {
        session_id: SessionId(config_id.0 * 1_000),
        config_id,
        config_name: name("Old till"),
        terminal: TerminalId(uuid::Uuid::from_u128(u128::from(version))),
    };
    let at = Timestamp::from_unix_millis(1_700_000_000_000);
    Order {
        id: order_id,
        reference: format!("Old {}", order_id.0.simple()),
        state: OrderState::Paid,
        version,
        origin: Origin {
            config_id,
            session_id: by.session_id,
        },
        shared: false,
        customer_id: None,
        note: Note::default(),
        lines: Vec::new(),
        removed_line_ids: Default::default(),
        totals: Totals::default(),
        lock: None,
        payments: Vec::new(),
        change: Money::ZERO,
        invoice: false,
        paid_by: Some(by.clone()),
        receipt_number: None,
        refund_of: None,
        created_at: at,
        updated_at: at,
        updated_by: by,
    }
}
