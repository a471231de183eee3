//! The sandbox processor itself: a fake card processor with its own hosted
//! payment page, served on its own origin, for the demo and the tests. It
//! behaves like a real one where it matters to cityteller: idempotent
//! checkout creation, a full-page hosted form, outcome by test card number,
//! signed webhooks with retries, a status API.
//!
//! The card number typed on its page is checked and dropped at once: only
//! the brand and last four digits are kept, and nothing is logged.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::mpsc;
use url::Url;

use super::signature;
use super::wire::{
    ApiError, ApiErrorBody, Card, CheckoutObject, CreateCharge, CreateCheckout, CreateRefund,
    CreateSetup, Event, EventData, MethodObject, RefundObject, SetupObject, TransactionList,
    TransactionObject,
};
use crate::crypto::{constant_time_eq, random_token};
use crate::processor::{DeclineReason, origin_of};
use crate::web::security::HeaderPolicy;

pub struct SandboxSettings {
    /// The sandbox's own base URL (its hosted pages live under it).
    pub public_base: Url,
    pub api_key: SecretString,
    pub webhook_secrets: Vec<SecretString>,
    pub webhook_url: Url,
    /// The merchant's origin: return URLs must be on it.
    pub merchant_origin: String,
    /// Delays between webhook delivery attempts.
    pub retry_delays: Vec<Duration>,
    /// Lets tests alter the transaction list (to prove the daily close
    /// finds mismatches). Never on outside tests.
    pub test_controls: bool,
}

impl SandboxSettings {
    pub fn default_retry_delays() -> Vec<Duration> {
        [1, 2, 4, 8, 16, 32, 60, 120, 300]
            .into_iter()
            .map(Duration::from_secs)
            .collect()
    }
}

#[derive(Clone)]
struct Session {
    obj: CheckoutObject,
    return_url: String,
    cancel_url: String,
    description: String,
    form_token: String,
}

#[derive(Clone)]
struct SetupSession {
    obj: SetupObject,
    return_url: String,
    cancel_url: String,
    form_token: String,
}

