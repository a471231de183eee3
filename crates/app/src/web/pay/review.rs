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
use crate::i18n::{Locale, Localize};
use crate::services::payments::{self, Next, PaymentError, StartRequest};
use crate::store;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::limits::{self, Class};
use crate::web::locale::PageLocale;
use crate::web::pages::{Chrome, FieldError, error_for, page_title, render_status, sentence};
use crate::web::session::{Draft, ResidentSession};

#[derive(Template)]
#[template(path = "pay/review.html")]
struct ReviewPage<'a> {
    chrome: Chrome<'a>,
    dept_id: &'a str,
    dept_name: String,
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
fn describe_fee(l: Locale, d: &Department) -> String {
    let f = &d.card_fee;
    if f.is_free() {
        return String::new();
    }
    let mut parts = Vec::new();
    if f.percent() > rust_decimal::Decimal::ZERO {
        // A decimal point, as on the bill, in both languages (see
        // `i18n::format`).
        let percent = f.percent().normalize().to_string();
        parts.push(l.msg1("fee-percent", "percent", percent));
    }
    if f.flat().is_positive() {
        parts.push(l.msg1("fee-flat", "amount", f.flat()));
    }
    let mut rule = match parts.as_slice() {
        [] => l.msg("fee-some"),
        [one] => sentence(one),
        [first, second, ..] => sentence(&l.msg2("fee-plus", "first", first, "second", second)),
    };
    if f.min().is_positive() {
        rule = l.msg2("fee-at-least", "rule", rule, "amount", f.min());
    }
    if let Some(max) = f.max() {
        rule = l.msg2("fee-at-most", "rule", rule, "amount", max);
    }
    l.msg1("fee-explained", "rule", rule)
}

async fn page(
    app: &App,
    session: &ResidentSession,
    locale: &PageLocale,
    draft: &Draft,
    email: &str,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let l = locale.locale;
    let d = app
        .config
        .department(&draft.department)
        .ok_or(WebError::NotFound)?;
    let view = store::receivables::view(app.db.reader(), draft.receivable_id, app.now_us())
        .await?
        .ok_or(WebError::NotFound)?;
    let q = payments::quote(app, &draft.department, Cents::new(draft.amount_cents))
        .map_err(|e| WebError::Internal(Box::new(e)))?;
    let title = page_title(l, l.msg("review-title"), !errors.is_empty());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let email_error = error_for(&errors, "email");
    render_status(
        status,
        &ReviewPage {
            chrome: Chrome::resident(app, locale, title),
            dept_id: d.id.as_str(),
            dept_name: d.text(l).name,
            period: period_label(l, &view),
            reference: view.reference,
            amount: q.amount,
            fee: q.fee,
            total: q.total,
            fee_rule: describe_fee(l, d),
            csrf: session.csrf_token(app),
            idempotency_key: &draft.idempotency_key,
            email,
            errors,
            email_error,
        },
    )
}

pub async fn show(
    State(app): State<App>,
    session: ResidentSession,
    locale: PageLocale,
) -> Result<Response, WebError> {
    let data = session.load(&app).await?;
    let Some(draft) = data.draft else {
        return Ok(Redirect::to("/").into_response());
    };
    page(&app, &session, &locale, &draft, "", Vec::new()).await
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
    locale: PageLocale,
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
            &locale,
            &draft,
            "",
            vec![FieldError::new(
                "email",
                locale.locale.msg("review-out-of-date"),
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
                    &locale,
                    &draft,
                    typed,
                    vec![FieldError::new(
                        "email",
                        sentence(&e.localize(locale.locale)),
                    )],
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
            locale: locale.locale,
            actor: &actor,
            source_ip: ip,
        },
    )
    .await;
    match result {
        Ok(Next::Processor(url)) => Ok(Redirect::to(url.as_str()).into_response()),
        Ok(Next::Receipt(id)) => Ok(Redirect::to(&format!("/pay/receipt/{id}")).into_response()),
        Err(PaymentError::Amount(e)) => {
            let msg =
                locale
                    .locale
                    .msg1("review-bill-changed", "reason", e.localize(locale.locale));
            page(
                &app,
                &session,
                &locale,
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
