//! cityteller's application: configuration, storage, services, the
//! processor boundary, the web layer and background jobs. The `cityteller`
//! binary wires these together; tests drive them directly.

pub mod app;
pub mod audit;
pub mod backup;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod i18n;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod monitor;
pub mod net;
pub mod pdf;
pub mod processor;
pub mod server;
pub mod services;
pub mod staff;
pub mod store;
pub mod telemetry;
pub mod web;

pub use app::App;
