//! Who is calling, and may they. Authorization is a type in the handler's
//! signature: `Staff<need::ApproveRefunds>` rejects anyone without that
//! permission (403, audited) before the handler runs; anyone signed out is
//! sent to the sign-in page.
//!
//! Cookies: `ct_staff` holds the session id (rotated at sign-in), and
//! `ct_staff_pre` a random id that the sign-in and enrolment forms' CSRF
//! tokens are bound to before there is a session. Both are HttpOnly and
//! SameSite=Strict, with the `__Host-` prefix and Secure over TLS.

use std::marker::PhantomData;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::crypto::{constant_time_eq, hmac_parts, random_token};
use crate::services::staff_auth::{self, SignedIn};
use crate::staff::roles::Permission;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::pages::Chrome;

#[derive(Clone)]
pub struct StaffCookies {
    pub session: Option<String>,
    pub pre: String,
    pre_is_new: bool,
}

pub fn session_cookie_name(app: &App) -> &'static str {
    if app.config.staff_is_tls() {
        "__Host-ct_staff"
    } else {
        "ct_staff"
    }
}

fn pre_cookie_name(app: &App) -> &'static str {
    if app.config.staff_is_tls() {
        "__Host-ct_staff_pre"
    } else {
        "ct_staff_pre"
    }
}

fn cookie_attributes(app: &App) -> &'static str {
    if app.config.staff_is_tls() {
        "; Path=/; HttpOnly; SameSite=Strict; Secure"
    } else {
        "; Path=/; HttpOnly; SameSite=Strict"
    }
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(s) = value.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == name
                && v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// Reads the staff cookies for every console request; gives a new
/// pre-sign-in id to browsers without one.
pub async fn staff_cookies(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let session = read_cookie(req.headers(), session_cookie_name(&app));
    let (pre, pre_is_new) = match read_cookie(req.headers(), pre_cookie_name(&app)) {
        Some(p) => (p, false),
        None => (random_token(32), true),
    };
    let cookies = StaffCookies {
        session,
        pre,
        pre_is_new,
    };
    req.extensions_mut().insert(cookies.clone());
    let mut res = next.run(req).await;
    if cookies.pre_is_new {
        let c = format!(
            "{}={}{}",
            pre_cookie_name(&app),
            cookies.pre,
            cookie_attributes(&app)
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// `Set-Cookie` for a new session (after sign-in).
pub fn set_session_cookie(app: &App, value: &str) -> HeaderValue {
    let c = format!(
        "{}={value}{}",
        session_cookie_name(app),
        cookie_attributes(app)
    );
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the session cookie (sign-out).
pub fn clear_session_cookie(app: &App) -> HeaderValue {
    let c = format!(
        "{}=gone; Max-Age=0{}",
        session_cookie_name(app),
        cookie_attributes(app)
    );
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static(""))
}

/// The CSRF token for forms: bound to the session when signed in, to the
/// pre-sign-in id otherwise.
pub fn csrf_token(app: &App, cookies: &StaffCookies) -> String {
    let (purpose, id): (&[u8], &str) = match &cookies.session {
        Some(s) => (b"staff-csrf", s),
        None => (b"staff-pre-csrf", &cookies.pre),
    };
    URL_SAFE_NO_PAD.encode(hmac_parts(app.keys.cookie_key(), &[purpose, id.as_bytes()]))
}

fn csrf_ok(app: &App, cookies: &StaffCookies, offered: &str) -> bool {
    let mut ok = false;
    if let Some(s) = &cookies.session {
        let t = URL_SAFE_NO_PAD.encode(hmac_parts(
            app.keys.cookie_key(),
            &[b"staff-csrf", s.as_bytes()],
        ));
        ok |= constant_time_eq(t.as_bytes(), offered.as_bytes());
    }
    let t = URL_SAFE_NO_PAD.encode(hmac_parts(
        app.keys.cookie_key(),
        &[b"staff-pre-csrf", cookies.pre.as_bytes()],
    ));
    ok |= constant_time_eq(t.as_bytes(), offered.as_bytes());
    ok
}

pub fn cookies_of(parts: &Parts) -> Result<StaffCookies, WebError> {
    parts
        .extensions
        .get::<StaffCookies>()
        .cloned()
        .ok_or(WebError::Internal("staff cookie layer missing".into()))
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, enrolment, monitoring).
    Public,
    /// Any signed-in member of staff.
    SignedIn,
    Requires(Permission),
}

pub trait Need: Send + Sync + 'static {
    const ACCESS: Access;
    /// What the denial page says the person cannot do.
    const WHAT: &'static str;
}

/// The permission markers used in handler signatures.
pub mod need {
    use super::{Access, Need};
    use crate::staff::roles::Permission as P;

    macro_rules! needs {
        ($($name:ident => $access:expr, $what:literal;)*) => {
            $(
                pub struct $name;
                impl Need for $name {
                    const ACCESS: Access = $access;
                    const WHAT: &'static str = $what;
                }
            )*
        };
    }

    needs! {
        SignedIn => Access::SignedIn, "use the console";
        ViewPayments => Access::Requires(P::ViewPayments), "read payments";
        AddNotes => Access::Requires(P::AddNotes), "add notes";
        ResendReceipts => Access::Requires(P::ResendReceipts), "resend receipts";
        RequestRefunds => Access::Requires(P::RequestRefunds), "refund payments";
        ApproveRefunds => Access::Requires(P::ApproveRefunds), "approve refunds";
        ViewClose => Access::Requires(P::ViewClose), "see the daily close";
        CloseDay => Access::Requires(P::CloseDay), "close a day";
        Export => Access::Requires(P::Export), "download exports";
        ManageStaff => Access::Requires(P::ManageStaff), "manage staff accounts";
        ViewAudit => Access::Requires(P::ViewAudit), "read the audit log";
        FlagDeclarations => Access::Requires(P::FlagDeclarations), "mark declarations for audit";
        ViewResidents => Access::Requires(P::ViewResidents), "look up residents' online accounts";
        HelpResidents => Access::Requires(P::HelpResidents), "help residents with their online accounts";
    }
}

/// A signed-in member of staff allowed what `N` needs.
pub struct Staff<N: Need> {
    pub user: SignedIn,
    pub cookies: StaffCookies,
    _need: PhantomData<N>,
}

#[derive(Template)]
#[template(path = "staff/denied.html")]
struct DeniedPage<'a> {
    chrome: Chrome<'a>,
    user: &'a SignedIn,
    what: &'a str,
}

