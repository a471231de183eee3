//! The payment state machine and the amount rules a department sets.
//!
//! ```text
//! created ──open──▶ pending ──succeed──▶ succeeded ──refund──▶ partially_refunded / refunded
//!    │                 │ ├──fail──▶ failed                 └──dispute──▶ disputed
//!    └──fail/expire──▶ │ └──expire──▶ expired
//! ```
//! Every move is a call to [`PaymentStatus::apply`]; a move the diagram does
//! not have is an [`IllegalTransition`], never a silent no-op.

use std::fmt;

use crate::money::Cents;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Persisted with its idempotency key; the processor has not been asked yet
    /// (or the call failed and will be retried with the same key).
    Created,
    /// The processor has a checkout for it; the payer may be on its page.
    Pending,
    Succeeded,
    Failed,
    Expired,
    PartiallyRefunded,
    Refunded,
    Disputed,
}

/// What happened to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    CheckoutOpened,
    Succeeded,
    Failed,
    Expired,
    PartiallyRefunded,
    Refunded,
    Disputed,
    /// A refund the processor could not complete came back; `none_left`
    /// when no other refund of the payment stands.
    RefundReversed {
        none_left: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a payment that is {from} cannot become {event:?}")]
pub struct IllegalTransition {
    pub from: PaymentStatus,
    pub event: PaymentEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown payment status {0:?}")]
pub struct UnknownStatus(pub String);

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Created,
        PaymentStatus::Pending,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
        PaymentStatus::Disputed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Created => "created",
            PaymentStatus::Pending => "pending",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Disputed => "disputed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, UnknownStatus> {
        PaymentStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }

    /// Still waiting for the processor to say how it ended.
    pub fn is_open(self) -> bool {
        matches!(self, PaymentStatus::Created | PaymentStatus::Pending)
    }

    /// Money was captured (whatever happened afterwards).
    pub fn was_captured(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded
                | PaymentStatus::PartiallyRefunded
                | PaymentStatus::Refunded
                | PaymentStatus::Disputed
        )
    }

    pub fn apply(self, event: PaymentEvent) -> Result<PaymentStatus, IllegalTransition> {
        use PaymentEvent as E;
        use PaymentStatus as S;
        let next = match (self, event) {
            (S::Created, E::CheckoutOpened) => S::Pending,
            (S::Created | S::Pending, E::Failed) => S::Failed,
            (S::Created | S::Pending, E::Expired) => S::Expired,
            (S::Pending, E::Succeeded) => S::Succeeded,
            (S::Succeeded | S::PartiallyRefunded, E::PartiallyRefunded) => S::PartiallyRefunded,
            (S::Succeeded | S::PartiallyRefunded, E::Refunded) => S::Refunded,
            (S::Succeeded | S::PartiallyRefunded, E::Disputed) => S::Disputed,
            (S::PartiallyRefunded | S::Refunded, E::RefundReversed { none_left: true }) => {
                S::Succeeded
            }
            (S::PartiallyRefunded | S::Refunded, E::RefundReversed { none_left: false }) => {
                S::PartiallyRefunded
            }
            (from, event) => return Err(IllegalTransition { from, event }),
        };
        Ok(next)
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A department's rules for how much a resident may pay against a balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountRules {
    pub minimum: Cents,
    pub allow_partial: bool,
    pub allow_overpayment: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountRuleError {
    #[error("there is nothing to pay on this bill")]
    NothingDue,
    #[error("enter an amount greater than zero")]
    Zero,
    #[error("the smallest payment accepted is {0}")]
    BelowMinimum(Cents),
    #[error("this bill must be paid in full ({0})")]
    PartialNotAllowed(Cents),
    #[error("you can pay at most {0}, the amount due")]
    AboveBalance(Cents),
}

impl AmountRules {
    /// Checks `amount` against the open `balance` (what is still owed after
    /// payments already taken or in progress).
    pub fn check(&self, amount: Cents, balance: Cents) -> Result<(), AmountRuleError> {
        if amount.get() <= 0 {
            return Err(AmountRuleError::Zero);
        }
        if !balance.is_positive() && !self.allow_overpayment {
            return Err(AmountRuleError::NothingDue);
        }
        if amount > balance && !self.allow_overpayment {
            return Err(AmountRuleError::AboveBalance(balance.max(Cents::ZERO)));
        }
        if amount < balance && !self.allow_partial {
            return Err(AmountRuleError::PartialNotAllowed(balance));
        }
        // The minimum never stops someone from clearing a small balance.
        let floor = if balance.is_positive() {
            self.minimum.min(balance)
        } else {
            self.minimum
        };
        if amount < floor {
            return Err(AmountRuleError::BelowMinimum(floor));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentEvent as E;
    use PaymentStatus as S;

    #[test]
    fn happy_path() {
        let s = S::Created.apply(E::CheckoutOpened).unwrap();
        assert_eq!(s, S::Pending);
        assert_eq!(s.apply(E::Succeeded).unwrap(), S::Succeeded);
    }

    #[test]
    fn illegal_moves_are_errors() {
        for (from, ev) in [
            (S::Failed, E::Succeeded),
            (S::Succeeded, E::Failed),
            (S::Expired, E::Succeeded),
            (S::Succeeded, E::Succeeded),
            (S::Pending, E::CheckoutOpened),
            (S::Created, E::Succeeded),
            (S::Refunded, E::Refunded),
            (S::Failed, E::Refunded),
            (S::Succeeded, E::RefundReversed { none_left: true }),
            (S::Disputed, E::RefundReversed { none_left: false }),
        ] {
            assert_eq!(from.apply(ev), Err(IllegalTransition { from, event: ev }));
        }
    }

    #[test]
    fn a_reversed_refund_gives_back_what_it_took() {
        let back = |from: S, none_left| from.apply(E::RefundReversed { none_left });
        assert_eq!(back(S::Refunded, true), Ok(S::Succeeded));
        assert_eq!(back(S::PartiallyRefunded, true), Ok(S::Succeeded));
        assert_eq!(back(S::Refunded, false), Ok(S::PartiallyRefunded));
        assert_eq!(back(S::PartiallyRefunded, false), Ok(S::PartiallyRefunded));
    }

    #[test]
    fn every_status_round_trips_its_name() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Ok(s));
        }
        assert!(S::parse("paid").is_err());
    }

    fn rules(min: i64, partial: bool, over: bool) -> AmountRules {
        AmountRules {
            minimum: Cents::new(min),
            allow_partial: partial,
            allow_overpayment: over,
        }
    }

    #[test]
    fn amount_rules() {
        let r = rules(500, true, false);
        let bal = Cents::new(10_000);
        assert_eq!(r.check(Cents::new(10_000), bal), Ok(()));
        assert_eq!(r.check(Cents::new(500), bal), Ok(()));
        assert_eq!(r.check(Cents::ZERO, bal), Err(AmountRuleError::Zero));
        assert_eq!(
            r.check(Cents::new(499), bal),
            Err(AmountRuleError::BelowMinimum(Cents::new(500)))
        );
        assert_eq!(
            r.check(Cents::new(10_001), bal),
            Err(AmountRuleError::AboveBalance(bal))
        );
        // A balance below the minimum can still be cleared.
        assert_eq!(r.check(Cents::new(300), Cents::new(300)), Ok(()));
        assert_eq!(
            r.check(Cents::new(100), Cents::ZERO),
            Err(AmountRuleError::NothingDue)
        );
        let whole = rules(0, false, false);
        assert_eq!(
            whole.check(Cents::new(50), bal),
            Err(AmountRuleError::PartialNotAllowed(bal))
        );
        let over = rules(0, true, true);
        assert_eq!(over.check(Cents::new(20_000), bal), Ok(()));
        assert_eq!(over.check(Cents::new(100), Cents::ZERO), Ok(()));
    }
}
