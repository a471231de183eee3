//! The sandbox processor: a fake card processor for the demo and the
//! tests. It refuses to run in production mode (see `Config`).

pub mod client;
pub mod server;
/// The shared signature scheme under the sandbox's own header name.
pub mod signature {
    pub use crate::processor::signature::{TOLERANCE_SECONDS, sign, verify, verify_request};
    pub const HEADER: &str = "sandbox-signature";
}
pub mod wire;

pub use client::SandboxProcessor;
pub use server::{Sandbox, SandboxSettings};
