//! cityteller-app integration tests: the real application over HTTP, on
//! SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
pub mod harness;
mod headers;
mod import;
mod journey;
mod mail;
pub mod resident;
mod status;
mod webhooks;
