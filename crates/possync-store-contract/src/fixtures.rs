//! What the behaviours share: literals, a clock, result checks, and a shop,
//! tills and real orders built with `possync_core::apply` over the store's own catalog.

use possync_core::limits::PAYMENT_LEASE_MS_DEFAULT;
use possync_core::*;
use possync_store::{
    CommitEntry, Conflict, HistoryEntry, Invoice, SessionReport, StockMove, Store, StoreError,
    StoreResult,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Small builders. Literals here are known to be valid, so a failure is a bug in the suite.

pub(crate) fn name(text: &str) -> Name {
    Name::parse(text).expect("a valid name literal")
}

pub(crate) fn login(text: &str) -> Login {
    Login::parse(text).expect("a valid login literal")
}

pub(crate) fn barcode(text: &str) -> Barcode {
    Barcode::parse(text).expect("a valid barcode literal")
}

pub(crate) fn money(minor: i64) -> Money {
    Money::new(minor).expect("a valid amount literal")
}

pub(crate) fn qty(milli: i64) -> Quantity {
    Quantity::from_milli(milli).expect("a valid quantity literal")
}

pub(crate) fn tax_rate(basis_points: i64) -> TaxRate {
    TaxRate::from_basis_points(basis_points).expect("a valid rate literal")
}

/// Ids that no test ever creates.
pub(crate) const MISSING_ID: i64 = 999_999;

/// A UUID unique in this process; deterministic, as the core wants no randomness.
pub(crate) fn next_uuid() -> Uuid {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_0000
            | u128::from(NEXT.fetch_add(1, Ordering::Relaxed)),
    )
}

/// A clock that moves one second per reading, so every event has its own time.
pub(crate) fn tick() -> Timestamp {
    static NOW_MILLIS: AtomicI64 = AtomicI64::new(1_795_000_000_000);
    Timestamp::from_unix_millis(NOW_MILLIS.fetch_add(1_000, Ordering::Relaxed))
}

#[track_caller]
pub(crate) fn ok<T>(result: StoreResult<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: unexpected error {error:?}"),
    }
}

#[track_caller]
pub(crate) fn expect_conflict<T: Debug>(result: StoreResult<T>, expected: Conflict, what: &str) {
    match result {
        Err(StoreError::Conflict(conflict)) if conflict == expected => {}
        other => panic!("{what}: expected Conflict {expected:?}, got {other:?}"),
    }
}

/// The conflict of an op at version `next` on an order at version `current`.
pub(crate) fn version_conflict(order_id: OrderId, current: u64, next: u64) -> Conflict {
    Conflict::OrderVersion {
        order_id,
        current,
        next,
    }
}

