//! Every state change and every staff action goes through [`record`], in
//! the same transaction as the change itself: no change without its event,
//! no event for a change that rolled back. Events are hash-chained (see
//! `domain::audit_chain`); [`checkpoint`] signs where the chain stands and
//! writes it outside the database; [`verify`] walks it all.

pub mod checkpoint;
pub mod verify;

use std::net::IpAddr;

use jiff::Timestamp;
use serde_json::Value;

use crate::store::audit::{AuditRow, insert};
use crate::store::{Conn, StoreError};

/// Who did it.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A resident's browser session (identified by a short, non-reversible
    /// tag of the session id, never the id itself).
    Resident { session_tag: String },
    /// The payment processor (webhook or status query).
    Processor(&'static str),
    /// A background job or the server itself.
    System(&'static str),
    /// A command run on the server (`cityteller import …`).
    Cli { user: String },
    /// A signed-in member of staff.
    Staff { id: i64, email: String },
    /// Someone on the staff console who is not signed in (sign-in and
    /// enrolment attempts).
    Anonymous,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Resident { session_tag } => format!("resident:{session_tag}"),
            Actor::Processor(p) => format!("processor:{p}"),
            Actor::System(what) => format!("system:{what}"),
            Actor::Cli { user } => format!("cli:{user}"),
            Actor::Staff { id, email } => format!("staff:{id}:{email}"),
            Actor::Anonymous => "anonymous".into(),
        }
    }

    /// The operating-system user running a command, for CLI events.
    pub fn cli() -> Actor {
        let user = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "unknown".into());
        Actor::Cli { user }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One event. `details` holds identifiers and amounts, never personal data
/// or secrets.
pub struct Event<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub source_ip: Option<IpAddr>,
    pub details: Value,
}

pub async fn record(conn: &mut Conn, at: Timestamp, e: Event<'_>) -> Result<i64, StoreError> {
    let actor = e.actor.label();
    let ip = e.source_ip.map(|ip| ip.to_string());
    let details = e.details.to_string();
    insert(
        conn,
        &AuditRow {
            at: at.as_microsecond(),
            actor: &actor,
            action: e.action,
            target: e.target.as_deref(),
            outcome: e.outcome.as_str(),
            source_ip: ip.as_deref(),
            details: &details,
        },
    )
    .await
}
