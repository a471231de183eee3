//! Staff accounts: roles and permissions, and password rules.

pub mod password;
pub mod roles;
