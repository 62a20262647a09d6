//! The engine's in-memory view of the catalog: what ops may refer to.

use possync_core::*;
use std::collections::{BTreeMap, BTreeSet};

/// Products with their taxes resolved, customers and payment methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineCatalog {
    products: BTreeMap<ProductId, SaleProduct>,
    customers: BTreeSet<CustomerId>,
    payment_methods: BTreeMap<PaymentMethodId, PaymentMethodKind>,
}

impl EngineCatalog {
    /// Builds the view from the catalog records. A product's unknown tax ids
    /// are skipped (the store refuses them, so this does not happen).
    pub fn build(
        products: &[Product],
        taxes: &[Tax],
        customers: &[Customer],
        payment_methods: &[PaymentMethod],
    ) -> Self {
        let taxes_by_id: BTreeMap<TaxId, &Tax> = taxes.iter().map(|tax| (tax.id, tax)).collect();
        EngineCatalog {
            products: products
                .iter()
                .map(|product| {
                    let line_taxes = product
                        .tax_ids
                        .iter()
                        .filter_map(|tax_id| taxes_by_id.get(tax_id))
                        .map(|tax| LineTax {
                            tax_id: tax.id,
                            rate: tax.rate,
                            price_included: tax.price_included,
                        })
                        .collect();
                    (
                        product.id,
                        SaleProduct {
                            name: product.name.clone(),
                            price: product.price,
                            taxes: line_taxes,
                        },
                    )
                })
                .collect(),
            customers: customers.iter().map(|customer| customer.id).collect(),
            payment_methods: payment_methods
                .iter()
                .map(|method| (method.id, method.kind))
                .collect(),
        }
    }
}

impl CatalogView for EngineCatalog {
    fn sale_product(&self, product_id: ProductId) -> Option<SaleProduct> {
        self.products.get(&product_id).cloned()
    }

    fn customer_exists(&self, customer_id: CustomerId) -> bool {
        self.customers.contains(&customer_id)
    }

    fn payment_method_kind(&self, method_id: PaymentMethodId) -> Option<PaymentMethodKind> {
        self.payment_methods.get(&method_id).copied()
    }
}
