//! What a resident types, besides the number on the notice, to prove the
//! notice is theirs. Each department chooses the kind in its configuration;
//! the value is normalised here (the same way at import and at look-up)
//! and only ever stored as a keyed digest.

use std::fmt;

use crate::receivable::{ZipCode, ZipCodeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifierKind {
    /// The service address's ZIP code (utility bills).
    Zip,
    /// A code printed on the notice (permits, code enforcement).
    Pin,
    /// The licence holder's or business's name, as printed on the notice.
    Name,
    /// The vehicle's licence plate and its state (parking citations).
    PlateState,
}

impl VerifierKind {
    pub fn parse(s: &str) -> Option<VerifierKind> {
        match s {
            "zip" => Some(VerifierKind::Zip),
            "pin" => Some(VerifierKind::Pin),
            "name" => Some(VerifierKind::Name),
            "plate_state" => Some(VerifierKind::PlateState),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VerifierKind::Zip => "zip",
            VerifierKind::Pin => "pin",
            VerifierKind::Name => "name",
            VerifierKind::PlateState => "plate_state",
        }
    }

    /// The receivables file's column(s) for this kind.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            VerifierKind::Zip => &["verifier_zip"],
            VerifierKind::Pin => &["verifier_pin"],
            VerifierKind::Name => &["verifier_name"],
            VerifierKind::PlateState => &["verifier_plate", "verifier_state"],
        }
    }
}

/// Why a typed verifier was refused. Messages go beside the field, so they
/// say what to type; they never repeat the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifierError {
    #[error(transparent)]
    Zip(#[from] ZipCodeError),
    #[error("enter the code printed on your notice")]
    PinEmpty,
    #[error("the code has 4 to 12 letters and digits")]
    PinMalformed,
    #[error("enter the name as printed on your notice")]
    NameEmpty,
    #[error("enter a name of up to 100 letters")]
    NameMalformed,
    #[error("enter the licence plate")]
    PlateEmpty,
    #[error("a licence plate has 1 to 8 letters and digits")]
    PlateMalformed,
    #[error("choose the state the plate is from")]
    StateMalformed,
}

/// The normalised verifier: what is digested and compared.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier(String);

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier(•••)")
    }
}

/// US states, the District of Columbia and the territories that issue
/// plates, by USPS code.
pub const STATES: [&str; 56] = [
    "AL", "AK", "AS", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "GU", "HI", "ID", "IL",
    "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "MP", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX",
    "UT", "VT", "VA", "VI", "WA", "WV", "WI", "WY",
];

impl Verifier {
    /// `second` is the state for [`VerifierKind::PlateState`] and ignored
    /// otherwise.
    pub fn parse(kind: VerifierKind, first: &str, second: &str) -> Result<Verifier, VerifierError> {
        match kind {
            VerifierKind::Zip => Ok(Verifier(ZipCode::parse(first)?.as_str().to_owned())),
            VerifierKind::Pin => {
                let pin = compact(first);
                if pin.is_empty() {
                    Err(VerifierError::PinEmpty)
                } else if (4..=12).contains(&pin.len())
                    && pin.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    Ok(Verifier(pin))
                } else {
                    Err(VerifierError::PinMalformed)
                }
            }
            VerifierKind::Name => {
                // Case, spacing and punctuation differ between what a
                // notice prints and what people type; letters and digits
                // are what must match.
                let words: Vec<String> = first
                    .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '-' | '\''))
                    .filter(|w| !w.is_empty())
                    .map(|w| w.to_uppercase())
                    .collect();
                let name = words.join(" ");
                if name.is_empty() {
                    Err(VerifierError::NameEmpty)
                } else if name.chars().count() <= 100
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == ' ' || c == '&')
                {
                    Ok(Verifier(name))
                } else {
                    Err(VerifierError::NameMalformed)
                }
            }
            VerifierKind::PlateState => {
                let plate = compact(first);
                if plate.is_empty() {
                    return Err(VerifierError::PlateEmpty);
                }
                if plate.len() > 8 || !plate.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(VerifierError::PlateMalformed);
                }
                let state = second.trim().to_ascii_uppercase();
                if !STATES.contains(&state.as_str()) {
                    return Err(VerifierError::StateMalformed);
                }
                Ok(Verifier(format!("{state}:{plate}")))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Upper case without spaces and dashes: `7abc 123` and `7ABC-123` are the
/// same plate.
fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// A department's format for the number on its notices, such as
/// `PK-#######`: `#` is a digit, `A` a letter, `*` a letter or digit, and
/// anything else stands for itself. Letters are compared without case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat(String);

