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

/// What is wrong with a reason a member of staff gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonProblem {
    Missing,
    TooLong,
}

/// A reason staff give for an action, as it is kept (with the action, in
/// the audit log): trimmed, runs of white space made one space, at most
/// 500 characters.
pub fn clean_reason(reason: &str) -> Result<String, ReasonProblem> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(ReasonProblem::Missing);
    }
    if r.chars().count() > 500 {
        return Err(ReasonProblem::TooLong);
    }
    Ok(r.split_whitespace().collect::<Vec<_>>().join(" "))
}
