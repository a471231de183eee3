//! The sandbox processor: a fake card processor for the demo and the
//! tests. It refuses to run in production mode (see `Config`).

pub mod client;
pub mod server;
pub mod signature;
pub mod wire;

pub use client::SandboxProcessor;
pub use server::{Sandbox, SandboxSettings};
