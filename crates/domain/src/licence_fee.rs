//! Business licence fees: what a renewal costs, from the city's fee
//! schedule (configuration), the licence's category, what the holder
//! declares, and how late the renewal is.
//!
//! - A category's fee is **flat**, **by gross receipts** (a base, plus a
//!   rate per $1,000 of gross receipts above a threshold, up to a cap) or
//!   **by employees** (a base covering some employees, plus an amount per
//!   employee beyond them, up to a cap).
//! - A **late penalty** is a percentage of that fee per month, or part of a
//!   month, after the licence expired, up to a maximum percentage.
//! - **Surcharges** the state mandates (say a disability-access fee) are
//!   fixed amounts added to every renewal and never penalised.
//!
//! Arithmetic is exact (decimals) and each line is rounded to cents once,
//! half away from zero, as the last step; the total is the sum of the
//! rounded lines, so what the holder sees adds up.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::{Cents, MoneyError};

/// How one category's fee is worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CategoryFee {
    Flat(Cents),
    GrossReceipts {
        base: Cents,
        /// Gross receipts up to this are covered by the base.
        threshold: Cents,
        /// Dollars per $1,000 of gross receipts above the threshold.
        rate_per_thousand: Decimal,
        cap: Option<Cents>,
    },
    Employees {
        base: Cents,
        /// Employees covered by the base.
        included: u32,
        per_employee: Cents,
        cap: Option<Cents>,
    },
}

impl CategoryFee {
    /// What the holder must declare for this category.
    pub fn needs(&self) -> Needs {
        match self {
            CategoryFee::Flat(_) => Needs::Nothing,
            CategoryFee::GrossReceipts { .. } => Needs::GrossReceipts,
            CategoryFee::Employees { .. } => Needs::Employees,
        }
    }
}

/// The declaration a category's fee depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    GrossReceipts,
    Employees,
}

/// A percentage of the fee per month late, up to a maximum percentage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatePenalty {
    pub percent_per_month: Decimal,
    pub max_percent: Decimal,
}

/// A fixed amount added to every renewal (never penalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surcharge {
    pub name: String,
    pub amount: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeSchedule {
    pub categories: BTreeMap<String, CategoryFee>,
    pub late_penalty: Option<LatePenalty>,
    pub surcharges: Vec<Surcharge>,
    /// Declared gross receipts above this are refused as implausible.
    pub gross_receipts_ceiling: Cents,
    /// Declared employees above this are refused as implausible.
    pub employees_ceiling: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0} cannot be negative")]
    Negative(&'static str),
    #[error("the cap must be at least the base fee")]
    CapBelowBase,
    #[error("the rate per $1,000 must be between 0 and 1,000")]
    RateOutOfRange,
    #[error("the late penalty percentages must be between 0 and 100")]
    PenaltyOutOfRange,
}

impl CategoryFee {
    /// Checks the amounts: nothing negative, a cap no lower than the base,
    /// a sane rate.
    pub fn check(&self) -> Result<(), ScheduleError> {
        let cap_ok = |base: Cents, cap: Option<Cents>| match cap {
            Some(c) if c < base => Err(ScheduleError::CapBelowBase),
            _ => Ok(()),
        };
        match self {
            CategoryFee::Flat(a) if a.is_negative() => Err(ScheduleError::Negative("the fee")),
            CategoryFee::Flat(_) => Ok(()),
            CategoryFee::GrossReceipts {
                base,
                threshold,
                rate_per_thousand,
                cap,
            } => {
                if base.is_negative() {
                    return Err(ScheduleError::Negative("the base fee"));
                }
                if threshold.is_negative() {
                    return Err(ScheduleError::Negative("the threshold"));
                }
                if *rate_per_thousand < Decimal::ZERO || *rate_per_thousand > Decimal::from(1_000) {
                    return Err(ScheduleError::RateOutOfRange);
                }
                cap_ok(*base, *cap)
            }
            CategoryFee::Employees {
                base,
                per_employee,
                cap,
                ..
            } => {
                if base.is_negative() {
                    return Err(ScheduleError::Negative("the base fee"));
                }
                if per_employee.is_negative() {
                    return Err(ScheduleError::Negative("the amount per employee"));
                }
                cap_ok(*base, *cap)
            }
        }
    }
}

impl LatePenalty {
    pub fn new(percent_per_month: Decimal, max_percent: Decimal) -> Result<Self, ScheduleError> {
        let hundred = Decimal::ONE_HUNDRED;
        if percent_per_month < Decimal::ZERO
            || percent_per_month > hundred
            || max_percent < Decimal::ZERO
            || max_percent > hundred
        {
            return Err(ScheduleError::PenaltyOutOfRange);
        }
        Ok(LatePenalty {
            percent_per_month,
            max_percent,
        })
    }
}

