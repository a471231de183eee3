//! The cart: bills from any departments put aside to pay together, in one
//! payment with one receipt. It lives in the resident's session (no
//! JavaScript, no account); checking out stops, and says what changed, if a
//! bill was paid or its amount changed since it went in.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Cents;
use serde::Deserialize;

use super::bills::period_label;
use crate::app::App;
use crate::crypto::random_token;
use crate::i18n::Locale;
use crate::services::payments::Changed;
use crate::store;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::locale::PageLocale;
use crate::web::pages::{Chrome, FieldError, page_title, render_status};
use crate::web::session::{Draft, DraftItem, ResidentSession, SessionData};

pub struct CartLine {
    id: i64,
    dept_name: String,
    reference: String,
    period: String,
    amount_due: Cents,
    paying: Cents,
}

#[derive(Template)]
#[template(path = "pay/cart.html")]
struct CartPage<'a> {
    chrome: Chrome<'a>,
    lines: Vec<CartLine>,
    total: Cents,
    csrf: String,
    errors: Vec<FieldError>,
}

/// The messages for bills that changed, and the cart brought up to date:
/// paid bills leave it; a bill whose amount changed is paid in full again
/// if that was the choice, otherwise at most what is due now.
pub fn apply_changes(
    cart: &mut Vec<DraftItem>,
    changed: &[Changed],
    app: &App,
    l: Locale,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for c in changed {
        let dept = app
            .config
            .department(&c.department)
            .map(|d| d.text(l).name)
            .unwrap_or_else(|| c.department.clone());
        if c.now.is_positive() {
            errors.push(FieldError::new(
                format!("cart-bill-{}", c.receivable_id),
                l.format(
                    "cart-changed-amount",
                    &[
                        ("department", dept.into()),
                        ("reference", c.reference.as_str().into()),
                        ("was", c.was.into()),
                        ("now", c.now.into()),
                    ],
                ),
            ));
            for item in cart
                .iter_mut()
                .filter(|i| i.receivable_id == c.receivable_id)
            {
                item.amount_cents = if item.amount_cents == c.was.get() {
                    c.now.get()
                } else {
                    item.amount_cents.min(c.now.get())
                };
                item.seen_balance_cents = c.now.get();
            }
        } else {
            errors.push(FieldError::new(
                "cart-title",
                l.msg2(
                    "cart-changed-paid",
                    "department",
                    dept,
                    "reference",
                    c.reference.as_str(),
                ),
            ));
            cart.retain(|i| i.receivable_id != c.receivable_id);
        }
    }
    errors
}

pub async fn page(
    app: &App,
    session: &ResidentSession,
    locale: &PageLocale,
    data: &SessionData,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let l = locale.locale;
    let mut lines = Vec::with_capacity(data.cart.len());
    let mut total = Cents::ZERO;
    for item in &data.cart {
        let Some(view) =
            store::receivables::view(app.db.reader(), item.receivable_id, app.now_us()).await?
        else {
            continue;
        };
        let dept_name = app
            .config
            .department(&item.department)
            .map(|d| d.text(l).name)
            .unwrap_or_else(|| item.department.clone());
        let paying = Cents::new(item.amount_cents);
        total = total
            .checked_add(paying)
            .map_err(|e| WebError::Internal(Box::new(e)))?;
        lines.push(CartLine {
            id: view.id,
            dept_name,
            period: period_label(l, &view),
            reference: view.reference,
            amount_due: Cents::new(item.seen_balance_cents),
            paying,
        });
    }
    let title = page_title(l, l.msg("cart-title"), !errors.is_empty());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    render_status(
        status,
        &CartPage {
            chrome: Chrome::resident(app, locale, title),
            lines,
            total,
            csrf: session.csrf_token(app),
            errors,
        },
    )
}

pub async fn show(
    State(app): State<App>,
    session: ResidentSession,
    locale: PageLocale,
) -> Result<Response, WebError> {
    let data = session.load(&app).await?;
    page(&app, &session, &locale, &data, Vec::new()).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    bill: String,
}

pub async fn remove(
    State(app): State<App>,
    session: ResidentSession,
    CsrfForm(form): CsrfForm<RemoveForm>,
) -> Result<Response, WebError> {
    let id: i64 = form
        .bill
        .trim()
        .parse()
        .map_err(|_| WebError::BadRequest("bad bill id"))?;
    let mut data = session.load(&app).await?;
    data.cart.retain(|i| i.receivable_id != id);
    session.save(&app, &data).await?;
    Ok(Redirect::to("/cart").into_response())
}

#[derive(Deserialize)]
pub struct CheckoutForm {}

/// Checks every bill against what is due now, then goes to the review
/// page with the whole cart as one payment.
pub async fn checkout(
    State(app): State<App>,
    session: ResidentSession,
    locale: PageLocale,
    CsrfForm(_): CsrfForm<CheckoutForm>,
) -> Result<Response, WebError> {
    let mut data = session.load(&app).await?;
    if data.cart.is_empty() {
        return Ok(Redirect::to("/cart").into_response());
    }
    let mut changed = Vec::new();
    for item in &data.cart {
        let view =
            store::receivables::view(app.db.reader(), item.receivable_id, app.now_us()).await?;
        let now = view
            .as_ref()
            .map_or(Cents::ZERO, |v| v.balance().max(Cents::ZERO));
        if now.get() != item.seen_balance_cents {
            changed.push(Changed {
                receivable_id: item.receivable_id,
                reference: view.map(|v| v.reference).unwrap_or_default(),
                department: item.department.clone(),
                was: Cents::new(item.seen_balance_cents),
                now,
            });
        }
    }
    if !changed.is_empty() {
        let errors = apply_changes(&mut data.cart, &changed, &app, locale.locale);
        session.save(&app, &data).await?;
        return page(&app, &session, &locale, &data, errors).await;
    }
    data.draft = Some(Draft {
        items: data.cart.clone(),
        idempotency_key: random_token(24),
        from_cart: true,
    });
    session.save(&app, &data).await?;
    Ok(Redirect::to("/pay/review").into_response())
}
