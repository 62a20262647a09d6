//! `--demo`: a believable café-shop, seeded once into an empty database.
//!
//! Prices include tax, as in a European café: 10% on food and non-alcoholic drinks,
//! 21% on alcohol and retail goods. Barcodes are valid EAN-13 numbers. Counter 1 and
//! Counter 2 are linked; the Bar is not, so the demo shows both cases.

use anyhow::{Context, Result, anyhow};
use possync_core::*;
use possync_store::{Store, UserEdit};

pub const DEMO_MANAGER: (&str, &str) = ("admin", "admin");
pub const DEMO_CASHIER: (&str, &str) = ("cashier", "cashier");

/// What `--demo` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoOutcome {
    Seeded {
        n_products: usize,
        n_customers: usize,
        /// The counters, by name and config id (what `possync order --config` takes).
        counters: Vec<(String, ConfigId)>,
    },
    KeptExistingData,
}

impl DemoOutcome {
    /// The lines printed at start.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = match self {
            DemoOutcome::Seeded {
                n_products,
                n_customers,
                counters,
            } => {
                let counters: Vec<String> = counters
                    .iter()
                    .map(|(name, id)| format!("{name} (config {})", id.0))
                    .collect();
                vec![format!(
                    "Demo shop created: {n_products} products, {n_customers} customers, counters {}; Counter 1 and Counter 2 are linked.",
                    counters.join(", ")
                )]
            }
            DemoOutcome::KeptExistingData => vec![String::from(
                "Demo data not loaded: the database already has data, and it is kept as it is.",
            )],
        };
        lines.push(format!(
            "Demo logins: {} / {} (manager), {} / {} (cashier).",
            DEMO_MANAGER.0, DEMO_MANAGER.1, DEMO_CASHIER.0, DEMO_CASHIER.1
        ));
        lines
    }
}

/// Seeds the demo shop when the database holds no users, configs or products.
pub async fn seed_if_empty(store: &dyn Store) -> Result<DemoOutcome> {
    let is_empty = store.count_users().await? == 0
        && store.list_configs().await?.is_empty()
        && store.list_products().await?.is_empty();
    if !is_empty {
        return Ok(DemoOutcome::KeptExistingData);
    }
    seed(store).await.context("could not seed the demo shop")
}

fn name(text: &str) -> Result<Name> {
    Name::parse(text).map_err(|error| anyhow!("demo name {text:?}: {error}"))
}

fn money(minor: i64) -> Result<Money> {
    Money::new(minor).map_err(|error| anyhow!("demo amount {minor}: {error}"))
}

