//! Line and order totals, exact in minor units.
//!
//! **The rounding rule.** Each line is rounded on its own ("round per line"),
//! half away from zero, to a whole minor unit:
//!
//! 1. `gross = unit_price × qty` (exact; qty is in thousandths)
//! 2. `priced = round(gross × (100% − discount))`
//! 3. with price-included taxes of summed rate `R`: `subtotal = round(priced / (1 + R))`
//!    and the included tax is `priced − subtotal`; without, `subtotal = priced`
//! 4. each price-excluded tax adds `round(subtotal × rate)`
//! 5. `tax = included tax + excluded taxes`, `total = subtotal + tax`
//!
//! Order totals are the sums of the line amounts, so they always equal the sum of the lines.
//! Every intermediate is an `i128`; a line whose amounts leave the bounds is refused.

use crate::limits::LINE_AMOUNT_ABS_MAX_MINOR;
use crate::numbers::{Discount, Money, Quantity};
use crate::order::{Line, LineTax, Totals};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line amount out of range (at most {LINE_AMOUNT_ABS_MAX_MINOR} minor units)")]
pub struct AmountOutOfRange;

/// Divides, rounding half away from zero. `denominator` must be positive.
pub fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// The amounts of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
}

fn bounded(minor: i128) -> Result<Money, AmountOutOfRange> {
    if minor.abs() > i128::from(LINE_AMOUNT_ABS_MAX_MINOR) {
        return Err(AmountOutOfRange);
    }
    Money::from_i128(minor).map_err(|_| AmountOutOfRange)
}

/// Computes a line's amounts by the rule in this module's documentation.
pub fn line_amounts(
    unit_price: Money,
    qty: Quantity,
    discount: Discount,
    taxes: &[LineTax],
) -> Result<LineAmounts, AmountOutOfRange> {
    let gross_milli = i128::from(unit_price.minor()) * i128::from(qty.milli());
    let priced = div_round_half_away(
        gross_milli * i128::from(10_000 - discount.basis_points()),
        1_000 * 10_000,
    );
    let included_rate: i128 = taxes
        .iter()
        .filter(|tax| tax.price_included)
        .map(|tax| i128::from(tax.rate.basis_points()))
        .sum();
    let subtotal = if included_rate > 0 {
        div_round_half_away(priced * 10_000, 10_000 + included_rate)
    } else {
        priced
    };
    let excluded_tax: i128 = taxes
        .iter()
        .filter(|tax| !tax.price_included)
        .map(|tax| div_round_half_away(subtotal * i128::from(tax.rate.basis_points()), 10_000))
        .sum();
    let tax = (priced - subtotal) + excluded_tax;
    Ok(LineAmounts {
        subtotal: bounded(subtotal)?,
        tax: bounded(tax)?,
        total: bounded(subtotal + tax)?,
    })
}

/// Recomputes a line's amounts from its price, quantity, discount and taxes.
pub fn recompute_line(line: &mut Line) -> Result<(), AmountOutOfRange> {
    let amounts = line_amounts(line.unit_price, line.qty, line.discount, &line.taxes)?;
    line.subtotal = amounts.subtotal;
    line.tax = amounts.tax;
    line.total = amounts.total;
    Ok(())
}

