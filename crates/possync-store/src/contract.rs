//! The contract test suite every Store implementation must pass.
//!
//! Each behaviour is a `pub async fn` that takes a fresh, empty store and
//! panics at the first broken promise, naming it. The suite is compiled in
//! normal builds so that every implementation (SQLite here, PostgreSQL in its
//! own tests) runs exactly the same checks; [`store_contract_tests!`] turns
//! the behaviours into one `#[tokio::test]` each:
//!
//! ```text
//! /// A fresh store, and whatever must live as long as it (a temp dir, a throwaway database).
//! async fn fresh_store() -> (tempfile::TempDir, std::sync::Arc<SqliteStore>) { ... }
//! possync_store::store_contract_tests!(fresh_store);
//! ```
//!
//! Orders are built with `possync_core::apply` over a catalog read back from
//! the store, so what the suite commits is what the engine would commit.
//!
//! [`store_contract_tests!`]: crate::store_contract_tests

use crate::{
    CashSummary, CommitEntry, HistoryEntry, Invoice, OpOutcome, PaymentTotal, SessionReport,
    StockMove, Store, StoreError, StoreResult, TokenOwner,
};
use possync_core::limits::PAYMENT_LEASE_MS_DEFAULT;
use possync_core::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use uuid::Uuid;

/// Generates one `#[tokio::test]` per contract behaviour for a store.
///
/// `$fresh_store` is an async fn returning `(guard, Arc<S>)`: a new, empty
/// store, and a guard kept alive until the test ends.
#[macro_export]
macro_rules! store_contract_tests {
    ($fresh_store:path) => {
        $crate::store_contract_tests!(@tests $fresh_store;
            contract_users => users,
            contract_tokens => tokens,
            contract_catalog => catalog,
            contract_configs_and_links => configs_and_links,
            contract_sessions => sessions,
            contract_concurrent_session_opens => concurrent_session_opens,
            contract_orders_commit_and_history => orders_commit_and_history,
            contract_commit_batch_is_all_or_nothing => commit_batch_is_all_or_nothing,
            contract_op_outcomes => op_outcomes,
            contract_payment_effects => payment_effects,
            contract_session_report => session_report,
            contract_list_orders_by_state => list_orders_by_state,
            contract_group_commits_of_many_ops => group_commits_of_many_ops,
        );
    };
    (@tests $fresh_store:path; $($test_name:ident => $behaviour:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test_name() {
                let (_guard, store) = $fresh_store().await;
                $crate::contract::$behaviour(store).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------
// Small builders. Literals here are known to be valid, so a failure is a bug in the suite.

fn name(text: &str) -> Name {
    Name::parse(text).expect("a valid name literal")
}

fn login(text: &str) -> Login {
    Login::parse(text).expect("a valid login literal")
}

fn barcode(text: &str) -> Barcode {
    Barcode::parse(text).expect("a valid barcode literal")
}

fn money(minor: i64) -> Money {
    Money::new(minor).expect("a valid amount literal")
}

fn qty(milli: i64) -> Quantity {
    Quantity::from_milli(milli).expect("a valid quantity literal")
}

fn tax_rate(basis_points: i64) -> TaxRate {
    TaxRate::from_basis_points(basis_points).expect("a valid rate literal")
}

/// Ids that no test ever creates.
const MISSING_ID: i64 = 999_999;

/// A UUID unique in this process; deterministic, as the core wants no randomness.
fn next_uuid() -> Uuid {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_0000
            | u128::from(NEXT.fetch_add(1, Ordering::Relaxed)),
    )
}

/// A clock that moves one second per reading, so every event has its own time.
fn tick() -> Timestamp {
    static NOW_MILLIS: AtomicI64 = AtomicI64::new(1_795_000_000_000);
    Timestamp::from_unix_millis(NOW_MILLIS.fetch_add(1_000, Ordering::Relaxed))
}

#[track_caller]
fn ok<T>(result: StoreResult<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: unexpected error {error:?}"),
    }
}

#[track_caller]
fn expect_conflict<T: Debug>(result: StoreResult<T>, what: &str) -> String {
    match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("{what}: expected Conflict, got {other:?}"),
    }
}

#[track_caller]
fn expect_invalid<T: Debug>(result: StoreResult<T>, what: &str) -> String {
    match result {
        Err(StoreError::Invalid(message)) => message,
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}

#[track_caller]
fn expect_not_found<T: Debug>(result: StoreResult<T>, record: &'static str, what: &str) {
    match result {
        Err(StoreError::NotFound(found)) if found == record => {}
        other => panic!("{what}: expected NotFound({record:?}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// A shop, a till and a catalog view to build real orders with `apply`.

/// The part of the catalog `apply` reads, loaded back from the store under test.
#[derive(Debug, Default)]
struct TestCatalog {
    products: BTreeMap<ProductId, SaleProduct>,
    customers: BTreeSet<CustomerId>,
    methods: BTreeMap<PaymentMethodId, PaymentMethodKind>,
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
struct Shop {
    manager: User,
    coffee: Product,
    cake: Product,
    cash: PaymentMethod,
    card: PaymentMethod,
    voucher: PaymentMethod,
    customer: Customer,
    counter_1: Config,
    counter_2: Config,
}

async fn open_shop<S: Store + ?Sized>(store: &S) -> Shop {
    let manager = ok(
        store
            .create_user(
                &login("manager"),
                &name("Mia Manager"),
                Role::Manager,
                "hash",
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
                name: name("Counter 1"),
                sync_with: vec![],
                auto_share: false,
            })
            .await,
        "create counter 1",
    );
    let counter_2 = ok(
        store
            .create_config(&ConfigNew {
                name: name("Counter 2"),
                sync_with: vec![counter_1.id],
                auto_share: false,
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
struct Till {
    by: By,
    catalog: TestCatalog,
}

async fn open_till<S: Store + ?Sized>(
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
    fn decide(&self, current: Option<&Order>, order_id: OrderId, op: Op) -> CommitEntry {
        let now = tick();
        let reference = format!("{} - {}", self.by.config_name, order_id);
        let ctx = ApplyContext {
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
            version: order.version,
            op_id: OpId(next_uuid()),
            op,
            by: self.by.clone(),
            at: now,
        };
        CommitEntry::Accepted { order, entry }
    }
}

fn entry_order(entry: &CommitEntry) -> &Order {
    match entry {
        CommitEntry::Accepted { order, .. } => order,
        CommitEntry::Rejected { .. } => panic!("expected an accepted entry"),
    }
}

fn entry_history(entry: &CommitEntry) -> &HistoryEntry {
    match entry {
        CommitEntry::Accepted { entry, .. } => entry,
        CommitEntry::Rejected { .. } => panic!("expected an accepted entry"),
    }
}

/// Decides and commits one op on its own; returns the order at its new version.
async fn commit_op<S: Store + ?Sized>(
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
type LineSpec = (ProductId, i64, i64);

/// Creates a draft with these lines, one committed op at a time.
async fn draft<S: Store + ?Sized>(
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
async fn pay<S: Store + ?Sized>(
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
    commit_op(store, till, Some(order), order.id, op).await
}

/// Every link shows on both sides, in `list_configs` as in `load_links`.
async fn assert_links_symmetric<S: Store + ?Sized>(store: &S) {
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

async fn sync_with<S: Store + ?Sized>(store: &S, config_id: ConfigId) -> Vec<ConfigId> {
    ok(store.get_config(config_id).await, "get config").sync_with
}

// ---------------------------------------------------------------------------
// The behaviours.

/// Users: creation, unique logins, lookups, updates, and the last manager.
pub async fn users<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    assert_eq!(
        ok(store.count_users().await, "count users"),
        0,
        "a fresh store has no users"
    );
    let admin = ok(
        store
            .create_user(
                &login("admin"),
                &name("Ada Admin"),
                Role::Manager,
                "hash-admin",
            )
            .await,
        "create admin",
    );
    assert_eq!(
        (admin.login.as_str(), admin.name.as_str(), admin.role),
        ("admin", "Ada Admin", Role::Manager)
    );
    let message = expect_conflict(
        store
            .create_user(&login("ADMIN"), &name("Other"), Role::Cashier, "hash")
            .await,
        "a taken login (logins are normalized to lowercase)",
    );
    assert!(
        message.contains("login"),
        "the conflict says what clashed: {message}"
    );
    assert_eq!(
        ok(store.count_users().await, "count users"),
        1,
        "a refused user is not created"
    );

    let cathy = ok(
        store
            .create_user(&login("cathy"), &name("Cathy"), Role::Cashier, "hash-cathy")
            .await,
        "create cathy",
    );
    assert!(cathy.id > admin.id);
    assert_eq!(
        ok(store.list_users().await, "list users"),
        vec![admin.clone(), cathy.clone()]
    );
    assert_eq!(ok(store.count_users().await, "count users"), 2);
    assert_eq!(ok(store.get_user(cathy.id).await, "get cathy"), cathy);
    expect_not_found(
        store.get_user(UserId(MISSING_ID)).await,
        "user",
        "get an unknown user",
    );

    assert_eq!(
        ok(store.find_login(&login("cathy")).await, "find cathy"),
        Some((cathy.clone(), "hash-cathy".to_owned()))
    );
    assert_eq!(
        ok(store.find_login(&login("nobody")).await, "find nobody"),
        None
    );

    let renamed = ok(
        store
            .update_user(
                cathy.id,
                Some(&name("Cathy C.")),
                None,
                Some("hash-cathy-2"),
            )
            .await,
        "rename cathy and change her password",
    );
    assert_eq!(
        (renamed.name.as_str(), renamed.role),
        ("Cathy C.", Role::Cashier)
    );
    assert_eq!(
        ok(store.find_login(&login("cathy")).await, "find cathy").map(|(_, hash)| hash),
        Some("hash-cathy-2".to_owned())
    );
    let unchanged = ok(
        store.update_user(cathy.id, None, None, None).await,
        "an empty update",
    );
    assert_eq!(unchanged, renamed);

    expect_conflict(
        store
            .update_user(admin.id, None, Some(Role::Cashier), None)
            .await,
        "demote the last manager",
    );
    assert_eq!(
        ok(store.get_user(admin.id).await, "get admin").role,
        Role::Manager
    );
    ok(
        store
            .update_user(admin.id, Some(&name("Ada")), Some(Role::Manager), None)
            .await,
        "a manager staying a manager is no demotion",
    );
    ok(
        store
            .update_user(cathy.id, None, Some(Role::Manager), None)
            .await,
        "promote cathy",
    );
    let admin = ok(
        store
            .update_user(admin.id, None, Some(Role::Cashier), None)
            .await,
        "demote admin now that cathy manages",
    );
    assert_eq!(admin.role, Role::Cashier);
    expect_conflict(
        store
            .update_user(cathy.id, None, Some(Role::Cashier), None)
            .await,
        "demote cathy, now the last manager",
    );
    expect_not_found(
        store
            .update_user(UserId(MISSING_ID), Some(&name("Ghost")), None, None)
            .await,
        "user",
        "update an unknown user",
    );
}

/// Tokens: stored by hash for users and terminals; unknown owners refused.
pub async fn tokens<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let (session, _) = ok(
        store
            .open_or_join_session(shop.counter_1.id, shop.manager.id, Money::ZERO, tick())
            .await,
        "open a session",
    );
    let user_owner = TokenOwner::User {
        user_id: shop.manager.id,
    };
    let terminal_owner = TokenOwner::Terminal {
        user_id: shop.manager.id,
        session_id: session.id,
    };
    ok(
        store.create_token("hash-user", user_owner, tick()).await,
        "create a user token",
    );
    ok(
        store
            .create_token("hash-terminal", terminal_owner, tick())
            .await,
        "create a terminal token",
    );
    assert_eq!(
        ok(store.find_token("hash-user").await, "find the user token"),
        Some(user_owner)
    );
    assert_eq!(
        ok(
            store.find_token("hash-terminal").await,
            "find the terminal token"
        ),
        Some(terminal_owner)
    );
    assert_eq!(
        ok(
            store.find_token("hash-unknown").await,
            "find an unknown token"
        ),
        None
    );
    expect_conflict(
        store
            .create_token("hash-user", terminal_owner, tick())
            .await,
        "a token hash twice",
    );
    assert_eq!(
        ok(store.find_token("hash-user").await, "find the user token"),
        Some(user_owner)
    );
    expect_invalid(
        store
            .create_token(
                "hash-ghost",
                TokenOwner::User {
                    user_id: UserId(MISSING_ID),
                },
                tick(),
            )
            .await,
        "a token of an unknown user",
    );
    expect_invalid(
        store
            .create_token(
                "hash-ghost-session",
                TokenOwner::Terminal {
                    user_id: shop.manager.id,
                    session_id: SessionId(MISSING_ID),
                },
                tick(),
            )
            .await,
        "a token of an unknown session",
    );
    assert_eq!(
        ok(store.find_token("hash-ghost").await, "find a refused token"),
        None
    );
}

/// The catalog: CRUD of every kind, references checked, barcodes unique.
pub async fn catalog<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;

    // Categories.
    let drinks = ok(
        store
            .create_category(&CategoryNew {
                name: name("Drinks"),
            })
            .await,
        "create drinks",
    );
    let food = ok(
        store
            .create_category(&CategoryNew { name: name("Food") })
            .await,
        "create food",
    );
    assert_eq!(
        ok(store.list_categories().await, "list categories"),
        vec![drinks.clone(), food.clone()]
    );
    let food = ok(
        store
            .update_category(
                food.id,
                &CategoryChanges {
                    name: Some(name("Bakery")),
                },
            )
            .await,
        "rename food",
    );
    assert_eq!(food.name.as_str(), "Bakery");
    assert_eq!(ok(store.get_category(food.id).await, "get bakery"), food);
    expect_not_found(
        store.get_category(CategoryId(MISSING_ID)).await,
        "category",
        "get an unknown category",
    );
    expect_not_found(
        store
            .update_category(CategoryId(MISSING_ID), &CategoryChanges::default())
            .await,
        "category",
        "update an unknown category",
    );

    // Taxes.
    let vat = ok(
        store
            .create_tax(&TaxNew {
                name: name("VAT"),
                rate: tax_rate(2100),
                price_included: false,
            })
            .await,
        "create VAT",
    );
    let included = ok(
        store
            .create_tax(&TaxNew {
                name: name("Included"),
                rate: tax_rate(1000),
                price_included: true,
            })
            .await,
        "create an included tax",
    );
    assert_eq!((vat.rate.basis_points(), vat.price_included), (2100, false));
    let included = ok(
        store
            .update_tax(
                included.id,
                &TaxChanges {
                    rate: Some(tax_rate(550)),
                    ..TaxChanges::default()
                },
            )
            .await,
        "change a rate",
    );
    assert_eq!(
        (
            included.name.as_str(),
            included.rate.basis_points(),
            included.price_included
        ),
        ("Included", 550, true)
    );
    assert_eq!(
        ok(store.list_taxes().await, "list taxes"),
        vec![vat.clone(), included.clone()]
    );
    assert_eq!(ok(store.get_tax(vat.id).await, "get VAT"), vat);
    expect_not_found(
        store.get_tax(TaxId(MISSING_ID)).await,
        "tax",
        "get an unknown tax",
    );
    expect_not_found(
        store
            .update_tax(TaxId(MISSING_ID), &TaxChanges::default())
            .await,
        "tax",
        "update an unknown tax",
    );

    // Customers.
    let carla = ok(
        store
            .create_customer(&CustomerNew {
                name: name("Carla"),
                email: Some(name("carla@example.com")),
                phone: None,
            })
            .await,
        "create carla",
    );
    let dan = ok(
        store
            .create_customer(&CustomerNew {
                name: name("Dan"),
                email: None,
                phone: None,
            })
            .await,
        "create dan",
    );
    let carla = ok(
        store
            .update_customer(
                carla.id,
                &CustomerChanges {
                    name: None,
                    email: Some(None),
                    phone: Some(Some(name("+34 600 000 000"))),
                },
            )
            .await,
        "clear carla's email, set her phone",
    );
    assert_eq!(carla.email, None);
    assert_eq!(
        carla.phone.as_ref().map(Name::as_str),
        Some("+34 600 000 000")
    );
    assert_eq!(carla.name.as_str(), "Carla", "a field left out is kept");
    assert_eq!(
        ok(store.list_customers().await, "list customers"),
        vec![carla.clone(), dan.clone()]
    );
    assert_eq!(ok(store.get_customer(dan.id).await, "get dan"), dan);
    expect_not_found(
        store.get_customer(CustomerId(MISSING_ID)).await,
        "customer",
        "get an unknown customer",
    );
    expect_not_found(
        store
            .update_customer(CustomerId(MISSING_ID), &CustomerChanges::default())
            .await,
        "customer",
        "update an unknown customer",
    );

    // Payment methods.
    let cash = ok(
        store
            .create_payment_method(&PaymentMethodNew {
                name: name("Cash"),
                kind: PaymentMethodKind::Cash,
            })
            .await,
        "create cash",
    );
    let card = ok(
        store
            .create_payment_method(&PaymentMethodNew {
                name: name("Card"),
                kind: PaymentMethodKind::Other,
            })
            .await,
        "create card",
    );
    let card = ok(
        store
            .update_payment_method(
                card.id,
                &PaymentMethodChanges {
                    name: Some(name("Credit card")),
                    kind: Some(PaymentMethodKind::Card),
                },
            )
            .await,
        "fix the card method",
    );
    assert_eq!(
        (card.name.as_str(), card.kind),
        ("Credit card", PaymentMethodKind::Card)
    );
    assert_eq!(
        ok(store.list_payment_methods().await, "list methods"),
        vec![cash.clone(), card.clone()]
    );
    assert_eq!(
        ok(store.get_payment_method(cash.id).await, "get cash"),
        cash
    );
    expect_not_found(
        store.get_payment_method(PaymentMethodId(MISSING_ID)).await,
        "payment method",
        "get an unknown method",
    );
    expect_not_found(
        store
            .update_payment_method(
                PaymentMethodId(MISSING_ID),
                &PaymentMethodChanges::default(),
            )
            .await,
        "payment method",
        "update an unknown method",
    );

    // Products.
    let tea_new = ProductNew {
        name: name("Tea"),
        price: money(250),
        category_id: Some(drinks.id),
        barcode: Some(barcode("123")),
        // Out of order and repeated: the store keeps each tax once, in id order.
        tax_ids: vec![included.id, vat.id, included.id],
        tracks_stock: true,
        on_hand: qty(5_500),
    };
    let tea = ok(store.create_product(&tea_new).await, "create tea");
    assert_eq!(tea.name.as_str(), "Tea");
    assert_eq!(tea.price, money(250));
    assert_eq!(tea.category_id, Some(drinks.id));
    assert_eq!(tea.barcode, Some(barcode("123")));
    assert_eq!(tea.tax_ids, vec![vat.id, included.id]);
    assert_eq!((tea.tracks_stock, tea.on_hand), (true, qty(5_500)));
    assert_eq!(ok(store.get_product(tea.id).await, "get tea"), tea);

    let message = expect_invalid(
        store
            .create_product(&ProductNew {
                category_id: Some(CategoryId(MISSING_ID)),
                barcode: None,
                ..tea_new.clone()
            })
            .await,
        "a product in an unknown category",
    );
    assert_eq!(message, format!("unknown category {MISSING_ID}"));
    let message = expect_invalid(
        store
            .create_product(&ProductNew {
                tax_ids: vec![vat.id, TaxId(MISSING_ID)],
                barcode: None,
                ..tea_new.clone()
            })
            .await,
        "a product with an unknown tax",
    );
    assert_eq!(message, format!("unknown tax {MISSING_ID}"));
    let message = expect_conflict(
        store.create_product(&tea_new).await,
        "a second product with barcode 123",
    );
    assert!(
        message.contains("barcode"),
        "the conflict names the barcode: {message}"
    );
    assert_eq!(
        ok(store.list_products().await, "list products").len(),
        1,
        "refused products are not created"
    );

    let no_barcode = ProductNew {
        name: name("Loose biscuits"),
        price: money(90),
        category_id: None,
        barcode: None,
        tax_ids: vec![],
        tracks_stock: false,
        on_hand: Quantity::ZERO,
    };
    let biscuits = ok(
        store.create_product(&no_barcode).await,
        "a product without barcode",
    );
    let crumbs = ok(
        store.create_product(&no_barcode).await,
        "a second product without barcode",
    );
    let scone = ok(
        store
            .create_product(&ProductNew {
                name: name("Scone"),
                barcode: Some(barcode("456")),
                category_id: Some(food.id),
                ..no_barcode.clone()
            })
            .await,
        "create a scone",
    );

    expect_conflict(
        store
            .update_product(
                scone.id,
                &ProductChanges {
                    barcode: Some(Some(barcode("123"))),
                    price: Some(money(1)),
                    ..ProductChanges::default()
                },
            )
            .await,
        "take tea's barcode",
    );
    let message = expect_invalid(
        store
            .update_product(
                scone.id,
                &ProductChanges {
                    category_id: Some(Some(CategoryId(MISSING_ID))),
                    ..ProductChanges::default()
                },
            )
            .await,
        "move the scone to an unknown category",
    );
    assert_eq!(message, format!("unknown category {MISSING_ID}"));
    expect_invalid(
        store
            .update_product(
                scone.id,
                &ProductChanges {
                    tax_ids: Some(vec![TaxId(MISSING_ID)]),
                    ..ProductChanges::default()
                },
            )
            .await,
        "tax the scone with an unknown tax",
    );
    assert_eq!(
        ok(store.get_product(scone.id).await, "get scone"),
        scone,
        "refused updates change nothing"
    );
    let same_barcode = ok(
        store
            .update_product(
                scone.id,
                &ProductChanges {
                    barcode: Some(Some(barcode("456"))),
                    ..ProductChanges::default()
                },
            )
            .await,
        "a product keeps its own barcode",
    );
    assert_eq!(same_barcode, scone);

    let tea = ok(
        store
            .update_product(
                tea.id,
                &ProductChanges {
                    name: Some(name("Green tea")),
                    price: Some(money(275)),
                    category_id: Some(None),
                    barcode: Some(None),
                    tax_ids: Some(vec![vat.id]),
                    tracks_stock: Some(false),
                    on_hand: Some(qty(-250)),
                },
            )
            .await,
        "change every field of tea",
    );
    assert_eq!(
        tea,
        Product {
            id: tea.id,
            name: name("Green tea"),
            price: money(275),
            category_id: None,
            barcode: None,
            tax_ids: vec![vat.id],
            tracks_stock: false,
            on_hand: qty(-250),
        }
    );
    let scone = ok(
        store
            .update_product(
                scone.id,
                &ProductChanges {
                    barcode: Some(Some(barcode("123"))),
                    ..ProductChanges::default()
                },
            )
            .await,
        "take the barcode tea let go of",
    );
    assert_eq!(scone.barcode, Some(barcode("123")));
    assert_eq!(scone.category_id, Some(food.id), "fields left out are kept");
    expect_not_found(
        store
            .update_product(ProductId(MISSING_ID), &ProductChanges::default())
            .await,
        "product",
        "update an unknown product",
    );
    expect_not_found(
        store.get_product(ProductId(MISSING_ID)).await,
        "product",
        "get an unknown product",
    );
    assert_eq!(
        ok(store.list_products().await, "list products"),
        vec![tea, biscuits, crumbs, scone],
        "products by id"
    );
}

/// Configs and the link matrix: two-way, never self, never transitive, and a
/// refused change changes nothing.
pub async fn configs_and_links<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let config_new = |config_name: &str, sync_with: Vec<ConfigId>| ConfigNew {
        name: name(config_name),
        sync_with,
        auto_share: false,
    };
    let c1 = ok(
        store.create_config(&config_new("Counter 1", vec![])).await,
        "create counter 1",
    );
    assert_eq!(
        (c1.sync_with.clone(), c1.auto_share, c1.open_session_id),
        (vec![], false, None)
    );
    let c2 = ok(
        store
            .create_config(&config_new("Counter 2", vec![c1.id]))
            .await,
        "create counter 2 linked to 1",
    );
    assert_eq!(c2.sync_with, vec![c1.id]);
    assert_eq!(
        sync_with(store, c1.id).await,
        vec![c2.id],
        "a link made at creation shows on both sides"
    );
    assert_links_symmetric(store).await;
    let c3 = ok(
        store.create_config(&config_new("Terrace", vec![])).await,
        "create the terrace",
    );

    let c3_after = ok(
        store.set_sync_with(c3.id, &[c2.id, c1.id]).await,
        "link the terrace to both",
    );
    assert_eq!(c3_after.sync_with, vec![c1.id, c2.id]);
    assert_eq!(sync_with(store, c1.id).await, vec![c2.id, c3.id]);
    assert_eq!(sync_with(store, c2.id).await, vec![c1.id, c3.id]);
    assert_links_symmetric(store).await;

    let c1_after = ok(
        store.set_sync_with(c1.id, &[c3.id]).await,
        "counter 1 drops counter 2",
    );
    assert_eq!(c1_after.sync_with, vec![c3.id]);
    assert_eq!(
        sync_with(store, c2.id).await,
        vec![c3.id],
        "a dropped link vanishes from both sides"
    );
    assert_eq!(
        sync_with(store, c3.id).await,
        vec![c1.id, c2.id],
        "other links are untouched"
    );
    assert_links_symmetric(store).await;
    let links = ok(store.load_links().await, "load links");
    assert!(links.are_linked(c1.id, c3.id) && links.are_linked(c3.id, c2.id));
    assert!(!links.are_linked(c1.id, c2.id), "links are not transitive");

    let before = ok(store.load_links().await, "load links");
    expect_invalid(
        store.set_sync_with(c1.id, &[c1.id, c2.id]).await,
        "a self-link",
    );
    assert_eq!(
        ok(store.load_links().await, "load links"),
        before,
        "a refused self-link changes nothing"
    );
    let message = expect_invalid(
        store
            .set_sync_with(c1.id, &[c2.id, ConfigId(MISSING_ID)])
            .await,
        "a link to an unknown config",
    );
    assert!(
        message.contains(&MISSING_ID.to_string()),
        "the answer names the unknown id: {message}"
    );
    assert_eq!(
        ok(store.load_links().await, "load links"),
        before,
        "a refused unknown id changes nothing"
    );
    expect_not_found(
        store.set_sync_with(ConfigId(MISSING_ID), &[]).await,
        "config",
        "relink an unknown config",
    );
    expect_invalid(
        store
            .create_config(&config_new("Ghost", vec![c1.id, ConfigId(MISSING_ID)]))
            .await,
        "create a config linked to an unknown one",
    );
    assert_eq!(
        ok(store.list_configs().await, "list configs").len(),
        3,
        "a refused config is not created"
    );
    assert_eq!(ok(store.load_links().await, "load links"), before);

    let c3_after = ok(
        store.set_sync_with(c3.id, &[]).await,
        "the terrace drops every link",
    );
    assert!(c3_after.sync_with.is_empty());
    assert!(sync_with(store, c1.id).await.is_empty());
    assert!(sync_with(store, c2.id).await.is_empty());
    assert_links_symmetric(store).await;
    let c2_after = ok(
        store.set_sync_with(c2.id, &[c1.id, c1.id]).await,
        "a repeated id links once",
    );
    assert_eq!(c2_after.sync_with, vec![c1.id]);
    assert_links_symmetric(store).await;

    let c1_renamed = ok(
        store
            .update_config(
                c1.id,
                &ConfigChanges {
                    name: Some(name("Bar")),
                    auto_share: Some(true),
                },
            )
            .await,
        "rename counter 1",
    );
    assert_eq!(
        (c1_renamed.name.as_str(), c1_renamed.auto_share),
        ("Bar", true)
    );
    assert_eq!(
        c1_renamed.sync_with,
        vec![c2.id],
        "an update keeps the links"
    );
    let c1_same = ok(
        store.update_config(c1.id, &ConfigChanges::default()).await,
        "an empty update",
    );
    assert_eq!(c1_same, c1_renamed);
    expect_not_found(
        store
            .update_config(ConfigId(MISSING_ID), &ConfigChanges::default())
            .await,
        "config",
        "update an unknown config",
    );
    expect_not_found(
        store.get_config(ConfigId(MISSING_ID)).await,
        "config",
        "get an unknown config",
    );

    let user = ok(
        store
            .create_user(&login("manager"), &name("Mia"), Role::Manager, "hash")
            .await,
        "create a manager",
    );
    let (session, _) = ok(
        store
            .open_or_join_session(c2.id, user.id, Money::ZERO, tick())
            .await,
        "open counter 2",
    );
    assert_eq!(
        ok(store.get_config(c2.id).await, "get counter 2").open_session_id,
        Some(session.id)
    );
    let configs = ok(store.list_configs().await, "list configs");
    assert_eq!(
        configs.iter().map(|config| config.id).collect::<Vec<_>>(),
        vec![c1.id, c2.id, c3.id],
        "configs by id"
    );
    assert_eq!(configs[1].open_session_id, Some(session.id));
    assert_eq!(configs[0].open_session_id, None);
    ok(
        store.close_session(session.id, None, tick()).await,
        "close counter 2",
    );
    assert_eq!(
        ok(store.get_config(c2.id).await, "get counter 2").open_session_id,
        None
    );
}

/// Sessions: open, join, close once, reopen as a new session.
pub async fn sessions<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let cashier = ok(
        store
            .create_user(&login("cathy"), &name("Cathy"), Role::Cashier, "hash")
            .await,
        "create a cashier",
    );
    let opened_at = tick();
    let (first, joined) = ok(
        store
            .open_or_join_session(shop.counter_1.id, shop.manager.id, money(10_000), opened_at)
            .await,
        "open counter 1",
    );
    assert!(!joined, "the first open opens");
    assert_eq!(
        first,
        Session {
            id: first.id,
            config_id: shop.counter_1.id,
            state: SessionState::Open,
            opened_at,
            closed_at: None,
            opened_by: shop.manager.id,
            opening_cash: money(10_000),
            counted_cash: None,
        }
    );
    let (again, joined) = ok(
        store
            .open_or_join_session(shop.counter_1.id, cashier.id, money(99), tick())
            .await,
        "open counter 1 again",
    );
    assert!(joined, "a second open joins");
    assert_eq!(again, first, "joining changes nothing about the session");
    let (other, joined) = ok(
        store
            .open_or_join_session(shop.counter_2.id, cashier.id, Money::ZERO, tick())
            .await,
        "open counter 2",
    );
    assert!(!joined);
    assert_ne!(other.id, first.id);
    assert_eq!(
        ok(store.get_session(first.id).await, "get the session"),
        first
    );
    expect_not_found(
        store.get_session(SessionId(MISSING_ID)).await,
        "session",
        "get an unknown session",
    );
    expect_not_found(
        store
            .open_or_join_session(ConfigId(MISSING_ID), cashier.id, Money::ZERO, tick())
            .await,
        "config",
        "open an unknown config",
    );
    expect_invalid(
        store
            .open_or_join_session(shop.counter_1.id, UserId(MISSING_ID), Money::ZERO, tick())
            .await,
        "open as an unknown user",
    );

    let closed_at = tick();
    let report = ok(
        store
            .close_session(first.id, Some(money(10_000)), closed_at)
            .await,
        "close counter 1",
    );
    assert_eq!(report.session.state, SessionState::Closed);
    assert_eq!(report.session.closed_at, Some(closed_at));
    assert_eq!(report.session.counted_cash, Some(money(10_000)));
    assert_eq!(
        ok(store.get_session(first.id).await, "get the closed session"),
        report.session
    );
    expect_conflict(
        store.close_session(first.id, None, tick()).await,
        "close a closed session",
    );
    assert_eq!(
        ok(store.get_session(first.id).await, "get the closed session"),
        report.session,
        "a refused close changes nothing"
    );
    expect_not_found(
        store
            .close_session(SessionId(MISSING_ID), None, tick())
            .await,
        "session",
        "close an unknown session",
    );
    expect_not_found(
        store.session_report(SessionId(MISSING_ID)).await,
        "session",
        "report an unknown session",
    );

    let (second, joined) = ok(
        store
            .open_or_join_session(shop.counter_1.id, cashier.id, money(500), tick())
            .await,
        "reopen counter 1",
    );
    assert!(!joined, "after a close, an open opens a new session");
    assert_ne!(second.id, first.id);
    assert_eq!(
        (second.opened_by, second.opening_cash),
        (cashier.id, money(500))
    );
    assert_eq!(
        ok(store.get_config(shop.counter_1.id).await, "get counter 1").open_session_id,
        Some(second.id)
    );

    let listed: Vec<SessionId> = ok(store.list_sessions().await, "list sessions")
        .into_iter()
        .map(|session| session.id)
        .collect();
    assert_eq!(
        listed,
        vec![second.id, other.id, first.id],
        "sessions newest first"
    );
}

/// Concurrent opens of one config make exactly one session; the others join it.
pub async fn concurrent_session_opens<S: Store + ?Sized>(store: Arc<S>) {
    let shop = open_shop(&*store).await;
    let config_id = shop.counter_1.id;
    let user_id = shop.manager.id;
    let now = tick();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .open_or_join_session(config_id, user_id, money(i * 100), now)
                    .await
            })
        })
        .collect();
    let mut opened = Vec::new();
    for task in tasks {
        let result = task.await.expect("an open task finished");
        opened.push(ok(result, "a concurrent open"));
    }
    let session_ids: BTreeSet<SessionId> = opened.iter().map(|(session, _)| session.id).collect();
    assert_eq!(
        session_ids.len(),
        1,
        "every concurrent open got the same session: {opened:?}"
    );
    let n_opened = opened.iter().filter(|(_, joined)| !joined).count();
    assert_eq!(
        n_opened, 1,
        "exactly one call opened, the others joined: {opened:?}"
    );
    let sessions = ok(store.list_sessions().await, "list sessions");
    assert_eq!(
        sessions
            .iter()
            .filter(|session| session.config_id == config_id)
            .count(),
        1
    );
}

/// commit_batch creates orders and advances versions; the history keeps every op in order.
pub async fn orders_commit_and_history<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let order_id = OrderId(next_uuid());
    assert_eq!(
        ok(
            store.get_order(order_id).await,
            "get an order not yet created"
        ),
        None
    );

    let create = till.decide(
        None,
        order_id,
        Op::Create {
            config_id: None,
            customer_id: Some(shop.customer.id),
            note: None,
            share: Some(true),
        },
    );
    ok(
        store.commit_batch(std::slice::from_ref(&create)).await,
        "commit a create",
    );
    let v1 = entry_order(&create).clone();
    assert_eq!(v1.version, 1);
    assert_eq!(
        ok(store.get_order(order_id).await, "get the new order"),
        Some(v1.clone())
    );

    // Two ops of one order in one batch: the second builds on the first.
    let line_id = LineId(next_uuid());
    let add = till.decide(
        Some(&v1),
        order_id,
        Op::AddLine {
            line_id,
            product_id: shop.coffee.id,
            qty: qty(1_000),
            unit_price: None,
            discount: None,
            note: None,
        },
    );
    let set_qty = till.decide(
        Some(entry_order(&add)),
        order_id,
        Op::SetQty {
            line_id,
            qty: qty(3_000),
        },
    );
    ok(
        store.commit_batch(&[add.clone(), set_qty.clone()]).await,
        "commit two ops of one order",
    );
    let v3 = entry_order(&set_qty).clone();
    assert_eq!(v3.version, 3);
    assert_eq!(
        ok(store.get_order(order_id).await, "get the order"),
        Some(v3.clone())
    );
    assert_eq!(v3.lines[0].qty, qty(3_000));

    let history = ok(store.order_history(order_id).await, "read the history");
    assert_eq!(
        history,
        vec![
            entry_history(&create).clone(),
            entry_history(&add).clone(),
            entry_history(&set_qty).clone()
        ],
        "the history holds every accepted op, in version order"
    );
    assert_eq!(
        history
            .iter()
            .map(|entry| entry.version)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        ok(
            store.find_op_outcome(entry_history(&add).op_id).await,
            "find an accepted op"
        ),
        Some(OpOutcome::Accepted {
            order_id,
            version: 2
        })
    );
    assert_eq!(
        ok(
            store.find_op_outcome(OpId(next_uuid())).await,
            "find an unknown op"
        ),
        None
    );
    assert!(
        ok(
            store.order_history(OrderId(next_uuid())).await,
            "history of an unknown order"
        )
        .is_empty()
    );
    ok(store.commit_batch(&[]).await, "an empty batch");
}

/// A batch with a version gap, a stale version or a reused op id leaves nothing behind.
pub async fn commit_batch_is_all_or_nothing<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let v1 = draft(store, &till, None, false, &[]).await;
    let order_id = v1.id;
    let create_op_id = ok(store.order_history(order_id).await, "history")[0].op_id;

    let to_v2 = till.decide(
        Some(&v1),
        order_id,
        Op::SetNote {
            note: Note::parse("no sugar").expect("a note"),
        },
    );
    let to_v3 = till.decide(Some(entry_order(&to_v2)), order_id, Op::Share {});
    let to_v4 = till.decide(Some(entry_order(&to_v3)), order_id, Op::Unshare {});
    let rejected_op_id = OpId(next_uuid());
    let reject = CommitEntry::Rejected {
        op_id: rejected_op_id,
        order_id,
        reject: Reject::new(RejectCode::Locked, "being paid at Counter 2"),
        at: tick(),
    };
    let other_order = till.decide(
        None,
        OrderId(next_uuid()),
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: None,
        },
    );

    let never_kept = [entry_history(&to_v2).op_id, rejected_op_id];
    let other_order_id = entry_order(&other_order).id;
    expect_conflict(
        store
            .commit_batch(&[
                other_order.clone(),
                reject.clone(),
                to_v2.clone(),
                to_v4.clone(),
            ])
            .await,
        "a batch that skips version 3",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a version gap",
    )
    .await;

    expect_conflict(
        store
            .commit_batch(&[other_order.clone(), reject.clone(), to_v3.clone()])
            .await,
        "version 3 on an order at version 1",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a version ahead of the order",
    )
    .await;

    let stale_create = till.decide(
        None,
        order_id,
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: None,
        },
    );
    expect_conflict(
        store
            .commit_batch(&[other_order.clone(), stale_create])
            .await,
        "a second version 1 of an existing order",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a stale version",
    )
    .await;

    // An accepted op whose op_id already has an answer would take effect twice.
    let CommitEntry::Accepted { order, entry } = to_v2.clone() else {
        panic!("an accepted entry");
    };
    let reused = CommitEntry::Accepted {
        order,
        entry: HistoryEntry {
            op_id: create_op_id,
            ..entry
        },
    };
    expect_conflict(
        store.commit_batch(&[other_order.clone(), reused]).await,
        "an accepted op that already has an answer",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a reused op id",
    )
    .await;

    // A new order starts at version 1.
    let mut late_start = other_order.clone();
    if let CommitEntry::Accepted { order, entry } = &mut late_start {
        order.version = 2;
        entry.version = 2;
    }
    expect_conflict(
        store.commit_batch(&[late_start]).await,
        "a new order at version 2",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a new order at version 2",
    )
    .await;

    let mut mismatched = to_v2.clone();
    if let CommitEntry::Accepted { entry, .. } = &mut mismatched {
        entry.version = 3;
    }
    expect_invalid(
        store.commit_batch(&[mismatched]).await,
        "an order and its history entry that disagree on the version",
    );
    assert_untouched(
        store,
        &v1,
        &never_kept,
        other_order_id,
        "after a mismatched entry",
    )
    .await;

    // The store still takes the right batch afterwards.
    ok(
        store
            .commit_batch(&[
                to_v2.clone(),
                to_v3.clone(),
                reject.clone(),
                to_v4.clone(),
                other_order.clone(),
            ])
            .await,
        "the batch without its mistakes",
    );
    assert_eq!(
        ok(store.get_order(order_id).await, "get the order"),
        Some(entry_order(&to_v4).clone())
    );
    assert_eq!(ok(store.order_history(order_id).await, "history").len(), 4);
    assert_eq!(
        ok(
            store.get_order(entry_order(&other_order).id).await,
            "get the other order"
        ),
        Some(entry_order(&other_order).clone())
    );
}

