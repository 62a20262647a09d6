//! The catalog: products (with their taxes), categories, taxes, customers and payment methods.
//!
//! A change reads the record `FOR UPDATE`, applies the change in Rust (the
//! core's `apply_changes`) and writes it back, so two managers editing one
//! product on two nodes take turns rather than mixing their fields.

use super::changes::ShopChange;
use super::{PostgresStore, commit_notifying, commit_tx, exists};
use crate::database_errors::{unavailable, violation};
use crate::rows::{
    CustomerRow, PaymentMethodRow, ProductRow, TaxRow, decode_name, decode_products,
};
use crate::{Conflict, StoreError, StoreResult};
use possync_core::limits::TAXES_PER_LINE_MAX;
use possync_core::*;
use sqlx::error::ErrorKind;
use sqlx::postgres::PgConnection;
use std::collections::BTreeSet;

const PRODUCT_COLUMNS: &str =
    "id, name, price_minor, category_id, barcode, tracks_stock, on_hand_milli, low_stock_milli";

/// `lock` adds `FOR UPDATE`: the caller is about to change the product.
pub(super) async fn load_product(
    conn: &mut PgConnection,
    product_id: ProductId,
    lock: bool,
) -> StoreResult<Product> {
    let lock_clause = if lock { " FOR UPDATE" } else { "" };
    let row = sqlx::query_as::<_, ProductRow>(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1{lock_clause}"
    ))
    .bind(product_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a product"))?
    .ok_or(StoreError::NotFound("product"))?;
    let tax_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT tax_id FROM product_taxes WHERE product_id = $1 ORDER BY tax_id",
    )
    .bind(product_id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable("could not read a product's taxes"))?;
    row.decode(tax_ids.into_iter().map(TaxId).collect())
}