/// Sums the lines. Cannot overflow: lines are bounded in amount and in number.
pub fn order_totals(lines: &[Line]) -> Totals {
    let sum = |pick: fn(&Line) -> Money| -> Money {
        let total: i128 = lines
            .iter()
            .map(|line| i128::from(pick(line).minor()))
            .sum();
        // LINES_PER_ORDER_MAX × LINE_AMOUNT_ABS_MAX_MINOR is far inside Money's bounds.
        Money::from_i128(total).unwrap_or(Money::ZERO)
    };
    let totals = Totals {
        subtotal: sum(|line| line.subtotal),
        tax: sum(|line| line.tax),
        total: sum(|line| line.total),
    };
    assert_eq!(
        i128::from(totals.subtotal.minor()) + i128::from(totals.tax.minor()),
        i128::from(totals.total.minor()),
        "order total must equal subtotal plus tax"
    );
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TaxId;
    use crate::limits::{LINES_PER_ORDER_MAX, MONEY_ABS_MAX_MINOR, QUANTITY_ABS_MAX_MILLI};
    use crate::numbers::TaxRate;
    use proptest::prelude::*;

    fn tax(rate_bp: i64, price_included: bool) -> LineTax {
        LineTax {
            tax_id: TaxId(rate_bp),
            rate: TaxRate::from_basis_points(rate_bp).unwrap(),
            price_included,
        }
    }

    fn check(price: i64, qty: &str, discount: &str, taxes: &[LineTax], expected: (i64, i64, i64)) {
        let amounts = line_amounts(
            Money::new(price).unwrap(),
            qty.parse().unwrap(),
            discount.parse().unwrap(),
            taxes,
        )
        .unwrap();
        assert_eq!(
            (
                amounts.subtotal.minor(),
                amounts.tax.minor(),
                amounts.total.minor()
            ),
            expected,
            "price {price} qty {qty} discount {discount}"
        );
    }

    #[test]
    fn worked_examples() {
        // No tax.
        check(250, "2", "0", &[], (500, 0, 500));
        // 21% added on top.
        check(1000, "1", "0", &[tax(2100, false)], (1000, 210, 1210));
        // 21% included in a 12.10 price.
        check(1210, "1", "0", &[tax(2100, true)], (1000, 210, 1210));
        // Half a unit of 3.33 is 1.665, rounded away from zero to 1.67.
        check(333, "0.5", "0", &[], (167, 0, 167));
        // A return: negative quantity rounds symmetrically.
        check(333, "-0.5", "0", &[], (-167, 0, -167));
        // 10% discount on 3 × 4.99 = 14.97 → 13.473 → 13.47; 5.5% tax → 0.74085 → 0.74.
        check(499, "3", "10", &[tax(550, false)], (1347, 74, 1421));
        // 100% discount.
        check(499, "3", "100", &[tax(2100, true)], (0, 0, 0));
        // Included 10% and excluded 5% together: 11.00 → base 10.00, +0.50.
        check(
            1100,
            "1",
            "0",
            &[tax(1000, true), tax(500, false)],
            (1000, 150, 1150),
        );
    }

    #[test]
    fn halves_round_away_from_zero() {
        assert_eq!(div_round_half_away(5, 2), 3);
        assert_eq!(div_round_half_away(-5, 2), -3);
        assert_eq!(div_round_half_away(4, 3), 1);
        assert_eq!(div_round_half_away(-4, 3), -1);
        assert_eq!(div_round_half_away(0, 7), 0);
    }

    #[test]
    fn out_of_range_lines_are_refused_not_panicking() {
        let huge = line_amounts(
            Money::new(MONEY_ABS_MAX_MINOR).unwrap(),
            Quantity::from_milli(QUANTITY_ABS_MAX_MILLI).unwrap(),
            Discount::ZERO,
            &[tax(10_000, false); 8],
        );
        assert_eq!(huge, Err(AmountOutOfRange));
    }

    fn arbitrary_taxes() -> impl Strategy<Value = Vec<LineTax>> {
        prop::collection::vec((0i64..=10_000, any::<bool>()), 0..=8).prop_map(|taxes| {
            taxes
                .into_iter()
                .map(|(rate, included)| tax(rate, included))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn any_line_within_bounds_computes_or_refuses(
            price in -MONEY_ABS_MAX_MINOR..=MONEY_ABS_MAX_MINOR,
            qty in -QUANTITY_ABS_MAX_MILLI..=QUANTITY_ABS_MAX_MILLI,
            discount in 0i64..=10_000,
            taxes in arbitrary_taxes(),
        ) {
            let result = line_amounts(
                Money::new(price).unwrap(),
                Quantity::from_milli(qty).unwrap(),
                Discount::from_basis_points(discount).unwrap(),
                &taxes,
            );
            if let Ok(amounts) = result {
                prop_assert_eq!(amounts.subtotal.minor() + amounts.tax.minor(), amounts.total.minor());
            }
        }

        #[test]
        fn totals_equal_the_sum_of_lines(
            lines in prop::collection::vec(
                (-100_000_000i64..=100_000_000, -1_000_000i64..=1_000_000, 0i64..=10_000, arbitrary_taxes()),
                0..=LINES_PER_ORDER_MAX,
            )
        ) {
            let lines: Vec<Line> = lines.into_iter().enumerate().filter_map(|(i, (price, qty, discount, taxes))| {
                let mut line = Line {
                    id: crate::ids::LineId(uuid::Uuid::from_u128(i as u128)),
                    product_id: crate::ids::ProductId(1),
                    name: crate::text::Name::parse("Item").unwrap(),
                    qty: Quantity::from_milli(qty).unwrap(),
                    unit_price: Money::new(price).unwrap(),
                    discount: Discount::from_basis_points(discount).unwrap(),
                    note: Default::default(),
                    taxes,
                    subtotal: Money::ZERO,
                    tax: Money::ZERO,
                    total: Money::ZERO,
                };
                recompute_line(&mut line).ok().map(|()| line)
            }).collect();
            let totals = order_totals(&lines);
            let sum = |pick: fn(&Line) -> i64| lines.iter().map(pick).sum::<i64>();
            prop_assert_eq!(totals.subtotal.minor(), sum(|l| l.subtotal.minor()));
            prop_assert_eq!(totals.tax.minor(), sum(|l| l.tax.minor()));
            prop_assert_eq!(totals.total.minor(), sum(|l| l.total.minor()));
        }
    }
}