/// After a refused batch: the order as it was, no new history, no outcomes, no other order.
async fn assert_untouched<S: Store + ?Sized>(
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

/// Outcomes are kept for accepted and rejected ops; the first answer wins.
pub async fn op_outcomes<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let order = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;

    let rejected_op_id = OpId(next_uuid());
    let locked = Reject::new(RejectCode::Locked, "being paid at Counter 2");
    let reject = |reject: Reject| CommitEntry::Rejected {
        op_id: rejected_op_id,
        order_id: order.id,
        reject,
        at: tick(),
    };
    ok(
        store.commit_batch(&[reject(locked.clone())]).await,
        "commit a reject",
    );
    let first_answer = Some(OpOutcome::Rejected {
        order_id: order.id,
        reject: locked.clone(),
    });
    assert_eq!(
        ok(
            store.find_op_outcome(rejected_op_id).await,
            "find the reject"
        ),
        first_answer
    );
    ok(
        store
            .commit_batch(&[reject(Reject::new(
                RejectCode::Paid,
                "this order is already paid",
            ))])
            .await,
        "commit a second reject of the same op",
    );
    assert_eq!(
        ok(
            store.find_op_outcome(rejected_op_id).await,
            "find the reject"
        ),
        first_answer,
        "the first answer is kept"
    );

    // A reject may name an order that never came to exist.
    let ghost_order_id = OrderId(next_uuid());
    let ghost_op_id = OpId(next_uuid());
    let not_found = Reject::new(RejectCode::NotFound, "no such order");
    ok(
        store
            .commit_batch(&[CommitEntry::Rejected {
                op_id: ghost_op_id,
                order_id: ghost_order_id,
                reject: not_found.clone(),
                at: tick(),
            }])
            .await,
        "reject an op on an unknown order",
    );
    assert_eq!(
        ok(store.find_op_outcome(ghost_op_id).await, "find the reject"),
        Some(OpOutcome::Rejected {
            order_id: ghost_order_id,
            reject: not_found,
        })
    );

    // Accepted and rejected entries side by side in one batch.
    let cancel = till.decide(Some(&order), order.id, Op::Cancel { reason: None });
    let late_op_id = OpId(next_uuid());
    let late = CommitEntry::Rejected {
        op_id: late_op_id,
        order_id: order.id,
        reject: Reject::new(RejectCode::Cancelled, "this order was cancelled"),
        at: tick(),
    };
    ok(
        store.commit_batch(&[cancel.clone(), late]).await,
        "commit an accept and a reject",
    );
    assert_eq!(
        ok(
            store.find_op_outcome(entry_history(&cancel).op_id).await,
            "find the accept"
        ),
        Some(OpOutcome::Accepted {
            order_id: order.id,
            version: order.version + 1,
        })
    );
    assert!(matches!(
        ok(store.find_op_outcome(late_op_id).await, "find the reject"),
        Some(OpOutcome::Rejected { reject, .. }) if reject.code == RejectCode::Cancelled
    ));
    // A reject of an op that was accepted does not replace the accept.
    ok(
        store
            .commit_batch(&[CommitEntry::Rejected {
                op_id: entry_history(&cancel).op_id,
                order_id: order.id,
                reject: Reject::new(RejectCode::Cancelled, "this order was cancelled"),
                at: tick(),
            }])
            .await,
        "reject an accepted op",
    );
    assert!(matches!(
        ok(
            store.find_op_outcome(entry_history(&cancel).op_id).await,
            "find the accept"
        ),
        Some(OpOutcome::Accepted { .. })
    ));
}