#[derive(Clone)]
struct SavedCard {
    brand: String,
    last4: String,
    /// What a charge on it does.
    behaviour: ChargeBehaviour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChargeBehaviour {
    Succeeds,
    Declines(DeclineReason),
    /// The bank wants the card holder present.
    NeedsHolder,
}

#[derive(Clone)]
struct Refund {
    obj: RefundObject,
}

/// What tests changed in the transaction list.
#[derive(Default)]
struct Tampering {
    hidden: std::collections::HashSet<String>,
    amounts: HashMap<String, i64>,
}

struct Shared {
    settings: SandboxSettings,
    sessions: Mutex<HashMap<String, Session>>,
    refunds: Mutex<HashMap<String, Refund>>,
    setups: Mutex<HashMap<String, SetupSession>>,
    /// Saved cards: id → what it is and how charges on it go.
    methods: Mutex<HashMap<String, SavedCard>>,
    tampering: Mutex<Tampering>,
    /// Idempotency key → (object id, the request it was first used with,
    /// as JSON).
    idempotency: Mutex<HashMap<String, (String, String)>>,
    events: mpsc::UnboundedSender<Event>,
}

#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Starts the webhook sender; returns the sandbox (for its router).
    pub fn start(settings: SandboxSettings) -> Sandbox {
        let (tx, rx) = mpsc::unbounded_channel();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            settings,
            sessions: Mutex::new(HashMap::new()),
            refunds: Mutex::new(HashMap::new()),
            setups: Mutex::new(HashMap::new()),
            methods: Mutex::new(HashMap::new()),
            tampering: Mutex::new(Tampering::default()),
            idempotency: Mutex::new(HashMap::new()),
            events: tx,
        });
        tokio::spawn(deliver_events(shared.clone(), http, rx));
        tokio::spawn(expire_sessions(Arc::downgrade(&shared)));
        Sandbox { shared }
    }

    pub fn router(&self) -> Router {
        let policy = Arc::new(HeaderPolicy {
            form_targets: vec![self.shared.settings.merchant_origin.clone()],
            hsts: self.shared.settings.public_base.scheme() == "https",
        });
        Router::new()
            .route("/", get(index))
            .route("/sandbox.css", get(css))
            .route("/favicon.svg", get(favicon))
            .route("/v1/checkouts", post(api_create))
            .route("/v1/checkouts/{id}", get(api_get))
            .route("/v1/refunds", post(api_refund))
            .route("/v1/refunds/{id}", get(api_refund_get))
            .route("/v1/transactions", get(api_transactions))
            .route("/v1/test/transactions/{id}", post(test_alter))
            .route("/pay/{id}", get(page).post(submit))
            .route("/pay/{id}/cancel", post(cancel))
            .route("/v1/setups", post(api_setup_create))
            .route("/v1/setups/{id}", get(api_setup_get))
            .route("/v1/methods/{id}/detach", post(api_detach))
            .route("/v1/charges", post(api_charge))
            .route("/setup/{id}", get(setup_page).post(setup_submit))
            .route("/setup/{id}/cancel", post(setup_cancel))
            .fallback(not_found)
            .layer(tower_http::limit::RequestBodyLimitLayer::new(16 * 1024))
            .layer(axum::middleware::from_fn_with_state(
                policy,
                crate::web::security::security_headers,
            ))
            .with_state(self.clone())
    }

    /// Serves the sandbox on `listener` until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(
            listener,
            self.router()
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    }

    fn emit(&self, obj: &CheckoutObject) {
        let event_type = match obj.status.as_str() {
            "succeeded" => "checkout.succeeded",
            "failed" => "checkout.failed",
            "expired" => "checkout.expired",
            _ => return,
        };
        let event = Event {
            id: format!("evt_{}", alnum_token()),
            event_type: event_type.into(),
            created: Timestamp::now().as_second(),
            data: EventData {
                checkout: obj.clone(),
            },
        };
        let _ = self.shared.events.send(event);
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let expected = format!("Bearer {}", self.shared.settings.api_key.expose_secret());
        headers
            .get(header::AUTHORIZATION)
            .map(|v| constant_time_eq(v.as_bytes(), expected.as_bytes()))
            .unwrap_or(false)
    }

    /// Looks a session up, expiring it first if its time is up.
    fn session(&self, id: &str) -> Option<Session> {
        let mut sessions = self.shared.sessions.lock().ok()?;
        let s = sessions.get_mut(id)?;
        if s.obj.status == "open" && Timestamp::now().as_second() >= s.obj.expires_at {
            s.obj.status = "expired".into();
            let obj = s.obj.clone();
            let out = s.clone();
            drop(sessions);
            self.emit(&obj);
            return Some(out);
        }
        Some(s.clone())
    }
}

/// What an idempotent request is compared by.
fn fingerprint<T: serde::Serialize>(req: &T) -> String {
    serde_json::to_string(req).unwrap_or_default()
}

fn alnum_token() -> String {
    random_token(18).replace(['-', '_'], "x")
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(ApiError {
            error: ApiErrorBody {
                code: code.into(),
                message: message.into(),
            },
        }),
    )
        .into_response()
}

async fn api_create(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let Ok(req) = serde_json::from_slice::<CreateCheckout>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed JSON body",
        );
    };
    if req.amount <= 0 || req.amount > 100_000_000 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_amount",
            "amount out of range",
        );
    }
    if req.currency != "usd" {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_currency",
            "only usd is supported",
        );
    }
    let merchant = &sb.shared.settings.merchant_origin;
    for u in [&req.return_url, &req.cancel_url] {
        match Url::parse(u) {
            Ok(url) if &origin_of(&url) == merchant => {}
            _ => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_url",
                    "return and cancel URLs must be on the merchant's origin",
                );
            }
        }
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &key {
        let existing = sb
            .shared
            .idempotency
            .lock()
            .ok()
            .and_then(|m| m.get(key).cloned());
        if let Some((id, first)) = existing {
            if first != fingerprint(&req) {
                return api_error(
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    "this idempotency key was used with different parameters",
                );
            }
            return match sb.session(&id) {
                Some(s) => axum::Json(s.obj).into_response(),
                None => api_error(StatusCode::INTERNAL_SERVER_ERROR, "lost", "lost session"),
            };
        }
    }
    let id = format!("cs_{}", alnum_token());
    let url = match sb.shared.settings.public_base.join(&format!("pay/{id}")) {
        Ok(u) => u.to_string(),
        Err(_) => return api_error(StatusCode::INTERNAL_SERVER_ERROR, "config", "bad base URL"),
    };
    let obj = CheckoutObject {
        id: id.clone(),
        url,
        status: "open".into(),
        amount: req.amount,
        currency: req.currency.clone(),
        expires_at: req.expires_at,
        reference: req.reference.clone(),
        card: None,
        failure_code: None,
        captured_at: None,
    };
    let session = Session {
        obj: obj.clone(),
        return_url: req.return_url.clone(),
        cancel_url: req.cancel_url.clone(),
        description: req.description.chars().take(200).collect(),
        form_token: random_token(24),
    };
    if let Ok(mut m) = sb.shared.sessions.lock() {
        m.insert(id.clone(), session);
    }
    if let Some(key) = key
        && let Ok(mut m) = sb.shared.idempotency.lock()
    {
        m.insert(key, (id, fingerprint(&req)));
    }
    axum::Json(obj).into_response()
}

