//! Asking for refunds and approving them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Cents;
use domain::payment::PaymentStatus;
use serde::Deserialize;

use super::auth::{Staff, StaffForm, need};
use super::{Nav, chrome, local_time};
use crate::app::App;
use crate::services::refunds::{self, RefundError};
use crate::store;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::pages::{Chrome, FieldError, error_for, render_status, sentence};

#[derive(Template)]
#[template(path = "staff/refund_form.html")]
struct FormPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    payment_id: &'a str,
    receipt: String,
    total: Cents,
    refundable: Cents,
    threshold: Cents,
    amount: String,
    reason: &'a str,
    errors: Vec<FieldError>,
    amount_error: Option<String>,
    reason_error: Option<String>,
}

async fn form_page(
    app: &App,
    staff: &Staff<need::RequestRefunds>,
    id: &str,
    amount: Option<&str>,
    reason: &str,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let p = store::payments::by_id(app.db.reader(), id)
        .await?
        .ok_or(WebError::NotFound)?;
    let mut conn = app.db.reader().acquire().await?;
    let paid = store::refunds::paid_lines(&mut conn, id).await?;
    drop(conn);
    let refundable =
        domain::refund::refundable(&paid).map_err(|e| WebError::Internal(Box::new(e)))?;
    let threshold = paid
        .iter()
        .filter_map(|l| app.config.department(&l.department))
        .map(|d| d.refund_approval_threshold)
        .min()
        .unwrap_or(Cents::ZERO);
    let mut errors = errors;
    if !matches!(
        p.status,
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
    ) && errors.is_empty()
    {
        errors.push(FieldError::new(
            "amount",
            format!("A payment that is {} cannot be refunded", p.status),
        ));
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = if errors.is_empty() {
        "Refund"
    } else {
        "Error: Refund"
    };
    render_status(
        status,
        &FormPage {
            chrome: chrome(app, title),
            nav: Nav::new(app, &staff.user, &staff.cookies),
            payment_id: id,
            receipt: p.receipt_number.clone().unwrap_or_default(),
            total: p.total,
            refundable,
            threshold,
            amount: amount
                .map(str::to_owned)
                .unwrap_or_else(|| refundable.to_plain_string()),
            reason,
            amount_error: error_for(&errors, "amount"),
            reason_error: error_for(&errors, "reason"),
            errors,
        },
    )
}

pub async fn form(
    State(app): State<App>,
    staff: Staff<need::RequestRefunds>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    form_page(&app, &staff, &id, None, "", Vec::new()).await
}

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

pub async fn request(
    State(app): State<App>,
    staff: Staff<need::RequestRefunds>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    StaffForm(form): StaffForm<RefundForm>,
) -> Result<Response, WebError> {
    let amount = match Cents::parse_dollars(&form.amount) {
        Ok(a) => a,
        Err(e) => {
            let errors = vec![FieldError::new("amount", sentence(&e.to_string()))];
            return form_page(
                &app,
                &staff,
                &id,
                Some(form.amount.trim()),
                &form.reason,
                errors,
            )
            .await;
        }
    };
    match refunds::request(&app, &staff.user, &id, amount, &form.reason, ip).await {
        Ok(_) => Ok(Redirect::to(&format!("/payments/{id}?done=refund")).into_response()),
        Err(RefundError::NotFound) => Err(WebError::NotFound),
        Err(e @ (RefundError::ReasonRequired | RefundError::ReasonTooLong)) => {
            let errors = vec![FieldError::new("reason", sentence(&e.to_string()))];
            form_page(
                &app,
                &staff,
                &id,
                Some(form.amount.trim()),
                &form.reason,
                errors,
            )
            .await
        }
        Err(e @ (RefundError::Amount(_) | RefundError::NotRefundable(_))) => {
            let errors = vec![FieldError::new("amount", sentence(&e.to_string()))];
            form_page(
                &app,
                &staff,
                &id,
                Some(form.amount.trim()),
                &form.reason,
                errors,
            )
            .await
        }
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}

pub struct PendingRow {
    id: String,
    payment_id: String,
    amount: Cents,
    reason: String,
    requested_by: String,
    requested_at: String,
    own: bool,
}

#[derive(Template)]
#[template(path = "staff/refunds.html")]
struct PendingPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    rows: Vec<PendingRow>,
    message: Option<String>,
    is_error: bool,
}

#[derive(Deserialize, Default)]
pub struct PendingQuery {
    #[serde(default)]
    done: String,
}

async fn pending_page(
    app: &App,
    staff: &Staff<need::ApproveRefunds>,
    status: StatusCode,
    message: Option<String>,
) -> Result<Response, WebError> {
    let rows = store::refunds::with_status(app.db.reader(), "pending_approval")
        .await?
        .into_iter()
        .map(|r| PendingRow {
            own: r.requested_by == staff.user.id,
            requested_at: local_time(app, r.created_at),
            id: r.id,
            payment_id: r.payment_id,
            amount: r.amount,
            reason: r.reason,
            requested_by: r.requested_by_email,
        })
        .collect();
    render_status(
        status,
        &PendingPage {
            chrome: chrome(app, "Refund approvals"),
            nav: Nav::new(app, &staff.user, &staff.cookies),
            rows,
            is_error: status != StatusCode::OK,
            message,
        },
    )
}

pub async fn pending(
    State(app): State<App>,
    staff: Staff<need::ApproveRefunds>,
    Query(q): Query<PendingQuery>,
) -> Result<Response, WebError> {
    let message = match q.done.as_str() {
        "approved" => Some("Refund approved and sent to the processor.".to_owned()),
        "rejected" => Some("Refund rejected.".to_owned()),
        _ => None,
    };
    pending_page(&app, &staff, StatusCode::OK, message).await
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    note: String,
}

async fn decide(
    app: App,
    staff: Staff<need::ApproveRefunds>,
    ip: Option<std::net::IpAddr>,
    id: String,
    approve: bool,
    note: String,
) -> Result<Response, WebError> {
    match refunds::decide(&app, &staff.user, &id, approve, &note, ip).await {
        Ok(_) => Ok(Redirect::to(if approve {
            "/refunds?done=approved"
        } else {
            "/refunds?done=rejected"
        })
        .into_response()),
        Err(RefundError::NotFound) => Err(WebError::NotFound),
        Err(e @ RefundError::OwnRequest) => {
            pending_page(
                &app,
                &staff,
                StatusCode::FORBIDDEN,
                Some(sentence(&e.to_string())),
            )
            .await
        }
        Err(e @ (RefundError::NotPending | RefundError::ReasonRequired)) => {
            let msg = if matches!(e, RefundError::ReasonRequired) {
                "Say why the refund is rejected.".to_owned()
            } else {
                sentence(&e.to_string())
            };
            pending_page(&app, &staff, StatusCode::CONFLICT, Some(msg)).await
        }
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}

pub async fn approve(
    State(app): State<App>,
    staff: Staff<need::ApproveRefunds>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    StaffForm(form): StaffForm<DecideForm>,
) -> Result<Response, WebError> {
    decide(app, staff, ip, id, true, form.note).await
}

pub async fn reject(
    State(app): State<App>,
    staff: Staff<need::ApproveRefunds>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    StaffForm(form): StaffForm<DecideForm>,
) -> Result<Response, WebError> {
    decide(app, staff, ip, id, false, form.note).await
}