/// Paying writes payments, stock moves of tracked products, on-hand counts and invoices.
pub async fn payment_effects<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    assert_eq!(ok(store.list_invoices().await, "list invoices"), vec![]);

    // 2 coffees (250 + 21% VAT = 302.5 each, 605 together) and a cake (400).
    let order = draft(
        store,
        &till,
        Some(shop.customer.id),
        false,
        &[(shop.coffee.id, 2_000, 0), (shop.cake.id, 1_000, 0)],
    )
    .await;
    assert_eq!(order.totals.total, money(1_005));
    let paid = pay(store, &till, &order, &[(shop.cash.id, 2_000)], true).await;
    assert_eq!(paid.state, OrderState::Paid);
    assert_eq!(paid.change, money(995));
    assert_eq!(
        ok(store.get_order(paid.id).await, "get the paid order"),
        Some(paid.clone())
    );
    let paid_at = entry_history_at(store, paid.id).await;

    assert_eq!(
        ok(store.list_stock_moves(shop.coffee.id).await, "coffee moves"),
        vec![StockMove {
            product_id: shop.coffee.id,
            order_id: paid.id,
            qty: qty(-2_000),
            at: paid_at,
        }]
    );
    assert_eq!(
        ok(store.list_stock_moves(shop.cake.id).await, "cake moves"),
        vec![],
        "cake is not tracked"
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(8_000)
    );
    assert_eq!(
        ok(store.get_product(shop.cake.id).await, "get cake").on_hand,
        Quantity::ZERO
    );
    assert_eq!(
        ok(store.list_invoices().await, "list invoices"),
        vec![Invoice {
            number: 1,
            order_id: paid.id,
            customer_id: shop.customer.id,
            total: money(1_005),
            at: paid_at,
        }]
    );
    let report = ok(store.session_report(till.by.session_id).await, "report");
    assert_eq!(
        report.payments,
        vec![PaymentTotal {
            method_id: shop.cash.id,
            name: shop.cash.name.clone(),
            kind: PaymentMethodKind::Cash,
            amount: money(2_000),
        }]
    );

    // Half a coffee, no invoice: stock moves in thousandths, no invoice row.
    let half = draft(store, &till, None, false, &[(shop.coffee.id, 500, 0)]).await;
    let half = pay(
        store,
        &till,
        &half,
        &[(shop.card.id, half.totals.total.minor())],
        false,
    )
    .await;
    // A returned coffee, refunded in cash, brings one back.
    let refund = draft(store, &till, None, false, &[(shop.coffee.id, -1_000, 0)]).await;
    assert_eq!(refund.totals.total, money(-303));
    let refund = pay(store, &till, &refund, &[(shop.cash.id, -303)], false).await;

    let moves: Vec<(OrderId, Quantity)> =
        ok(store.list_stock_moves(shop.coffee.id).await, "coffee moves")
            .into_iter()
            .map(|stock_move| (stock_move.order_id, stock_move.qty))
            .collect();
    assert_eq!(
        moves,
        vec![
            (paid.id, qty(-2_000)),
            (half.id, qty(-500)),
            (refund.id, qty(1_000))
        ],
        "moves oldest first, negative when goods leave"
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(8_500)
    );
    assert_eq!(
        ok(store.list_invoices().await, "list invoices").len(),
        1,
        "no invoice unless asked"
    );
    expect_not_found(
        store.list_stock_moves(ProductId(MISSING_ID)).await,
        "product",
        "moves of an unknown product",
    );

    // An op on a paid order (here: one the engine would never accept) does not pay twice.
    let mut after_paid = paid.clone();
    after_paid.version += 1;
    let entry = HistoryEntry {
        version: after_paid.version,
        op_id: OpId(next_uuid()),
        op: Op::SetNote {
            note: Note::default(),
        },
        by: till.by.clone(),
        at: tick(),
    };
    ok(
        store
            .commit_batch(&[CommitEntry::Accepted {
                order: after_paid,
                entry,
            }])
            .await,
        "a later version of a paid order",
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(8_500)
    );
    assert_eq!(ok(store.list_invoices().await, "list invoices").len(), 1);
    let report = ok(store.session_report(till.by.session_id).await, "report");
    assert_eq!(report.orders_paid, 3);
    let amounts: Vec<(PaymentMethodId, Money)> = report
        .payments
        .iter()
        .map(|total| (total.method_id, total.amount))
        .collect();
    assert_eq!(
        amounts,
        vec![
            (shop.cash.id, money(2_000 - 303)),
            (shop.card.id, half.totals.total)
        ],
        "payments are written once, refunds as negative amounts"
    );
    assert_eq!(report.cash.payments, money(2_000 - 303));
    assert_eq!(
        report.cash.change_given,
        money(995),
        "a refund gives no change"
    );
    assert_eq!(
        report.sales_total,
        money(1_005 - 303 + half.totals.total.minor())
    );
}