/// What the holder declared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Declaration {
    pub gross_receipts: Option<Cents>,
    pub employees: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// The category's fee.
    Licence,
    /// The late penalty, with the months counted.
    LatePenalty { months: u32 },
    /// The schedule's surcharge at this index.
    Surcharge(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeLine {
    pub kind: LineKind,
    pub amount: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    pub lines: Vec<FeeLine>,
    pub total: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("unknown licence category {0:?}")]
    UnknownCategory(String),
    #[error("the gross receipts for the year are needed")]
    GrossReceiptsMissing,
    #[error("gross receipts cannot be negative")]
    GrossReceiptsNegative,
    #[error("gross receipts above {0} are not accepted online; contact the licensing office")]
    GrossReceiptsTooHigh(Cents),
    #[error("the number of employees is needed")]
    EmployeesMissing,
    #[error("more than {0} employees are not accepted online; contact the licensing office")]
    EmployeesTooMany(u32),
    #[error("the amounts overflowed")]
    Overflow,
}

impl From<MoneyError> for FeeError {
    fn from(_: MoneyError) -> Self {
        FeeError::Overflow
    }
}

/// Rounds a number of cents to whole cents, half away from zero.
fn round_cents(cents: Decimal) -> Result<Cents, FeeError> {
    let rounded = cents.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let whole: i64 = rounded.try_into().map_err(|_| FeeError::Overflow)?;
    Ok(Cents::new(whole))
}

/// Months, or parts of a month, from the day after `expiry` to `paid_on`:
/// none when paid on or before the expiry date; one from the next day up
/// to the same day of the next month, and so on.
pub fn months_late(expiry: Date, paid_on: Date) -> u32 {
    if paid_on <= expiry {
        return 0;
    }
    let mut months = 0u32;
    let mut boundary = expiry;
    while boundary < paid_on {
        months += 1;
        boundary = match expiry.checked_add(jiff::Span::new().months(i64::from(months))) {
            Ok(d) => d,
            Err(_) => return months,
        };
        if months >= 1_200 {
            break;
        }
    }
    months
}

impl FeeSchedule {
    /// The category's fee for `declared`, before penalties and surcharges.
    pub fn licence_fee(&self, category: &str, declared: &Declaration) -> Result<Cents, FeeError> {
        let rule = self
            .categories
            .get(category)
            .ok_or_else(|| FeeError::UnknownCategory(category.to_owned()))?;
        match rule {
            CategoryFee::Flat(a) => Ok(*a),
            CategoryFee::GrossReceipts {
                base,
                threshold,
                rate_per_thousand,
                cap,
            } => {
                let gross = declared
                    .gross_receipts
                    .ok_or(FeeError::GrossReceiptsMissing)?;
                if gross.is_negative() {
                    return Err(FeeError::GrossReceiptsNegative);
                }
                if gross > self.gross_receipts_ceiling {
                    return Err(FeeError::GrossReceiptsTooHigh(self.gross_receipts_ceiling));
                }
                let above = gross.checked_sub(*threshold)?.max(Cents::ZERO);
                // cents above × dollars per $1,000 / 1,000 = cents owed.
                let variable = Decimal::from(above.get())
                    .checked_mul(*rate_per_thousand)
                    .ok_or(FeeError::Overflow)?
                    / Decimal::from(1_000);
                let fee = round_cents(Decimal::from(base.get()) + variable)?;
                Ok(cap.map_or(fee, |c| fee.min(c)))
            }
            CategoryFee::Employees {
                base,
                included,
                per_employee,
                cap,
            } => {
                let n = declared.employees.ok_or(FeeError::EmployeesMissing)?;
                if n > self.employees_ceiling {
                    return Err(FeeError::EmployeesTooMany(self.employees_ceiling));
                }
                let extra = i64::from(n.saturating_sub(*included));
                let fee = base.checked_add(per_employee.checked_mul(extra)?)?;
                Ok(cap.map_or(fee, |c| fee.min(c)))
            }
        }
    }

