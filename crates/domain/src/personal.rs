//! Personal data. Each type's `Debug` hides the value, so a stray `{:?}` in a
//! log line cannot leak a name, an address or an e-mail address.

use std::fmt;

macro_rules! personal_text {
    ($name:ident, $what:literal, $max:expr) => {
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, PersonalTextError> {
                clean_text(input, $max).map($name)
            }

            /// The value itself, for encryption and for the page of the
            /// person it belongs to.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!($what, "(redacted)"))
            }
        }
    };
}

personal_text!(PersonName, "PersonName", 200);
personal_text!(PostalAddress, "PostalAddress", 300);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonalTextError {
    #[error("this field is required")]
    Empty,
    #[error("this field is too long (at most {0} characters)")]
    TooLong(usize),
    #[error("this field contains control characters")]
    ControlCharacter,
}

fn clean_text(input: &str, max: usize) -> Result<String, PersonalTextError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(PersonalTextError::Empty);
    }
    if s.chars().count() > max {
        return Err(PersonalTextError::TooLong(max));
    }
    if s.chars().any(char::is_control) {
        return Err(PersonalTextError::ControlCharacter);
    }
    // Collapse runs of spaces so the same address always encrypts the same
    // plaintext and compares equal on re-import.
    Ok(s.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl PostalAddress {
    /// For a page that must confirm the right account without printing the
    /// address: digits are hidden, words kept ("••• Maple Ave, Unit •").
    pub fn masked(&self) -> String {
        self.0
            .chars()
            .map(|c| if c.is_ascii_digit() { '•' } else { c })
            .collect()
    }
}

/// An e-mail address, checked for shape only (the mail server decides if it
/// exists). Stored lower-cased in the domain part.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter an e-mail address")]
    Empty,
    #[error("enter an e-mail address like name@example.com")]
    Malformed,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Malformed);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(EmailError::Malformed);
        }
        Ok(EmailAddress(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `j•••@example.com`, for a page that confirms where a receipt went.
    pub fn masked(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}•••@{domain}")
            }
            None => "•••".to_owned(),
        }
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn debug_never_shows_the_value() {
        let n = PersonName::parse("Maria Lopez").unwrap();
        let a = PostalAddress::parse("12 Elm St").unwrap();
        let e = EmailAddress::parse("maria@example.com").unwrap();
        let shown = format!("{n:?} {a:?} {e:?}");
        assert!(!shown.contains("Maria") && !shown.contains("Elm") && !shown.contains("maria"));
    }

    #[test]
    fn addresses_are_masked_and_normalised() {
        let a = PostalAddress::parse("  1234  Maple Ave, Unit 5 ").unwrap();
        assert_eq!(a.expose(), "1234 Maple Ave, Unit 5");
        assert_eq!(a.masked(), "•••• Maple Ave, Unit •");
        assert_eq!(PostalAddress::parse(" "), Err(PersonalTextError::Empty));
        assert_eq!(
            PersonName::parse("a\u{7}b"),
            Err(PersonalTextError::ControlCharacter)
        );
    }

    #[test]
    fn email_shapes() {
        assert_eq!(
            EmailAddress::parse("Maria.Lopez+bills@Example.ORG")
                .unwrap()
                .expose(),
            "Maria.Lopez+bills@example.org"
        );
        for bad in [
            "",
            "maria",
            "maria@",
            "@example.com",
            "ma ria@example.com",
            "maria@example",
            "maria@@example.com",
            "maria@-x.com",
            ".m@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            EmailAddress::parse("maria@example.com").unwrap().masked(),
            "m•••@example.com"
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,80}") {
            let _ = EmailAddress::parse(&s);
            let _ = PersonName::parse(&s);
            let _ = PostalAddress::parse(&s);
        }
    }
}