/// The time of the last op of an order, which is when its payment was recorded.
async fn entry_history_at<S: Store + ?Sized>(store: &S, order_id: OrderId) -> Timestamp {
    let history = ok(store.order_history(order_id).await, "history");
    history.last().expect("an order has history").at
}

/// The session report, checked against numbers worked out by hand.
pub async fn session_report<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till_1 = open_till(store, &shop, &shop.counter_1, 5_000).await;
    let till_2 = open_till(store, &shop, &shop.counter_2, 0).await;
    let session_1 = till_1.by.session_id;
    let session_2 = till_2.by.session_id;

    let empty = ok(
        store.session_report(session_1).await,
        "report of a session without sales",
    );
    assert_eq!(
        (empty.orders_paid, empty.sales_total, empty.tax_total),
        (0, Money::ZERO, Money::ZERO)
    );
    assert!(empty.payments.is_empty());
    assert_eq!(empty.cash.expected, money(5_000));

    // A: 2 coffees (500 + 105 VAT) and a cake (400): 1,005, paid 2,000 in cash, 995 change.
    let a = draft(
        store,
        &till_1,
        Some(shop.customer.id),
        false,
        &[(shop.coffee.id, 2_000, 0), (shop.cake.id, 1_000, 0)],
    )
    .await;
    assert_eq!((a.totals.total, a.totals.tax), (money(1_005), money(105)));
    pay(store, &till_1, &a, &[(shop.cash.id, 2_000)], true).await;
    // B: 1.5 coffees at 10% off: 375 -> 337.5 -> 338, VAT 70.98 -> 71: 409, by card.
    let b = draft(
        store,
        &till_1,
        None,
        false,
        &[(shop.coffee.id, 1_500, 1_000)],
    )
    .await;
    assert_eq!((b.totals.total, b.totals.tax), (money(409), money(71)));
    pay(store, &till_1, &b, &[(shop.card.id, 409)], false).await;
    // C: a cake drafted at counter 2, shared, paid at counter 1: 100 card + 500 cash, 200 change.
    let c = draft(store, &till_2, None, true, &[(shop.cake.id, 1_000, 0)]).await;
    pay(
        store,
        &till_1,
        &c,
        &[(shop.card.id, 100), (shop.cash.id, 500)],
        false,
    )
    .await;
    // D: a cake paid at counter 2 in cash: it belongs to session 2's report.
    let d = draft(store, &till_2, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    pay(store, &till_2, &d, &[(shop.cash.id, 400)], false).await;
    // E stays a draft and F is cancelled: neither counts.
    draft(store, &till_1, None, false, &[(shop.coffee.id, 1_000, 0)]).await;
    let f = draft(store, &till_1, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    commit_op(store, &till_1, Some(&f), f.id, Op::Cancel { reason: None }).await;

    let expected_payments = vec![
        PaymentTotal {
            method_id: shop.cash.id,
            name: shop.cash.name.clone(),
            kind: PaymentMethodKind::Cash,
            amount: money(2_500),
        },
        PaymentTotal {
            method_id: shop.card.id,
            name: shop.card.name.clone(),
            kind: PaymentMethodKind::Card,
            amount: money(509),
        },
    ];
    assert!(shop.cash.id < shop.card.id && shop.card.id < shop.voucher.id);
    let report = ok(store.session_report(session_1).await, "report of session 1");
    assert_eq!(
        report.session,
        ok(store.get_session(session_1).await, "get session 1")
    );
    assert_eq!(report.orders_paid, 3, "A, B and C were paid at counter 1");
    assert_eq!(report.sales_total, money(1_005 + 409 + 400));
    assert_eq!(report.tax_total, money(105 + 71));
    assert_eq!(
        report.payments, expected_payments,
        "by method id, only methods used"
    );
    assert_eq!(
        report.cash,
        CashSummary {
            opening: money(5_000),
            payments: money(2_500),
            change_given: money(995 + 200),
            expected: money(5_000 + 2_500 - 1_195),
            counted: None,
            difference: None,
        }
    );

    let closed = ok(
        store
            .close_session(session_1, Some(money(6_300)), tick())
            .await,
        "close session 1",
    );
    assert_eq!(closed.session.state, SessionState::Closed);
    assert_eq!(
        (closed.orders_paid, closed.sales_total, closed.tax_total),
        (3, money(1_814), money(176))
    );
    assert_eq!(closed.payments, expected_payments);
    assert_eq!(closed.cash.expected, money(6_305));
    assert_eq!(closed.cash.counted, Some(money(6_300)));
    assert_eq!(closed.cash.difference, Some(money(-5)), "five short");
    assert_eq!(
        ok(
            store.session_report(session_1).await,
            "report after closing"
        ),
        closed
    );

    let report_2 = ok(store.session_report(session_2).await, "report of session 2");
    assert_eq!(
        (
            report_2.orders_paid,
            report_2.sales_total,
            report_2.tax_total
        ),
        (1, money(400), Money::ZERO)
    );
    assert_eq!(
        report_2.payments,
        vec![PaymentTotal {
            method_id: shop.cash.id,
            name: shop.cash.name.clone(),
            kind: PaymentMethodKind::Cash,
            amount: money(400),
        }]
    );
    assert_eq!(
        report_2.cash,
        CashSummary {
            opening: Money::ZERO,
            payments: money(400),
            change_given: Money::ZERO,
            expected: money(400),
            counted: None,
            difference: None,
        }
    );
}

/// list_orders answers the orders in one state, oldest first.
pub async fn list_orders_by_state<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let o1 = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let o2 = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let o3 = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let o4 = draft(store, &till, None, false, &[]).await;
    let o2 = pay(store, &till, &o2, &[(shop.cash.id, 400)], false).await;
    let o3 = commit_op(store, &till, Some(&o3), o3.id, Op::Cancel { reason: None }).await;
    // The oldest draft changes last: the order of the list stays by creation.
    let o1 = commit_op(store, &till, Some(&o1), o1.id, Op::Share {}).await;

    assert_eq!(
        ok(store.list_orders(OrderState::Draft).await, "drafts"),
        vec![o1, o4]
    );
    assert_eq!(
        ok(store.list_orders(OrderState::Paid).await, "paid"),
        vec![o2]
    );
    assert_eq!(
        ok(store.list_orders(OrderState::Cancelled).await, "cancelled"),
        vec![o3]
    );
}