impl NumberFormat {
    pub fn parse(pattern: &str) -> Result<NumberFormat, String> {
        let p = pattern.trim();
        if p.is_empty() || p.chars().count() > 40 {
            return Err("a format has 1 to 40 characters".into());
        }
        if !p.chars().any(|c| matches!(c, '#' | 'A' | '*')) {
            return Err("a format needs at least one #, A or * (a digit, a letter, either)".into());
        }
        if !p.chars().all(|c| c.is_ascii_graphic()) {
            return Err("a format uses printable ASCII characters without spaces".into());
        }
        Ok(NumberFormat(p.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `number` has this format. Spaces and dashes are left out
    /// on both sides, as account numbers are stored without them.
    pub fn matches(&self, number: &str) -> bool {
        let skip = |c: &char| *c != ' ' && *c != '-';
        let mut n = number.chars().filter(skip);
        for p in self.0.chars().filter(skip) {
            let Some(c) = n.next() else {
                return false;
            };
            let ok = match p {
                '#' => c.is_ascii_digit(),
                'A' => c.is_ascii_alphabetic(),
                '*' => c.is_ascii_alphanumeric(),
                lit => c.eq_ignore_ascii_case(&lit),
            };
            if !ok {
                return false;
            }
        }
        n.next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_kind_normalises_what_people_type() {
        let v = |k, a: &str, b: &str| Verifier::parse(k, a, b).map(|v| v.as_str().to_owned());
        assert_eq!(v(VerifierKind::Zip, " 94110-1234", "").unwrap(), "94110");
        assert_eq!(v(VerifierKind::Pin, "ab12-cd34", "").unwrap(), "AB12CD34");
        assert_eq!(
            v(VerifierKind::Pin, "12", ""),
            Err(VerifierError::PinMalformed)
        );
        assert_eq!(v(VerifierKind::Pin, "  ", ""), Err(VerifierError::PinEmpty));
        assert_eq!(
            v(VerifierKind::Name, "o'brien-smith,  Mary ", "").unwrap(),
            "O BRIEN SMITH MARY"
        );
        assert_eq!(
            v(VerifierKind::Name, "Rivera Family Bakery & Co.", "").unwrap(),
            "RIVERA FAMILY BAKERY & CO"
        );
        assert_eq!(
            v(VerifierKind::Name, "<script>", ""),
            Err(VerifierError::NameMalformed)
        );
        assert_eq!(
            v(VerifierKind::PlateState, "7abc 123", "ca").unwrap(),
            "CA:7ABC123"
        );
        assert_eq!(
            v(VerifierKind::PlateState, "7ABC123", "XX"),
            Err(VerifierError::StateMalformed)
        );
        assert_eq!(
            v(VerifierKind::PlateState, "TOOLONG123", "CA"),
            Err(VerifierError::PlateMalformed)
        );
        assert_eq!(
            v(VerifierKind::PlateState, "", "CA"),
            Err(VerifierError::PlateEmpty)
        );
        assert!(matches!(
            v(VerifierKind::Zip, "9411", ""),
            Err(VerifierError::Zip(ZipCodeError::Malformed))
        ));
    }

    #[test]
    fn kinds_round_trip_and_name_their_columns() {
        for k in [
            VerifierKind::Zip,
            VerifierKind::Pin,
            VerifierKind::Name,
            VerifierKind::PlateState,
        ] {
            assert_eq!(VerifierKind::parse(k.as_str()), Some(k));
            assert!(!k.columns().is_empty());
        }
        assert_eq!(VerifierKind::parse("ssn"), None);
    }

    #[test]
    fn number_formats() {
        let f = NumberFormat::parse("BLD-####-######").unwrap();
        assert!(f.matches("BLD-2026-000123"));
        assert!(f.matches("bld-2026-000123"));
        assert!(!f.matches("BLD-2026-00012"));
        assert!(!f.matches("BLD-2026-0001234"));
        assert!(!f.matches("BLX-2026-000123"));
        // As account numbers are stored: without dashes.
        assert!(f.matches("BLD2026000123"));
        let p = NumberFormat::parse("PK-A*#####").unwrap();
        assert!(p.matches("PK-Z912345"));
        assert!(!p.matches("PK-9912345"));
        assert!(NumberFormat::parse("BLD-").is_err());
        assert!(NumberFormat::parse("---").is_err());
        assert!(NumberFormat::parse("").is_err());
        assert!(NumberFormat::parse("A B").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(a in "\\PC{0,40}", b in "\\PC{0,4}") {
            for k in [VerifierKind::Zip, VerifierKind::Pin, VerifierKind::Name, VerifierKind::PlateState] {
                if let Ok(v) = Verifier::parse(k, &a, &b) {
                    // Normalising is idempotent where the kind has one field.
                    if k != VerifierKind::PlateState {
                        prop_assert_eq!(Verifier::parse(k, v.as_str(), &b).unwrap(), v);
                    }
                }
            }
        }
    }
}
