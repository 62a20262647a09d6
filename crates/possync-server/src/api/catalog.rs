//! The catalog: products, categories, taxes, customers and payment methods.
//!
//! Each collection has the same four routes (list, create, read one, change),
//! read by any user or terminal and written by managers only, with one exception:
//! a till (terminal token) may add a customer, since the cashier takes a new
//! customer's name, phone and email at the counter while they wait. One macro
//! writes the routes, so the five collections cannot drift apart in rules or
//! documentation.

use super::audit;
use crate::auth::{Caller, ManagerCaller};
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::schemas;
use crate::state::{AppState, ShopChange};
use axum::Json;
use axum::extract::State;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use possync_core::*;

/// Writes the list, create, get and update handlers of one catalog collection.
///
/// `$record`, `$new` and `$changes` name both the core type (used to parse and
/// encode) and its schema mirror in [`crate::schemas`] (used for the document).
macro_rules! catalog_collection {
    (@update $state:ident, $manager:ident, $id:ident, $changes:ident, $store_update:ident) => {
        $state.store.$store_update($id, &$changes).await?
    };
    (@update $state:ident, $manager:ident, $id:ident, $changes:ident, $store_update:ident, $via:path) => {
        $via(&$state, &$manager, $id, $changes).await?
    };
    (
        collection_path: $collection_path:literal,
        item_path: $item_path:literal,
        id_type: $id_type:ident,
        noun: $noun:literal,
        record: $record:ident,
        new: $new:ident,
        changes: $changes:ident,
        list: $list_handler:ident => $store_list:ident, $list_doc:literal,
        create: $create_handler:ident => $store_create:ident by $creator:ident, $create_doc:literal,
        get: $get_handler:ident => $store_get:ident, $get_doc:literal,
        update: $update_handler:ident => $store_update:ident $(via $update_via:path)?, $update_doc:literal $(,)?
    ) => {
        #[doc = $list_doc]
        #[utoipa::path(
            get,
            path = $collection_path,
            tag = "catalog",
            responses(
                (status = 200, description = "Every record, in id order", body = Vec<schemas::$record>),
                (status = 401, description = "No or bad token", body = schemas::ErrorBody),
            )
        )]
        pub async fn $list_handler(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Vec<$record>>> {
            Ok(Json(state.store.$store_list().await?))
        }

        #[doc = $create_doc]
        #[utoipa::path(
            post,
            path = $collection_path,
            tag = "catalog",
            request_body = schemas::$new,
            responses(
                (status = 201, description = "Created", body = schemas::$record),
                (status = 400, description = "Invalid body or unknown referenced id", body = schemas::ErrorBody),
                (status = 401, description = "No or bad token", body = schemas::ErrorBody),
                (status = 403, description = "Not allowed to add these (see the description)", body = schemas::ErrorBody),
                (status = 409, description = "Clashes with an existing record", body = schemas::ErrorBody),
                (status = 413, description = "Body too large", body = schemas::ErrorBody),
            )
        )]
        pub async fn $create_handler(
            State(state): State<AppState>,
            creator: $creator,
            ApiJson(new): ApiJson<$new>,
        ) -> ApiResult<(StatusCode, Json<$record>)> {
            let record = state
                .store
                .$store_create(&new)
                .await?;
            state.notify(ShopChange::Catalog).await;
            tracing::info!(id = %record.id, by = %creator.login(), concat!(stringify!($record), " created"));
            audit::record(
                &state,
                creator.user(),
                concat!($noun, ".create"),
                format!(concat!($noun, " {}"), record.id),
                serde_json::to_value(&record).unwrap_or_default(),
            )
            .await;
            Ok((StatusCode::CREATED, Json(record)))
        }

        #[doc = $get_doc]
        #[utoipa::path(
            get,
            path = $item_path,
            tag = "catalog",
            params(("id" = i64, Path, description = "Record id")),
            responses(
                (status = 200, description = "The record", body = schemas::$record),
                (status = 400, description = "Not an integer id", body = schemas::ErrorBody),
                (status = 401, description = "No or bad token", body = schemas::ErrorBody),
                (status = 404, description = "No such record", body = schemas::ErrorBody),
            )
        )]
        pub async fn $get_handler(
            State(state): State<AppState>,
            _caller: Caller,
            ApiPath(id): ApiPath<$id_type>,
        ) -> ApiResult<Json<$record>> {
            Ok(Json(state.store.$store_get(id).await?))
        }

        #[doc = $update_doc]
        #[utoipa::path(
            patch,
            path = $item_path,
            tag = "catalog",
            params(("id" = i64, Path, description = "Record id")),
            request_body = schemas::$changes,
            responses(
                (status = 200, description = "The changed record", body = schemas::$record),
                (status = 400, description = "Invalid body or unknown referenced id", body = schemas::ErrorBody),
                (status = 401, description = "No or bad token", body = schemas::ErrorBody),
                (status = 403, description = "Not a manager", body = schemas::ErrorBody),
                (status = 404, description = "No such record", body = schemas::ErrorBody),
                (status = 409, description = "Clashes with an existing record", body = schemas::ErrorBody),
            )
        )]
        pub async fn $update_handler(
            State(state): State<AppState>,
            ManagerCaller(manager): ManagerCaller,
            ApiPath(id): ApiPath<$id_type>,
            ApiJson(changes): ApiJson<$changes>,
        ) -> ApiResult<Json<$record>> {
            let before = state.store.$store_get(id).await?;
            let record = catalog_collection!(@update state, manager, id, changes, $store_update $(, $update_via)?);
            state.notify(ShopChange::Catalog).await;
            audit::record(
                &state,
                &manager,
                concat!($noun, ".update"),
                format!(concat!($noun, " {}"), record.id),
                serde_json::json!({"before": before, "after": record}),
            )
            .await;
            Ok(Json(record))
        }
    };
}

