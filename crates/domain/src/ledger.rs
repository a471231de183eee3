//! Double-entry journal. A [`JournalEntry`] can only be built balanced; the
//! store gives each one a unique source key so it is posted exactly once.
//!
//! Sign convention: a posting's amount is positive for a debit and negative
//! for a credit. Cash clearing is debited when money is captured; the
//! receivable is credited (the resident owes less); fee income is credited.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::money::{Cents, MoneyError};

/// A general-ledger account code as the city's ERP knows it, e.g.
/// `1010-000` or `UT.4410.CONV`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a ledger account code is 1 to 32 letters, digits, '.', '-' or '_' (got {0:?})")]
pub struct BadAccountCode(pub String);

impl AccountCode {
    pub fn parse(s: &str) -> Result<Self, BadAccountCode> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if ok {
            Ok(AccountCode(s.to_owned()))
        } else {
            Err(BadAccountCode(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountCode {
    type Error = BadAccountCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AccountCode::parse(&s)
    }
}

impl From<AccountCode> for String {
    fn from(c: AccountCode) -> String {
        c.0
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The accounts a department posts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAccounts {
    /// Money captured by the processor, not yet deposited by it.
    pub cash_clearing: AccountCode,
    /// What residents owe the department.
    pub receivable: AccountCode,
    /// Convenience fees the city keeps.
    pub fee_income: AccountCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: AccountCode,
    pub department: String,
    /// Set on receivable postings, so a receivable's balance is the sum of
    /// its postings.
    pub receivable_id: Option<i64>,
    /// Debit positive, credit negative; never zero.
    pub amount: Cents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    PaymentCapture,
    Refund,
    /// A refund the processor made and then could not complete: the money
    /// came back, and the refund's entry is undone.
    RefundReversal,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::PaymentCapture => "payment_capture",
            EntryKind::Refund => "refund",
            EntryKind::RefundReversal => "refund_reversal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    source_key: String,
    kind: EntryKind,
    postings: Vec<Posting>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a journal entry needs at least two postings")]
    TooFewPostings,
    #[error("a posting of zero is not allowed")]
    ZeroPosting,
    #[error("journal entry does not balance: debits minus credits = {0}")]
    Unbalanced(Cents),
    #[error("no ledger accounts for department {0}")]
    UnknownDepartment(String),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl JournalEntry {
    /// Builds an entry, refusing anything that does not balance to zero.
    pub fn balanced(
        source_key: String,
        kind: EntryKind,
        postings: Vec<Posting>,
    ) -> Result<Self, LedgerError> {
        check_balanced(postings.iter().map(|p| p.amount))?;
        Ok(JournalEntry {
            source_key,
            kind,
            postings,
        })
    }

    pub fn source_key(&self) -> &str {
        &self.source_key
    }

    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

/// The check behind every entry (and behind `ledger check` over stored ones).
pub fn check_balanced<I: IntoIterator<Item = Cents>>(amounts: I) -> Result<(), LedgerError> {
    let mut n = 0usize;
    let mut sum = Cents::ZERO;
    for a in amounts {
        if a == Cents::ZERO {
            return Err(LedgerError::ZeroPosting);
        }
        sum = sum.checked_add(a)?;
        n += 1;
    }
    if n < 2 {
        return Err(LedgerError::TooFewPostings);
    }
    if sum != Cents::ZERO {
        return Err(LedgerError::Unbalanced(sum));
    }
    Ok(())
}

/// One line of a payment: what it pays, for which department, and its fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureItem<'a> {
    pub department: &'a str,
    pub accounts: &'a LedgerAccounts,
    pub receivable_id: i64,
    pub amount: Cents,
    pub fee: Cents,
}

/// The entry for a captured payment: debit cash clearing with the total,
/// credit each receivable and each department's fee income.
pub fn payment_capture_entry(
    payment_id: &str,
    items: &[CaptureItem<'_>],
) -> Result<JournalEntry, LedgerError> {
    let mut postings = Vec::with_capacity(items.len() * 3);
    for item in items {
        let cash = item.amount.checked_add(item.fee)?;
        if cash != Cents::ZERO {
            postings.push(Posting {
                account: item.accounts.cash_clearing.clone(),
                department: item.department.to_owned(),
                receivable_id: None,
                amount: cash,
            });
        }
        if item.amount != Cents::ZERO {
            postings.push(Posting {
                account: item.accounts.receivable.clone(),
                department: item.department.to_owned(),
                receivable_id: Some(item.receivable_id),
                amount: item.amount.checked_neg()?,
            });
        }
        if item.fee != Cents::ZERO {
            postings.push(Posting {
                account: item.accounts.fee_income.clone(),
                department: item.department.to_owned(),
                receivable_id: None,
                amount: item.fee.checked_neg()?,
            });
        }
    }
    JournalEntry::balanced(
        format!("payment:{payment_id}:capture"),
        EntryKind::PaymentCapture,
        postings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn accounts() -> LedgerAccounts {
        LedgerAccounts {
            cash_clearing: AccountCode::parse("1010").unwrap(),
            receivable: AccountCode::parse("1200-UT").unwrap(),
            fee_income: AccountCode::parse("4410.CONV").unwrap(),
        }
    }

    #[test]
    fn capture_entry_balances_and_credits_the_receivable() {
        let acc = accounts();
        let e = payment_capture_entry(
            "p1",
            &[CaptureItem {
                department: "utilities",
                accounts: &acc,
                receivable_id: 7,
                amount: Cents::new(10_000),
                fee: Cents::new(275),
            }],
        )
        .unwrap();
        assert_eq!(e.source_key(), "payment:p1:capture");
        let amounts: Vec<i64> = e.postings().iter().map(|p| p.amount.get()).collect();
        assert_eq!(amounts, vec![10_275, -10_000, -275]);
        assert_eq!(e.postings()[1].receivable_id, Some(7));
    }

    #[test]
    fn unbalanced_or_degenerate_entries_are_refused() {
        assert_eq!(
            check_balanced([Cents::new(5), Cents::new(-4)]),
            Err(LedgerError::Unbalanced(Cents::new(1)))
        );
        assert_eq!(
            check_balanced([Cents::new(5)]),
            Err(LedgerError::TooFewPostings)
        );
        assert_eq!(
            check_balanced([Cents::new(5), Cents::ZERO, Cents::new(-5)]),
            Err(LedgerError::ZeroPosting)
        );
    }

    #[test]
    fn account_codes() {
        assert!(AccountCode::parse("1010-000").is_ok());
        assert!(AccountCode::parse("").is_err());
        assert!(AccountCode::parse("10 10").is_err());
        assert!(AccountCode::parse(&"9".repeat(33)).is_err());
    }

    proptest! {
        #[test]
        fn capture_entries_always_balance(
            items in proptest::collection::vec((0i64..10_000_000, 0i64..100_000), 1..6)
        ) {
            let acc = accounts();
            let items: Vec<CaptureItem<'_>> = items
                .iter()
                .enumerate()
                .filter(|(_, (a, f))| *a + *f > 0)
                .map(|(i, (a, f))| CaptureItem {
                    department: "utilities",
                    accounts: &acc,
                    receivable_id: i as i64,
                    amount: Cents::new(*a),
                    fee: Cents::new(*f),
                })
                .collect();
            prop_assume!(!items.is_empty());
            let e = payment_capture_entry("p", &items).unwrap();
            let sum: i64 = e.postings().iter().map(|p| p.amount.get()).sum();
            prop_assert_eq!(sum, 0);
            let receivable_credit: i64 = e.postings().iter().filter(|p| p.receivable_id.is_some()).map(|p| -p.amount.get()).sum();
            let paid: i64 = items.iter().map(|i| i.amount.get()).sum();
            prop_assert_eq!(receivable_credit, paid);
        }
    }
}
