//! One error type for the web layer. Residents see an opaque page (with a
//! correlation id for internal errors); the log gets the full cause chain
//! under the same id. Nothing about the request or the data is echoed.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::app::App;
use crate::i18n::Locale;
use crate::store::StoreError;
use crate::web::locale::PageLocale;
use crate::web::pages::Chrome;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("service unavailable: {0}")]
    Unavailable(&'static str),
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Internal(Box::new(e))
    }
}

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        WebError::Internal(Box::new(e))
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(Box::new(e))
    }
}

/// What the error page shows (message keys, rendered in the page's
/// language), attached to the response for the [`error_pages`] layer.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub title: &'static str,
    pub message: &'static str,
    pub correlation: Option<String>,
}

impl ErrorInfo {
    fn for_status(status: StatusCode) -> ErrorInfo {
        let (title, message) = match status {
            StatusCode::NOT_FOUND => ("error-not-found-title", "error-not-found-text"),
            StatusCode::METHOD_NOT_ALLOWED => ("error-not-found-title", "error-method-text"),
            StatusCode::PAYLOAD_TOO_LARGE => ("error-too-large-title", "error-too-large-text"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::BAD_REQUEST => {
                ("error-bad-request-title", "error-bad-request-text")
            }
            StatusCode::FORBIDDEN => ("error-forbidden-title", "error-forbidden-text"),
            StatusCode::SERVICE_UNAVAILABLE => {
                ("error-unavailable-title", "error-unavailable-text")
            }
            _ => ("error-internal-title", "error-internal-text"),
        };
        ErrorInfo {
            title,
            message,
            correlation: None,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut info = ErrorInfo::for_status(status);
        match &self {
            WebError::Internal(e) => {
                let id = crate::crypto::random_token(9);
                let mut chain = e.to_string();
                let mut src = e.source();
                while let Some(s) = src {
                    chain.push_str(": ");
                    chain.push_str(&s.to_string());
                    src = s.source();
                }
                tracing::error!(correlation = %id, error = %chain, "internal error");
                info.correlation = Some(id);
            }
            WebError::Unavailable(why) | WebError::BadRequest(why) | WebError::Forbidden(why) => {
                tracing::info!(status = status.as_u16(), reason = why, "request refused");
            }
            _ => {}
        }
        let mut res = status.into_response();
        res.extensions_mut().insert(info);
        res
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome<'a>,
    info: &'a ErrorInfo,
}

/// Renders every error response of the page routes as an HTML page: those
/// from handlers ([`WebError`]) and those from the framework (404, 405,
/// 413, 415, rejected extractors).
pub async fn error_pages(State(app): State<App>, req: Request, next: Next) -> Response {
    // Resident pages have a language; staff pages are in English.
    let page_locale = req.extensions().get::<PageLocale>().cloned();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.starts_with("text/html"))
        .unwrap_or(false);
    let info = match res.extensions().get::<ErrorInfo>() {
        Some(info) => info.clone(),
        None if is_html => return res,
        None => ErrorInfo::for_status(status),
    };
    let chrome = match &page_locale {
        Some(page) => Chrome::resident(&app, page, page.locale.msg(info.title)),
        None => Chrome::new(&app, &Locale::En.msg(info.title)),
    };
    let page = ErrorPage {
        chrome,
        info: &info,
    };
    let mut out = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "error").into_response(),
    };
    if let Some(retry) = res.headers().get(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, retry.clone());
    }
    if status == StatusCode::SERVICE_UNAVAILABLE && !out.headers().contains_key(header::RETRY_AFTER)
    {
        out.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    out
}
