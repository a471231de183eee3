//! The domain's input errors in the resident's language. The domain crate
//! keeps its English `Display` (logs, staff pages, the command line); these
//! are what a resident reads beside a field. Each match is exhaustive, so a
//! new error variant cannot reach a page untranslated.

use domain::money::AmountError;
use domain::payment::AmountRuleError;
use domain::personal::EmailError;
use domain::receivable::{AccountNumberError, ZipCodeError};
use domain::verifier::VerifierError;

use super::Locale;

/// A message for residents, starting lower-case like the domain's own
/// (pages make it a sentence where it stands alone).
pub trait Localize {
    fn localize(&self, locale: Locale) -> String;
}

impl Localize for AmountError {
    fn localize(&self, l: Locale) -> String {
        l.msg(match self {
            AmountError::Empty => "amount-empty",
            AmountError::NotANumber => "amount-not-a-number",
            AmountError::TooManyDecimals => "amount-too-many-decimals",
            AmountError::Negative => "amount-negative",
            AmountError::TooLarge => "amount-too-large",
        })
    }
}

impl Localize for AmountRuleError {
    fn localize(&self, l: Locale) -> String {
        match self {
            AmountRuleError::NothingDue => l.msg("amount-nothing-due"),
            AmountRuleError::Zero => l.msg("amount-zero"),
            AmountRuleError::BelowMinimum(c) => l.msg1("amount-below-minimum", "amount", *c),
            AmountRuleError::PartialNotAllowed(c) => {
                l.msg1("amount-partial-not-allowed", "amount", *c)
            }
            AmountRuleError::AboveBalance(c) => l.msg1("amount-above-balance", "amount", *c),
        }
    }
}

impl Localize for AccountNumberError {
    fn localize(&self, l: Locale) -> String {
        l.msg(match self {
            AccountNumberError::Empty => "account-number-empty",
            AccountNumberError::BadCharacter => "account-number-bad-character",
            AccountNumberError::TooLong => "account-number-too-long",
        })
    }
}

impl Localize for ZipCodeError {
    fn localize(&self, l: Locale) -> String {
        l.msg(match self {
            ZipCodeError::Empty => "zip-empty",
            ZipCodeError::Malformed => "zip-malformed",
        })
    }
}

impl Localize for VerifierError {
    fn localize(&self, l: Locale) -> String {
        match self {
            VerifierError::Zip(z) => z.localize(l),
            VerifierError::PinEmpty => l.msg("pin-empty"),
            VerifierError::PinMalformed => l.msg("pin-malformed"),
            VerifierError::NameEmpty => l.msg("name-empty"),
            VerifierError::NameMalformed => l.msg("name-malformed"),
            VerifierError::PlateEmpty => l.msg("plate-empty"),
            VerifierError::PlateMalformed => l.msg("plate-malformed"),
            VerifierError::StateMalformed => l.msg("state-malformed"),
        }
    }
}

impl Localize for EmailError {
    fn localize(&self, l: Locale) -> String {
        l.msg(match self {
            EmailError::Empty => "email-empty",
            EmailError::Malformed => "email-malformed",
        })
    }
}
