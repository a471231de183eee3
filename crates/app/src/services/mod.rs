//! Services own transactions and audit events; handlers and commands call
//! them and render what they return.

pub mod breach;
pub mod close;
pub mod import;
pub mod key_rotation;
pub mod licences;
pub mod lookup;
pub mod notices;
pub mod payments;
pub mod receipts;
pub mod refunds;
pub mod residents;
pub mod retention;
pub mod staff_auth;
pub mod wallet;
