//! The rules of cityteller, with no I/O: money, receivables, the payment
//! state machine, fees, the ledger and the file formats. Everything outside
//! this crate turns its inputs into these types first.

pub mod audit_chain;
pub mod backup_retention;
pub mod fees;
pub mod formats;
pub mod ledger;
pub mod licence_fee;
pub mod luhn;
pub mod money;
pub mod payment;
pub mod personal;
pub mod receivable;
pub mod refund;
pub mod verifier;

pub use money::Cents;