/// The ops of one order as a batch is built: every state it goes through and
/// every history entry it gets, in version order.
struct OrderOps {
    order_id: OrderId,
    states: Vec<Order>,
    entries: Vec<HistoryEntry>,
}

impl OrderOps {
    fn new(order_id: OrderId, current: Option<Order>) -> OrderOps {
        OrderOps {
            order_id,
            states: current.into_iter().collect(),
            entries: Vec::new(),
        }
    }

    fn last(&self) -> &Order {
        self.states.last().expect("the order has a state")
    }

    /// Decides `op` on the order's latest state and appends the entry to `batch`.
    fn push(&mut self, till: &Till, op: Op, batch: &mut Vec<CommitEntry>) {
        let entry = till.decide(self.states.last(), self.order_id, op);
        self.states.push(entry_order(&entry).clone());
        self.entries.push(entry_history(&entry).clone());
        batch.push(entry);
    }
}

fn note(text: &str) -> Note {
    Note::parse(text).expect("a valid note literal")
}

/// What a refused batch must leave as it was.
#[derive(Debug, PartialEq)]
struct StoreSnapshot {
    orders: Vec<(Option<Order>, Vec<HistoryEntry>)>,
    coffee: Product,
    coffee_moves: Vec<StockMove>,
    invoices: Vec<Invoice>,
    report: SessionReport,
}

