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
use super::cart;
use crate::app::App;
use crate::audit::Actor;
use crate::config::Department;
use crate::i18n::{Locale, Localize};
use crate::services::payments::{self, Next, PaymentError, StartItem, StartRequest};
use crate::store;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::limits::{self, Class};
use crate::web::locale::PageLocale;
use crate::web::pages::{Chrome, FieldError, error_for, page_title, render_status, sentence};
use crate::web::session::{Draft, ResidentSession};

/// A bill being paid.
#[derive(Clone)]
pub struct ReviewLine {
    dept_name: String,
    reference: String,
    period: String,
    amount: Cents,
}

#[derive(Template)]
#[template(path = "pay/review.html")]
struct ReviewPage<'a> {
    chrome: Chrome<'a>,
    /// The bill, when there is one (the cart shows a list).
    single: Option<ReviewLine>,
    lines: Vec<ReviewLine>,
    /// Per department: name, fee and how it is worked out.
    fees: Vec<(String, Cents, String)>,
    amount: Cents,
    fee: Cents,
    total: Cents,
    fee_rule: String,
    change_url: String,
    change_label: String,
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
    let mut lines = Vec::with_capacity(draft.items.len());
    for item in &draft.items {
        let d = app
            .config
            .department(&item.department)
            .ok_or(WebError::NotFound)?;
        let view = store::receivables::view(app.db.reader(), item.receivable_id, app.now_us())
            .await?
            .ok_or(WebError::NotFound)?;
        lines.push(ReviewLine {
            dept_name: d.text(l).name,
            period: period_label(l, &view),
            reference: view.reference,
            amount: Cents::new(item.amount_cents),
        });
    }
    let q = payments::quote_lines(
        app,
        draft
            .items
            .iter()
            .map(|i| (i.department.as_str(), Cents::new(i.amount_cents))),
    )
    .map_err(|e| WebError::Internal(Box::new(e)))?;
    let fees: Vec<(String, Cents, String)> = q
        .departments
        .iter()
        .filter_map(|(id, _, fee)| {
            app.config
                .department(id)
                .map(|d| (d.text(l).name, *fee, describe_fee(l, d)))
        })
        .collect();
    let (change_url, change_label) = match draft.items.as_slice() {
        [one] if !draft.from_cart => (
            format!("/pay/{}/bills", one.department),
            l.msg("review-change-amount"),
        ),
        _ => ("/cart".to_owned(), l.msg("cart-change")),
    };
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
            single: match lines.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
            lines,
            fee_rule: fees.first().map(|f| f.2.clone()).unwrap_or_default(),
            fees,
            amount: q.amount,
            fee: q.fee,
            total: q.total,
            change_url,
            change_label,
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
    let mut data = session.load(&app).await?;
    let Some(draft) = data.draft.clone() else {
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
            items: draft
                .items
                .iter()
                .map(|i| StartItem {
                    receivable_id: i.receivable_id,
                    amount: Cents::new(i.amount_cents),
                    seen_balance: Some(Cents::new(i.seen_balance_cents)),
                })
                .collect(),
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
        Err(PaymentError::Changed(changed)) if draft.from_cart => {
            // Back to the cart, brought up to date, saying what changed.
            let errors = cart::apply_changes(&mut data.cart, &changed, &app, locale.locale);
            data.draft = None;
            session.save(&app, &data).await?;
            cart::page(&app, &session, &locale, &data, errors).await
        }
        // The review page again, saying why beside the link that changes
        // the amount.
        Err(
            e @ (PaymentError::Amount(_)
            | PaymentError::Changed(_)
            | PaymentError::NotSeparately(_)),
        ) => {
            let l = locale.locale;
            let msg = match e {
                PaymentError::Amount(e) => l.msg1("review-bill-changed", "reason", e.localize(l)),
                PaymentError::Changed(changed) => l.msg1(
                    "review-changed",
                    "now",
                    changed.first().map_or(Cents::ZERO, |c| c.now),
                ),
                PaymentError::NotSeparately(reference) => {
                    l.msg1("review-not-separately", "reference", reference.as_str())
                }
                // Only the three above reach here.
                other => sentence(&other.to_string()),
            };
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