impl<N: Need> FromRequestParts<App> for Staff<N> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let cookies = cookies_of(parts).map_err(IntoResponse::into_response)?;
        let user = match &cookies.session {
            Some(c) => staff_auth::session(app, c)
                .await
                .map_err(|e| WebError::from(e).into_response())?,
            None => None,
        };
        let Some(user) = user else {
            // Back to where they were going after signing in (GETs only; a
            // form post is not replayed).
            let next = if parts.method == Method::GET {
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/")
            } else {
                "/"
            };
            let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            return Err(Redirect::to(&format!("/login?{q}")).into_response());
        };
        if let Access::Requires(p) = N::ACCESS
            && !user.role.can(p)
        {
            let ip = ClientIp::from_request_parts(parts, app)
                .await
                .map(|c| c.0)
                .unwrap_or(None);
            let recorded = async {
                let mut tx = app.db.begin().await?;
                audit::record(
                    &mut tx,
                    app.now(),
                    Event {
                        actor: &user.actor(),
                        action: "staff.permission_denied",
                        target: Some(format!("route:{} {}", parts.method, parts.uri.path())),
                        outcome: Outcome::Denied,
                        source_ip: ip,
                        details: json!({ "role": user.role.as_str(), "needs": format!("{p:?}") }),
                    },
                )
                .await?;
                tx.commit().await?;
                Ok::<(), crate::store::StoreError>(())
            };
            if let Err(e) = recorded.await {
                return Err(WebError::from(e).into_response());
            }
            let page = DeniedPage {
                chrome: Chrome::new(app, "You do not have permission"),
                user: &user,
                what: N::WHAT,
            };
            let body = page
                .render()
                .map_err(|e| WebError::from(e).into_response())?;
            return Err((StatusCode::FORBIDDEN, axum::response::Html(body)).into_response());
        }
        Ok(Staff {
            user,
            cookies,
            _need: PhantomData,
        })
    }
}

/// A staff form that passed the origin and CSRF checks.
pub struct StaffForm<T>(pub T);

#[derive(Deserialize)]
struct TokenOnly {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<App> for StaffForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let cookies = req
            .extensions()
            .get::<StaffCookies>()
            .cloned()
            .ok_or(WebError::Internal("staff cookie layer missing".into()))?;
        let headers = req.headers();
        if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
            && !matches!(site, "same-origin" | "none")
        {
            return Err(WebError::Forbidden("cross-site staff form"));
        }
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
            && origin != app.config.staff_base_url.origin().ascii_serialization()
        {
            return Err(WebError::Forbidden("staff form from another origin"));
        }
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form || req.method() != Method::POST {
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
        if !csrf_ok(app, &cookies, &token.csrf) {
            return Err(WebError::Forbidden("missing or wrong CSRF token"));
        }
        serde_urlencoded::from_bytes(&body)
            .map(StaffForm)
            .map_err(|_| WebError::BadRequest("malformed form"))
    }
}