#[track_caller]
pub(crate) fn expect_invalid<T: Debug>(result: StoreResult<T>, what: &str) -> String {
    match result {
        Err(StoreError::Invalid(message)) => message,
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}

#[track_caller]
pub(crate) fn expect_not_found<T: Debug>(result: StoreResult<T>, record: &'static str, what: &str) {
    match result {
        Err(StoreError::NotFound(found)) if found == record => {}
        other => panic!("{what}: expected NotFound({record:?}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// A shop, a till and a catalog view to build real orders with `apply`.

/// The part of the catalog `apply` reads, loaded back from the store under test.
#[derive(Debug, Default)]
pub(crate) struct TestCatalog {
    pub(crate) products: BTreeMap<ProductId, SaleProduct>,
    pub(crate) customers: BTreeSet<CustomerId>,
    pub(crate) methods: BTreeMap<PaymentMethodId, PaymentMethodKind>,
}

impl TestCatalog {
    async fn load<S: Store + ?Sized>(store: &S) -> TestCatalog {
        let taxes: BTreeMap<TaxId, Tax> = ok(store.list_taxes().await, "list taxes")
            .into_iter()
            .map(|tax| (tax.id, tax))
            .collect();
        let products = ok(store.list_products().await, "list products")
            .into_iter()
            .map(|product| {
                let line_taxes = product
                    .tax_ids
                    .iter()
                    .map(|tax_id| {
                        let tax = taxes.get(tax_id).expect("a product's tax is listed");
                        LineTax {
                            tax_id: tax.id,
                            rate: tax.rate,
                            price_included: tax.price_included,
                        }
                    })
                    .collect();
                let sale = SaleProduct {
                    name: product.name,
                    price: product.price,
                    taxes: line_taxes,
                };
                (product.id, sale)
            })
            .collect();
        let customers = ok(store.list_customers().await, "list customers")
            .into_iter()
            .map(|customer| customer.id)
            .collect();
        let methods = ok(store.list_payment_methods().await, "list payment methods")
            .into_iter()
            .map(|method| (method.id, method.kind))
            .collect();
        TestCatalog {
            products,
            customers,
            methods,
        }
    }
}

impl CatalogView for TestCatalog {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        self.products.get(&product_id).cloned()
    }

    fn customer_exists(&self, customer_id: CustomerId) -> bool {
        self.customers.contains(&customer_id)
    }

    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind> {
        self.methods.get(&method_id).copied()
    }
}

/// A small shop: VAT 21% on top of the price, coffee (stock tracked), cake
/// (not tracked), three payment methods, a customer and two linked counters.
pub(crate) struct Shop {
    pub(crate) manager: User,
    pub(crate) coffee: Product,
    pub(crate) cake: Product,
    pub(crate) cash: PaymentMethod,
    pub(crate) card: PaymentMethod,
    pub(crate) voucher: PaymentMethod,
    pub(crate) customer: Customer,
    pub(crate) counter_1: Config,
    pub(crate) counter_2: Config,
}

pub(crate) async fn open_shop<S: Store + ?Sized>(store: &S) -> Shop {
    let manager = ok(
        store
            .create_user(
                &login("manager"),
                &name("Mia Manager"),
                Role::Manager,
                "hash",
                &[],
            )
            .await,
        "create the manager",
    );
    let vat = ok(
        store
            .create_tax(&TaxNew {
                name: name("VAT 21%"),
                rate: tax_rate(2100),
                price_included: false,
            })
            .await,
        "create VAT",
    );
    let coffee = ok(
        store
            .create_product(&ProductNew {
                name: name("Coffee"),
                price: money(250),
                category_id: None,
                barcode: Some(barcode("1001")),
                tax_ids: vec![vat.id],
                tracks_stock: true,
                on_hand: qty(10_000),
                low_stock: None,
            })
            .await,
        "create coffee",
    );
    let cake = ok(
        store
            .create_product(&ProductNew {
                name: name("Cake"),
                price: money(400),
                category_id: None,
                barcode: None,
                tax_ids: vec![],
                tracks_stock: false,
                on_hand: Quantity::ZERO,
                low_stock: None,
            })
            .await,
        "create cake",
    );
    let method = |method_name: &str, kind| PaymentMethodNew {
        name: name(method_name),
        kind,
    };
    let cash = ok(
        store
            .create_payment_method(&method("Cash", PaymentMethodKind::Cash))
            .await,
        "create cash",
    );
    let card = ok(
        store
            .create_payment_method(&method("Card", PaymentMethodKind::Card))
            .await,
        "create card",
    );
    let voucher = ok(
        store
            .create_payment_method(&method("Voucher", PaymentMethodKind::Other))
            .await,
        "create voucher",
    );
    let customer = ok(
        store
            .create_customer(&CustomerNew {
                name: name("Carla Customer"),
                email: Some(name("carla@example.com")),
                phone: None,
            })
            .await,
        "create a customer",
    );
    let counter_1 = ok(
        store
            .create_config(&ConfigNew {
                restrict_price_control: false,
                name: name("Counter 1"),
                sync_with: vec![],
                auto_share: false,
                printer: None,
            })
            .await,
        "create counter 1",
    );
    let counter_2 = ok(
        store
            .create_config(&ConfigNew {
                restrict_price_control: false,
                name: name("Counter 2"),
                sync_with: vec![counter_1.id],
                auto_share: false,
                printer: None,
            })
            .await,
        "create counter 2",
    );
    Shop {
        manager,
        coffee,
        cake,
        cash,
        card,
        voucher,
        customer,
        counter_1,
        counter_2,
    }
}

/// One terminal in an open session of a config: it decides ops with `apply`.
pub(crate) struct Till {
    pub(crate) by: By,
    pub(crate) catalog: TestCatalog,
}

pub(crate) async fn open_till<S: Store + ?Sized>(
    store: &S,
    shop: &Shop,
    config: &Config,
    opening_cash: i64,
) -> Till {
    let (session, _joined) = ok(
        store
            .open_or_join_session(config.id, shop.manager.id, money(opening_cash), tick())
            .await,
        "open a session",
    );
    Till {
        by: By {
            session_id: session.id,
            config_id: config.id,
            config_name: config.name.clone(),
            terminal: TerminalId(next_uuid()),
        },
        catalog: TestCatalog::load(store).await,
    }
}

impl Till {
    /// Decides `op` as the engine would and returns the accepted entry.
    pub(crate) fn decide(&self, current: Option<&Order>, order_id: OrderId, op: Op) -> CommitEntry {
        let now = tick();
        let reference = format!("{} - {}", self.by.config_name, order_id);
        let ctx = ApplyContext {
            rights: possync_core::Rights::FULL,
            by: &self.by,
            now,
            catalog: &self.catalog,
            lease_ms: PAYMENT_LEASE_MS_DEFAULT,
            auto_share: false,
            reference: &reference,
        };
        let order = match apply(current, order_id, &op, &ctx) {
            Ok(Applied::Changed(order)) => order,
            other => panic!(
                "{} on order {order_id}: expected a change, got {other:?}",
                op.kind()
            ),
        };
        let entry = HistoryEntry {
            approved_by: None,
            version: order.version,
            op_id: OpId(next_uuid()),
            op,
            by: self.by.clone(),
            at: now,
        };
        CommitEntry::Accepted { order, entry }
    }
}

pub(crate) fn entry_order(entry: &CommitEntry) -> &Order {
    match entry {
        CommitEntry::Accepted { order, .. } => order,
        CommitEntry::Rejected { .. } | CommitEntry::Unchanged { .. } => {
            panic!("expected an accepted entry")
        }
    }
}

pub(crate) fn entry_history(entry: &CommitEntry) -> &HistoryEntry {
    match entry {
        CommitEntry::Accepted { entry, .. } => entry,
        CommitEntry::Rejected { .. } | CommitEntry::Unchanged { .. } => {
            panic!("expected an accepted entry")
        }
    }
}

/// Decides and commits one op on its own; returns the order at its new version.
pub(crate) async fn commit_op<S: Store + ?Sized>(
    store: &S,
    till: &Till,
    current: Option<&Order>,
    order_id: OrderId,
    op: Op,
) -> Order {
    let entry = till.decide(current, order_id, op);
    ok(
        store.commit_batch(std::slice::from_ref(&entry)).await,
        "commit one op",
    );
    entry_order(&entry).clone()
}

/// A line to add: product, quantity in thousandths, discount in basis points.
pub(crate) type LineSpec = (ProductId, i64, i64);

/// Creates a draft with these lines, one committed op at a time.
pub(crate) async fn draft<S: Store + ?Sized>(
    store: &S,
    till: &Till,
    customer_id: Option<CustomerId>,
    share: bool,
    lines: &[LineSpec],
) -> Order {
    let order_id = OrderId(next_uuid());
    let create = Op::Create {
        config_id: None,
        customer_id,
        note: None,
        share: Some(share),
    };
    let mut order = commit_op(store, till, None, order_id, create).await;
    for &(product_id, qty_milli, discount_bp) in lines {
        let add = Op::AddLine {
            line_id: LineId(next_uuid()),
            product_id,
            qty: qty(qty_milli),
            unit_price: None,
            discount: Some(
                Discount::from_basis_points(discount_bp).expect("a valid discount literal"),
            ),
            note: None,
        };
        order = commit_op(store, till, Some(&order), order_id, add).await;
    }
    order
}

/// Pays `order` at `till` with these (method, amount) payments.
pub(crate) async fn pay<S: Store + ?Sized>(
    store: &S,
    till: &Till,
    order: &Order,
    payments: &[(PaymentMethodId, i64)],
    invoice: bool,
) -> Order {
    let op = Op::Pay {
        payments: payments
            .iter()
            .map(|&(method_id, amount)| PaymentInput {
                method_id,
                amount: money(amount),
            })
            .collect(),
        expected_total: order.totals.total,
        invoice: Some(invoice),
    };
    let committed = commit_op(store, till, Some(order), order.id, op).await;
    // The store gives the payment its receipt number, in the same
    // transaction, on the stored order; everything else is what was committed.
    let stored = ok(store.get_order(order.id).await, "read the paid order back")
        .expect("the paid order is stored");
    let number = stored
        .receipt_number
        .clone()
        .expect("a paid order has a receipt number");
    assert!(
        number.starts_with(&format!("{}/", till.by.config_name.as_str())),
        "{number} is not numbered at {}",
        till.by.config_name.as_str()
    );
    assert_eq!(
        Order {
            receipt_number: None,
            ..stored.clone()
        },
        committed,
        "the stored paid order is the committed one with its receipt number"
    );
    stored
}

/// Every link shows on both sides, in `list_configs` as in `load_links`.
pub(crate) async fn assert_links_symmetric<S: Store + ?Sized>(store: &S) {
    let configs = ok(store.list_configs().await, "list configs");
    let links = ok(store.load_links().await, "load links");
    let by_id: BTreeMap<ConfigId, &Config> =
        configs.iter().map(|config| (config.id, config)).collect();
    for config in &configs {
        assert_eq!(
            config.sync_with,
            links.sync_with(config.id),
            "config {} against load_links",
            config.id
        );
        // One config read alone (its own links and session only) is the same.
        assert_eq!(
            &ok(store.get_config(config.id).await, "get config"),
            config,
            "config {} read alone against the list",
            config.id
        );
        for linked in &config.sync_with {
            assert_ne!(
                *linked, config.id,
                "config {} is linked to itself",
                config.id
            );
            let other = by_id.get(linked).expect("a linked config exists");
            assert!(
                other.sync_with.contains(&config.id),
                "config {} links {} but not back",
                config.id,
                linked
            );
        }
    }
}

pub(crate) async fn sync_with<S: Store + ?Sized>(store: &S, config_id: ConfigId) -> Vec<ConfigId> {
    ok(store.get_config(config_id).await, "get config").sync_with
}

/// After a refused batch: the order as it was, no new history, no outcomes, no other order.
pub(crate) async fn assert_untouched<S: Store + ?Sized>(
    store: &S,
    v1: &Order,
    never_kept: &[OpId],
    other_order_id: OrderId,
    what: &str,
) {
    assert_eq!(
        ok(store.get_order(v1.id).await, what),
        Some(v1.clone()),
        "{what}: the order is untouched"
    );
    assert_eq!(
        ok(store.order_history(v1.id).await, what).len(),
        1,
        "{what}: no history was added"
    );
    for op_id in never_kept {
        assert_eq!(
            ok(store.find_op_outcome(*op_id).await, what),
            None,
            "{what}: no outcome was kept"
        );
    }
    assert_eq!(
        ok(store.get_order(other_order_id).await, what),
        None,
        "{what}: the other order was not created"
    );
}

/// The time of the last op of an order, which is when its payment was recorded.
pub(crate) async fn entry_history_at<S: Store + ?Sized>(store: &S, order_id: OrderId) -> Timestamp {
    let history = ok(store.order_history(order_id).await, "history");
    history.last().expect("an order has history").at
}

/// The ops of one order as a batch is built: every state it goes through and
/// every history entry it gets, in version order.
pub(crate) struct OrderOps {
    pub(crate) order_id: OrderId,
    pub(crate) states: Vec<Order>,
    pub(crate) entries: Vec<HistoryEntry>,
}

impl OrderOps {
    pub(crate) fn new(order_id: OrderId, current: Option<Order>) -> OrderOps {
        OrderOps {
            order_id,
            states: current.into_iter().collect(),
            entries: Vec::new(),
        }
    }

    pub(crate) fn last(&self) -> &Order {
        self.states.last().expect("the order has a state")
    }

    /// Decides `op` on the order's latest state and appends the entry to `batch`.
    pub(crate) fn push(&mut self, till: &Till, op: Op, batch: &mut Vec<CommitEntry>) {
        let entry = till.decide(self.states.last(), self.order_id, op);
        self.states.push(entry_order(&entry).clone());
        self.entries.push(entry_history(&entry).clone());
        batch.push(entry);
    }
}

pub(crate) fn note(text: &str) -> Note {
    Note::parse(text).expect("a valid note literal")
}

/// What a refused batch must leave as it was.
#[derive(Debug, PartialEq)]
pub(crate) struct StoreSnapshot {
    pub(crate) orders: Vec<(Option<Order>, Vec<HistoryEntry>)>,
    pub(crate) coffee: Product,
    pub(crate) coffee_moves: Vec<StockMove>,
    pub(crate) invoices: Vec<Invoice>,
    pub(crate) report: SessionReport,
}

pub(crate) async fn snapshot<S: Store + ?Sized>(
    store: &S,
    shop: &Shop,
    session_id: SessionId,
    order_ids: &[OrderId],
) -> StoreSnapshot {
    let mut orders = Vec::new();
    for &order_id in order_ids {
        orders.push((
            ok(store.get_order(order_id).await, "get an order"),
            ok(store.order_history(order_id).await, "read a history"),
        ));
    }
    StoreSnapshot {
        orders,
        coffee: ok(store.get_product(shop.coffee.id).await, "get coffee"),
        coffee_moves: ok(store.list_stock_moves(shop.coffee.id).await, "coffee moves"),
        invoices: ok(store.list_invoices().await, "list invoices"),
        report: ok(store.session_report(session_id).await, "report"),
    }
}

pub(crate) fn entry_op_id(entry: &CommitEntry) -> OpId {
    entry.op_id()
}
