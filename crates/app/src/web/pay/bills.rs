//! The account's open bills, and the choice of how much to pay.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Cents;
use serde::Deserialize;

use super::department;
use crate::app::App;
use crate::config::Department;
use crate::crypto::random_token;
use crate::i18n::{Locale, Localize};
use crate::services::lookup::account_summary;
use crate::store;
use crate::store::receivables::ReceivableView;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::locale::PageLocale;
use crate::web::pages::{Chrome, FieldError, page_title, render_status, sentence};
use crate::web::session::{Draft, DraftItem, ResidentSession, SessionData};

pub struct BillRow {
    id: i64,
    reference: String,
    period: String,
    due_date: String,
    amount_due: Cents,
    paid: Cents,
    balance: Cents,
    reserved: Cents,
    available: Cents,
    error: Option<String>,
    amount_typed: String,
    other_checked: bool,
    /// What the bill is for, when the billing system said.
    description: String,
    /// Whether it has its own pay form (a fee line paid only with the
    /// others has none while others are open).
    own_form: bool,
}

#[derive(Template)]
#[template(path = "pay/bills.html")]
struct BillsPage<'a> {
    chrome: Chrome<'a>,
    dept_id: &'a str,
    dept_name: String,
    masked_number: String,
    masked_address: String,
    bills: Vec<BillRow>,
    csrf: String,
    allow_partial: bool,
    minimum: Cents,
    ttl_minutes: u64,
    errors: Vec<FieldError>,
    /// Bills in the resident's cart.
    cart_count: i64,
    /// Everything open on the account, when there is more than one bill
    /// to pay ("Pay all").
    all_total: Option<Cents>,
    all_error: Option<String>,
    /// A business licence: its expiry, to offer renewal.
    licence_expires: Option<String>,
}

pub fn period_label(l: Locale, v: &ReceivableView) -> String {
    l.date_range(&v.period_start, &v.period_end)
}

/// The bill rows to show, with one bill's form state (after an error).
/// The account is the session's for this department (`data`, already
/// loaded by the caller, also gives the cart's size).
async fn page(
    app: &App,
    d: &Department,
    session: &ResidentSession,
    locale: &PageLocale,
    data: &SessionData,
    failed: Option<(i64, String, String)>,
) -> Result<Response, WebError> {
    page_with(app, d, session, locale, data, failed, None).await
}