catalog_collection! {
    collection_path: "/api/v1/products",
    item_path: "/api/v1/products/{id}",
    id_type: ProductId,
    noun: "product",
    record: Product,
    new: ProductNew,
    changes: ProductChanges,
    list: list_products => list_products, "Lists the products on sale.",
    create: create_product => create_product by ManagerCaller, "Adds a product; its category and taxes must exist and its barcode be unused.",
    get: get_product => get_product, "One product.",
    update: update_product => update_product via update_product_counting_stock, "Changes a product; `null` clears its category, barcode or low-stock threshold. A new `on_hand` of a tracked product is recorded as a stock count (a move with reason `count`) by the manager.",
}

catalog_collection! {
    collection_path: "/api/v1/categories",
    item_path: "/api/v1/categories/{id}",
    id_type: CategoryId,
    noun: "category",
    record: Category,
    new: CategoryNew,
    changes: CategoryChanges,
    list: list_categories => list_categories, "Lists the product categories.",
    create: create_category => create_category by ManagerCaller, "Adds a category.",
    get: get_category => get_category, "One category.",
    update: update_category => update_category, "Renames a category.",
}

catalog_collection! {
    collection_path: "/api/v1/taxes",
    item_path: "/api/v1/taxes/{id}",
    id_type: TaxId,
    noun: "tax",
    record: Tax,
    new: TaxNew,
    changes: TaxChanges,
    list: list_taxes => list_taxes, "Lists the taxes.",
    create: create_tax => create_tax by ManagerCaller, "Adds a tax (percent, price-included or added on top).",
    get: get_tax => get_tax, "One tax.",
    update: update_tax => update_tax, "Changes a tax; lines already in orders keep the rate they were added with.",
}

