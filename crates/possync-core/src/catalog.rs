//! The shop's data: products, categories, taxes, customers, payment methods,
//! users, POS configs and sessions, with the inputs that create and change them.
//!
//! A `*New` type is what a manager submits to create a record; a `*Changes`
//! type is a partial update where every field is optional. Both hold parsed
//! values only, so a store never sees an invalid name, price or rate.

use crate::ids::*;
use crate::limits::TAXES_PER_LINE_MAX;
use crate::numbers::{Money, Quantity, TaxRate};
use crate::printing::PrinterAddress;
use crate::text::{Name, TextError};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, de};
use std::fmt;

/// A barcode as a scanner types it: 1 to 64 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Barcode(String);

impl Barcode {
    pub fn parse(text: &str) -> Result<Self, TextError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if text.len() > 64 {
            return Err(TextError::TooLong { max: 64 });
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TextError::ControlCharacter);
        }
        Ok(Barcode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A login name: 1 to 64 characters of lowercase ASCII letters, digits, `.`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Login(String);

impl Login {
    pub fn parse(text: &str) -> Result<Self, TextError> {
        let text = text.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if text.len() > 64 {
            return Err(TextError::TooLong { max: 64 });
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(TextError::ControlCharacter);
        }
        Ok(Login(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed: 1 to 256 characters. Never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(text: &str) -> Result<Self, TextError> {
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if text.chars().count() > 256 {
            return Err(TextError::TooLong { max: 256 });
        }
        Ok(Password(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

macro_rules! deserialize_by_parse {
    ($($name:ident),*) => {$(
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).map_err(de::Error::custom)
            }
        }
    )*};
}
deserialize_by_parse!(Barcode, Login, Password);

/// Deserializes a list of tax ids, refusing more than a line may carry.
fn bounded_tax_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<TaxId>, D::Error> {
    let mut tax_ids = Vec::<TaxId>::deserialize(deserializer)?;
    if tax_ids.len() > TAXES_PER_LINE_MAX {
        return Err(de::Error::custom(format!(
            "at most {TAXES_PER_LINE_MAX} taxes"
        )));
    }
    tax_ids.sort();
    tax_ids.dedup();
    Ok(tax_ids)
}

fn bounded_optional_tax_ids<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<TaxId>>, D::Error> {
    bounded_tax_ids(deserializer).map(Some)
}

/// A product on sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub name: Name,
    /// Unit price in minor units, as shown on the shelf (tax included when the tax says so).
    pub price: Money,
    pub category_id: Option<CategoryId>,
    pub barcode: Option<Barcode>,
    pub tax_ids: Vec<TaxId>,
    pub tracks_stock: bool,
    pub on_hand: Quantity,
    /// At or below this, a tracked product is low on stock (`None`: no threshold).
    pub low_stock: Option<Quantity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductNew {
    pub name: Name,
    pub price: Money,
    #[serde(default)]
    pub category_id: Option<CategoryId>,
    #[serde(default)]
    pub barcode: Option<Barcode>,
    #[serde(default, deserialize_with = "bounded_tax_ids")]
    pub tax_ids: Vec<TaxId>,
    #[serde(default)]
    pub tracks_stock: bool,
    #[serde(default)]
    pub on_hand: Quantity,
    #[serde(default, deserialize_with = "threshold")]
    pub low_stock: Option<Quantity>,
}

/// A partial update of a product. `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductChanges {
    pub name: Option<Name>,
    pub price: Option<Money>,
    #[serde(default, deserialize_with = "present")]
    pub category_id: Option<Option<CategoryId>>,
    #[serde(default, deserialize_with = "present")]
    pub barcode: Option<Option<Barcode>>,
    #[serde(default, deserialize_with = "bounded_optional_tax_ids")]
    pub tax_ids: Option<Vec<TaxId>>,
    pub tracks_stock: Option<bool>,
    pub on_hand: Option<Quantity>,
    #[serde(default, deserialize_with = "present_threshold")]
    pub low_stock: Option<Option<Quantity>>,
}

/// A low-stock threshold: a quantity of zero or more, or null for none.
fn threshold<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Quantity>, D::Error> {
    let threshold = Option::<Quantity>::deserialize(deserializer)?;
    if threshold.is_some_and(|threshold| threshold < Quantity::ZERO) {
        return Err(de::Error::custom(
            "a low-stock threshold cannot be negative",
        ));
    }
    Ok(threshold)
}

fn present_threshold<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<Quantity>>, D::Error> {
    threshold(deserializer).map(Some)
}

/// Marks a field that was present in the JSON (possibly as null) as `Some(value)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

impl Product {
    pub fn from_new(id: ProductId, new: ProductNew) -> Self {
        Product {
            id,
            name: new.name,
            price: new.price,
            category_id: new.category_id,
            barcode: new.barcode,
            tax_ids: new.tax_ids,
            tracks_stock: new.tracks_stock,
            on_hand: new.on_hand,
            low_stock: new.low_stock,
        }
    }

    /// A tracked product at or below its threshold.
    pub fn is_low_on_stock(&self) -> bool {
        self.tracks_stock
            && self
                .low_stock
                .is_some_and(|threshold| self.on_hand <= threshold)
    }

    pub fn apply_changes(&mut self, changes: ProductChanges) {
        if let Some(name) = changes.name {
            self.name = name;
        }
        if let Some(price) = changes.price {
            self.price = price;
        }
        if let Some(category_id) = changes.category_id {
            self.category_id = category_id;
        }
        if let Some(barcode) = changes.barcode {
            self.barcode = barcode;
        }
        if let Some(tax_ids) = changes.tax_ids {
            self.tax_ids = tax_ids;
        }
        if let Some(tracks_stock) = changes.tracks_stock {
            self.tracks_stock = tracks_stock;
        }
        if let Some(on_hand) = changes.on_hand {
            self.on_hand = on_hand;
        }
        if let Some(low_stock) = changes.low_stock {
            self.low_stock = low_stock;
        }
    }
}

/// A product category, shown as a tab above the product grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: Name,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryNew {
    pub name: Name,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryChanges {
    pub name: Option<Name>,
}

impl Category {
    pub fn apply_changes(&mut self, changes: &CategoryChanges) {
        if let Some(name) = &changes.name {
            self.name = name.clone();
        }
    }
}

/// A tax. A price-included tax is contained in the shelf price; a
/// price-excluded tax is added on top of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tax {
    pub id: TaxId,
    pub name: Name,
    pub rate: TaxRate,
    pub price_included: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxNew {
    pub name: Name,
    pub rate: TaxRate,
    #[serde(default)]
    pub price_included: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxChanges {
    pub name: Option<Name>,
    pub rate: Option<TaxRate>,
    pub price_included: Option<bool>,
}

impl Tax {
    pub fn apply_changes(&mut self, changes: &TaxChanges) {
        if let Some(name) = &changes.name {
            self.name = name.clone();
        }
        if let Some(rate) = changes.rate {
            self.rate = rate;
        }
        if let Some(price_included) = changes.price_included {
            self.price_included = price_included;
        }
    }
}

/// A customer, for invoices and loyalty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: Name,
    pub email: Option<Name>,
    pub phone: Option<Name>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerNew {
    pub name: Name,
    #[serde(default)]
    pub email: Option<Name>,
    #[serde(default)]
    pub phone: Option<Name>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerChanges {
    pub name: Option<Name>,
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<Name>>,
    #[serde(default, deserialize_with = "present")]
    pub phone: Option<Option<Name>>,
}

impl Customer {
    pub fn apply_changes(&mut self, changes: &CustomerChanges) {
        if let Some(name) = &changes.name {
            self.name = name.clone();
        }
        if let Some(email) = &changes.email {
            self.email = email.clone();
        }
        if let Some(phone) = &changes.phone {
            self.phone = phone.clone();
        }
    }
}

/// How a payment method settles: cash may exceed the total and gives change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodKind {
    Cash,
    Card,
    Other,
}

impl PaymentMethodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethodKind::Cash => "cash",
            PaymentMethodKind::Card => "card",
            PaymentMethodKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "cash" => Some(PaymentMethodKind::Cash),
            "card" => Some(PaymentMethodKind::Card),
            "other" => Some(PaymentMethodKind::Other),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: PaymentMethodId,
    pub name: Name,
    pub kind: PaymentMethodKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodNew {
    pub name: Name,
    pub kind: PaymentMethodKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodChanges {
    pub name: Option<Name>,
    pub kind: Option<PaymentMethodKind>,
}

impl PaymentMethod {
    pub fn apply_changes(&mut self, changes: &PaymentMethodChanges) {
        if let Some(name) = &changes.name {
            self.name = name.clone();
        }
        if let Some(kind) = changes.kind {
            self.kind = kind;
        }
    }
}

/// What a user may do: managers configure the shop, cashiers sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Manager,
    Cashier,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Cashier => "cashier",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "manager" => Some(Role::Manager),
            "cashier" => Some(Role::Cashier),
            _ => None,
        }
    }
}

/// A person who logs in. The password hash lives in the store only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub login: Login,
    pub name: Name,
    pub role: Role,
    /// An inactive user cannot log in and holds no working token.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// The counters a cashier may open or join, ascending. A manager may open any.
    #[serde(default)]
    pub config_ids: Vec<ConfigId>,
    /// Whether the user has a PIN (to approve an op at a till). The PIN itself
    /// is write-only: only its hash is stored, and it is never answered.
    #[serde(default)]
    pub has_pin: bool,
}

fn active_by_default() -> bool {
    true
}

impl User {
    /// Whether this user may open or join a session of `config_id`.
    pub fn may_open(&self, config_id: ConfigId) -> bool {
        self.active && (self.role == Role::Manager || self.config_ids.contains(&config_id))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserNew {
    pub login: Login,
    pub name: Name,
    pub role: Role,
    pub password: Password,
    #[serde(default)]
    pub config_ids: Vec<ConfigId>,
    /// A PIN to approve ops at a till (managers), 4 to 8 digits.
    #[serde(default)]
    pub pin: Option<crate::rights::Pin>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    pub name: Option<Name>,
    pub role: Option<Role>,
    pub password: Option<Password>,
    pub active: Option<bool>,
    pub config_ids: Option<Vec<ConfigId>>,
    /// A new PIN, or `null` to remove it.
    #[serde(default, deserialize_with = "present")]
    pub pin: Option<Option<crate::rights::Pin>>,
}

/// A POS configuration: one counter or till, with the configs it syncs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub id: ConfigId,
    pub name: Name,
    pub sync_with: Vec<ConfigId>,
    /// Share every new draft with the linked configs at once (no Manual Sync needed).
    pub auto_share: bool,
    pub open_session_id: Option<SessionId>,
    /// The network receipt printer (raw ESC/POS over TCP) that prints this
    /// config's receipts and opens its cash drawer; `None`: no printer.
    #[serde(default)]
    pub printer: Option<PrinterAddress>,
    /// Prices, discounts, negative quantities and refunds need a manager: a
    /// cashier's such op is refused `forbidden` unless a manager approves it.
    #[serde(default)]
    pub restrict_price_control: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigNew {
    pub name: Name,
    #[serde(default)]
    pub sync_with: Vec<ConfigId>,
    #[serde(default)]
    pub auto_share: bool,
    #[serde(default)]
    pub printer: Option<PrinterAddress>,
    #[serde(default)]
    pub restrict_price_control: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigChanges {
    pub name: Option<Name>,
    pub auto_share: Option<bool>,
    /// `Some(None)` (JSON null) removes the printer.
    #[serde(default, deserialize_with = "present")]
    pub printer: Option<Option<PrinterAddress>>,
    pub restrict_price_control: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Open,
    Closed,
}

/// One opening of a config: a shift. At most one is open per config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub config_id: ConfigId,
    pub state: SessionState,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub opened_by: UserId,
    pub opening_cash: Money,
    pub counted_cash: Option<Money>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_changes_distinguish_absent_from_null() {
        let changes: ProductChanges =
            serde_json::from_str(r#"{"barcode":null,"price":990}"#).unwrap();
        assert_eq!(changes.barcode, Some(None));
        assert_eq!(changes.category_id, None);
        assert_eq!(changes.price, Some(Money::new(990).unwrap()));
        assert!(serde_json::from_str::<ProductChanges>(r#"{"prize":1}"#).is_err());
    }

    #[test]
    fn product_new_refuses_bad_values() {
        for bad in [
            r#"{"name":"","price":100}"#,
            r#"{"name":"Tea","price":1.5}"#,
            r#"{"name":"Tea","price":100,"barcode":"12 34"}"#,
            r#"{"name":"Tea","price":100,"tax_ids":[1,2,3,4,5,6,7,8,9]}"#,
        ] {
            assert!(serde_json::from_str::<ProductNew>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logins_are_normalized() {
        assert_eq!(Login::parse(" Admin ").unwrap().as_str(), "admin");
        assert!(Login::parse("a b").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret").unwrap()),
            "Password(***)"
        );
    }
}
