//! Money, numbers and dates for each language.
//!
//! Spanish here is the Spanish of residents of a US city (CLDR `es-US`),
//! not of Spain (`es-ES`): `es-US` writes amounts exactly as US English
//! does, dollar sign first, comma between thousands and a decimal point
//! ("$1,234.56"), and so do the bills, the bank statements and the card
//! receipts our residents hold. `es-ES` ("1234,56 US$") would contradict
//! the bill in their hand, and would make "45.10" in the amount field mean
//! something else. So money and numbers are formatted the same way in both
//! languages, and only words (and the order of day and month in dates)
//! differ.

use domain::Cents;

use fluent_bundle::FluentValue;

use super::{Arg, Locale};

pub(super) fn money(_locale: Locale, amount: Cents) -> String {
    // `Cents`' own format is the US one ("$1,234.56", "-$3.00"), right for
    // `en-US` and `es-US` alike (see above).
    amount.to_string()
}

pub(super) fn number(_locale: Locale, n: i64) -> String {
    // `en-US` and `es-US` both group thousands with a comma.
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Fluent's formatter hook: whole numbers as [`number`] writes them (the
/// same in `en-US` and `es-US`); anything else is left to Fluent.
pub(super) fn fluent_number<M>(value: &FluentValue, _: &M) -> Option<String> {
    match value {
        FluentValue::Number(n) if n.value.fract() == 0.0 && n.value.abs() < 1e15 => {
            // Exact: a whole number well inside i64 and f64's 2^53.
            Some(number(Locale::En, n.value as i64))
        }
        _ => None,
    }
}

pub(super) fn date(locale: Locale, iso: &str) -> String {
    let Ok(d) = iso.trim().parse::<jiff::civil::Date>() else {
        return iso.to_owned();
    };
    let month = locale.msg(&format!("month-{}", d.month()));
    // Years are text, so they are never grouped ("2026", not "2,026").
    locale.format(
        "date-long",
        &[
            ("month", Arg::Str(month)),
            ("day", Arg::Str(d.day().to_string())),
            ("year", Arg::Str(d.year().to_string())),
        ],
    )
}
