//! Where the resident lands back from the processor. The page shows what
//! the processor says (asking it if the webhook has not arrived yet),
//! never anything from the URL.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use domain::payment::PaymentStatus;
use domain::personal::EmailAddress;

use crate::app::App;
use crate::processor::DeclineReason;
use crate::services::payments::{self, email_context};
use crate::services::receipts::{Receipt, load_receipt};
use crate::store;
use crate::web::error::WebError;
use crate::web::locale::{PageLocale, Source};
use crate::web::pages::{Chrome, render};
use crate::web::session::ResidentSession;

pub enum ReceiptState {
    Paid(Box<Receipt>),
    /// The message key saying why.
    Failed(&'static str),
    Expired,
    Waiting,
}

#[derive(Template)]
#[template(path = "pay/receipt.html")]
struct ReceiptPage<'a> {
    chrome: Chrome<'a>,
    state: ReceiptState,
    payment_id: &'a str,
    /// Where "try again" leads: the bills, or the cart it came from.
    retry_url: String,
    emailed_to: Option<String>,
    /// The payment renewed a business licence: its certificate.
    certificate: bool,
}

/// The message key for why the processor did not take the payment.
fn decline_message(code: Option<&str>) -> &'static str {
    match code.and_then(DeclineReason::from_code) {
        Some(DeclineReason::Declined) => "decline-declined",
        Some(DeclineReason::InsufficientFunds) => "decline-insufficient-funds",
        Some(DeclineReason::ExpiredCard) => "decline-expired-card",
        Some(DeclineReason::IncorrectCvc) => "decline-incorrect-cvc",
        Some(DeclineReason::ProcessingError) => "decline-processing-error",
        Some(DeclineReason::Cancelled) => "decline-cancelled",
        None => "decline-unknown",
    }
}

/// `?left=1`: the processor's cancel link brought the payer back.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReceiptQuery {
    #[serde(default)]
    left: Option<String>,
}

pub async fn show(
    State(app): State<App>,
    session: ResidentSession,
    locale: PageLocale,
    Path(id): Path<String>,
    Query(query): Query<ReceiptQuery>,
) -> Result<Response, WebError> {
    // Only ids we could have issued; anything else is simply not found.
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| WebError::NotFound)?
        .to_string();
    let payment = store::payments::by_id(app.db.reader(), &id)
        .await?
        .ok_or(WebError::NotFound)?;
    let left = query.left.as_deref() == Some("1");
    let payment = if left && payment.status.is_open() {
        // Only the browser that prepared this payment may close it.
        let data = session.load(&app).await?;
        let ours = data
            .draft
            .as_ref()
            .is_some_and(|d| d.idempotency_key == payment.idempotency_key);
        if ours && let Err(e) = payments::payer_left(&app, &payment).await {
            tracing::warn!(payment = %payment.id, error = %e, "could not close the checkout the payer left");
        }
        store::payments::by_id(app.db.reader(), &id)
            .await?
            .ok_or(WebError::NotFound)?
    } else {
        payment
    };
    let payment = if payment.status.is_open() {
        payments::refresh_patiently(&app, &payment, 3)
            .await
            .map_err(|e| WebError::Internal(Box::new(e)))?
    } else {
        payment
    };
    let dept_id = store::payments::items(app.db.reader(), &payment.id)
        .await?
        .first()
        .map(|i| i.department.clone())
        .unwrap_or_default();
    let mut from_cart = false;
    if !payment.status.is_open() {
        // The payment this session was preparing has ended: a later visit
        // to the review page must not offer to pay it again; bills it paid
        // leave the cart.
        let mut data = session.load(&app).await?;
        let mut changed = false;
        if let Some(d) = data
            .draft
            .as_ref()
            .filter(|d| d.idempotency_key == payment.idempotency_key)
        {
            from_cart = d.from_cart;
            data.draft = None;
            changed = true;
        }
        if payment.status.was_captured() && !data.cart.is_empty() {
            let paid: Vec<i64> = store::payments::items(app.db.reader(), &payment.id)
                .await?
                .iter()
                .map(|i| i.receivable_id)
                .collect();
            let before = data.cart.len();
            data.cart.retain(|i| !paid.contains(&i.receivable_id));
            changed |= data.cart.len() != before;
        }
        if changed {
            session.save(&app, &data).await?;
        }
    }
    let retry_url = if from_cart {
        "/cart".to_owned()
    } else {
        format!("/pay/{dept_id}/bills")
    };
    let (state, title) = match payment.status {
        s if s.was_captured() => {
            let receipt = load_receipt(&app, &payment.id)
                .await
                .map_err(|e| WebError::Internal(Box::new(e)))?;
            (ReceiptState::Paid(Box::new(receipt)), "receipt-paid-title")
        }
        PaymentStatus::Failed => (
            ReceiptState::Failed(decline_message(payment.failure_code.as_deref())),
            "receipt-failed-title",
        ),
        PaymentStatus::Expired => (ReceiptState::Expired, "receipt-expired-title"),
        _ => (ReceiptState::Waiting, "receipt-waiting-title"),
    };
    // In the language the resident paid in (this may be another browser,
    // opened from the e-mail), unless they have just chosen one here.
    let locale = match locale.source {
        Source::Query => locale,
        _ => locale.with_locale(payment.locale),
    };
    let certificate = matches!(state, ReceiptState::Paid(_))
        && crate::services::licences::renewal_paid_by(&app, &payment.id).await?;
    let emailed_to = match (&state, payment.receipt_email_enc.as_deref()) {
        (ReceiptState::Paid(_), Some(sealed)) => app
            .keys
            .fields
            .open(sealed, &email_context(&payment.id))
            .ok()
            .and_then(|a| EmailAddress::parse(&a).ok())
            .map(|a| a.masked()),
        _ => None,
    };
    render(&ReceiptPage {
        chrome: Chrome::resident(&app, &locale, locale.locale.msg(title)),
        state,
        payment_id: &payment.id,
        retry_url,
        emailed_to,
        certificate,
    })
}