async fn api_get(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    match sb.session(&id) {
        Some(s) => axum::Json(s.obj).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "not_found", "no such checkout"),
    }
}

async fn api_refund_get(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let found = sb
        .shared
        .refunds
        .lock()
        .ok()
        .and_then(|r| r.get(&id).map(|r| r.obj.clone()));
    match found {
        Some(obj) => axum::Json(obj).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "not_found", "no such refund"),
    }
}

async fn api_refund(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let Ok(req) = serde_json::from_slice::<CreateRefund>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed JSON body",
        );
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("refund:{k}"));
    // One lock for the whole decision, so two concurrent refunds cannot
    // both fit in what is left.
    let Ok(mut refunds) = sb.shared.refunds.lock() else {
        return api_error(StatusCode::INTERNAL_SERVER_ERROR, "busy", "try again");
    };
    if let Some(key) = &key {
        let existing = sb
            .shared
            .idempotency
            .lock()
            .ok()
            .and_then(|m| m.get(key).cloned());
        if let Some((id, first)) = existing {
            return match refunds.get(&id) {
                Some(r) if first == fingerprint(&req) => axum::Json(r.obj.clone()).into_response(),
                _ => api_error(
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    "this idempotency key was used with different parameters",
                ),
            };
        }
    }
    let Some(session) = sb.session(&req.checkout) else {
        return api_error(StatusCode::NOT_FOUND, "not_found", "no such checkout");
    };
    if session.obj.status != "succeeded" {
        return api_error(
            StatusCode::BAD_REQUEST,
            "not_captured",
            "only a succeeded payment can be refunded",
        );
    }
    let refunded: i64 = refunds
        .values()
        .filter(|r| r.obj.checkout == req.checkout)
        .map(|r| r.obj.amount)
        .sum();
    if req.amount <= 0 || req.amount > session.obj.amount - refunded {
        return api_error(
            StatusCode::BAD_REQUEST,
            "amount_too_large",
            "the refund is more than what is left of the payment",
        );
    }
    let obj = RefundObject {
        id: format!("re_{}", alnum_token()),
        checkout: req.checkout.clone(),
        amount: req.amount,
        status: "succeeded".into(),
        created: Timestamp::now().as_second(),
    };
    refunds.insert(obj.id.clone(), Refund { obj: obj.clone() });
    if let Some(key) = key
        && let Ok(mut m) = sb.shared.idempotency.lock()
    {
        m.insert(key, (obj.id.clone(), fingerprint(&req)));
    }
    axum::Json(obj).into_response()
}

#[derive(Deserialize)]
struct Range {
    from: i64,
    to: i64,
}

