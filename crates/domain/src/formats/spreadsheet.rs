//! Cells for CSV files that staff open in a spreadsheet. A cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a
//! formula by Excel and friends ("CSV injection"); such cells get a leading
//! apostrophe, which spreadsheets show as text.

use std::borrow::Cow;

pub fn cell(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// Amounts are numbers, and a negative number is not a formula.
pub fn amount_cell(cents: i64) -> String {
    crate::Cents::new(cents).to_plain_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text() {
        assert_eq!(
            cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "'\rx");
        assert_eq!(cell("Maria"), "Maria");
        assert_eq!(cell(""), "");
        assert_eq!(amount_cell(-1250), "-12.50");
    }
}
