//! The catalog: products (with their taxes), categories, taxes, customers and payment methods.

use super::{SqliteStore, commit_tx, exists};
use crate::database_errors::{unavailable, violation};
use crate::rows::{
    CustomerRow, PaymentMethodRow, ProductRow, TaxRow, decode_name, decode_products,
};
use crate::{Conflict, StoreError, StoreResult};
use possync_core::limits::TAXES_PER_LINE_MAX;
use possync_core::*;
use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteConnection;
use std::collections::BTreeSet;

pub(super) async fn load_product(
    conn: &mut SqliteConnection,
    product_id: ProductId,
) -> StoreResult<Product> {
    let row = sqlx::query_as::<_, ProductRow>(
        "SELECT id, name, price_minor, category_id, barcode, tracks_stock, on_hand_milli, low_stock_milli FROM products WHERE id = ?",
    )
    .bind(product_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable("could not read a product"))?
    .ok_or(StoreError::NotFound("product"))?;
    let tax_ids: Vec<i64> =
        sqlx::query_scalar("SELECT tax_id FROM product_taxes WHERE product_id = ? ORDER BY tax_id")
            .bind(product_id.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(unavailable("could not read a product's taxes"))?;
    row.decode(tax_ids.into_iter().map(TaxId).collect())
}

async fn load_category(
    conn: &mut SqliteConnection,
    category_id: CategoryId,
) -> StoreResult<Category> {
    let (id, name): (i64, String) = sqlx::query_as("SELECT id, name FROM categories WHERE id = ?")
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

async fn load_tax(conn: &mut SqliteConnection, tax_id: TaxId) -> StoreResult<Tax> {
    sqlx::query_as::<_, TaxRow>("SELECT id, name, rate_bp, price_included FROM taxes WHERE id = ?")
        .bind(tax_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a tax"))?
        .ok_or(StoreError::NotFound("tax"))?
        .decode()
}

async fn load_customer(
    conn: &mut SqliteConnection,
    customer_id: CustomerId,
) -> StoreResult<Customer> {
    sqlx::query_as::<_, CustomerRow>("SELECT id, name, email, phone FROM customers WHERE id = ?")
        .bind(customer_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a customer"))?
        .ok_or(StoreError::NotFound("customer"))?
        .decode()
}

async fn load_payment_method(
    conn: &mut SqliteConnection,
    method_id: PaymentMethodId,
) -> StoreResult<PaymentMethod> {
    sqlx::query_as::<_, PaymentMethodRow>("SELECT id, name, kind FROM payment_methods WHERE id = ?")
        .bind(method_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable("could not read a payment method"))?
        .ok_or(StoreError::NotFound("payment method"))?
        .decode()
}

pub(super) async fn load_payment_methods(
    conn: &mut SqliteConnection,
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
/// the culprit ("unknown category 7") rather than a bare constraint.
async fn check_product(
    conn: &mut SqliteConnection,
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
        && !exists(conn, "SELECT 1 FROM categories WHERE id = ?", category_id.0).await?
    {
        return Err(StoreError::Invalid(format!(
            "unknown category {category_id}"
        )));
    }
    for tax_id in distinct_tax_ids {
        if !exists(conn, "SELECT 1 FROM taxes WHERE id = ?", tax_id.0).await? {
            return Err(StoreError::Invalid(format!("unknown tax {tax_id}")));
        }
    }
    if let Some(barcode) = barcode {
        let holder: Option<i64> =
            sqlx::query_scalar("SELECT id FROM products WHERE barcode = ? AND id IS NOT ?")
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
    conn: &mut SqliteConnection,
    product_id: ProductId,
    tax_ids: &[TaxId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_taxes WHERE product_id = ?")
        .bind(product_id.0)
        .execute(&mut *conn)
        .await
        .map_err(product_write_error)?;
    for tax_id in tax_ids.iter().collect::<BTreeSet<_>>() {
        sqlx::query("INSERT INTO product_taxes (product_id, tax_id) VALUES (?, ?)")
            .bind(product_id.0)
            .bind(tax_id.0)
            .execute(&mut *conn)
            .await
            .map_err(product_write_error)?;
    }
    Ok(())
}

pub(super) async fn list_products(store: &SqliteStore) -> StoreResult<Vec<Product>> {
    let mut tx = store.read_tx().await?;
    let rows = sqlx::query_as::<_, ProductRow>(
        "SELECT id, name, price_minor, category_id, barcode, tracks_stock, on_hand_milli, low_stock_milli FROM products ORDER BY id",
    )
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
    store: &SqliteStore,
    product_id: ProductId,
) -> StoreResult<Product> {
    let mut tx = store.read_tx().await?;
    let product = load_product(&mut tx, product_id).await?;
    commit_tx(tx).await?;
    Ok(product)
}

pub(super) async fn create_product(store: &SqliteStore, new: &ProductNew) -> StoreResult<Product> {
    let mut tx = store.write_tx().await?;
    check_product(
        &mut tx,
        None,
        new.category_id,
        &new.tax_ids,
        new.barcode.as_ref(),
    )
    .await?;
    let product_id = sqlx::query(
        "INSERT INTO products (name, price_minor, category_id, barcode, tracks_stock, on_hand_milli, low_stock_milli) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.name.as_str())
    .bind(new.price.minor())
    .bind(new.category_id.map(|id| id.0))
    .bind(new.barcode.as_ref().map(Barcode::as_str))
    .bind(new.tracks_stock)
    .bind(new.on_hand.milli())
    .bind(new.low_stock.map(Quantity::milli))
    .execute(&mut *tx)
    .await
    .map_err(product_write_error)?
    .last_insert_rowid();
    let product_id = ProductId(product_id);
    write_product_taxes(&mut tx, product_id, &new.tax_ids).await?;
    let product = load_product(&mut tx, product_id).await?;
    commit_tx(tx).await?;
    Ok(product)
}

pub(super) async fn update_product(
    store: &SqliteStore,
    product_id: ProductId,
    changes: &ProductChanges,
) -> StoreResult<Product> {
    let mut tx = store.write_tx().await?;
    let mut product = load_product(&mut tx, product_id).await?;
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
        "UPDATE products SET name = ?, price_minor = ?, category_id = ?, barcode = ?, tracks_stock = ?, \
         on_hand_milli = ?, low_stock_milli = ? WHERE id = ?",
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
    let product = load_product(&mut tx, product_id).await?;
    commit_tx(tx).await?;
    Ok(product)
}

pub(super) async fn list_categories(store: &SqliteStore) -> StoreResult<Vec<Category>> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM categories ORDER BY id")
        .fetch_all(&store.reader)
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
    store: &SqliteStore,
    category_id: CategoryId,
) -> StoreResult<Category> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_category(&mut conn, category_id).await
}

pub(super) async fn create_category(
    store: &SqliteStore,
    new: &CategoryNew,
) -> StoreResult<Category> {
    let mut tx = store.write_tx().await?;
    let category_id = sqlx::query("INSERT INTO categories (name) VALUES (?)")
        .bind(new.name.as_str())
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not create a category"))?
        .last_insert_rowid();
    let category = load_category(&mut tx, CategoryId(category_id)).await?;
    commit_tx(tx).await?;
    Ok(category)
}

pub(super) async fn update_category(
    store: &SqliteStore,
    category_id: CategoryId,
    changes: &CategoryChanges,
) -> StoreResult<Category> {
    let mut tx = store.write_tx().await?;
    let mut category = load_category(&mut tx, category_id).await?;
    category.apply_changes(changes);
    sqlx::query("UPDATE categories SET name = ? WHERE id = ?")
        .bind(category.name.as_str())
        .bind(category_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a category"))?;
    let category = load_category(&mut tx, category_id).await?;
    commit_tx(tx).await?;
    Ok(category)
}

pub(super) async fn list_taxes(store: &SqliteStore) -> StoreResult<Vec<Tax>> {
    sqlx::query_as::<_, TaxRow>("SELECT id, name, rate_bp, price_included FROM taxes ORDER BY id")
        .fetch_all(&store.reader)
        .await
        .map_err(unavailable("could not list taxes"))?
        .into_iter()
        .map(TaxRow::decode)
        .collect()
}

pub(super) async fn get_tax(store: &SqliteStore, tax_id: TaxId) -> StoreResult<Tax> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_tax(&mut conn, tax_id).await
}

pub(super) async fn create_tax(store: &SqliteStore, new: &TaxNew) -> StoreResult<Tax> {
    let mut tx = store.write_tx().await?;
    let tax_id = sqlx::query("INSERT INTO taxes (name, rate_bp, price_included) VALUES (?, ?, ?)")
        .bind(new.name.as_str())
        .bind(new.rate.basis_points())
        .bind(new.price_included)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not create a tax"))?
        .last_insert_rowid();
    let tax = load_tax(&mut tx, TaxId(tax_id)).await?;
    commit_tx(tx).await?;
    Ok(tax)
}

pub(super) async fn update_tax(
    store: &SqliteStore,
    tax_id: TaxId,
    changes: &TaxChanges,
) -> StoreResult<Tax> {
    let mut tx = store.write_tx().await?;
    let mut tax = load_tax(&mut tx, tax_id).await?;
    tax.apply_changes(changes);
    sqlx::query("UPDATE taxes SET name = ?, rate_bp = ?, price_included = ? WHERE id = ?")
        .bind(tax.name.as_str())
        .bind(tax.rate.basis_points())
        .bind(tax.price_included)
        .bind(tax_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a tax"))?;
    let tax = load_tax(&mut tx, tax_id).await?;
    commit_tx(tx).await?;
    Ok(tax)
}

pub(super) async fn list_customers(store: &SqliteStore) -> StoreResult<Vec<Customer>> {
    sqlx::query_as::<_, CustomerRow>("SELECT id, name, email, phone FROM customers ORDER BY id")
        .fetch_all(&store.reader)
        .await
        .map_err(unavailable("could not list customers"))?
        .into_iter()
        .map(CustomerRow::decode)
        .collect()
}

pub(super) async fn get_customer(
    store: &SqliteStore,
    customer_id: CustomerId,
) -> StoreResult<Customer> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_customer(&mut conn, customer_id).await
}

pub(super) async fn create_customer(
    store: &SqliteStore,
    new: &CustomerNew,
) -> StoreResult<Customer> {
    let mut tx = store.write_tx().await?;
    let customer_id = sqlx::query("INSERT INTO customers (name, email, phone) VALUES (?, ?, ?)")
        .bind(new.name.as_str())
        .bind(new.email.as_ref().map(Name::as_str))
        .bind(new.phone.as_ref().map(Name::as_str))
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not create a customer"))?
        .last_insert_rowid();
    let customer = load_customer(&mut tx, CustomerId(customer_id)).await?;
    commit_tx(tx).await?;
    Ok(customer)
}

pub(super) async fn update_customer(
    store: &SqliteStore,
    customer_id: CustomerId,
    changes: &CustomerChanges,
) -> StoreResult<Customer> {
    let mut tx = store.write_tx().await?;
    let mut customer = load_customer(&mut tx, customer_id).await?;
    customer.apply_changes(changes);
    sqlx::query("UPDATE customers SET name = ?, email = ?, phone = ? WHERE id = ?")
        .bind(customer.name.as_str())
        .bind(customer.email.as_ref().map(Name::as_str))
        .bind(customer.phone.as_ref().map(Name::as_str))
        .bind(customer_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a customer"))?;
    let customer = load_customer(&mut tx, customer_id).await?;
    commit_tx(tx).await?;
    Ok(customer)
}

pub(super) async fn list_payment_methods(store: &SqliteStore) -> StoreResult<Vec<PaymentMethod>> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_payment_methods(&mut conn).await
}

pub(super) async fn get_payment_method(
    store: &SqliteStore,
    method_id: PaymentMethodId,
) -> StoreResult<PaymentMethod> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(unavailable("could not get a connection"))?;
    load_payment_method(&mut conn, method_id).await
}

pub(super) async fn create_payment_method(
    store: &SqliteStore,
    new: &PaymentMethodNew,
) -> StoreResult<PaymentMethod> {
    let mut tx = store.write_tx().await?;
    let method_id = sqlx::query("INSERT INTO payment_methods (name, kind) VALUES (?, ?)")
        .bind(new.name.as_str())
        .bind(new.kind.as_str())
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not create a payment method"))?
        .last_insert_rowid();
    let method = load_payment_method(&mut tx, PaymentMethodId(method_id)).await?;
    commit_tx(tx).await?;
    Ok(method)
}

pub(super) async fn update_payment_method(
    store: &SqliteStore,
    method_id: PaymentMethodId,
    changes: &PaymentMethodChanges,
) -> StoreResult<PaymentMethod> {
    let mut tx = store.write_tx().await?;
    let mut method = load_payment_method(&mut tx, method_id).await?;
    method.apply_changes(changes);
    sqlx::query("UPDATE payment_methods SET name = ?, kind = ? WHERE id = ?")
        .bind(method.name.as_str())
        .bind(method.kind.as_str())
        .bind(method_id.0)
        .execute(&mut *tx)
        .await
        .map_err(unavailable("could not update a payment method"))?;
    let method = load_payment_method(&mut tx, method_id).await?;
    commit_tx(tx).await?;
    Ok(method)
}
