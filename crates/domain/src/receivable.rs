//! What a resident owes and the identifiers printed on their bill.

use std::fmt;

use jiff::civil::Date;

/// A department's short name in config and URLs: `utilities`, `building`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DepartmentId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a department id is 1 to 32 lower-case letters, digits, '-' or '_' (got {0:?})")]
pub struct BadDepartmentId(pub String);

impl DepartmentId {
    pub fn parse(s: &str) -> Result<Self, BadDepartmentId> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(DepartmentId(s.to_owned()))
        } else {
            Err(BadDepartmentId(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DepartmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A service-account number as printed on a bill. Residents type it with
/// spaces or dashes in odd places, so it is kept in one normal form:
/// upper case, with spaces and dashes removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountNumberError {
    #[error("enter your account number")]
    Empty,
    #[error("an account number has letters and digits only")]
    BadCharacter,
    #[error("an account number has at most 32 characters")]
    TooLong,
}

impl AccountNumber {
    pub fn parse(input: &str) -> Result<Self, AccountNumberError> {
        let mut out = String::with_capacity(input.len());
        for ch in input.trim().chars() {
            match ch {
                ' ' | '-' => {}
                c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
                _ => return Err(AccountNumberError::BadCharacter),
            }
        }
        if out.is_empty() {
            return Err(AccountNumberError::Empty);
        }
        if out.len() > 32 {
            return Err(AccountNumberError::TooLong);
        }
        Ok(AccountNumber(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For pages and e-mails: the last four characters only.
    pub fn masked(&self) -> String {
        let n = self.0.chars().count();
        let tail: String = self.0.chars().skip(n.saturating_sub(4)).collect();
        format!("••••{tail}")
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A five-digit US ZIP code; ZIP+4 input is accepted and reduced to five.
#[derive(Clone, PartialEq, Eq)]
pub struct ZipCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipCodeError {
    #[error("enter the ZIP code of the service address")]
    Empty,
    #[error("enter a 5-digit ZIP code, like 94110")]
    Malformed,
}

impl ZipCode {
    pub fn parse(input: &str) -> Result<Self, ZipCodeError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ZipCodeError::Empty);
        }
        let five = match s.split_once('-') {
            Some((a, b)) if b.len() == 4 && b.bytes().all(|c| c.is_ascii_digit()) => a,
            Some(_) => return Err(ZipCodeError::Malformed),
            // ZIP+4 without its dash (only digits: slicing by bytes is
            // then slicing by characters).
            None if s.len() == 9 && s.bytes().all(|c| c.is_ascii_digit()) => &s[..5],
            None => s,
        };
        if five.len() == 5 && five.bytes().all(|c| c.is_ascii_digit()) {
            Ok(ZipCode(five.to_owned()))
        } else {
            Err(ZipCodeError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ZipCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ZipCode(•••••)")
    }
}

/// The billing system's id for one bill, unique within a department.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BillReference(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a bill reference is 1 to 64 letters, digits, '-', '_', '.' or '/'")]
pub struct BadBillReference;

impl BillReference {
    pub fn parse(s: &str) -> Result<Self, BadBillReference> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
        if ok {
            Ok(BillReference(s.to_owned()))
        } else {
            Err(BadBillReference)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BillReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The service period a bill covers, written `2026-10-01/2026-10-31`
/// (ISO 8601 interval) in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillPeriod {
    start: Date,
    end: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillPeriodError {
    #[error("write the bill period as start/end dates, like 2026-10-01/2026-10-31")]
    Malformed,
    #[error("the bill period ends before it starts")]
    EndsBeforeStart,
}

impl BillPeriod {
    pub fn new(start: Date, end: Date) -> Result<Self, BillPeriodError> {
        if end < start {
            return Err(BillPeriodError::EndsBeforeStart);
        }
        Ok(BillPeriod { start, end })
    }

    pub fn parse(s: &str) -> Result<Self, BillPeriodError> {
        let (a, b) = s.trim().split_once('/').ok_or(BillPeriodError::Malformed)?;
        let start = parse_iso_date(a).map_err(|_| BillPeriodError::Malformed)?;
        let end = parse_iso_date(b).map_err(|_| BillPeriodError::Malformed)?;
        BillPeriod::new(start, end)
    }

    pub fn start(&self) -> Date {
        self.start
    }

    pub fn end(&self) -> Date {
        self.end
    }
}

impl fmt::Display for BillPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.start, self.end)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("write dates as YYYY-MM-DD, like 2026-11-30")]
pub struct BadDate;

/// Strict `YYYY-MM-DD`: a real calendar date, nothing before or after it.
pub fn parse_iso_date(s: &str) -> Result<Date, BadDate> {
    let s = s.trim();
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(BadDate);
    }
    let year: i16 = s[0..4].parse().map_err(|_| BadDate)?;
    let month: i8 = s[5..7].parse().map_err(|_| BadDate)?;
    let day: i8 = s[8..10].parse().map_err(|_| BadDate)?;
    if year < 1900 {
        return Err(BadDate);
    }
    Date::new(year, month, day).map_err(|_| BadDate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_are_normalised() {
        assert_eq!(
            AccountNumber::parse(" 1002-3345 ").unwrap().as_str(),
            "10023345"
        );
        assert_eq!(AccountNumber::parse("ab 12").unwrap().as_str(), "AB12");
        assert_eq!(AccountNumber::parse(""), Err(AccountNumberError::Empty));
        assert_eq!(AccountNumber::parse(" - "), Err(AccountNumberError::Empty));
        assert_eq!(
            AccountNumber::parse("12;DROP"),
            Err(AccountNumberError::BadCharacter)
        );
        assert_eq!(
            AccountNumber::parse(&"1".repeat(33)),
            Err(AccountNumberError::TooLong)
        );
        assert_eq!(
            AccountNumber::parse("10023345").unwrap().masked(),
            "••••3345"
        );
    }

    #[test]
    fn zip_codes() {
        assert_eq!(ZipCode::parse("94110").unwrap().as_str(), "94110");
        assert_eq!(ZipCode::parse("94110-1234").unwrap().as_str(), "94110");
        assert_eq!(ZipCode::parse("941101234").unwrap().as_str(), "94110");
        assert_eq!(ZipCode::parse(""), Err(ZipCodeError::Empty));
        assert_eq!(ZipCode::parse("9411"), Err(ZipCodeError::Malformed));
        assert_eq!(ZipCode::parse("9411O"), Err(ZipCodeError::Malformed));
        assert_eq!(ZipCode::parse("94110-12"), Err(ZipCodeError::Malformed));
        // Found by the receivables_csv fuzz target: nine bytes that are not
        // nine characters used to panic.
        assert_eq!(
            ZipCode::parse("1234\u{eebae}."),
            Err(ZipCodeError::Malformed)
        );
        assert_eq!(ZipCode::parse("94110abcd"), Err(ZipCodeError::Malformed));
        assert_eq!(
            format!("{:?}", ZipCode::parse("94110").unwrap()),
            "ZipCode(•••••)"
        );
    }

    #[test]
    fn dates_and_periods() {
        assert!(parse_iso_date("2026-02-28").is_ok());
        assert!(parse_iso_date("2026-02-30").is_err());
        assert!(parse_iso_date("2026-2-28").is_err());
        assert!(parse_iso_date("28/02/2026").is_err());
        assert!(parse_iso_date("+2026-02-28").is_err());
        let p = BillPeriod::parse("2026-10-01/2026-10-31").unwrap();
        assert_eq!(p.to_string(), "2026-10-01/2026-10-31");
        assert_eq!(
            BillPeriod::parse("2026-10-31/2026-10-01"),
            Err(BillPeriodError::EndsBeforeStart)
        );
        assert_eq!(
            BillPeriod::parse("2026-10-01"),
            Err(BillPeriodError::Malformed)
        );
    }

    #[test]
    fn references_and_departments() {
        assert!(BillReference::parse("UT-2026-11-000123").is_ok());
        assert!(BillReference::parse("bad ref").is_err());
        assert!(DepartmentId::parse("utilities").is_ok());
        assert!(DepartmentId::parse("Utilities").is_err());
    }

    proptest::proptest! {
        /// What residents type: any text, never a panic; what is accepted
        /// reads back the same.
        #[test]
        fn any_text_is_parsed_or_refused(s in "\\PC{0,12}|[0-9-]{0,11}") {
            if let Ok(z) = ZipCode::parse(&s) {
                proptest::prop_assert_eq!(z.as_str().len(), 5);
                proptest::prop_assert_eq!(ZipCode::parse(z.as_str()), Ok(z.clone()));
            }
            if let Ok(a) = AccountNumber::parse(&s) {
                proptest::prop_assert_eq!(AccountNumber::parse(a.as_str()), Ok(a.clone()));
            }
            let _ = parse_iso_date(&s);
            let _ = BillPeriod::parse(&s);
        }
    }
}
