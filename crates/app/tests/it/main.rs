//! cityteller-app integration tests: the real application over HTTP, on
//! SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod accounts;
mod audit_chain;
mod backup;
mod bad_input;
mod breach;
mod cart;
mod departments;
mod group_commit;
mod hardening;
pub mod harness;
mod headers;
mod import;
mod journey;
mod keys;
mod licences;
pub mod mail;
mod monitor;
mod permits;
mod query_plans;
pub mod resident;
mod retention;
mod spanish;
mod staff;
pub mod staff_client;
mod staff_matrix;
mod staff_money;
mod status;
mod stripe;
mod wallet;
mod webhooks;