async fn snapshot<S: Store + ?Sized>(
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

fn entry_op_id(entry: &CommitEntry) -> OpId {
    match entry {
        CommitEntry::Accepted { entry, .. } => entry.op_id,
        CommitEntry::Rejected { op_id, .. } => *op_id,
    }
}

/// One batch of many interleaved ops on several orders (more than one
/// multi-row INSERT holds) lands as if each op were committed on its own:
/// every order at its last state, every op in the history once with its
/// answer, a payment in the middle of the batch recorded once; and a batch
/// whose versions do not follow the store's, or each other, changes nothing.
pub async fn group_commits_of_many_ops<S: Store + ?Sized>(store: Arc<S>) {
    let store = &*store;
    let shop = open_shop(store).await;
    let till = open_till(store, &shop, &shop.counter_1, 0).await;
    let session_id = till.by.session_id;

    // Before the batch: order A exists (versions 1 and 2), and op R was rejected once.
    let a_before = draft(store, &till, None, false, &[(shop.cake.id, 1_000, 0)]).await;
    let a_history_before = ok(store.order_history(a_before.id).await, "history of A");
    assert_eq!(a_history_before.len(), 2);
    let a_create_op_id = a_history_before[0].op_id;
    let rejected_op_id = OpId(next_uuid());
    let locked = Reject::new(RejectCode::Locked, "being paid at Counter 2");
    ok(
        store
            .commit_batch(&[CommitEntry::Rejected {
                op_id: rejected_op_id,
                order_id: a_before.id,
                reject: locked.clone(),
                at: tick(),
            }])
            .await,
        "reject an op before the batch",
    );

    // A gets 70 ops (a coffee line, then notes and quantities), B is created
    // and gets 33 ops in all, C is created, edited and paid with an invoice
    // in the middle of the batch; rejects are mixed in.
    const A_OPS: usize = 70;
    const B_OPS: usize = 33;
    let mut a = OrderOps::new(a_before.id, Some(a_before.clone()));
    let mut b = OrderOps::new(OrderId(next_uuid()), None);
    let mut c = OrderOps::new(OrderId(next_uuid()), None);
    let a_line = LineId(next_uuid());
    let b_line = LineId(next_uuid());
    let c_coffee = LineId(next_uuid());
    let c_cake = LineId(next_uuid());
    let new_reject_op_id = OpId(next_uuid());
    let stale = Reject::new(RejectCode::Stale, "the line was changed meanwhile");
    let mut batch = Vec::new();
    let (mut a_done, mut b_done, mut c_done) = (0, 0, 0);
    let mut step = 0;
    while a_done < A_OPS {
        if step % 2 == 0 && b_done < B_OPS {
            let op = match b_done {
                0 => Op::Create {
                    config_id: None,
                    customer_id: None,
                    note: None,
                    share: Some(true),
                },
                1 => Op::AddLine {
                    line_id: b_line,
                    product_id: shop.cake.id,
                    qty: qty(1_000),
                    unit_price: None,
                    discount: None,
                    note: None,
                },
                k if k % 2 == 0 => Op::SetQty {
                    line_id: b_line,
                    qty: qty(1_000 * i64::try_from(k).expect("a small count")),
                },
                k => Op::SetNote {
                    note: note(&format!("B note {k}")),
                },
            };
            b.push(&till, op, &mut batch);
            b_done += 1;
        }
        let op = match a_done {
            0 => Op::AddLine {
                line_id: a_line,
                product_id: shop.coffee.id,
                qty: qty(1_000),
                unit_price: None,
                discount: None,
                note: None,
            },
            k if k % 3 == 0 => Op::SetNote {
                note: note(&format!("A note {k}")),
            },
            _ => Op::AddQty {
                line_id: a_line,
                delta: qty(500),
            },
        };
        a.push(&till, op, &mut batch);
        a_done += 1;
        if step % 7 == 3 && c_done < 6 {
            let op = match c_done {
                0 => Op::Create {
                    config_id: None,
                    customer_id: Some(shop.customer.id),
                    note: None,
                    share: None,
                },
                1 => Op::AddLine {
                    line_id: c_coffee,
                    product_id: shop.coffee.id,
                    qty: qty(1_000),
                    unit_price: None,
                    discount: None,
                    note: None,
                },
                2 => Op::AddLine {
                    line_id: c_cake,
                    product_id: shop.cake.id,
                    qty: qty(1_000),
                    unit_price: None,
                    discount: None,
                    note: None,
                },
                3 => Op::SetQty {
                    line_id: c_coffee,
                    qty: qty(2_000),
                },
                4 => Op::SetNote {
                    note: note("for Carla"),
                },
                _ => Op::Pay {
                    payments: vec![PaymentInput {
                        method_id: shop.cash.id,
                        amount: money(2_000),
                    }],
                    expected_total: c.last().totals.total,
                    invoice: Some(true),
                },
            };
            c.push(&till, op, &mut batch);
            c_done += 1;
        }
        // Rejects: R again (its first answer stands), a new one, and one of
        // an op accepted before the batch (its accept stands).
        match step {
            20 => batch.push(CommitEntry::Rejected {
                op_id: rejected_op_id,
                order_id: a.order_id,
                reject: Reject::new(RejectCode::Paid, "this order is already paid"),
                at: tick(),
            }),
            40 => batch.push(CommitEntry::Rejected {
                op_id: new_reject_op_id,
                order_id: b.order_id,
                reject: stale.clone(),
                at: tick(),
            }),
            50 => batch.push(CommitEntry::Rejected {
                op_id: a_create_op_id,
                order_id: a.order_id,
                reject: Reject::new(RejectCode::Exists, "this order exists"),
                at: tick(),
            }),
            _ => {}
        }
        step += 1;
    }
    // The batch is what the test means it to be: C paid mid-batch, then ops of A and B.
    assert_eq!(
        (a.entries.len(), b.entries.len(), c.entries.len()),
        (A_OPS, B_OPS, 6)
    );
    assert_eq!(batch.len(), A_OPS + B_OPS + 6 + 3);
    let c_paid = c.last().clone();
    assert_eq!(c_paid.state, OrderState::Paid);
    assert_eq!(
        (c_paid.totals.total, c_paid.totals.tax, c_paid.change),
        (money(1_005), money(105), money(995))
    );
    let c_pay_entry = c.entries.last().expect("C has entries").clone();
    let c_pay_position = batch
        .iter()
        .position(|entry| entry_op_id(entry) == c_pay_entry.op_id)
        .expect("C's pay is in the batch");
    let orders_after_pay: BTreeSet<OrderId> = batch[c_pay_position + 1..]
        .iter()
        .filter_map(|entry| match entry {
            CommitEntry::Accepted { order, .. } => Some(order.id),
            CommitEntry::Rejected { .. } => None,
        })
        .collect();
    assert_eq!(
        orders_after_pay,
        BTreeSet::from([a.order_id, b.order_id]),
        "C is paid in the middle of the batch: ops of A and B follow, none of C"
    );

    ok(store.commit_batch(&batch).await, "commit the big batch");

    // (1) Every order at its last version and state; every op in its history once.
    let runs = [
        ("A", &a, a_history_before.clone()),
        ("B", &b, Vec::new()),
        ("C", &c, Vec::new()),
    ];
    for (label, run, history_before) in &runs {
        let stored = ok(store.get_order(run.order_id).await, "get an order")
            .unwrap_or_else(|| panic!("order {label} exists after the batch"));
        let expected_version =
            u64::try_from(history_before.len() + run.entries.len()).expect("a small count");
        assert_eq!(
            stored.version, expected_version,
            "order {label} is at the version of its last op"
        );
        assert_eq!(
            &stored,
            run.last(),
            "order {label} holds the state of its last op in the batch"
        );
        let expected: Vec<HistoryEntry> =
            history_before.iter().chain(&run.entries).cloned().collect();
        let history = ok(store.order_history(run.order_id).await, "read a history");
        assert_eq!(
            history
                .iter()
                .map(|entry| (entry.version, entry.op_id))
                .collect::<Vec<_>>(),
            (1..=expected_version)
                .zip(expected.iter().map(|entry| entry.op_id))
                .collect::<Vec<_>>(),
            "the history of order {label} holds every op once, in version order"
        );
        assert_eq!(
            history, expected,
            "the history of order {label} holds each op as committed"
        );
    }
    assert_eq!(
        ok(store.list_orders(OrderState::Draft).await, "drafts"),
        vec![a.last().clone(), b.last().clone()]
    );
    assert_eq!(
        ok(store.list_orders(OrderState::Paid).await, "paid"),
        vec![c_paid.clone()]
    );

    // (2) C, created, edited and paid within the batch, is paid exactly once.
    assert_eq!(
        ok(store.list_stock_moves(shop.coffee.id).await, "coffee moves"),
        vec![StockMove {
            product_id: shop.coffee.id,
            order_id: c.order_id,
            qty: qty(-2_000),
            at: c_pay_entry.at,
        }],
        "one stock move, for the paid order only (A's coffee is still a draft)"
    );
    assert_eq!(
        ok(store.list_stock_moves(shop.cake.id).await, "cake moves"),
        vec![],
        "cake is not tracked"
    );
    assert_eq!(
        ok(store.get_product(shop.coffee.id).await, "get coffee").on_hand,
        qty(10_000 - 2_000),
        "on hand goes down once"
    );
    assert_eq!(
        ok(store.list_invoices().await, "list invoices"),
        vec![Invoice {
            number: 1,
            order_id: c.order_id,
            customer_id: shop.customer.id,
            total: money(1_005),
            at: c_pay_entry.at,
        }],
        "one invoice"
    );
    let report = ok(store.session_report(session_id).await, "report");
    assert_eq!(
        (report.orders_paid, report.sales_total, report.tax_total),
        (1, money(1_005), money(105)),
        "the report counts C once"
    );
    assert_eq!(
        report.payments,
        vec![PaymentTotal {
            method_id: shop.cash.id,
            name: shop.cash.name.clone(),
            kind: PaymentMethodKind::Cash,
            amount: money(2_000),
        }],
        "one payment"
    );
    assert_eq!(
        report.cash,
        CashSummary {
            opening: Money::ZERO,
            payments: money(2_000),
            change_given: money(995),
            expected: money(1_005),
            counted: None,
            difference: None,
        }
    );

    // (3) Every accepted op has its answer; every reject keeps the first answer.
    for (label, run, _) in &runs {
        for entry in &run.entries {
            assert_eq!(
                ok(store.find_op_outcome(entry.op_id).await, "find an outcome"),
                Some(OpOutcome::Accepted {
                    order_id: run.order_id,
                    version: entry.version,
                }),
                "the answer to op {} of order {label}",
                entry.version
            );
        }
    }
    assert_eq!(
        ok(store.find_op_outcome(rejected_op_id).await, "find R"),
        Some(OpOutcome::Rejected {
            order_id: a.order_id,
            reject: locked,
        }),
        "a reject rejected again in the batch keeps its first answer"
    );
    assert_eq!(
        ok(
            store.find_op_outcome(new_reject_op_id).await,
            "find a reject"
        ),
        Some(OpOutcome::Rejected {
            order_id: b.order_id,
            reject: stale,
        }),
        "a new reject in the batch is answered"
    );
    assert_eq!(
        ok(
            store.find_op_outcome(a_create_op_id).await,
            "find A's create"
        ),
        Some(OpOutcome::Accepted {
            order_id: a.order_id,
            version: 1,
        }),
        "a reject of an op accepted earlier keeps the accept"
    );

    // Later batches, valid but for one thing each.
    let a_last = a.last().clone();
    let b_last = b.last().clone();
    let a_prev = a.states[a.states.len() - 2].clone();
    let b_prev = b.states[b.states.len() - 2].clone();
    let set_note = |text: &str| Op::SetNote { note: note(text) };
    let create = || Op::Create {
        config_id: None,
        customer_id: None,
        note: None,
        share: None,
    };
    let a1 = till.decide(Some(&a_last), a.order_id, set_note("A later 1"));
    let a2 = till.decide(Some(entry_order(&a1)), a.order_id, set_note("A later 2"));
    let a1_twin = till.decide(Some(&a_last), a.order_id, set_note("A twin"));
    let a_again = till.decide(Some(&a_prev), a.order_id, set_note("A again"));
    let a_again_next = till.decide(
        Some(entry_order(&a_again)),
        a.order_id,
        set_note("A again 2"),
    );
    let b1 = till.decide(Some(&b_last), b.order_id, set_note("B later 1"));
    let b2 = till.decide(Some(entry_order(&b1)), b.order_id, set_note("B later 2"));
    let b3 = till.decide(Some(entry_order(&b2)), b.order_id, set_note("B later 3"));
    let b_again = till.decide(Some(&b_prev), b.order_id, set_note("B again"));
    let b_again_next = till.decide(
        Some(entry_order(&b_again)),
        b.order_id,
        set_note("B again 2"),
    );
    let d_id = OrderId(next_uuid());
    let e_id = OrderId(next_uuid());
    let d1 = till.decide(None, d_id, create());
    let d2 = till.decide(Some(entry_order(&d1)), d_id, set_note("D 2"));
    let d3 = till.decide(Some(entry_order(&d2)), d_id, set_note("D 3"));
    let e1 = till.decide(None, e_id, create());
    let fresh_reject = || CommitEntry::Rejected {
        op_id: OpId(next_uuid()),
        order_id: a.order_id,
        reject: Reject::new(RejectCode::Locked, "being paid at Counter 2"),
        at: tick(),
    };
    assert_eq!(entry_order(&a_again).version, a_last.version);
    assert_eq!(entry_order(&b_again).version, b_last.version);

    let refused: Vec<(&str, Vec<CommitEntry>)> = vec![
        // (4) The first entry of an order skips a version, or repeats the last one.
        (
            "A's first entry skips a version",
            vec![d1.clone(), b1.clone(), a2.clone(), fresh_reject()],
        ),
        (
            "B's first entry skips a version",
            vec![a1.clone(), b2.clone(), b3.clone(), d1.clone()],
        ),
        (
            "A's first entry repeats its last version",
            vec![
                b1.clone(),
                d1.clone(),
                a_again.clone(),
                a_again_next.clone(),
            ],
        ),
        (
            "B's first entry repeats its last version",
            vec![
                a1.clone(),
                fresh_reject(),
                b_again.clone(),
                b_again_next.clone(),
                d1.clone(),
            ],
        ),
        // (5) One order's entries are not contiguous within the batch.
        (
            "B skips a version inside the batch",
            vec![
                d1.clone(),
                a1.clone(),
                b1.clone(),
                d2.clone(),
                fresh_reject(),
                b3.clone(),
                e1.clone(),
            ],
        ),
        (
            "A repeats a version inside the batch",
            vec![a1.clone(), b1.clone(), e1.clone(), a1_twin.clone()],
        ),
        (
            "new order D skips version 2 inside the batch",
            vec![d1.clone(), a1.clone(), d3.clone(), b1.clone()],
        ),
    ];
    let order_ids = [a.order_id, b.order_id, c.order_id, d_id, e_id];
    for (what, refused_batch) in &refused {
        let before = snapshot(store, &shop, session_id, &order_ids).await;
        expect_conflict(store.commit_batch(refused_batch).await, what);
        let after = snapshot(store, &shop, session_id, &order_ids).await;
        assert_eq!(after, before, "{what}: the refused batch changes nothing");
        assert_eq!(
            (after.orders[3].0.as_ref(), after.orders[4].0.as_ref()),
            (None, None),
            "{what}: no new order was created"
        );
        for entry in refused_batch {
            assert_eq!(
                ok(
                    store.find_op_outcome(entry_op_id(entry)).await,
                    "find an outcome"
                ),
                None,
                "{what}: no op of the refused batch has an answer"
            );
        }
    }

    // The same entries in the right order are taken: each refusal above was for its flaw.
    let later = [
        d1.clone(),
        a1.clone(),
        b1.clone(),
        d2.clone(),
        a2.clone(),
        b2.clone(),
        b3.clone(),
        d3.clone(),
        e1.clone(),
    ];
    ok(
        store.commit_batch(&later).await,
        "the later batch without flaws",
    );
    for (order_id, last, version) in [
        (a.order_id, &a2, a_last.version + 2),
        (b.order_id, &b3, b_last.version + 3),
        (d_id, &d3, 3),
        (e_id, &e1, 1),
    ] {
        assert_eq!(entry_order(last).version, version);
        assert_eq!(
            ok(store.get_order(order_id).await, "get an order"),
            Some(entry_order(last).clone())
        );
        assert_eq!(
            ok(store.order_history(order_id).await, "history")
                .iter()
                .map(|entry| entry.version)
                .collect::<Vec<_>>(),
            (1..=version).collect::<Vec<_>>()
        );
    }
    assert_eq!(
        ok(store.get_order(c.order_id).await, "get C"),
        Some(c_paid),
        "C is untouched"
    );
}
