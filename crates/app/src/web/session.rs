//! Resident sessions: a random id in an HttpOnly cookie (`__Host-` and
//! Secure over TLS; SameSite=Lax so the cookie comes back on the top-level
//! return from the processor's page). The server keeps the data; the
//! database holds only a hash of the id. A session row is written only
//! when there is something to keep, so browsing costs no writes.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::crypto::{hmac_parts, random_token, sha256_hex};
use crate::store::{self, StoreError};
use crate::web::error::WebError;

const IDLE_MICROS: i64 = 30 * 60 * 1_000_000;
const ABSOLUTE_MICROS: i64 = 2 * 60 * 60 * 1_000_000;

#[derive(Clone)]
pub struct ResidentSession {
    id: String,
    is_new: bool,
}

impl ResidentSession {
    fn hash(&self) -> String {
        sha256_hex(self.id.as_bytes())
    }

    /// A short tag for audit events: links one session's events without
    /// revealing the id.
    pub fn tag(&self, app: &App) -> String {
        hex::encode(&hmac_parts(app.keys.cookie_key(), &[b"session-tag", self.id.as_bytes()])[..6])
    }

    /// The CSRF token for this session's forms.
    pub fn csrf_token(&self, app: &App) -> String {
        URL_SAFE_NO_PAD.encode(hmac_parts(
            app.keys.cookie_key(),
            &[b"csrf", self.id.as_bytes()],
        ))
    }

    pub async fn load(&self, app: &App) -> Result<SessionData, StoreError> {
        if self.is_new {
            return Ok(SessionData::default());
        }
        let row = store::sessions::load(&app.db, &self.hash(), app.now_us()).await?;
        Ok(match row {
            Some(r) => {
                let mut data: SessionData = serde_json::from_str(&r.data).unwrap_or_default();
                data.created_at = r.created_at;
                data
            }
            None => SessionData::default(),
        })
    }

    /// Moves the session's data to a new id (on signing in or out, so an
    /// id known before cannot ride on the new state) and returns the
    /// cookie to send with the response.
    pub async fn rotate(&self, app: &App, data: &SessionData) -> Result<HeaderValue, StoreError> {
        let fresh = ResidentSession {
            id: random_token(32),
            is_new: false,
        };
        let mut data = data.clone();
        data.created_at = 0;
        fresh.save(app, &data).await?;
        if !self.is_new {
            let mut tx = app.db.begin().await?;
            store::sessions::delete(&mut tx, &self.hash()).await?;
            tx.commit().await?;
        }
        HeaderValue::from_str(&session_cookie(app, &fresh.id))
            .map_err(|e| StoreError::corrupt(e.to_string()))
    }

    pub async fn save(&self, app: &App, data: &SessionData) -> Result<(), StoreError> {
        let now = app.now_us();
        let created = if data.created_at > 0 {
            data.created_at
        } else {
            now
        };
        let expires = (created + ABSOLUTE_MICROS).min(now + IDLE_MICROS);
        let json = serde_json::to_string(data).map_err(|e| StoreError::corrupt(e.to_string()))?;
        let mut tx = app.db.begin().await?;
        store::sessions::save(&mut tx, &self.hash(), &json, created, now, expires).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What a resident session remembers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionData {
    #[serde(skip)]
    pub created_at: i64,
    /// Accounts this session proved it may see, one per department.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// The payment being prepared.
    #[serde(default)]
    pub draft: Option<Draft>,
    /// Bills put aside to pay together, from any departments.
    #[serde(default)]
    pub cart: Vec<DraftItem>,
    /// The resident account signed in on this session.
    #[serde(default)]
    pub resident: Option<SignedInResident>,
    /// A resident whose password was right, asked for the code from their
    /// authenticator app (with when, in microseconds).
    #[serde(default)]
    pub second_factor: Option<(SignedInResident, i64)>,
}

/// A resident signed in: valid while the account's session epoch is the
/// same (a password reset raises it, ending every earlier session).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SignedInResident {
    pub id: i64,
    pub epoch: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub department: String,
    pub account_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Draft {
    /// One bill, or the cart's bills.
    pub items: Vec<DraftItem>,
    /// Chosen when the amount was chosen and kept until the payment ends:
    /// a double submit or a resubmit of the review page finds the same
    /// payment.
    pub idempotency_key: String,
    /// Made from the cart (changing it means going back to the cart).
    #[serde(default)]
    pub from_cart: bool,
}

/// A bill chosen to pay, and how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftItem {
    pub department: String,
    pub receivable_id: i64,
    pub amount_cents: i64,
    /// What was due when it was chosen: if that changes before the
    /// payment starts, nothing is charged and the resident is told.
    pub seen_balance_cents: i64,
}

impl SessionData {
    pub fn grant_for(&self, department: &str) -> Option<i64> {
        self.grants
            .iter()
            .find(|g| g.department == department)
            .map(|g| g.account_id)
    }

    pub fn set_grant(&mut self, department: &str, account_id: i64) {
        self.grants.retain(|g| g.department != department);
        self.grants.push(Grant {
            department: department.to_owned(),
            account_id,
        });
    }
}

fn cookie_name(app: &App) -> &'static str {
    if app.config.is_tls() {
        "__Host-ct_session"
    } else {
        "ct_session"
    }
}

fn read_cookie(parts: &Parts, name: &str) -> Option<String> {
    for value in parts.headers.get_all(header::COOKIE) {
        let Ok(s) = value.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                // Only well-formed ids: 43 URL-safe base64 characters.
                if k == name
                    && v.len() == 43
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Some(v.to_owned());
                }
            }
        }
    }
    None
}

/// Gives every page request a session (new ones get a cookie on the way
/// out).
pub async fn resident_sessions(State(app): State<App>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let name = cookie_name(&app);
    let session = match read_cookie(&parts, name) {
        Some(id) => ResidentSession { id, is_new: false },
        None => ResidentSession {
            id: random_token(32),
            is_new: true,
        },
    };
    parts.extensions.insert(session.clone());
    let mut res = next.run(Request::from_parts(parts, body)).await;
    // A handler that rotated the session has set the cookie already.
    let prefix = format!("{name}=");
    let rotated = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(prefix.as_bytes()));
    if session.is_new
        && !rotated
        && let Ok(v) = HeaderValue::from_str(&session_cookie(&app, &session.id))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn session_cookie(app: &App, id: &str) -> String {
    let secure = if app.config.is_tls() { "; Secure" } else { "" };
    format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Lax{secure}",
        cookie_name(app)
    )
}

impl<S: Send + Sync> FromRequestParts<S> for ResidentSession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ResidentSession>()
            .cloned()
            .ok_or(WebError::Internal("session layer missing".into()))
    }
}