/// An EAN-13 barcode: 12 digits and the standard check digit.
fn ean13(first_twelve_digits: u64) -> Result<Barcode> {
    let digits = format!("{first_twelve_digits:012}");
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(index, byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 0 { digit } else { digit * 3 }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    Barcode::parse(&format!("{digits}{check}")).map_err(|error| anyhow!("demo barcode: {error}"))
}

#[derive(Clone, Copy)]
enum Rate {
    Reduced,
    Standard,
}

/// (name, price in cents, tax, on hand when stock is tracked)
type DemoProduct = (&'static str, i64, Rate, Option<i64>);

/// The low-stock threshold of the demo's tracked products, in units.
const DEMO_LOW_STOCK_UNITS: i64 = 5;

const CATALOG: &[(&str, &[DemoProduct])] = &[
    (
        "Coffee",
        &[
            ("Espresso", 220, Rate::Reduced, None),
            ("Double Espresso", 300, Rate::Reduced, None),
            ("Americano", 280, Rate::Reduced, None),
            ("Cappuccino", 340, Rate::Reduced, None),
            ("Flat White", 360, Rate::Reduced, None),
            ("Caffè Latte", 360, Rate::Reduced, None),
            ("Latte Macchiato", 380, Rate::Reduced, None),
            ("Mocha", 400, Rate::Reduced, None),
            ("Chai Latte", 380, Rate::Reduced, None),
            ("Hot Chocolate", 350, Rate::Reduced, None),
            ("Green Tea", 260, Rate::Reduced, None),
            ("Earl Grey Tea", 260, Rate::Reduced, None),
        ],
    ),
    (
        "Drinks",
        &[
            ("Still Water 50 cl", 180, Rate::Reduced, Some(48)),
            ("Sparkling Water 50 cl", 200, Rate::Reduced, Some(36)),
            ("Fresh Orange Juice", 350, Rate::Reduced, None),
            ("Homemade Lemonade", 300, Rate::Reduced, None),
            ("Cola 33 cl", 250, Rate::Reduced, Some(60)),
            ("Draft Beer", 350, Rate::Standard, None),
            ("Glass of Red Wine", 450, Rate::Standard, None),
            ("Glass of White Wine", 450, Rate::Standard, None),
        ],
    ),
    (
        "Food",
        &[
            ("Croque Monsieur", 650, Rate::Reduced, None),
            ("Avocado Toast", 790, Rate::Reduced, None),
            ("Club Sandwich", 850, Rate::Reduced, None),
            ("Caesar Salad", 950, Rate::Reduced, None),
            ("Quiche Lorraine", 690, Rate::Reduced, None),
            ("Tomato Soup", 550, Rate::Reduced, None),
        ],
    ),
    (
        "Bakery",
        &[
            ("Croissant", 180, Rate::Reduced, Some(40)),
            ("Pain au Chocolat", 210, Rate::Reduced, Some(30)),
            ("Cinnamon Roll", 290, Rate::Reduced, Some(20)),
            ("Blueberry Muffin", 280, Rate::Reduced, Some(24)),
            ("Carrot Cake Slice", 390, Rate::Reduced, None),
            ("Sourdough Loaf", 450, Rate::Reduced, Some(12)),
        ],
    ),
    (
        "Retail",
        &[
            ("Coffee Beans 250 g", 990, Rate::Standard, Some(25)),
            ("Coffee Beans 1 kg", 3200, Rate::Standard, Some(8)),
            ("Reusable Cup", 1200, Rate::Standard, Some(15)),
            ("Ceramic Mug", 1450, Rate::Standard, Some(10)),
            ("Paper Filters (100)", 450, Rate::Standard, Some(30)),
            ("French Press", 2900, Rate::Standard, Some(5)),
        ],
    ),
];

const CUSTOMERS: &[(&str, &str, &str)] = &[
    (
        "Lucía Fernández",
        "lucia.fernandez@example.com",
        "+34 612 345 678",
    ),
    ("Marco Rossi", "marco.rossi@example.com", "+39 347 123 4567"),
    (
        "Sophie Martin",
        "sophie.martin@example.com",
        "+33 6 12 34 56 78",
    ),
    ("Jan de Vries", "jan.devries@example.com", "+31 6 1234 5678"),
    (
        "Anna Schmidt",
        "anna.schmidt@example.com",
        "+49 151 2345 6789",
    ),
    ("Tomás Silva", "tomas.silva@example.com", "+351 912 345 678"),
    (
        "Emma Johansson",
        "emma.johansson@example.com",
        "+46 70 123 45 67",
    ),
    (
        "Oliver Brown",
        "oliver.brown@example.com",
        "+44 7700 900123",
    ),
    (
        "Chloé Dubois",
        "chloe.dubois@example.com",
        "+32 470 12 34 56",
    ),
    (
        "Nina Kowalska",
        "nina.kowalska@example.com",
        "+48 512 345 678",
    ),
];

async fn seed(store: &dyn Store) -> Result<DemoOutcome> {
    for ((login, password), role, full_name) in [
        (DEMO_MANAGER, Role::Manager, "Alex Manager"),
        (DEMO_CASHIER, Role::Cashier, "Sam Cashier"),
    ] {
        let login = Login::parse(login).map_err(|error| anyhow!("demo login: {error}"))?;
        let password =
            Password::parse(password).map_err(|error| anyhow!("demo password: {error}"))?;
        let password_hash = crate::users::hash_off_thread(password).await?;
        store
            .create_user(&login, &name(full_name)?, role, &password_hash, &[])
            .await?;
    }

    let reduced_tax = store
        .create_tax(&TaxNew {
            name: name("VAT 10%")?,
            rate: TaxRate::from_basis_points(1000)?,
            price_included: true,
        })
        .await?;
    let standard_tax = store
        .create_tax(&TaxNew {
            name: name("VAT 21%")?,
            rate: TaxRate::from_basis_points(2100)?,
            price_included: true,
        })
        .await?;

    let mut n_products = 0;
    // 84 is Spain's GS1 prefix; the shop's own range follows it.
    let mut next_barcode: u64 = 842_000_100_000;
    for (category_name, products) in CATALOG {
        let category = store
            .create_category(&CategoryNew {
                name: name(category_name)?,
            })
            .await?;
        for &(product_name, price, rate, on_hand) in *products {
            let tax_id = match rate {
                Rate::Reduced => reduced_tax.id,
                Rate::Standard => standard_tax.id,
            };
            store
                .create_product(&ProductNew {
                    name: name(product_name)?,
                    price: money(price)?,
                    category_id: Some(category.id),
                    barcode: Some(ean13(next_barcode)?),
                    tax_ids: vec![tax_id],
                    tracks_stock: on_hand.is_some(),
                    on_hand: Quantity::from_milli(on_hand.unwrap_or(0) * 1000)?,
                    // Tracked goods are low at 5 left: the back office highlights them.
                    low_stock: on_hand
                        .map(|_| Quantity::from_milli(DEMO_LOW_STOCK_UNITS * 1000))
                        .transpose()?,
                })
                .await?;
            next_barcode += 1;
            n_products += 1;
        }
    }

    for (method_name, kind) in [
        ("Cash", PaymentMethodKind::Cash),
        ("Card", PaymentMethodKind::Card),
    ] {
        store
            .create_payment_method(&PaymentMethodNew {
                name: name(method_name)?,
                kind,
            })
            .await?;
    }

    for (customer_name, email, phone) in CUSTOMERS {
        store
            .create_customer(&CustomerNew {
                name: name(customer_name)?,
                email: Some(name(email)?),
                phone: Some(name(phone)?),
            })
            .await?;
    }

    let bar = store
        .create_config(&ConfigNew {
            restrict_price_control: false,
            name: name("Bar")?,
            sync_with: Vec::new(),
            auto_share: false,
            printer: None,
        })
        .await?;
    let counter_1 = store
        .create_config(&ConfigNew {
            restrict_price_control: false,
            name: name("Counter 1")?,
            sync_with: Vec::new(),
            auto_share: false,
            printer: None,
        })
        .await?;
    let counter_2 = store
        .create_config(&ConfigNew {
            restrict_price_control: false,
            name: name("Counter 2")?,
            sync_with: vec![counter_1.id],
            auto_share: false,
            printer: None,
        })
        .await?;
    // The demo cashier works all three counters, so the README's walkthrough works as any login.
    let cashier_login =
        Login::parse(DEMO_CASHIER.0).map_err(|error| anyhow!("demo login: {error}"))?;
    if let Some((cashier, _)) = store.find_login(&cashier_login).await? {
        store
            .update_user(
                cashier.id,
                &UserEdit {
                    config_ids: Some(&[bar.id, counter_1.id, counter_2.id]),
                    ..UserEdit::default()
                },
            )
            .await?;
    }

    let counters = [bar, counter_1, counter_2]
        .into_iter()
        .map(|config| (config.name.as_str().to_owned(), config.id))
        .collect();
    Ok(DemoOutcome::Seeded {
        n_products,
        n_customers: CUSTOMERS.len(),
        counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barcodes_are_valid_ean13() {
        // A well-known valid EAN-13: 4006381333931.
        assert_eq!(ean13(400_638_133_393).unwrap().as_str(), "4006381333931");
    }

    #[test]
    fn the_catalog_is_big_enough() {
        let n_products: usize = CATALOG.iter().map(|(_, products)| products.len()).sum();
        assert!(n_products >= 30, "{n_products}");
        assert!(CATALOG.len() >= 4);
        assert_eq!(CUSTOMERS.len(), 10);
    }
}