async fn load_category(
    conn: &mut PgConnection,
    category_id: CategoryId,
    lock: bool,
) -> StoreResult<Category> {
    let lock_clause = if lock { " FOR UPDATE" } else { "" };
    let (id, name): (i64, String) = sqlx::query_as(&format!(
        "SELECT id, name FROM categories WHERE id = $1{lock_clause}"
    ))
    .bind(category_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a category"))?
    .ok_or(StoreError::NotFound("category"))?;
    Ok(Category {
        id: CategoryId(id),
        name: decode_name(&name, "category name")?,
    })
}

async fn load_tax(conn: &mut PgConnection, tax_id: TaxId, lock: bool) -> StoreResult<Tax> {
    let lock_clause = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as::<_, TaxRow>(&format!(
        "SELECT id, name, rate_bp, price_included FROM taxes WHERE id = $1{lock_clause}"
    ))
    .bind(tax_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a tax"))?
    .ok_or(StoreError::NotFound("tax"))?
    .decode()
}

async fn load_customer(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    lock: bool,
) -> StoreResult<Customer> {
    let lock_clause = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as::<_, CustomerRow>(&format!(
        "SELECT id, name, email, phone FROM customers WHERE id = $1{lock_clause}"
    ))
    .bind(customer_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a customer"))?
    .ok_or(StoreError::NotFound("customer"))?
    .decode()
}

async fn load_payment_method(
    conn: &mut PgConnection,
    method_id: PaymentMethodId,
    lock: bool,
) -> StoreResult<PaymentMethod> {
    let lock_clause = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as::<_, PaymentMethodRow>(&format!(
        "SELECT id, name, kind FROM payment_methods WHERE id = $1{lock_clause}"
    ))
    .bind(method_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a payment method"))?
    .ok_or(StoreError::NotFound("payment method"))?
    .decode()
}

pub(super) async fn load_payment_methods(
    conn: &mut PgConnection,
) -> StoreResult<Vec<PaymentMethod>> {
    sqlx::query_as::<_, PaymentMethodRow>("SELECT id, name, kind FROM payment_methods ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable("could not read payment methods"))?
        .into_iter()
        .map(PaymentMethodRow::decode)
        .collect()
}

/// Checks what a product refers to before it is written, so the answer names
/// the culprit ("unknown category 7") rather than a bare constraint. The
/// unique barcode and the foreign keys stay the backstop when two nodes race.
async fn check_product(
    conn: &mut PgConnection,
    product_id: Option<ProductId>,
    category_id: Option<CategoryId>,
    tax_ids: &[TaxId],
    barcode: Option<&Barcode>,
) -> StoreResult<()> {
    let distinct_tax_ids: BTreeSet<TaxId> = tax_ids.iter().copied().collect();
    if distinct_tax_ids.len() > TAXES_PER_LINE_MAX {
        return Err(StoreError::Invalid(format!(
            "a product has at most {TAXES_PER_LINE_MAX} taxes"
        )));
    }
    if let Some(category_id) = category_id
        && !exists(
            conn,
            "SELECT 1 FROM categories WHERE id = $1",
            category_id.0,
        )
        .await?
    {
        return Err(StoreError::Invalid(format!(
            "unknown category {category_id}"
        )));
    }
    for tax_id in distinct_tax_ids {
        if !exists(conn, "SELECT 1 FROM taxes WHERE id = $1", tax_id.0).await? {
            return Err(StoreError::Invalid(format!("unknown tax {tax_id}")));
        }
    }
    if let Some(barcode) = barcode {
        let holder: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM products WHERE barcode = $1 AND id IS DISTINCT FROM $2",
        )
        .bind(barcode.as_str())
        .bind(product_id.map(|id| id.0))
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not check a barcode"))?;
        if holder.is_some() {
            return Err(Conflict::BarcodeTaken.into());
        }
    }
    Ok(())
}

fn product_write_error(error: sqlx::Error) -> StoreError {
    match violation(&error) {
        Some(ErrorKind::UniqueViolation) => Conflict::BarcodeTaken.into(),
        Some(ErrorKind::ForeignKeyViolation) => {
            StoreError::Invalid("unknown category or tax".to_owned())
        }
        _ => unavailable("could not write a product")(error),
    }
}

async fn write_product_taxes(
    conn: &mut PgConnection,
    product_id: ProductId,
    tax_ids: &[TaxId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_taxes WHERE product_id = $1")
        .bind(product_id.0)
        .execute(&mut *conn)
        .await
        .map_err(product_write_error)?;
    let distinct: Vec<i64> = tax_ids
        .iter()
        .map(|tax_id| tax_id.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    sqlx::query(
        "INSERT INTO product_taxes (product_id, tax_id) SELECT $1, tax_id FROM UNNEST($2::bigint[]) AS tax_id",
    )
    .bind(product_id.0)
    .bind(&distinct)
    .execute(&mut *conn)
    .await
    .map_err(product_write_error)?;
    Ok(())
}

pub(super) async fn list_products(store: &PostgresStore) -> StoreResult<Vec<Product>> {
    let mut tx = store.read_tx().await?;
    let rows = sqlx::query_as::<_, ProductRow>(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products ORDER BY id"
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(unavailable("could not list products"))?;
    let taxes: Vec<(i64, i64)> =
        sqlx::query_as("SELECT product_id, tax_id FROM product_taxes ORDER BY product_id, tax_id")
            .fetch_all(&mut *tx)
            .await
            .map_err(unavailable("could not list product taxes"))?;
    commit_tx(tx).await?;
    decode_products(rows, taxes)
}

pub(super) async fn get_product(
    store: &PostgresStore,
    product_id: ProductId,
) -> StoreResult<Product> {
    let mut tx = store.read_tx().await?;
    let product = load_product(&mut tx, product_id, false).await?;
    commit_tx(tx).await?;
    Ok(product)
}

pub(super) async fn create_product(
    store: &PostgresStore,
    new: &ProductNew,
) -> StoreResult<Product> {
    let mut tx = store.write_tx().await?;
    check_product(
        &mut tx,
        None,
        new.category_id,
        &new.tax_ids,
        new.barcode.as_ref(),
    )
    .await?;
    let product_id: i64 = sqlx::query_scalar(
        "INSERT INTO products (name, price_minor, category_id, barcode, tracks_stock, on_hand_milli, low_stock_milli) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.name.as_str())
    .bind(new.price.minor())
    .bind(new.category_id.map(|id| id.0))
    .bind(new.barcode.as_ref().map(Barcode::as_str))
    .bind(new.tracks_stock)
    .bind(new.on_hand.milli())
    .bind(new.low_stock.map(Quantity::milli))
    .fetch_one(&mut *tx)
    .await
    .map_err(product_write_error)?;
    let product_id = ProductId(product_id);
    write_product_taxes(&mut tx, product_id, &new.tax_ids).await?;
    let product = load_product(&mut tx, product_id, false).await?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(product)
}

pub(super) async fn update_product(
    store: &PostgresStore,
    product_id: ProductId,
    changes: &ProductChanges,
) -> StoreResult<Product> {
    let mut tx = store.write_tx().await?;
    let mut product = load_product(&mut tx, product_id, true).await?;
    product.apply_changes(changes.clone());
    check_product(
        &mut tx,
        Some(product_id),
        product.category_id,
        &product.tax_ids,
        product.barcode.as_ref(),
    )
    .await?;
    sqlx::query(
        "UPDATE products SET name = $1, price_minor = $2, category_id = $3, barcode = $4, \
         tracks_stock = $5, on_hand_milli = $6, low_stock_milli = $7 WHERE id = $8",
    )
    .bind(product.name.as_str())
    .bind(product.price.minor())
    .bind(product.category_id.map(|id| id.0))
    .bind(product.barcode.as_ref().map(Barcode::as_str))
    .bind(product.tracks_stock)
    .bind(product.on_hand.milli())
    .bind(product.low_stock.map(Quantity::milli))
    .bind(product_id.0)
    .execute(&mut *tx)
    .await
    .map_err(product_write_error)?;
    if changes.tax_ids.is_some() {
        write_product_taxes(&mut tx, product_id, &product.tax_ids).await?;
    }
    let product = load_product(&mut tx, product_id, false).await?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(product)
}

pub(super) async fn list_categories(store: &PostgresStore) -> StoreResult<Vec<Category>> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM categories ORDER BY id")
        .fetch_all(&store.pool)
        .await
        .map_err(unavailable("could not list categories"))?;
    rows.into_iter()
        .map(|(id, name)| {
            Ok(Category {
                id: CategoryId(id),
                name: decode_name(&name, "category name")?,
            })
        })
        .collect()
}

pub(super) async fn get_category(
    store: &PostgresStore,
    category_id: CategoryId,
) -> StoreResult<Category> {
    load_category(&mut *store.connection().await?, category_id, false).await
}

pub(super) async fn create_category(
    store: &PostgresStore,
    new: &CategoryNew,
) -> StoreResult<Category> {
    let mut tx = store.write_tx().await?;
    let category_id: i64 =
        sqlx::query_scalar("INSERT INTO categories (name) VALUES ($1) RETURNING id")
            .bind(new.name.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable("could not create a category"))?;
    let record = Category {
        id: CategoryId(category_id),
        name: new.name.clone(),
    };
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(record)
}

pub(super) async fn update_category(
    store: &PostgresStore,
    category_id: CategoryId,
    changes: &CategoryChanges,
) -> StoreResult<Category> {
    let mut tx = store.write_tx().await?;
    let mut category = load_category(&mut tx, category_id, true).await?;
    category.apply_changes(changes);
    sqlx::query("UPDATE categories SET name = $1 WHERE id = $2")
        .bind(category.name.as_str())
        .bind(category_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a category"))?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(category)
}

pub(super) async fn list_taxes(store: &PostgresStore) -> StoreResult<Vec<Tax>> {
    sqlx::query_as::<_, TaxRow>("SELECT id, name, rate_bp, price_included FROM taxes ORDER BY id")
        .fetch_all(&store.pool)
        .await
        .map_err(unavailable("could not list taxes"))?
        .into_iter()
        .map(TaxRow::decode)
        .collect()
}

pub(super) async fn get_tax(store: &PostgresStore, tax_id: TaxId) -> StoreResult<Tax> {
    load_tax(&mut *store.connection().await?, tax_id, false).await
}

pub(super) async fn create_tax(store: &PostgresStore, new: &TaxNew) -> StoreResult<Tax> {
    let mut tx = store.write_tx().await?;
    let record = sqlx::query_as::<_, TaxRow>(
        "INSERT INTO taxes (name, rate_bp, price_included) VALUES ($1, $2, $3) \
         RETURNING id, name, rate_bp, price_included",
    )
    .bind(new.name.as_str())
    .bind(new.rate.basis_points())
    .bind(new.price_included)
    .fetch_one(&mut *tx)
    .await
    .map_err(unavailable("could not create a tax"))?
    .decode()?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(record)
}

pub(super) async fn update_tax(
    store: &PostgresStore,
    tax_id: TaxId,
    changes: &TaxChanges,
) -> StoreResult<Tax> {
    let mut tx = store.write_tx().await?;
    let mut tax = load_tax(&mut tx, tax_id, true).await?;
    tax.apply_changes(changes);
    sqlx::query("UPDATE taxes SET name = $1, rate_bp = $2, price_included = $3 WHERE id = $4")
        .bind(tax.name.as_str())
        .bind(tax.rate.basis_points())
        .bind(tax.price_included)
        .bind(tax_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a tax"))?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(tax)
}

pub(super) async fn list_customers(store: &PostgresStore) -> StoreResult<Vec<Customer>> {
    sqlx::query_as::<_, CustomerRow>("SELECT id, name, email, phone FROM customers ORDER BY id")
        .fetch_all(&store.pool)
        .await
        .map_err(unavailable("could not list customers"))?
        .into_iter()
        .map(CustomerRow::decode)
        .collect()
}

pub(super) async fn get_customer(
    store: &PostgresStore,
    customer_id: CustomerId,
) -> StoreResult<Customer> {
    load_customer(&mut *store.connection().await?, customer_id, false).await
}

pub(super) async fn create_customer(
    store: &PostgresStore,
    new: &CustomerNew,
) -> StoreResult<Customer> {
    let mut tx = store.write_tx().await?;
    let record = sqlx::query_as::<_, CustomerRow>(
        "INSERT INTO customers (name, email, phone) VALUES ($1, $2, $3) RETURNING id, name, email, phone",
    )
    .bind(new.name.as_str())
    .bind(new.email.as_ref().map(Name::as_str))
    .bind(new.phone.as_ref().map(Name::as_str))
    .fetch_one(&mut *tx)
    .await
    .map_err(unavailable("could not create a customer"))?
    .decode()?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(record)
}

pub(super) async fn update_customer(
    store: &PostgresStore,
    customer_id: CustomerId,
    changes: &CustomerChanges,
) -> StoreResult<Customer> {
    let mut tx = store.write_tx().await?;
    let mut customer = load_customer(&mut tx, customer_id, true).await?;
    customer.apply_changes(changes);
    sqlx::query("UPDATE customers SET name = $1, email = $2, phone = $3 WHERE id = $4")
        .bind(customer.name.as_str())
        .bind(customer.email.as_ref().map(Name::as_str))
        .bind(customer.phone.as_ref().map(Name::as_str))
        .bind(customer_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a customer"))?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(customer)
}

pub(super) async fn list_payment_methods(store: &PostgresStore) -> StoreResult<Vec<PaymentMethod>> {
    load_payment_methods(&mut *store.connection().await?).await
}

pub(super) async fn get_payment_method(
    store: &PostgresStore,
    method_id: PaymentMethodId,
) -> StoreResult<PaymentMethod> {
    load_payment_method(&mut *store.connection().await?, method_id, false).await
}

pub(super) async fn create_payment_method(
    store: &PostgresStore,
    new: &PaymentMethodNew,
) -> StoreResult<PaymentMethod> {
    let mut tx = store.write_tx().await?;
    let record = sqlx::query_as::<_, PaymentMethodRow>(
        "INSERT INTO payment_methods (name, kind) VALUES ($1, $2) RETURNING id, name, kind",
    )
    .bind(new.name.as_str())
    .bind(new.kind.as_str())
    .fetch_one(&mut *tx)
    .await
    .map_err(unavailable("could not create a payment method"))?
    .decode()?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(record)
}

pub(super) async fn update_payment_method(
    store: &PostgresStore,
    method_id: PaymentMethodId,
    changes: &PaymentMethodChanges,
) -> StoreResult<PaymentMethod> {
    let mut tx = store.write_tx().await?;
    let mut method = load_payment_method(&mut tx, method_id, true).await?;
    method.apply_changes(changes);
    sqlx::query("UPDATE payment_methods SET name = $1, kind = $2 WHERE id = $3")
        .bind(method.name.as_str())
        .bind(method.kind.as_str())
        .bind(method_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a payment method"))?;
    commit_notifying(tx, &[ShopChange::Catalog]).await?;
    Ok(method)
}