async fn api_transactions(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    axum::extract::Query(range): axum::extract::Query<Range>,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let mut data = Vec::new();
    if let Ok(sessions) = sb.shared.sessions.lock() {
        for s in sessions.values() {
            if let (Some(at), "succeeded") = (s.obj.captured_at, s.obj.status.as_str()) {
                data.push(TransactionObject {
                    kind: "charge".into(),
                    id: s.obj.id.clone(),
                    checkout: s.obj.id.clone(),
                    amount: s.obj.amount,
                    created: at,
                });
            }
        }
    }
    if let Ok(refunds) = sb.shared.refunds.lock() {
        for r in refunds.values() {
            data.push(TransactionObject {
                kind: "refund".into(),
                id: r.obj.id.clone(),
                checkout: r.obj.checkout.clone(),
                amount: r.obj.amount,
                created: r.obj.created,
            });
        }
    }
    if let Ok(t) = sb.shared.tampering.lock() {
        data.retain(|x| !t.hidden.contains(&x.id));
        for x in &mut data {
            if let Some(a) = t.amounts.get(&x.id) {
                x.amount = *a;
            }
        }
    }
    data.retain(|x| x.created >= range.from && x.created < range.to);
    data.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    axum::Json(TransactionList { data }).into_response()
}

#[derive(Deserialize)]
struct Alter {
    /// `hide` or `amount`.
    action: String,
    #[serde(default)]
    amount: i64,
}

/// Test control: hide a transaction or change its amount in the list.
async fn test_alter(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !sb.shared.settings.test_controls {
        return not_found().await;
    }
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let Ok(alter) = serde_json::from_slice::<Alter>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed JSON body",
        );
    };
    let Ok(mut t) = sb.shared.tampering.lock() else {
        return api_error(StatusCode::INTERNAL_SERVER_ERROR, "busy", "try again");
    };
    match alter.action.as_str() {
        "hide" => {
            t.hidden.insert(id);
        }
        "amount" => {
            t.amounts.insert(id, alter.amount);
        }
        _ => return api_error(StatusCode::BAD_REQUEST, "invalid_request", "unknown action"),
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Template)]
#[template(path = "sandbox/checkout.html")]
struct CheckoutPage<'a> {
    /// Where the card form posts (its cancel form posts to `…/cancel`).
    action: String,
    /// Saving a card, not paying.
    setup: bool,
    description: &'a str,
    amount: String,
    token: &'a str,
    errors: Vec<(&'static str, String)>,
    name: &'a str,
}

#[derive(Template)]
#[template(path = "sandbox/closed.html")]
struct ClosedPage<'a> {
    status: &'a str,
    return_url: &'a str,
}

#[derive(Template)]
#[template(path = "sandbox/index.html")]
struct IndexPage;

fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response(),
    }
}

async fn index() -> Response {
    render(StatusCode::OK, &IndexPage)
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../../static/sandbox.css"),
    )
        .into_response()
}

// Without an icon of its own, a browser asks for /favicon.ico and logs the 404
// as an error on the page.
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../../static/sandbox-favicon.svg"),
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

fn closed(s: &Session) -> Response {
    render(
        StatusCode::OK,
        &ClosedPage {
            status: &s.obj.status,
            return_url: &s.return_url,
        },
    )
}

async fn page(State(sb): State<Sandbox>, Path(id): Path<String>) -> Response {
    let Some(s) = sb.session(&id) else {
        return not_found().await;
    };
    if s.obj.status != "open" {
        return closed(&s);
    }
    render(
        StatusCode::OK,
        &CheckoutPage {
            action: format!("/pay/{}", s.obj.id),
            setup: false,
            description: &s.description,
            amount: domain::Cents::new(s.obj.amount).to_string(),
            token: &s.form_token,
            errors: Vec::new(),
            name: "",
        },
    )
}

#[derive(Deserialize)]
struct CardForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    cvc: String,
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
}

/// What the sandbox does with a card, by number (the usual test numbers).
fn outcome_for(number: &str) -> Result<(), DeclineReason> {
    match number {
        "4000000000000002" => Err(DeclineReason::Declined),
        "4000000000009995" => Err(DeclineReason::InsufficientFunds),
        "4000000000000069" => Err(DeclineReason::ExpiredCard),
        "4000000000000127" => Err(DeclineReason::IncorrectCvc),
        "4000000000000119" => Err(DeclineReason::ProcessingError),
        _ => Ok(()),
    }
}

