//! How a refund is split over what a payment paid: bill amounts first (in
//! line order), then convenience fees. A refund can never be more than
//! what is left.

use crate::ledger::{AccountCode, EntryKind, JournalEntry, LedgerAccounts, LedgerError, Posting};
use crate::money::{Cents, MoneyError};

/// One line of a payment, with what earlier refunds already returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidLine {
    pub receivable_id: i64,
    pub department: String,
    pub principal: Cents,
    pub fee: Cents,
    pub principal_refunded: Cents,
    pub fee_refunded: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundLine {
    pub receivable_id: i64,
    pub department: String,
    pub principal: Cents,
    pub fee: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("enter an amount greater than zero")]
    Zero,
    #[error("at most {0} can still be refunded")]
    Exceeds(Cents),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// What is left to refund.
pub fn refundable(lines: &[PaidLine]) -> Result<Cents, MoneyError> {
    let mut left = Cents::ZERO;
    for l in lines {
        left = left
            .checked_add(l.principal.checked_sub(l.principal_refunded)?)?
            .checked_add(l.fee.checked_sub(l.fee_refunded)?)?;
    }
    Ok(left)
}

pub fn allocate(lines: &[PaidLine], amount: Cents) -> Result<Vec<RefundLine>, RefundError> {
    if !amount.is_positive() {
        return Err(RefundError::Zero);
    }
    let left = refundable(lines)?;
    if amount > left {
        return Err(RefundError::Exceeds(left));
    }
    let mut out: Vec<RefundLine> = lines
        .iter()
        .map(|l| RefundLine {
            receivable_id: l.receivable_id,
            department: l.department.clone(),
            principal: Cents::ZERO,
            fee: Cents::ZERO,
        })
        .collect();
    let mut remaining = amount;
    for (i, l) in lines.iter().enumerate() {
        let room = l.principal.checked_sub(l.principal_refunded)?;
        let take = room.min(remaining);
        out[i].principal = take;
        remaining = remaining.checked_sub(take)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let room = l.fee.checked_sub(l.fee_refunded)?;
        let take = room.min(remaining);
        out[i].fee = take;
        remaining = remaining.checked_sub(take)?;
    }
    out.retain(|l| l.principal.is_positive() || l.fee.is_positive());
    Ok(out)
}

/// The entry for a refund: the receivable owes again what was returned,
/// fee income gives back its part, cash clearing pays it all out.
pub fn refund_entry<'a>(
    refund_id: &str,
    lines: &[RefundLine],
    accounts: impl Fn(&str) -> Option<&'a LedgerAccounts>,
) -> Result<JournalEntry, LedgerError> {
    let mut postings = Vec::new();
    for l in lines {
        let acc = accounts(&l.department)
            .ok_or_else(|| LedgerError::UnknownDepartment(l.department.clone()))?;
        let out = l.principal.checked_add(l.fee)?;
        if l.principal.is_positive() {
            postings.push(posting(
                &acc.receivable,
                l,
                Some(l.receivable_id),
                l.principal,
            ));
        }
        if l.fee.is_positive() {
            postings.push(posting(&acc.fee_income, l, None, l.fee));
        }
        if out.is_positive() {
            postings.push(posting(&acc.cash_clearing, l, None, out.checked_neg()?));
        }
    }
    JournalEntry::balanced(format!("refund:{refund_id}"), EntryKind::Refund, postings)
}

/// The entry that undoes a refund's (every posting negated), for a refund
/// the processor could not complete after it was made.
pub fn refund_reversal_entry<'a>(
    refund_id: &str,
    lines: &[RefundLine],
    accounts: impl Fn(&str) -> Option<&'a LedgerAccounts>,
) -> Result<JournalEntry, LedgerError> {
    let made = refund_entry(refund_id, lines, accounts)?;
    let mut postings = Vec::with_capacity(made.postings().len());
    for p in made.postings() {
        postings.push(Posting {
            amount: p.amount.checked_neg()?,
            ..p.clone()
        });
    }
    JournalEntry::balanced(
        format!("refund-reversal:{refund_id}"),
        EntryKind::RefundReversal,
        postings,
    )
}

