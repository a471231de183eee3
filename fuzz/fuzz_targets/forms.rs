//! What residents and staff type into forms: amounts, account numbers, ZIP
//! codes, e-mail addresses, dates, and the form encoding itself.
#![no_main]

use std::collections::HashMap;

use domain::Cents;
use domain::personal::{EmailAddress, PersonName, PostalAddress};
use domain::receivable::{AccountNumber, BillPeriod, ZipCode, parse_iso_date};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_urlencoded::from_bytes::<HashMap<String, String>>(data);
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Cents::parse_dollars(s) {
        assert!(c.get() >= 0 && c.get() <= domain::money::MAX_INPUT_CENTS);
        assert_eq!(Cents::parse_dollars(&c.to_string()), Ok(c));
    }
    if let Ok(a) = AccountNumber::parse(s) {
        assert!(a.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(AccountNumber::parse(a.as_str()), Ok(a));
    }
    if let Ok(z) = ZipCode::parse(s) {
        assert_eq!(z.as_str().len(), 5);
    }
    if let Ok(e) = EmailAddress::parse(s) {
        assert!(e.expose().contains('@'));
    }
    let _ = PersonName::parse(s);
    let _ = PostalAddress::parse(s);
    let _ = parse_iso_date(s);
    let _ = BillPeriod::parse(s);
});