fn brand_of(number: &str) -> &'static str {
    let two: u32 = number.get(..2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let four: u32 = number.get(..4).and_then(|s| s.parse().ok()).unwrap_or(0);
    if number.starts_with('4') {
        "visa"
    } else if (51..=55).contains(&two) || (2221..=2720).contains(&four) {
        "mastercard"
    } else if two == 34 || two == 37 {
        "amex"
    } else if four == 6011 || two == 65 {
        "discover"
    } else {
        "card"
    }
}

fn expiry_ok(expiry: &str, now: Timestamp) -> bool {
    let Some((m, y)) = expiry.trim().split_once('/') else {
        return false;
    };
    let (Ok(m), Ok(y)) = (m.trim().parse::<i32>(), y.trim().parse::<i32>()) else {
        return false;
    };
    let year = if y < 100 { 2000 + y } else { y };
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    (1..=12).contains(&m) && (year, m) >= (i32::from(today.year()), i32::from(today.month()))
}

/// A form posted from one of our pages, with that page's token.
fn read_form<T: serde::de::DeserializeOwned + HasToken>(
    body: &[u8],
    expected: &str,
) -> Result<T, (StatusCode, &'static str)> {
    let Ok(form) = serde_urlencoded::from_bytes::<T>(body) else {
        return Err((StatusCode::BAD_REQUEST, "malformed form"));
    };
    if !constant_time_eq(form.token().as_bytes(), expected.as_bytes()) {
        return Err((StatusCode::FORBIDDEN, "form expired; reload the page"));
    }
    Ok(form)
}

trait HasToken {
    fn token(&self) -> &str;
}

impl HasToken for CardForm {
    fn token(&self) -> &str {
        &self.token
    }
}

impl HasToken for TokenForm {
    fn token(&self) -> &str {
        &self.token
    }
}

/// The card number typed (digits only) and what is wrong with the form.
fn check_card(form: &CardForm) -> (String, Vec<(&'static str, String)>) {
    let number: String = form
        .number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let mut errors = Vec::new();
    if !domain::luhn::card_shaped(&number) {
        errors.push(("number", "Enter a valid card number".to_owned()));
    }
    if !expiry_ok(&form.expiry, Timestamp::now()) {
        errors.push(("expiry", "Enter a future expiry date as MM/YY".to_owned()));
    }
    let cvc = form.cvc.trim();
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(("cvc", "Enter the 3 or 4 digit security code".to_owned()));
    }
    if form.name.trim().is_empty() {
        errors.push(("name", "Enter the name on the card".to_owned()));
    }
    (number, errors)
}

async fn submit(
    State(sb): State<Sandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(s) = sb.session(&id) else {
        return not_found().await;
    };
    if s.obj.status != "open" {
        return closed(&s);
    }
    let form: CardForm = match read_form(&body, &s.form_token) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let (number, errors) = check_card(&form);
    if !errors.is_empty() {
        return render(
            StatusCode::BAD_REQUEST,
            &CheckoutPage {
                action: format!("/pay/{}", s.obj.id),
                setup: false,
                description: &s.description,
                amount: domain::Cents::new(s.obj.amount).to_string(),
                token: &s.form_token,
                errors,
                name: form.name.trim(),
            },
        );
    }
    let last4 = number[number.len() - 4..].to_owned();
    let brand = brand_of(&number).to_owned();
    let outcome = outcome_for(&number);
    drop(number);
    let obj = {
        let Ok(mut sessions) = sb.shared.sessions.lock() else {
            return (StatusCode::INTERNAL_SERVER_ERROR, "busy").into_response();
        };
        let Some(sess) = sessions.get_mut(&id) else {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        };
        if sess.obj.status != "open" {
            return closed(sess);
        }
        match outcome {
            Ok(()) => {
                sess.obj.status = "succeeded".into();
                sess.obj.card = Some(Card { brand, last4 });
                sess.obj.captured_at = Some(Timestamp::now().as_second());
            }
            Err(reason) => {
                sess.obj.status = "failed".into();
                sess.obj.failure_code = Some(reason.code().into());
                sess.obj.card = Some(Card { brand, last4 });
            }
        }
        sess.obj.clone()
    };
    sb.emit(&obj);
    Redirect::to(&s.return_url).into_response()
}

