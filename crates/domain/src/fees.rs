//! Convenience fees. Rates are decimals; the fee is rounded to cents once,
//! half away from zero (a 2.5 % fee on $0.10 is 0.25 cents, which rounds to
//! 0; on $0.30 it is 0.75 cents, which rounds to 1 cent).

use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::{Cents, MoneyError};

/// A fee of `flat + percent × amount`, then clamped to `[min, max]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRule {
    flat: Cents,
    percent: Decimal,
    min: Cents,
    max: Option<Cents>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeRuleError {
    #[error("the flat fee cannot be negative")]
    NegativeFlat,
    #[error("the percentage must be between 0 and 10")]
    PercentOutOfRange,
    #[error("the minimum fee cannot be negative")]
    NegativeMin,
    #[error("the maximum fee must be at least the minimum fee")]
    MaxBelowMin,
}

impl FeeRule {
    pub fn new(
        flat: Cents,
        percent: Decimal,
        min: Cents,
        max: Option<Cents>,
    ) -> Result<Self, FeeRuleError> {
        if flat.is_negative() {
            return Err(FeeRuleError::NegativeFlat);
        }
        // A convenience fee above 10 % is not a convenience fee; card
        // network rules cap them far lower.
        if percent < Decimal::ZERO || percent > Decimal::TEN {
            return Err(FeeRuleError::PercentOutOfRange);
        }
        if min.is_negative() {
            return Err(FeeRuleError::NegativeMin);
        }
        if let Some(max) = max
            && max < min
        {
            return Err(FeeRuleError::MaxBelowMin);
        }
        Ok(FeeRule {
            flat,
            percent,
            min,
            max,
        })
    }

    pub fn free() -> Self {
        FeeRule {
            flat: Cents::ZERO,
            percent: Decimal::ZERO,
            min: Cents::ZERO,
            max: None,
        }
    }

    pub fn is_free(&self) -> bool {
        self.flat == Cents::ZERO && self.percent == Decimal::ZERO && self.min == Cents::ZERO
    }

    pub fn flat(&self) -> Cents {
        self.flat
    }

    pub fn percent(&self) -> Decimal {
        self.percent
    }

    pub fn min(&self) -> Cents {
        self.min
    }

    pub fn max(&self) -> Option<Cents> {
        self.max
    }

    /// The fee for paying `amount` (non-negative).
    pub fn fee_for(&self, amount: Cents) -> Result<Cents, MoneyError> {
        if amount.is_negative() {
            return Err(MoneyError::Overflow);
        }
        let pct = Decimal::from(amount.get())
            .checked_mul(self.percent)
            .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
            .ok_or(MoneyError::Overflow)?
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        let pct: i64 = pct.try_into().map_err(|_| MoneyError::Overflow)?;
        let mut fee = self.flat.checked_add(Cents::new(pct))?;
        if fee < self.min {
            fee = self.min;
        }
        if let Some(max) = self.max
            && fee > max
        {
            fee = max;
        }
        Ok(fee)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::prelude::FromPrimitive;

    fn rule(flat: i64, pct: &str, min: i64, max: Option<i64>) -> FeeRule {
        FeeRule::new(
            Cents::new(flat),
            pct.parse().unwrap(),
            Cents::new(min),
            max.map(Cents::new),
        )
        .unwrap()
    }

    #[test]
    fn flat_plus_percent_rounded_once() {
        let r = rule(25, "2.5", 0, None);
        assert_eq!(r.fee_for(Cents::new(10_000)).unwrap(), Cents::new(275));
        // 2.5 % of 30 cents is 0.75 cents: rounds to 1.
        assert_eq!(r.fee_for(Cents::new(30)).unwrap(), Cents::new(26));
        // 2.5 % of 10 cents is 0.25 cents: rounds to 0.
        assert_eq!(r.fee_for(Cents::new(10)).unwrap(), Cents::new(25));
        // Exactly half a cent rounds away from zero: 2.5 % of 20 = 0.5.
        assert_eq!(r.fee_for(Cents::new(20)).unwrap(), Cents::new(26));
    }

    #[test]
    fn clamped_to_min_and_max() {
        let r = rule(0, "3", 100, Some(2_000));
        assert_eq!(r.fee_for(Cents::new(500)).unwrap(), Cents::new(100));
        assert_eq!(r.fee_for(Cents::new(10_000)).unwrap(), Cents::new(300));
        assert_eq!(r.fee_for(Cents::new(1_000_000)).unwrap(), Cents::new(2_000));
    }

    #[test]
    fn rejects_nonsense_rules() {
        let p = Decimal::from_f64(2.0).unwrap();
        assert_eq!(
            FeeRule::new(Cents::new(-1), p, Cents::ZERO, None),
            Err(FeeRuleError::NegativeFlat)
        );
        assert_eq!(
            FeeRule::new(Cents::ZERO, Decimal::from(11), Cents::ZERO, None),
            Err(FeeRuleError::PercentOutOfRange)
        );
        assert_eq!(
            FeeRule::new(Cents::ZERO, p, Cents::new(5), Some(Cents::new(4))),
            Err(FeeRuleError::MaxBelowMin)
        );
    }

    #[test]
    fn free_rule_charges_nothing() {
        assert!(FeeRule::free().is_free());
        assert_eq!(
            FeeRule::free().fee_for(Cents::new(12_345)).unwrap(),
            Cents::ZERO
        );
    }

    proptest! {
        #[test]
        fn fee_is_never_negative_and_monotonic(
            flat in 0i64..500,
            bp in 0u32..1000,
            a in 0i64..1_000_000_000,
            b in 0i64..1_000_000_000,
        ) {
            let r = FeeRule::new(Cents::new(flat), Decimal::new(i64::from(bp), 2), Cents::ZERO, None).unwrap();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let f_lo = r.fee_for(Cents::new(lo)).unwrap();
            let f_hi = r.fee_for(Cents::new(hi)).unwrap();
            prop_assert!(f_lo.get() >= 0);
            prop_assert!(f_lo <= f_hi);
        }

        #[test]
        fn fee_is_within_half_a_cent_of_exact(flat in 0i64..500, bp in 0u32..1000, a in 0i64..1_000_000_000) {
            let r = FeeRule::new(Cents::new(flat), Decimal::new(i64::from(bp), 2), Cents::ZERO, None).unwrap();
            let fee = r.fee_for(Cents::new(a)).unwrap().get();
            // exact = flat + a * bp / 10_000, in hundredths of a cent
            let exact_x10000 = i128::from(flat) * 10_000 + i128::from(a) * i128::from(bp);
            let diff = (i128::from(fee) * 10_000 - exact_x10000).abs();
            prop_assert!(diff <= 5_000);
        }
    }
}
