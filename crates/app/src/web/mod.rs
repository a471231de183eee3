//! HTTP: the resident site (public listener) and the staff listener. Each
//! router is built by a function, so tests drive it with or without a
//! socket.

mod account;
mod assets;
pub mod error;
pub mod form;
pub mod limits;
pub mod locale;
pub mod pages;
pub(crate) mod pay;
pub mod security;
pub mod session;
pub mod staff;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::app::App;
pub use limits::ClientIp;
use security::HeaderPolicy;

/// Forms are small; nothing a resident sends needs more.
const FORM_LIMIT: usize = 16 * 1024;
/// Processor events are JSON documents of a few kilobytes.
const WEBHOOK_LIMIT: usize = 64 * 1024;

/// The resident site, processor webhooks and static files.
pub fn public_router(app: App) -> Router {
    let policy = Arc::new(HeaderPolicy {
        form_targets: vec![app.processor.hosted_origin()],
        hsts: app.config.is_tls(),
    });
    // Innermost first: the body limit's 413 must pass through the error
    // page layer like any other error.
    let pages = pay::routes()
        .merge(account::routes())
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(FORM_LIMIT))
        .layer(from_fn_with_state(app.clone(), error::error_pages))
        .layer(from_fn_with_state(app.clone(), locale::resident_locale))
        .layer(from_fn_with_state(app.clone(), session::resident_sessions));
    let hooks = Router::new()
        .route("/webhooks/{processor}", post(webhooks::receive))
        .layer(RequestBodyLimitLayer::new(WEBHOOK_LIMIT));
    Router::new()
        .merge(hooks)
        .merge(assets::routes())
        .merge(pages)
        .layer(from_fn_with_state(app.clone(), observe))
        .layer(from_fn_with_state(policy, security::security_headers))
        .with_state(app)
}

/// Health, metrics and the staff console. Never on the public listener.
pub fn staff_router(app: App) -> Router {
    let policy = Arc::new(HeaderPolicy {
        form_targets: Vec::new(),
        hsts: app.config.staff_is_tls(),
    });
    let console = staff::routes()
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(FORM_LIMIT))
        .layer(from_fn_with_state(app.clone(), error::error_pages))
        .layer(from_fn_with_state(app.clone(), staff::auth::staff_cookies));
    Router::new()
        .route("/healthz", get(staff::monitoring::healthz))
        .route("/metrics", get(staff::monitoring::metrics))
        .merge(assets::routes())
        .merge(console)
        .layer(from_fn_with_state(app.clone(), observe))
        .layer(from_fn_with_state(policy, security::security_headers))
        .with_state(app)
}

async fn not_found() -> error::WebError {
    error::WebError::NotFound
}

/// One log line and a metric per request: method, route template, status
/// and time. Never the query string, body, cookies or client address.
async fn observe(State(app): State<App>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".into());
    let res = next.run(req).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    app.metrics.record_status(status);
    app.metrics.http_latency.observe(elapsed);
    if !route.starts_with("/static") {
        tracing::info!(
            method = %method,
            route = %route,
            status,
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "request"
        );
    }
    res
}