/// [`page`], with an error on the "Pay all" form.
async fn page_with(
    app: &App,
    d: &Department,
    session: &ResidentSession,
    locale: &PageLocale,
    data: &SessionData,
    failed: Option<(i64, String, String)>,
    all_error: Option<String>,
) -> Result<Response, WebError> {
    let l = locale.locale;
    let account_id = data.grant_for(d.id.as_str()).ok_or(WebError::NotFound)?;
    let cart_count = data.cart.len();
    let licence_expires = if d.licences.is_some() {
        crate::services::licences::for_account(app, account_id)
            .await?
            .map(|lic| l.date(&lic.expires_on.to_string()))
    } else {
        None
    };
    let summary = account_summary(app, account_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let views = store::receivables::for_account(&app.db, account_id, app.now_us()).await?;
    let payable = views.iter().filter(|v| v.available().is_positive()).count();
    let all_total = if payable > 1 {
        Some(
            Cents::sum(
                views
                    .iter()
                    .filter(|v| v.available().is_positive())
                    .map(|v| v.available()),
            )
            .map_err(|e| WebError::Internal(Box::new(e)))?,
        )
    } else {
        None
    };
    let bills: Vec<BillRow> = views
        .into_iter()
        .filter(|v| v.balance().is_positive())
        .map(|v| {
            let (error, typed) = match &failed {
                Some((id, msg, typed)) if *id == v.id => (Some(msg.clone()), typed.clone()),
                _ => (None, String::new()),
            };
            BillRow {
                id: v.id,
                reference: v.reference.clone(),
                period: period_label(l, &v),
                due_date: l.date(&v.due_date),
                amount_due: v.amount_due,
                paid: v.paid,
                balance: v.balance(),
                reserved: v.reserved,
                available: v.available(),
                other_checked: error.is_some() && d.rules.allow_partial,
                error,
                amount_typed: typed,
                own_form: v.pay_separately || payable <= 1,
                description: v.description,
            }
        })
        .collect();
    // The summary links to the amount field of the bill in error (or to
    // the bill itself when it has no amount field).
    let errors: Vec<FieldError> = bills
        .iter()
        .filter_map(|b| {
            let anchor = if d.rules.allow_partial && b.own_form {
                format!("amount-{}", b.id)
            } else {
                format!("bill-{}-title", b.id)
            };
            b.error.as_ref().map(|m| FieldError::new(anchor, m.clone()))
        })
        .chain(
            all_error
                .iter()
                .map(|m| FieldError::new("pay-all", m.clone())),
        )
        .collect();
    let dept_name = d.text(l).name;
    let title = page_title(
        l,
        l.msg1("bills-title", "department", dept_name.to_lowercase()),
        !errors.is_empty(),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_status(
        status,
        &BillsPage {
            chrome: Chrome::resident(app, locale, title),
            dept_id: d.id.as_str(),
            dept_name,
            masked_number: summary.masked_number,
            masked_address: summary.masked_address,
            bills,
            csrf: session.csrf_token(app),
            allow_partial: d.rules.allow_partial,
            minimum: d.rules.minimum,
            ttl_minutes: app.config.processor.checkout_ttl.as_secs() / 60,
            errors,
            cart_count: i64::try_from(cart_count).unwrap_or(0),
            all_total,
            all_error,
            licence_expires,
        },
    )
}

pub async fn show(
    State(app): State<App>,
    session: ResidentSession,
    locale: PageLocale,
    Path(dept): Path<String>,
) -> Result<Response, WebError> {
    let d = department(&app, &dept)?;
    let data = session.load(&app).await?;
    if data.grant_for(d.id.as_str()).is_none() {
        return Ok(Redirect::to(&format!("/pay/{}", d.id)).into_response());
    }
    page(&app, d, &session, &locale, &data, None).await
}

#[derive(Deserialize)]
pub struct AmountForm {
    #[serde(default)]
    bill: String,
    #[serde(default)]
    choice: String,
    #[serde(default)]
    amount: String,
    /// `cart` to put the bill in the cart instead of paying it now.
    #[serde(default)]
    action: String,
}

pub async fn choose(
    State(app): State<App>,
    session: ResidentSession,
    locale: PageLocale,
    Path(dept): Path<String>,
    CsrfForm(form): CsrfForm<AmountForm>,
) -> Result<Response, WebError> {
    let d = department(&app, &dept)?;
    let mut data = session.load(&app).await?;
    let Some(account_id) = data.grant_for(d.id.as_str()) else {
        return Ok(Redirect::to(&format!("/pay/{}", d.id)).into_response());
    };
    if form.action == "all" || form.action == "all_cart" {
        return choose_all(&app, d, &session, &locale, account_id, data, &form.action).await;
    }
    let bill_id: i64 = form
        .bill
        .trim()
        .parse()
        .map_err(|_| WebError::BadRequest("bad bill id"))?;
    let view = store::receivables::view(app.db.reader(), bill_id, app.now_us())
        .await?
        .filter(|v| v.service_account_id == account_id && v.department == d.id.as_str())
        .ok_or(WebError::NotFound)?;
    let available = view.available();
    if !view.pay_separately {
        let others = store::receivables::for_account(&app.db, account_id, app.now_us())
            .await?
            .iter()
            .filter(|v| v.id != view.id && v.available().is_positive())
            .count();
        if others > 0 {
            let why = sentence(&locale.locale.msg("bills-pay-together"));
            return page(
                &app,
                d,
                &session,
                &locale,
                &data,
                Some((bill_id, why, String::new())),
            )
            .await;
        }
    }
    if !available.is_positive() && !d.rules.allow_overpayment {
        // Paid meanwhile, or a payment is in progress (another tab, an old
        // form): show what is due now.
        return Ok(Redirect::to(&format!("/pay/{}/bills", d.id)).into_response());
    }
    let chosen = match form.choice.as_str() {
        "other" if d.rules.allow_partial || d.rules.allow_overpayment => {
            Cents::parse_dollars(&form.amount).map_err(|e| e.localize(locale.locale))
        }
        _ => Ok(available),
    };
    let amount = match chosen.and_then(|a| {
        d.rules
            .check(a, available)
            .map(|()| a)
            .map_err(|e| e.localize(locale.locale))
    }) {
        Ok(a) => a,
        Err(why) => {
            let failed = (bill_id, sentence(&why), form.amount.trim().to_owned());
            return page(&app, d, &session, &locale, &data, Some(failed)).await;
        }
    };
    let item = DraftItem {
        department: d.id.as_str().to_owned(),
        receivable_id: view.id,
        amount_cents: amount.get(),
        seen_balance_cents: view.balance().get(),
    };
    if form.action == "cart" {
        // Put aside with the other bills; the same bill again replaces it.
        data.cart.retain(|i| i.receivable_id != item.receivable_id);
        data.cart.push(item);
        session.save(&app, &data).await?;
        return Ok(Redirect::to("/cart").into_response());
    }
    data.draft = Some(Draft {
        items: vec![item],
        idempotency_key: random_token(24),
        from_cart: false,
    });
    session.save(&app, &data).await?;
    Ok(Redirect::to("/pay/review").into_response())
}

/// "Pay all" (or "Add all to cart"): every open bill of the account, each
/// in full.
async fn choose_all(
    app: &App,
    d: &Department,
    session: &ResidentSession,
    locale: &PageLocale,
    account_id: i64,
    mut data: SessionData,
    action: &str,
) -> Result<Response, WebError> {
    let items: Vec<DraftItem> = store::receivables::for_account(&app.db, account_id, app.now_us())
        .await?
        .into_iter()
        .filter(|v| v.available().is_positive())
        .map(|v| DraftItem {
            department: d.id.as_str().to_owned(),
            receivable_id: v.id,
            amount_cents: v.available().get(),
            seen_balance_cents: v.balance().get(),
        })
        .collect();
    if items.is_empty() {
        let why = sentence(&locale.locale.msg("bills-nothing-to-pay-now"));
        return page_with(app, d, session, locale, &data, None, Some(why)).await;
    }
    if action == "all_cart" {
        data.cart
            .retain(|i| !items.iter().any(|n| n.receivable_id == i.receivable_id));
        data.cart.extend(items);
        session.save(app, &data).await?;
        return Ok(Redirect::to("/cart").into_response());
    }
    data.draft = Some(Draft {
        items,
        idempotency_key: random_token(24),
        from_cart: false,
    });
    session.save(app, &data).await?;
    Ok(Redirect::to("/pay/review").into_response())
}
