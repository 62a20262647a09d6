//! Typed ids. Catalog, configs, sessions and users have integer ids chosen by
//! the store; orders, lines, ops and terminals have UUIDs chosen by clients,
//! so an order can be created offline.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! integer_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

macro_rules! uuid_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map($name)
            }
        }
    )*};
}

integer_id!(
    /// A product of the catalog.
    ProductId,
    /// A product category.
    CategoryId,
    /// A tax.
    TaxId,
    /// A customer.
    CustomerId,
    /// A payment method.
    PaymentMethodId,
    /// A back-office user (manager or cashier).
    UserId,
    /// A POS configuration: one counter or till.
    ConfigId,
    /// One opening of a config (a shift).
    SessionId,
);

uuid_id!(
    /// An order, chosen by the terminal that creates it.
    OrderId,
    /// A line of an order, chosen by the terminal that adds it.
    LineId,
    /// One op, chosen by the terminal that sends it; the idempotency key.
    OpId,
    /// One connected client (a browser tab, a device).
    TerminalId,
);