async fn cancel(
    State(sb): State<Sandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(s) = sb.session(&id) else {
        return not_found().await;
    };
    if let Err(refused) = read_form::<TokenForm>(&body, &s.form_token) {
        return refused.into_response();
    }
    let obj = {
        let Ok(mut sessions) = sb.shared.sessions.lock() else {
            return (StatusCode::INTERNAL_SERVER_ERROR, "busy").into_response();
        };
        match sessions.get_mut(&id) {
            Some(sess) if sess.obj.status == "open" => {
                sess.obj.status = "failed".into();
                sess.obj.failure_code = Some(DeclineReason::Cancelled.code().into());
                Some(sess.obj.clone())
            }
            _ => None,
        }
    };
    if let Some(obj) = obj {
        sb.emit(&obj);
    }
    Redirect::to(&s.cancel_url).into_response()
}

/// The idempotency key's earlier answer: `Some(Ok(id))` for a replay
/// with the same request, `Some(Err(409))` for a different one.
fn replayed<T: serde::Serialize>(
    sb: &Sandbox,
    key: Option<&str>,
    req: &T,
) -> Option<Result<String, Response>> {
    let (id, first) = sb
        .shared
        .idempotency
        .lock()
        .ok()
        .and_then(|m| m.get(key?).cloned())?;
    if first != fingerprint(req) {
        return Some(Err(api_error(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "this idempotency key was used with different parameters",
        )));
    }
    Some(Ok(id))
}

fn remember(sb: &Sandbox, key: Option<String>, id: &str, fingerprint_of: String) {
    if let Some(key) = key
        && let Ok(mut m) = sb.shared.idempotency.lock()
    {
        m.insert(key, (id.to_owned(), fingerprint_of));
    }
}

fn idempotency_key(headers: &HeaderMap, scope: &str) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("{scope}:{k}"))
}

/// Setup pages stay open this long.
const SETUP_SECONDS: i64 = 30 * 60;

async fn api_setup_create(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let Ok(req) = serde_json::from_slice::<CreateSetup>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed JSON body",
        );
    };
    let merchant = &sb.shared.settings.merchant_origin;
    for u in [&req.return_url, &req.cancel_url] {
        if !Url::parse(u).is_ok_and(|url| &origin_of(&url) == merchant) {
            return api_error(
                StatusCode::BAD_REQUEST,
                "invalid_url",
                "return and cancel URLs must be on the merchant's origin",
            );
        }
    }
    let key = idempotency_key(&headers, "setup");
    match replayed(&sb, key.as_deref(), &req) {
        Some(Ok(id)) => {
            return match sb.setup(&id) {
                Some(s) => axum::Json(s.obj).into_response(),
                None => api_error(StatusCode::INTERNAL_SERVER_ERROR, "lost", "lost setup"),
            };
        }
        Some(Err(conflict)) => return conflict,
        None => {}
    }
    let id = format!("seti_{}", alnum_token());
    let Ok(url) = sb.shared.settings.public_base.join(&format!("setup/{id}")) else {
        return api_error(StatusCode::INTERNAL_SERVER_ERROR, "config", "bad base URL");
    };
    let obj = SetupObject {
        id: id.clone(),
        url: url.to_string(),
        status: "open".into(),
        reference: req.reference.clone(),
        expires_at: Timestamp::now().as_second() + SETUP_SECONDS,
        method: None,
    };
    if let Ok(mut m) = sb.shared.setups.lock() {
        m.insert(
            id.clone(),
            SetupSession {
                obj: obj.clone(),
                return_url: req.return_url.clone(),
                cancel_url: req.cancel_url.clone(),
                form_token: random_token(24),
            },
        );
    }
    remember(&sb, key, &id, fingerprint(&req));
    axum::Json(obj).into_response()
}

impl Sandbox {
    /// Looks a setup up, expiring it first if its time is up.
    fn setup(&self, id: &str) -> Option<SetupSession> {
        let mut setups = self.shared.setups.lock().ok()?;
        let s = setups.get_mut(id)?;
        if s.obj.status == "open" && Timestamp::now().as_second() >= s.obj.expires_at {
            s.obj.status = "expired".into();
        }
        Some(s.clone())
    }
}

async fn api_setup_get(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    match sb.setup(&id) {
        Some(s) => axum::Json(s.obj).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "not_found", "no such setup"),
    }
}

