//! Exact numbers: money in minor units, quantities in thousandths, discounts
//! and tax rates in basis points. Each type can only hold a value inside its
//! bounds; parsing (from JSON strings or numbers) is the only way in.

use crate::limits::{MONEY_ABS_MAX_MINOR, QUANTITY_ABS_MAX_MILLI};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("not a decimal number: {0:?}")]
    NotDecimal(String),
    #[error("at most {max_fraction_digits} digits after the decimal point: {text:?}")]
    TooPrecise {
        text: String,
        max_fraction_digits: u32,
    },
    #[error("{what} out of range: {text}")]
    OutOfRange { what: &'static str, text: String },
}

/// Parses `-?digits(.digits)?` into an integer scaled by 10^`fraction_digits`.
/// No exponent, no sign other than a leading minus, no spaces.
fn parse_scaled_decimal(text: &str, fraction_digits: u32) -> Result<i128, NumberError> {
    let not_decimal = || NumberError::NotDecimal(text.chars().take(40).collect());
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (unsigned, ""),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return Err(not_decimal());
    }
    if unsigned.contains('.') && fraction.is_empty() {
        return Err(not_decimal());
    }
    // Trailing zeros never add precision ("2.500" is a valid quantity and a valid discount).
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > fraction_digits as usize {
        return Err(NumberError::TooPrecise {
            text: text.chars().take(40).collect(),
            max_fraction_digits: fraction_digits,
        });
    }
    // Bound the length before converting so that no input can overflow i128.
    let whole = whole.trim_start_matches('0');
    if whole.len() > 24 {
        return Err(NumberError::OutOfRange {
            what: "number",
            text: text.chars().take(40).collect(),
        });
    }
    let mut value: i128 = 0;
    for b in whole.bytes() {
        value = value * 10 + i128::from(b - b'0');
    }
    let mut fraction_value: i128 = 0;
    for i in 0..fraction_digits as usize {
        let digit = fraction.as_bytes().get(i).map_or(0, |b| b - b'0');
        fraction_value = fraction_value * 10 + i128::from(digit);
    }
    let scaled = value * 10i128.pow(fraction_digits) + fraction_value;
    Ok(if negative { -scaled } else { scaled })
}

/// Formats an integer scaled by 10^`fraction_digits` as the shortest exact decimal.
fn format_scaled_decimal(value: i64, fraction_digits: u32) -> String {
    let scale = 10i64.pow(fraction_digits);
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let whole = magnitude / scale as u64;
    let fraction = magnitude % scale as u64;
    if fraction == 0 {
        format!("{sign}{whole}")
    } else {
        let digits = format!("{fraction:0width$}", width = fraction_digits as usize);
        format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// A visitor that accepts a decimal as a JSON string or a JSON number.
struct DecimalVisitor {
    fraction_digits: u32,
    expecting: &'static str,
}

impl Visitor<'_> for DecimalVisitor {
    type Value = i128;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<i128, E> {
        parse_scaled_decimal(text, self.fraction_digits).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i128, E> {
        Ok(i128::from(value) * 10i128.pow(self.fraction_digits))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i128, E> {
        Ok(i128::from(value) * 10i128.pow(self.fraction_digits))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i128, E> {
        // A JSON number such as 0.35 arrives as f64; its shortest decimal form is exact
        // for every value a person types, and anything more precise is refused.
        if !value.is_finite() {
            return Err(E::custom("not a finite number"));
        }
        let text = format!("{value}");
        if text.contains(['e', 'E']) {
            return Err(E::custom(NumberError::NotDecimal(text)));
        }
        parse_scaled_decimal(&text, self.fraction_digits).map_err(E::custom)
    }
}

/// An amount of money in the currency's minor unit (1250 = 12.50).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn new(minor: i64) -> Result<Self, NumberError> {
        if minor.unsigned_abs() > MONEY_ABS_MAX_MINOR as u64 {
            return Err(NumberError::OutOfRange {
                what: "amount",
                text: minor.to_string(),
            });
        }
        Ok(Money(minor))
    }

    /// Builds money from a wide intermediate, refusing what is out of range.
    pub fn from_i128(minor: i128) -> Result<Self, NumberError> {
        i64::try_from(minor)
            .map_err(|_| NumberError::OutOfRange {
                what: "amount",
                text: minor.to_string(),
            })
            .and_then(Money::new)
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).and_then(|m| Money::new(m).ok())
    }
}

/// Shows the amount with two decimals ("12.50"), as on a receipt.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let minor = i64::deserialize(deserializer)?;
        Money::new(minor).map_err(de::Error::custom)
    }
}

/// A quantity with at most three fractional digits, held in thousandths.
/// On the wire it is a decimal string ("2", "0.35", "-1"); a JSON number is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);
    pub const ONE: Quantity = Quantity(1000);

    pub fn from_milli(milli: i64) -> Result<Self, NumberError> {
        if milli.unsigned_abs() > QUANTITY_ABS_MAX_MILLI as u64 {
            return Err(NumberError::OutOfRange {
                what: "quantity",
                text: format_scaled_decimal(milli, 3),
            });
        }
        Ok(Quantity(milli))
    }

    pub fn milli(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Quantity) -> Result<Quantity, NumberError> {
        Quantity::from_milli(self.0.saturating_add(other.0))
    }

    /// self + other, held within the range a quantity may take.
    pub fn saturating_add(self, other: Quantity) -> Quantity {
        Quantity(
            self.0
                .saturating_add(other.0)
                .clamp(-QUANTITY_ABS_MAX_MILLI, QUANTITY_ABS_MAX_MILLI),
        )
    }
}

