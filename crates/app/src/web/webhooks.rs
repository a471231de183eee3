//! Processor webhooks: the signature is checked over the raw body before
//! anything is parsed; a duplicate changes nothing; unknown event types are
//! acknowledged and ignored.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::processor::WebhookError;
use crate::services::payments::{self, PaymentError, WebhookResult};

pub async fn receive(
    State(app): State<App>,
    Path(processor): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if processor != app.processor.name() {
        return (StatusCode::NOT_FOUND, "unknown processor").into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            app.metrics.webhooks_rejected.inc();
            return (e.status(), "unreadable body").into_response();
        }
    };
    let event = match app.processor.verify_webhook(&headers, &body, app.now()) {
        Ok(e) => e,
        Err(e) => {
            app.metrics.webhooks_rejected.inc();
            tracing::warn!(reason = %e, "webhook rejected");
            let status = match e {
                WebhookError::MissingSignature
                | WebhookError::MalformedSignature
                | WebhookError::BadSignature => StatusCode::UNAUTHORIZED,
                WebhookError::StaleTimestamp | WebhookError::BadPayload(_) => {
                    StatusCode::BAD_REQUEST
                }
            };
            return (status, e.to_string()).into_response();
        }
    };
    match payments::handle_webhook(&app, &event).await {
        Ok(WebhookResult::Applied(applied)) => {
            tracing::info!(event = %event.event_id, kind = %event.event_type, ?applied, "webhook applied");
            (StatusCode::OK, "ok").into_response()
        }
        Ok(WebhookResult::Refund(check)) => {
            tracing::info!(event = %event.event_id, kind = %event.event_type, ?check, "refund event checked");
            (StatusCode::OK, "ok").into_response()
        }
        Ok(WebhookResult::Ignored) => (StatusCode::OK, "ignored").into_response(),
        Ok(WebhookResult::UnknownPayment) => (StatusCode::OK, "unknown checkout").into_response(),
        Err(PaymentError::Conflict(why)) => {
            tracing::error!(event = %event.event_id, reason = %why, "webhook conflicts with our records");
            (StatusCode::CONFLICT, "conflict recorded").into_response()
        }
        Err(e) => {
            // Our fault (database down, …): the processor will retry.
            tracing::error!(event = %event.event_id, error = %e, "webhook failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response()
        }
    }
}
