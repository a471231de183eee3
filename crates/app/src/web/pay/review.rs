//! The review page: amount, fee, total and what happens next; confirming
//! creates the payment and sends the resident to the processor.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Cents;
use domain::personal::EmailAddress;
use serde::Deserialize;

use super::bills::period_label;
use crate::app::App;
use crate::audit::Actor;
use crate::config::Department;
use crate::services::payments::{self, Next, PaymentError, StartRequest};
use crate::store;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::limits::{self, Class};
use crate::web::pages::{Chrome, FieldError, error_for, render_status, sentence};
use crate::web::session::{Draft, ResidentSession};

#[derive(Template)]
#[template(path = "pay/review.html")]
struct ReviewPage<'a> {
    chrome: Chrome<'a>,
    dept_id: &'a str,
    dept_name: &'a str,
    reference: String,
    period: String,
    amount: Cents,
    fee: Cents,
    total: Cents,
    fee_rule: String,
    csrf: String,
    idempotency_key: &'a str,
    email: &'a str,
    errors: Vec<FieldError>,
    email_error: Option<String>,
}

/// How the fee is worked out, in words.
fn describe_fee(d: &Department) -> String {
    let f = &d.card_fee;
    if f.is_free() {
        return String::new();
    }
    let mut parts = Vec::new();
    if f.percent() > rust_decimal::Decimal::ZERO {
        parts.push(format!("{}% of the payment", f.percent().normalize()));
    }
    if f.flat().is_positive() {
        parts.push(format!("{} per payment", f.flat()));
    }
    let mut s = if parts.is_empty() {
        "A fee".to_owned()
    } else {
        let joined = parts.join(" plus ");
        let mut c = joined.chars();
        c.next()
            .map(|x| x.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    if f.min().is_positive() {
        s.push_str(&format!(", at least {}", f.min()));
    }
    if let Some(max) = f.max() {
        s.push_str(&format!(", at most {max}"));
    }
    s.push_str(". The fee covers the cost of card processing.");
    s
}

async fn page(
    app: &App,
    session: &ResidentSession,
    draft: &Draft,
    email: &str,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let d = app
        .config
        .department(&draft.department)
        .ok_or(WebError::NotFound)?;
    let view = store::receivables::view(app.db.reader(), draft.receivable_id, app.now_us())
        .await?
        .ok_or(WebError::NotFound)?;
    let q = payments::quote(app, &draft.department, Cents::new(draft.amount_cents))
        .map_err(|e| WebError::Internal(Box::new(e)))?;
    let title = if errors.is_empty() {
        "Check your payment"
    } else {
        "Error: Check your payment"
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let email_error = error_for(&errors, "email");
    render_status(
        status,
        &ReviewPage {
            chrome: Chrome::new(app, title),
            dept_id: d.id.as_str(),
            dept_name: &d.name,
            period: period_label(&view),
            reference: view.reference,
            amount: q.amount,
            fee: q.fee,
            total: q.total,
            fee_rule: describe_fee(d),
            csrf: session.csrf_token(app),
            idempotency_key: &draft.idempotency_key,
            email,
            errors,
            email_error,
        },
    )
}

pub async fn show(State(app): State<App>, session: ResidentSession) -> Result<Response, WebError> {
    let data = session.load(&app).await?;
    let Some(draft) = data.draft else {
        return Ok(Redirect::to("/").into_response());
    };
    page(&app, &session, &draft, "", Vec::new()).await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    email: String,
}

pub async fn confirm(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Result<Response, WebError> {
    if let Some(too_many) = limits::check(&app, ip, Class::Payment).await {
        return Ok(too_many);
    }
    let data = session.load(&app).await?;
    let Some(draft) = data.draft else {
        // The payment this form belonged to has finished (or the session
        // expired): its key finds it, wherever it stands.
        return match store::payments::by_idempotency_key(
            app.db.reader(),
            form.idempotency_key.trim(),
        )
        .await?
        {
            Some(p) => Ok(Redirect::to(&format!("/pay/receipt/{}", p.id)).into_response()),
            None => Ok(Redirect::to("/").into_response()),
        };
    };
    if form.idempotency_key != draft.idempotency_key {
        // A form from an older review page (another tab): show the
        // current one rather than paying what it said.
        return page(
            &app,
            &session,
            &draft,
            "",
            vec![FieldError::new(
                "email",
                "This page was out of date. Check the payment below and continue again.",
            )],
        )
        .await;
    }
    let email = match form.email.trim() {
        "" => None,
        typed => match EmailAddress::parse(typed) {
            Ok(e) => Some(e),
            Err(e) => {
                return page(
                    &app,
                    &session,
                    &draft,
                    typed,
                    vec![FieldError::new("email", sentence(&e.to_string()))],
                )
                .await;
            }
        },
    };
    let actor = Actor::Resident {
        session_tag: session.tag(&app),
    };
    let result = payments::start(
        &app,
        StartRequest {
            receivable_id: draft.receivable_id,
            amount: Cents::new(draft.amount_cents),
            idempotency_key: &draft.idempotency_key,
            email,
            actor: &actor,
            source_ip: ip,
        },
    )
    .await;
    match result {
        Ok(Next::Processor(url)) => Ok(Redirect::to(url.as_str()).into_response()),
        Ok(Next::Receipt(id)) => Ok(Redirect::to(&format!("/pay/receipt/{id}")).into_response()),
        Err(PaymentError::Amount(e)) => {
            let msg = format!(
                "This bill has changed since you chose the amount: {e}. Go back and choose the amount again."
            );
            page(
                &app,
                &session,
                &draft,
                form.email.trim(),
                vec![FieldError::new("change-amount", msg)],
            )
            .await
        }
        Err(PaymentError::UnknownReceivable) => Err(WebError::NotFound),
        Err(PaymentError::ProcessorUnavailable(_)) => {
            Err(WebError::Unavailable("payment processor unavailable"))
        }
        Err(PaymentError::ProcessorRejected(_)) => Err(WebError::Unavailable(
            "payment processor refused the checkout",
        )),
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}
