//! The catalog: every kind of record, references checked, barcodes unique.

use crate::fixtures::*;
use possync_core::*;
use possync_store::{Conflict, Store};
use std::sync::Arc;

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
        low_stock: Some(qty(2_000)),
    };
    let tea = ok(store.create_product(&tea_new).await, "create tea");
    assert_eq!(tea.name.as_str(), "Tea");
    assert_eq!(tea.price, money(250));
    assert_eq!(tea.category_id, Some(drinks.id));
    assert_eq!(tea.barcode, Some(barcode("123")));
    assert_eq!(tea.tax_ids, vec![vat.id, included.id]);
    assert_eq!(
        (tea.tracks_stock, tea.on_hand, tea.low_stock),
        (true, qty(5_500), Some(qty(2_000)))
    );
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
    expect_conflict(
        store.create_product(&tea_new).await,
        Conflict::BarcodeTaken,
        "a second product with barcode 123",
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
        low_stock: None,
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
        Conflict::BarcodeTaken,
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
                    low_stock: Some(Some(qty(1_000))),
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
            low_stock: Some(qty(1_000)),
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
