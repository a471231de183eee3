//! Form posts: only `application/x-www-form-urlencoded`, only from our own
//! pages (Origin / Sec-Fetch-Site checked when the browser sends them), and
//! only with the session's CSRF token. Anything else is refused before a
//! handler runs, with an error page, never a 500.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::crypto::constant_time_eq;
use crate::web::error::WebError;
use crate::web::session::ResidentSession;

/// A form that passed the origin and CSRF checks.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenOnly {
    #[serde(default)]
    csrf: String,
}

/// Refuses cross-site posts when the browser tells us where they came from.
fn same_origin(headers: &HeaderMap, app: &App) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let ours = app.config.public_base_url.origin().ascii_serialization();
        if origin != ours {
            return false;
        }
    }
    true
}

impl<T: DeserializeOwned> FromRequest<App> for CsrfForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let session = req
            .extensions()
            .get::<ResidentSession>()
            .cloned()
            .ok_or(WebError::Internal("session layer missing".into()))?;
        if !same_origin(req.headers(), app) {
            return Err(WebError::Forbidden("cross-origin form post"));
        }
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.starts_with("application/x-www-form-urlencoded"))
            .unwrap_or(false);
        if !is_form {
            return Err(WebError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, app).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                WebError::PayloadTooLarge
            } else {
                WebError::BadRequest("unreadable body")
            }
        })?;
        let token: TokenOnly = serde_urlencoded::from_bytes(&body)
            .map_err(|_| WebError::BadRequest("malformed form"))?;
        let expected = session.csrf_token(app);
        if !constant_time_eq(token.csrf.as_bytes(), expected.as_bytes()) {
            return Err(WebError::Forbidden("missing or wrong CSRF token"));
        }
        let value: T = serde_urlencoded::from_bytes(&body)
            .map_err(|_| WebError::BadRequest("malformed form"))?;
        Ok(CsrfForm(value))
    }
}