fn setup_form_page(s: &SetupSession, errors: Vec<(&'static str, String)>, name: &str) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render(
        status,
        &CheckoutPage {
            action: format!("/setup/{}", s.obj.id),
            setup: true,
            description: "the City",
            amount: String::new(),
            token: &s.form_token,
            errors,
            name,
        },
    )
}

fn setup_closed(s: &SetupSession) -> Response {
    render(
        StatusCode::OK,
        &ClosedPage {
            status: &s.obj.status,
            return_url: &s.return_url,
        },
    )
}

async fn setup_page(State(sb): State<Sandbox>, Path(id): Path<String>) -> Response {
    match sb.setup(&id) {
        Some(s) if s.obj.status == "open" => setup_form_page(&s, Vec::new(), ""),
        Some(s) => setup_closed(&s),
        None => not_found().await,
    }
}

/// How charges go on a saved card, by its number.
fn behaviour_for(number: &str) -> ChargeBehaviour {
    match number {
        "4000002500003155" | "4000002760003184" => ChargeBehaviour::NeedsHolder,
        n => match outcome_for(n) {
            Ok(()) => ChargeBehaviour::Succeeds,
            Err(reason) => ChargeBehaviour::Declines(reason),
        },
    }
}

async fn setup_submit(
    State(sb): State<Sandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(s) = sb.setup(&id) else {
        return not_found().await;
    };
    if s.obj.status != "open" {
        return setup_closed(&s);
    }
    let form: CardForm = match read_form(&body, &s.form_token) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let (number, errors) = check_card(&form);
    if !errors.is_empty() {
        return setup_form_page(&s, errors, form.name.trim());
    }
    let card = SavedCard {
        brand: brand_of(&number).to_owned(),
        last4: number[number.len() - 4..].to_owned(),
        behaviour: behaviour_for(&number),
    };
    drop(number);
    let method = MethodObject {
        id: format!("pm_{}", alnum_token()),
        brand: card.brand.clone(),
        last4: card.last4.clone(),
    };
    if let Ok(mut m) = sb.shared.methods.lock() {
        m.insert(method.id.clone(), card);
    }
    if let Ok(mut setups) = sb.shared.setups.lock()
        && let Some(sess) = setups.get_mut(&id)
        && sess.obj.status == "open"
    {
        sess.obj.status = "succeeded".into();
        sess.obj.method = Some(method);
    }
    Redirect::to(&s.return_url).into_response()
}

async fn setup_cancel(
    State(sb): State<Sandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(s) = sb.setup(&id) else {
        return not_found().await;
    };
    if let Err(refused) = read_form::<TokenForm>(&body, &s.form_token) {
        return refused.into_response();
    }
    if let Ok(mut setups) = sb.shared.setups.lock()
        && let Some(sess) = setups.get_mut(&id)
        && sess.obj.status == "open"
    {
        sess.obj.status = "canceled".into();
    }
    Redirect::to(&s.cancel_url).into_response()
}

async fn api_detach(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let removed = sb
        .shared
        .methods
        .lock()
        .ok()
        .and_then(|mut m| m.remove(&id));
    match removed {
        Some(c) => axum::Json(MethodObject {
            id,
            brand: c.brand,
            last4: c.last4,
        })
        .into_response(),
        None => api_error(StatusCode::NOT_FOUND, "not_found", "no such method"),
    }
}

