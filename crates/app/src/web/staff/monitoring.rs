//! Health and metrics for monitoring, on the staff listener only.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::store;

/// 200 when the database answers, 503 otherwise.
pub async fn healthz(State(app): State<App>) -> Response {
    let db_ok = sqlx::query("SELECT 1 AS ok")
        .fetch_one(app.db.reader())
        .await
        .is_ok();
    let body = serde_json::json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "version": env!("CARGO_PKG_VERSION"),
    });
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

pub async fn metrics(State(app): State<App>) -> Response {
    let jobs = store::jobs::counts(&app.db).await.unwrap_or_default();
    let labels: Vec<String> = jobs
        .iter()
        .map(|(s, _)| format!("status=\"{s}\""))
        .collect();
    let mut extra: Vec<(&str, &str, i64)> = jobs
        .iter()
        .zip(&labels)
        .map(|((_, n), l)| ("cityteller_jobs", l.as_str(), *n))
        .collect();
    extra.push(("cityteller_up", "", 1));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(&extra),
    )
        .into_response()
}
