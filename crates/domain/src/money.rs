//! Money as integer cents. There is no `Add` impl: every operation that can
//! overflow is checked and returns a `Result`, so a bug shows up as an error
//! instead of a wrapped balance.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of US dollars in cents. May be negative (ledger postings,
/// adjustments); inputs from residents go through [`Cents::parse_dollars`],
/// which only accepts non-negative amounts.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflow")]
    Overflow,
}

/// Why a typed amount was refused. The messages are shown to residents and
/// staff beside the field, so they say what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("enter an amount")]
    Empty,
    #[error("enter an amount in dollars and cents, like 45.10")]
    NotANumber,
    #[error("an amount cannot have more than two decimal places")]
    TooManyDecimals,
    #[error("the amount cannot be negative")]
    Negative,
    #[error("the amount is too large")]
    TooLarge,
}

/// Amounts above this are refused at every input edge: a city receivable of
/// ten million dollars is a typo, and the bound keeps every sum far from
/// `i64` overflow.
pub const MAX_INPUT_CENTS: i64 = 1_000_000_000;

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub const fn new(cents: i64) -> Self {
        Cents(cents)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Cents) -> Result<Cents, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Cents)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Cents) -> Result<Cents, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Cents)
            .ok_or(MoneyError::Overflow)
    }

    /// `self × n` (a per-unit amount times a count).
    pub fn checked_mul(self, n: i64) -> Result<Cents, MoneyError> {
        self.0.checked_mul(n).map(Cents).ok_or(MoneyError::Overflow)
    }

    pub fn checked_neg(self) -> Result<Cents, MoneyError> {
        self.0.checked_neg().map(Cents).ok_or(MoneyError::Overflow)
    }

    pub fn sum<I: IntoIterator<Item = Cents>>(items: I) -> Result<Cents, MoneyError> {
        items
            .into_iter()
            .try_fold(Cents::ZERO, |acc, c| acc.checked_add(c))
    }

    /// Parses what a person types: `45`, `45.1`, `45.10`, `$1,234.56`.
    /// Thousands separators must be well placed; at most two decimals; no sign.
    pub fn parse_dollars(input: &str) -> Result<Cents, AmountError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        if s.starts_with('-') || s.starts_with("$-") || s.starts_with("-$") {
            return Err(AmountError::Negative);
        }
        let s = s.strip_prefix('$').unwrap_or(s).trim_start();
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let whole_digits = strip_grouping(whole).ok_or(AmountError::NotANumber)?;
        let frac_cents = match frac {
            None => 0,
            Some(f) if f.is_empty() && !whole_digits.is_empty() => 0,
            Some(f) => {
                if !f.bytes().all(|b| b.is_ascii_digit()) || f.is_empty() {
                    return Err(AmountError::NotANumber);
                }
                if f.len() > 2 {
                    // "12.500" is still two decimals of meaning, but a
                    // resident who typed three digits may have meant
                    // something else; ask rather than guess.
                    return Err(AmountError::TooManyDecimals);
                }
                let v: i64 = f.parse().map_err(|_| AmountError::NotANumber)?;
                if f.len() == 1 { v * 10 } else { v }
            }
        };
        let whole_value: i64 = if whole_digits.is_empty() {
            if frac.is_none() {
                return Err(AmountError::NotANumber);
            }
            0
        } else {
            if whole_digits.len() > 12 {
                return Err(AmountError::TooLarge);
            }
            whole_digits.parse().map_err(|_| AmountError::NotANumber)?
        };
        let cents = whole_value
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac_cents))
            .ok_or(AmountError::TooLarge)?;
        if cents > MAX_INPUT_CENTS {
            return Err(AmountError::TooLarge);
        }
        Ok(Cents(cents))
    }

    /// `12.34` with no currency sign or grouping: the form a CSV file or a
    /// text input expects back.
    pub fn to_plain_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Accepts `1234` or `1,234` (groups of three after the first); returns the
/// digits alone, or `None` when anything else is in there.
fn strip_grouping(whole: &str) -> Option<String> {
    if !whole.contains(',') {
        return whole
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| whole.to_owned());
    }
    let mut groups = whole.split(',');
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = first.to_owned();
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(g);
    }
    Some(out)
}