/// The range is symmetric, so every quantity has its opposite.
impl std::ops::Neg for Quantity {
    type Output = Quantity;
    fn neg(self) -> Quantity {
        Quantity(-self.0)
    }
}

impl std::str::FromStr for Quantity {
    type Err = NumberError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let scaled = parse_scaled_decimal(text, 3)?;
        i64::try_from(scaled)
            .map_err(|_| NumberError::OutOfRange {
                what: "quantity",
                text: text.chars().take(40).collect(),
            })
            .and_then(Quantity::from_milli)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled_decimal(self.0, 3))
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let scaled = deserializer.deserialize_any(DecimalVisitor {
            fraction_digits: 3,
            expecting: "a quantity as a decimal string such as \"2\" or \"0.350\"",
        })?;
        let milli =
            i64::try_from(scaled).map_err(|_| de::Error::custom("quantity out of range"))?;
        Quantity::from_milli(milli).map_err(de::Error::custom)
    }
}

/// A percentage from 0 to 100 with at most two fractional digits, held in
/// basis points (12.5% = 1250). Used for discounts and tax rates.
macro_rules! percent_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u16);

        impl $name {
            pub const ZERO: $name = $name(0);

            pub fn from_basis_points(basis_points: i64) -> Result<Self, NumberError> {
                if !(0..=10_000).contains(&basis_points) {
                    return Err(NumberError::OutOfRange {
                        what: $what,
                        text: format_scaled_decimal(basis_points, 2),
                    });
                }
                Ok($name(basis_points as u16))
            }

            pub fn basis_points(self) -> i64 {
                i64::from(self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = NumberError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let scaled = parse_scaled_decimal(text, 2)?;
                let basis_points = i64::try_from(scaled).unwrap_or(i64::MAX);
                $name::from_basis_points(basis_points)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&format_scaled_decimal(i64::from(self.0), 2))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let scaled = deserializer.deserialize_any(DecimalVisitor {
                    fraction_digits: 2,
                    expecting: concat!("a ", $what, " as a percent decimal string from \"0\" to \"100\""),
                })?;
                let basis_points = i64::try_from(scaled).unwrap_or(i64::MAX);
                $name::from_basis_points(basis_points).map_err(de::Error::custom)
            }
        }
    };
}

percent_type!(
    /// A line discount in percent (0 to 100, two decimals).
    Discount,
    "discount"
);
percent_type!(
    /// A tax rate in percent (0 to 100, two decimals).
    TaxRate,
    "tax rate"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_from_strings_and_numbers() {
        let cases: &[(&str, Option<i64>)] = &[
            ("\"2\"", Some(2000)),
            ("\"0.350\"", Some(350)),
            ("\"-1\"", Some(-1000)),
            ("\"1.2345\"", None),
            ("\"1.2340\"", Some(1234)),
            ("\"1e3\"", None),
            ("\"+1\"", None),
            ("\" 1\"", None),
            ("\"1.\"", None),
            ("\".5\"", None),
            ("\"\"", None),
            ("\"1000000\"", Some(1_000_000_000)),
            ("\"1000000.001\"", None),
            ("\"99999999999999999999999999999999999\"", None),
            ("2", Some(2000)),
            ("0.35", Some(350)),
            ("-0.001", Some(-1)),
            ("0.0001", None),
            ("1e300", None),
            ("true", None),
            ("null", None),
        ];
        for (json, expected) in cases {
            let parsed = serde_json::from_str::<Quantity>(json)
                .ok()
                .map(Quantity::milli);
            assert_eq!(parsed, *expected, "{json}");
        }
    }

    #[test]
    fn quantities_answer_as_short_strings() {
        for (milli, text) in [
            (2000, "2"),
            (350, "0.35"),
            (-1000, "-1"),
            (1, "0.001"),
            (0, "0"),
        ] {
            let quantity = Quantity::from_milli(milli).unwrap();
            assert_eq!(
                serde_json::to_string(&quantity).unwrap(),
                format!("\"{text}\"")
            );
            assert_eq!(text.parse::<Quantity>().unwrap(), quantity);
        }
    }

    #[test]
    fn percents_are_bounded() {
        assert_eq!("12.5".parse::<Discount>().unwrap().basis_points(), 1250);
        assert_eq!("100".parse::<Discount>().unwrap().basis_points(), 10_000);
        assert!("100.01".parse::<Discount>().is_err());
        assert!("-1".parse::<Discount>().is_err());
        assert!("1.001".parse::<Discount>().is_err());
        assert_eq!(
            serde_json::from_str::<TaxRate>("21")
                .unwrap()
                .basis_points(),
            2100
        );
        assert_eq!(
            serde_json::to_string(&TaxRate::from_basis_points(550).unwrap()).unwrap(),
            "\"5.5\""
        );
    }

    #[test]
    fn money_is_bounded_integers() {
        assert_eq!(serde_json::from_str::<Money>("1250").unwrap().minor(), 1250);
        assert!(serde_json::from_str::<Money>("12.5").is_err());
        assert!(serde_json::from_str::<Money>("\"1250\"").is_err());
        assert!(serde_json::from_str::<Money>(&(MONEY_ABS_MAX_MINOR + 1).to_string()).is_err());
        assert_eq!(Money::new(1250).unwrap().to_string(), "12.50");
        assert_eq!(Money::new(-5).unwrap().to_string(), "-0.05");
    }
}