    /// The whole fee for a renewal paid on `paid_on` of a licence that
    /// expires (or expired) on `expiry`.
    pub fn renewal_fee(
        &self,
        category: &str,
        declared: &Declaration,
        expiry: Date,
        paid_on: Date,
    ) -> Result<Fee, FeeError> {
        let licence = self.licence_fee(category, declared)?;
        let mut lines = vec![FeeLine {
            kind: LineKind::Licence,
            amount: licence,
        }];
        let months = months_late(expiry, paid_on);
        if let (Some(p), true) = (&self.late_penalty, months > 0) {
            let percent = (p.percent_per_month * Decimal::from(months)).min(p.max_percent);
            let penalty =
                round_cents(Decimal::from(licence.get()) * percent / Decimal::ONE_HUNDRED)?;
            if penalty.is_positive() {
                lines.push(FeeLine {
                    kind: LineKind::LatePenalty { months },
                    amount: penalty,
                });
            }
        }
        for (i, s) in self.surcharges.iter().enumerate() {
            lines.push(FeeLine {
                kind: LineKind::Surcharge(i),
                amount: s.amount,
            });
        }
        let total = Cents::sum(lines.iter().map(|l| l.amount))?;
        Ok(Fee { lines, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn dollars(s: &str) -> Cents {
        Cents::parse_dollars(s).unwrap()
    }

    fn schedule() -> FeeSchedule {
        let mut categories = BTreeMap::new();
        categories.insert("home".to_owned(), CategoryFee::Flat(dollars("50.00")));
        categories.insert(
            "retail".to_owned(),
            CategoryFee::GrossReceipts {
                base: dollars("75.00"),
                threshold: dollars("50000.00"),
                rate_per_thousand: Decimal::new(80, 2),
                cap: Some(dollars("5000.00")),
            },
        );
        categories.insert(
            "contractor".to_owned(),
            CategoryFee::Employees {
                base: dollars("60.00"),
                included: 2,
                per_employee: dollars("12.50"),
                cap: Some(dollars("1000.00")),
            },
        );
        FeeSchedule {
            categories,
            late_penalty: Some(LatePenalty::new(Decimal::TEN, Decimal::from(50)).unwrap()),
            surcharges: vec![Surcharge {
                name: "State disability access fee".into(),
                amount: dollars("4.00"),
            }],
            gross_receipts_ceiling: Cents::new(crate::money::MAX_INPUT_CENTS),
            employees_ceiling: 100_000,
        }
    }

    fn gross(s: &str) -> Declaration {
        Declaration {
            gross_receipts: Some(dollars(s)),
            employees: None,
        }
    }

    #[test]
    fn each_kind_of_category_fee() {
        let s = schedule();
        assert_eq!(
            s.licence_fee("home", &Declaration::default()),
            Ok(dollars("50.00"))
        );
        // At or below the threshold: the base.
        assert_eq!(
            s.licence_fee("retail", &gross("50000.00")),
            Ok(dollars("75.00"))
        );
        // $250,000: $200,000 above at $0.80 per $1,000 = $160.
        assert_eq!(
            s.licence_fee("retail", &gross("250000.00")),
            Ok(dollars("235.00"))
        );
        // $50,001.25 above by $1.25: 0.1 cents, rounded away.
        assert_eq!(
            s.licence_fee("retail", &gross("50001.25")),
            Ok(dollars("75.00"))
        );
        // Above by $625: 50 cents exactly; by $631.25: 50.5 cents → 51.
        assert_eq!(
            s.licence_fee("retail", &gross("50625.00")),
            Ok(dollars("75.50"))
        );
        assert_eq!(
            s.licence_fee("retail", &gross("50631.25")),
            Ok(dollars("75.51"))
        );
        // The cap.
        assert_eq!(
            s.licence_fee("retail", &gross("9000000.00")),
            Ok(dollars("5000.00"))
        );
        let staff = |n| Declaration {
            gross_receipts: None,
            employees: Some(n),
        };
        assert_eq!(s.licence_fee("contractor", &staff(2)), Ok(dollars("60.00")));
        assert_eq!(
            s.licence_fee("contractor", &staff(10)),
            Ok(dollars("160.00"))
        );
        assert_eq!(
            s.licence_fee("contractor", &staff(5000)),
            Ok(dollars("1000.00"))
        );
    }

    #[test]
    fn declarations_are_checked() {
        let s = schedule();
        assert_eq!(
            s.licence_fee("retail", &Declaration::default()),
            Err(FeeError::GrossReceiptsMissing)
        );
        assert_eq!(
            s.licence_fee(
                "retail",
                &Declaration {
                    gross_receipts: Some(Cents::new(-1)),
                    employees: None
                }
            ),
            Err(FeeError::GrossReceiptsNegative)
        );
        assert_eq!(
            s.licence_fee(
                "retail",
                &Declaration {
                    gross_receipts: Some(Cents::new(crate::money::MAX_INPUT_CENTS + 1)),
                    employees: None
                }
            ),
            Err(FeeError::GrossReceiptsTooHigh(Cents::new(
                crate::money::MAX_INPUT_CENTS
            )))
        );
        assert_eq!(
            s.licence_fee("contractor", &Declaration::default()),
            Err(FeeError::EmployeesMissing)
        );
        assert_eq!(
            s.licence_fee("bakery", &Declaration::default()),
            Err(FeeError::UnknownCategory("bakery".into()))
        );
    }

    #[test]
    fn months_late_count_started_months() {
        let expiry = date(2026, 12, 31);
        assert_eq!(months_late(expiry, date(2026, 11, 15)), 0);
        assert_eq!(months_late(expiry, expiry), 0);
        assert_eq!(months_late(expiry, date(2027, 1, 1)), 1);
        assert_eq!(months_late(expiry, date(2027, 1, 31)), 1);
        assert_eq!(months_late(expiry, date(2027, 2, 1)), 2);
        assert_eq!(months_late(date(2026, 6, 30), date(2027, 6, 30)), 12);
    }

    #[test]
    fn a_late_renewal_pays_a_capped_penalty_on_the_licence_fee_only() {
        let s = schedule();
        let expiry = date(2026, 12, 31);
        let on_time = s
            .renewal_fee("retail", &gross("250000.00"), expiry, date(2026, 12, 1))
            .unwrap();
        assert_eq!(on_time.total, dollars("239.00"));
        assert_eq!(on_time.lines.len(), 2);
        // Two months late: 20 % of $235.00.
        let late = s
            .renewal_fee("retail", &gross("250000.00"), expiry, date(2027, 2, 10))
            .unwrap();
        assert_eq!(
            late.lines[1],
            FeeLine {
                kind: LineKind::LatePenalty { months: 2 },
                amount: dollars("47.00")
            }
        );
        assert_eq!(late.total, dollars("286.00"));
        // A year late: capped at 50 %.
        let very = s
            .renewal_fee("retail", &gross("250000.00"), expiry, date(2028, 1, 5))
            .unwrap();
        assert_eq!(very.lines[1].amount, dollars("117.50"));
    }

    #[test]
    fn schedules_are_checked() {
        assert_eq!(
            CategoryFee::Flat(Cents::new(-1)).check(),
            Err(ScheduleError::Negative("the fee"))
        );
        assert_eq!(
            CategoryFee::GrossReceipts {
                base: dollars("75.00"),
                threshold: Cents::ZERO,
                rate_per_thousand: Decimal::ONE,
                cap: Some(dollars("10.00")),
            }
            .check(),
            Err(ScheduleError::CapBelowBase)
        );
        assert!(LatePenalty::new(Decimal::from(101), Decimal::TEN).is_err());
    }

    proptest! {
        #[test]
        fn fees_are_never_negative_and_add_up(
            g in 0i64..=1_000_000_000,
            n in 0u32..=100_000,
            late_days in 0i32..=800,
        ) {
            let s = schedule();
            let expiry = date(2026, 12, 31);
            let paid = expiry.checked_add(jiff::Span::new().days(late_days)).unwrap();
            let declared = Declaration { gross_receipts: Some(Cents::new(g)), employees: Some(n) };
            for category in ["home", "retail", "contractor"] {
                let fee = s.renewal_fee(category, &declared, expiry, paid).unwrap();
                prop_assert!(fee.lines.iter().all(|l| !l.amount.is_negative()));
                prop_assert_eq!(fee.total, Cents::sum(fee.lines.iter().map(|l| l.amount)).unwrap());
                // The penalty never passes its cap.
                let licence = fee.lines[0].amount;
                for l in &fee.lines {
                    if let LineKind::LatePenalty { .. } = l.kind {
                        prop_assert!(l.amount.get() * 2 <= licence.get() + 1);
                    }
                }
            }
        }

        #[test]
        fn more_gross_receipts_never_cost_less(a in 0i64..=1_000_000_000, b in 0i64..=1_000_000_000) {
            let s = schedule();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let fee = |g| s.licence_fee("retail", &Declaration {
                gross_receipts: Some(Cents::new(g)),
                employees: None,
            }).unwrap();
            prop_assert!(fee(lo) <= fee(hi));
        }

        #[test]
        fn more_employees_never_cost_less(a in 0u32..=100_000, b in 0u32..=100_000) {
            let s = schedule();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let fee = |n| s.licence_fee("contractor", &Declaration {
                gross_receipts: None,
                employees: Some(n),
            }).unwrap();
            prop_assert!(fee(lo) <= fee(hi));
        }

        #[test]
        fn later_never_costs_less(d1 in 0i32..=900, d2 in 0i32..=900) {
            let s = schedule();
            let expiry = date(2026, 12, 31);
            let (lo, hi) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
            let on = |d: i32| expiry.checked_add(jiff::Span::new().days(d)).unwrap();
            let total = |d| s.renewal_fee("home", &Declaration::default(), expiry, on(d)).unwrap().total;
            prop_assert!(total(lo) <= total(hi));
        }
    }
}