/// Charges a saved card at once; the answer is the charge, recorded like
/// a checkout (so refunds and the transaction list see it).
async fn api_charge(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let Ok(req) = serde_json::from_slice::<CreateCharge>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed JSON body",
        );
    };
    if req.amount <= 0 || req.amount > 100_000_000 || req.currency != "usd" {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_amount",
            "amount out of range",
        );
    }
    let key = idempotency_key(&headers, "charge");
    match replayed(&sb, key.as_deref(), &req) {
        Some(Ok(id)) => {
            return match sb.session(&id) {
                Some(s) => axum::Json(s.obj).into_response(),
                None => api_error(StatusCode::INTERNAL_SERVER_ERROR, "lost", "lost charge"),
            };
        }
        Some(Err(conflict)) => return conflict,
        None => {}
    }
    let card = sb
        .shared
        .methods
        .lock()
        .ok()
        .and_then(|m| m.get(&req.method).cloned());
    let Some(card) = card else {
        return api_error(
            StatusCode::NOT_FOUND,
            "no_such_method",
            "no such saved card",
        );
    };
    let id = format!("cs_{}", alnum_token());
    let now = Timestamp::now().as_second();
    let (status, failure_code, captured_at) = match card.behaviour {
        ChargeBehaviour::Succeeds => ("succeeded", None, Some(now)),
        ChargeBehaviour::Declines(reason) => ("failed", Some(reason.code().to_owned()), None),
        ChargeBehaviour::NeedsHolder => ("requires_action", None, None),
    };
    let obj = CheckoutObject {
        id: id.clone(),
        url: String::new(),
        status: status.into(),
        amount: req.amount,
        currency: req.currency.clone(),
        expires_at: now,
        reference: req.reference.clone(),
        card: Some(Card {
            brand: card.brand,
            last4: card.last4,
        }),
        failure_code,
        captured_at,
    };
    if let Ok(mut m) = sb.shared.sessions.lock() {
        m.insert(
            id.clone(),
            Session {
                obj: obj.clone(),
                return_url: String::new(),
                cancel_url: String::new(),
                description: req.description.chars().take(200).collect(),
                form_token: random_token(24),
            },
        );
    }
    remember(&sb, key, &id, fingerprint(&req));
    axum::Json(obj).into_response()
}

/// Delivers each event, signed afresh at every attempt, retrying failures
/// on the configured schedule. Deliveries run side by side.
async fn deliver_events(
    shared: Arc<Shared>,
    http: reqwest::Client,
    mut rx: mpsc::UnboundedReceiver<Event>,
) {
    while let Some(event) = rx.recv().await {
        let shared = shared.clone();
        let http = http.clone();
        tokio::spawn(async move {
            let Ok(body) = serde_json::to_vec(&event) else {
                return;
            };
            let mut delays = shared.settings.retry_delays.clone().into_iter();
            loop {
                let secrets: Vec<&[u8]> = shared
                    .settings
                    .webhook_secrets
                    .iter()
                    .map(|s| s.expose_secret().as_bytes())
                    .collect();
                let sig = signature::sign(&secrets, Timestamp::now().as_second(), &body);
                let sent = http
                    .post(shared.settings.webhook_url.clone())
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(signature::HEADER, sig)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => return,
                    Ok(r) => {
                        tracing::warn!(event = %event.id, status = %r.status(), "sandbox webhook refused; will retry")
                    }
                    Err(e) => {
                        tracing::warn!(event = %event.id, error = %e.without_url(), "sandbox webhook failed; will retry")
                    }
                }
                match delays.next() {
                    Some(d) => tokio::time::sleep(d).await,
                    None => {
                        tracing::error!(event = %event.id, "sandbox gave up delivering webhook");
                        return;
                    }
                }
            }
        });
    }
}

/// Expires open sessions whose time is up, as a real processor would.
async fn expire_sessions(shared: std::sync::Weak<Shared>) {
    loop {
        tokio::time::sleep(Duration::from_secs(15)).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let ids: Vec<String> = shared
            .sessions
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let sb = Sandbox { shared };
        for id in ids {
            let _ = sb.session(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands_and_outcomes() {
        assert_eq!(brand_of("4242424242424242"), "visa");
        assert_eq!(brand_of("5555555555554444"), "mastercard");
        assert_eq!(brand_of("378282246310005"), "amex");
        assert_eq!(outcome_for("4242424242424242"), Ok(()));
        assert_eq!(
            outcome_for("4000000000000002"),
            Err(DeclineReason::Declined)
        );
        assert_eq!(
            outcome_for("4000000000009995"),
            Err(DeclineReason::InsufficientFunds)
        );
    }

    #[test]
    fn expiry() {
        let now: Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
        assert!(expiry_ok("11/26", now));
        assert!(expiry_ok("12/2030", now));
        assert!(!expiry_ok("10/26", now));
        assert!(!expiry_ok("13/30", now));
        assert!(!expiry_ok("1130", now));
    }
}
