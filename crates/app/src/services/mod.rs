//! Services own transactions and audit events; handlers and commands call
//! them and render what they return.

pub mod import;
pub mod lookup;
pub mod payments;
pub mod receipts;