fn posting(
    account: &AccountCode,
    l: &RefundLine,
    receivable_id: Option<i64>,
    amount: Cents,
) -> Posting {
    Posting {
        account: account.clone(),
        department: l.department.clone(),
        receivable_id,
        amount,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn accounts() -> LedgerAccounts {
        LedgerAccounts {
            cash_clearing: AccountCode::parse("1010").unwrap(),
            receivable: AccountCode::parse("1210").unwrap(),
            fee_income: AccountCode::parse("4490").unwrap(),
        }
    }

    fn line(id: i64, p: i64, f: i64, pr: i64, fr: i64) -> PaidLine {
        PaidLine {
            receivable_id: id,
            department: "utilities".into(),
            principal: Cents::new(p),
            fee: Cents::new(f),
            principal_refunded: Cents::new(pr),
            fee_refunded: Cents::new(fr),
        }
    }

    #[test]
    fn principal_first_then_fees() {
        let lines = [line(1, 8412, 210, 0, 0)];
        let r = allocate(&lines, Cents::new(1000)).unwrap();
        assert_eq!((r[0].principal.get(), r[0].fee.get()), (1000, 0));
        let r = allocate(&lines, Cents::new(8500)).unwrap();
        assert_eq!((r[0].principal.get(), r[0].fee.get()), (8412, 88));
        assert_eq!(
            allocate(&lines, Cents::new(8623)),
            Err(RefundError::Exceeds(Cents::new(8622)))
        );
        assert_eq!(allocate(&lines, Cents::ZERO), Err(RefundError::Zero));
        let after = [line(1, 8412, 210, 8000, 0)];
        assert_eq!(refundable(&after).unwrap(), Cents::new(622));
        let r = allocate(&after, Cents::new(500)).unwrap();
        assert_eq!((r[0].principal.get(), r[0].fee.get()), (412, 88));
    }

    #[test]
    fn refund_entry_reverses_the_capture() {
        let acc = accounts();
        let lines = allocate(&[line(7, 8412, 210, 0, 0)], Cents::new(8622)).unwrap();
        let e = refund_entry("r1", &lines, |_| Some(&acc)).unwrap();
        let amounts: Vec<(String, i64)> = e
            .postings()
            .iter()
            .map(|p| (p.account.to_string(), p.amount.get()))
            .collect();
        assert_eq!(
            amounts,
            vec![
                ("1210".into(), 8412),
                ("4490".into(), 210),
                ("1010".into(), -8622)
            ]
        );
        assert_eq!(e.postings()[0].receivable_id, Some(7));
        assert!(refund_entry("r1", &lines, |_| None).is_err());
    }

    #[test]
    fn a_reversal_undoes_the_refund_under_its_own_key() {
        let acc = accounts();
        let lines = allocate(&[line(7, 8412, 210, 0, 0)], Cents::new(8500)).unwrap();
        let made = refund_entry("r1", &lines, |_| Some(&acc)).unwrap();
        let undone = refund_reversal_entry("r1", &lines, |_| Some(&acc)).unwrap();
        assert_eq!(undone.kind(), EntryKind::RefundReversal);
        assert_ne!(undone.source_key(), made.source_key());
        assert_eq!(made.postings().len(), undone.postings().len());
        for (m, u) in made.postings().iter().zip(undone.postings()) {
            assert_eq!((&m.account, m.receivable_id), (&u.account, u.receivable_id));
            assert_eq!(m.amount.get(), -u.amount.get());
        }
        assert!(refund_reversal_entry("r1", &lines, |_| None).is_err());
    }

    proptest! {
        #[test]
        fn allocation_never_exceeds_and_sums(
            p1 in 1i64..100_000, f1 in 0i64..5_000, p2 in 1i64..100_000, f2 in 0i64..5_000,
            done in 0u8..100, amount in 1i64..220_000,
        ) {
            let pr1 = p1 * i64::from(done) / 100;
            let lines = [line(1, p1, f1, pr1, 0), line(2, p2, f2, 0, 0)];
            let left = refundable(&lines).unwrap().get();
            match allocate(&lines, Cents::new(amount)) {
                Ok(r) => {
                    prop_assert!(amount <= left);
                    let sum: i64 = r.iter().map(|l| l.principal.get() + l.fee.get()).sum();
                    prop_assert_eq!(sum, amount);
                    for l in &r {
                        let src = lines.iter().find(|x| x.receivable_id == l.receivable_id).unwrap();
                        prop_assert!(l.principal.get() <= src.principal.get() - src.principal_refunded.get());
                        prop_assert!(l.fee.get() <= src.fee.get() - src.fee_refunded.get());
                    }
                }
                Err(RefundError::Exceeds(x)) => { prop_assert!(amount > left); prop_assert_eq!(x.get(), left); }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}
