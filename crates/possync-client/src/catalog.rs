//! The catalog a terminal needs to show its own edits before the server
//! confirms them: product names, prices and taxes for `add_line`, customers,
//! payment method kinds. Fetched over HTTP on each connect and kept in the
//! local file, so an offline restart still shows new lines with their prices.

use crate::http::{HttpApi, HttpError};
use possync_core::{
    CatalogView, Customer, CustomerId, LineTax, PaymentMethod, PaymentMethodId, PaymentMethodKind,
    Product, ProductId, SaleProduct, Tax,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The shop's catalog as one terminal last read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub products: Vec<Product>,
    pub taxes: Vec<Tax>,
    pub customers: Vec<Customer>,
    pub payment_methods: Vec<PaymentMethod>,
}

impl Catalog {
    /// Reads the whole catalog with a terminal (or user) token.
    pub async fn fetch(api: &HttpApi) -> Result<Catalog, HttpError> {
        let (products, taxes, customers, payment_methods) = tokio::try_join!(
            api.products(),
            api.taxes(),
            api.customers(),
            api.payment_methods()
        )?;
        Ok(Catalog {
            products,
            taxes,
            customers,
            payment_methods,
        })
    }

    /// An index for `apply`.
    pub fn view(&self) -> CatalogIndex<'_> {
        CatalogIndex {
            products: self.products.iter().map(|p| (p.id, p)).collect(),
            taxes: self.taxes.iter().map(|t| (t.id, t)).collect(),
            customers: self.customers.iter().map(|c| c.id).collect(),
            payment_methods: self
                .payment_methods
                .iter()
                .map(|m| (m.id, m.kind))
                .collect(),
        }
    }
}

/// The catalog indexed by id, as `possync_core::apply` asks for it.
#[derive(Debug)]
pub struct CatalogIndex<'a> {
    products: BTreeMap<ProductId, &'a Product>,
    taxes: BTreeMap<possync_core::TaxId, &'a Tax>,
    customers: std::collections::BTreeSet<CustomerId>,
    payment_methods: BTreeMap<PaymentMethodId, PaymentMethodKind>,
}

impl CatalogView for CatalogIndex<'_> {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        let product = self.products.get(&product_id)?;
        let taxes = product
            .tax_ids
            .iter()
            .filter_map(|tax_id| self.taxes.get(tax_id))
            .map(|tax| LineTax {
                tax_id: tax.id,
                rate: tax.rate,
                price_included: tax.price_included,
            })
            .collect();
        Some(SaleProduct {
            name: product.name.clone(),
            price: product.price,
            taxes,
        })
    }

    fn customer_exists(&self, customer_id: CustomerId) -> bool {
        self.customers.contains(&customer_id)
    }

    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind> {
        self.payment_methods.get(&method_id).copied()
    }
}