impl fmt::Display for Cents {
    /// `$1,234.56`, `-$3.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let dollars = (abs / 100).to_string();
        let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
        for (i, ch) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}${grouped}.{:02}", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_people_type() {
        assert_eq!(Cents::parse_dollars("45"), Ok(Cents(4500)));
        assert_eq!(Cents::parse_dollars(" 45.1 "), Ok(Cents(4510)));
        assert_eq!(Cents::parse_dollars("45.10"), Ok(Cents(4510)));
        assert_eq!(Cents::parse_dollars("$1,234.56"), Ok(Cents(123_456)));
        assert_eq!(Cents::parse_dollars(".5"), Ok(Cents(50)));
        assert_eq!(Cents::parse_dollars("7."), Ok(Cents(700)));
        assert_eq!(Cents::parse_dollars("0"), Ok(Cents(0)));
    }

    #[test]
    fn refuses_bad_amounts_with_a_reason() {
        assert_eq!(Cents::parse_dollars(""), Err(AmountError::Empty));
        assert_eq!(Cents::parse_dollars("  "), Err(AmountError::Empty));
        assert_eq!(Cents::parse_dollars("-5"), Err(AmountError::Negative));
        assert_eq!(Cents::parse_dollars("$-5"), Err(AmountError::Negative));
        assert_eq!(
            Cents::parse_dollars("1.234"),
            Err(AmountError::TooManyDecimals)
        );
        assert_eq!(Cents::parse_dollars("abc"), Err(AmountError::NotANumber));
        assert_eq!(Cents::parse_dollars("1e5"), Err(AmountError::NotANumber));
        assert_eq!(Cents::parse_dollars("12,34"), Err(AmountError::NotANumber));
        assert_eq!(Cents::parse_dollars("1,2345"), Err(AmountError::NotANumber));
        assert_eq!(Cents::parse_dollars("."), Err(AmountError::NotANumber));
        assert_eq!(Cents::parse_dollars("1.2.3"), Err(AmountError::NotANumber));
        assert_eq!(Cents::parse_dollars("+5"), Err(AmountError::NotANumber));
        assert_eq!(Cents::parse_dollars("NaN"), Err(AmountError::NotANumber));
        assert_eq!(
            Cents::parse_dollars("99999999999999999999"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            Cents::parse_dollars("10000000.01"),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn displays_as_dollars() {
        assert_eq!(Cents(0).to_string(), "$0.00");
        assert_eq!(Cents(5).to_string(), "$0.05");
        assert_eq!(Cents(123_456).to_string(), "$1,234.56");
        assert_eq!(Cents(100_000_000).to_string(), "$1,000,000.00");
        assert_eq!(Cents(-300).to_string(), "-$3.00");
        assert_eq!(Cents(-305).to_plain_string(), "-3.05");
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(
            Cents(i64::MAX).checked_add(Cents(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Cents(i64::MIN).checked_sub(Cents(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Cents(i64::MIN).checked_neg(), Err(MoneyError::Overflow));
    }

    proptest! {
        #[test]
        fn display_round_trips_through_parse(c in 0i64..=MAX_INPUT_CENTS) {
            let shown = Cents(c).to_string();
            prop_assert_eq!(Cents::parse_dollars(&shown), Ok(Cents(c)));
            prop_assert_eq!(Cents::parse_dollars(&Cents(c).to_plain_string()), Ok(Cents(c)));
        }

        #[test]
        fn parse_never_panics_and_never_goes_negative(s in "\\PC{0,24}") {
            if let Ok(c) = Cents::parse_dollars(&s) {
                prop_assert!(c.get() >= 0 && c.get() <= MAX_INPUT_CENTS);
            }
        }

        #[test]
        fn checked_add_matches_wide_arithmetic(a in any::<i64>(), b in any::<i64>()) {
            let wide = i128::from(a) + i128::from(b);
            match Cents(a).checked_add(Cents(b)) {
                Ok(c) => prop_assert_eq!(i128::from(c.get()), wide),
                Err(_) => prop_assert!(wide > i128::from(i64::MAX) || wide < i128::from(i64::MIN)),
            }
        }
    }
}