catalog_collection! {
    collection_path: "/api/v1/customers",
    item_path: "/api/v1/customers/{id}",
    id_type: CustomerId,
    noun: "customer",
    record: Customer,
    new: CustomerNew,
    changes: CustomerChanges,
    list: list_customers => list_customers, "Lists the customers.",
    create: create_customer => create_customer by ManagerOrTill, "Adds a customer. A manager's login or a till's terminal token may (a cashier adds a customer at the counter); a cashier's back-office login may not.",
    get: get_customer => get_customer, "One customer.",
    update: update_customer => update_customer, "Changes a customer; `null` clears the email or phone.",
}

catalog_collection! {
    collection_path: "/api/v1/payment_methods",
    item_path: "/api/v1/payment_methods/{id}",
    id_type: PaymentMethodId,
    noun: "payment_method",
    record: PaymentMethod,
    new: PaymentMethodNew,
    changes: PaymentMethodChanges,
    list: list_payment_methods => list_payment_methods, "Lists the payment methods (cash, card, other).",
    create: create_payment_method => create_payment_method by ManagerCaller, "Adds a payment method.",
    get: get_payment_method => get_payment_method, "One payment method.",
    update: update_payment_method => update_payment_method, "Changes a payment method.",
}

/// A product change in which a new on-hand of a tracked product is a stock
/// count: the other fields are written first (so `tracks_stock: true` and an
/// `on_hand` in one change count the newly tracked product), then the count is
/// a move by this manager, like any adjustment. An untracked product's on-hand
/// means nothing and is written as it is.
async fn update_product_counting_stock(
    state: &AppState,
    manager: &User,
    product_id: ProductId,
    mut changes: ProductChanges,
) -> ApiResult<Product> {
    let counted = changes.on_hand.take();
    if let Some(counted) = counted
        && counted < Quantity::ZERO
    {
        let tracks_stock = match changes.tracks_stock {
            Some(tracks_stock) => tracks_stock,
            None => state.store.get_product(product_id).await?.tracks_stock,
        };
        if tracks_stock {
            // Refused before anything is written, like the count itself would be.
            return Err(ApiError::invalid(
                StockAdjustmentError::NegativeCount.to_string(),
            ));
        }
    }
    let product = state.store.update_product(product_id, &changes).await?;
    let Some(counted) = counted else {
        return Ok(product);
    };
    if !product.tracks_stock {
        let on_hand_only = ProductChanges {
            on_hand: Some(counted),
            ..ProductChanges::default()
        };
        return Ok(state
            .store
            .update_product(product_id, &on_hand_only)
            .await?);
    }
    if product.on_hand == counted {
        return Ok(product);
    }
    let count = StockAdjustmentInput {
        reason: AdjustmentReason::Count,
        qty: None,
        counted: Some(counted),
        note: Note::parse("on hand changed in the product form").unwrap_or_default(),
    };
    super::stock::record_adjustment(state, manager, product_id, &count).await?;
    Ok(state.store.get_product(product_id).await?)
}

/// Who added a record, for the log and the audit trail.
trait Creator {
    fn user(&self) -> &User;
    fn login(&self) -> &str {
        self.user().login.as_str()
    }
}

impl Creator for ManagerCaller {
    fn user(&self) -> &User {
        &self.0
    }
}

/// A manager's login, or a till of an open session: who may add a customer.
/// A cashier's own user token is refused with 403, as for every other write.
#[derive(Debug, Clone)]
pub struct ManagerOrTill(Caller);

impl Creator for ManagerOrTill {
    fn user(&self) -> &User {
        self.0.user()
    }
}

impl<S> FromRequestParts<S> for ManagerOrTill
where
    crate::auth::AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::User(user) if user.role == Role::Manager => {
                Ok(ManagerOrTill(Caller::User(user)))
            }
            Caller::User(_) => Err(ApiError::forbidden(
                "only a manager's login or a till may add a customer",
            )),
            terminal @ Caller::Terminal(_) => Ok(ManagerOrTill(terminal)),
        }
    }
}
