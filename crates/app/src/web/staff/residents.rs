//! Helping residents with their online accounts: find one by its e-mail
//! address (sent in a form, so it stays out of addresses, logs and browser
//! history), see what it holds, turn off two-step verification for someone
//! who lost their authenticator, end every session.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Cents;
use domain::personal::EmailAddress;
use serde::Deserialize;

use super::auth::{Need, Staff, StaffForm, need};
use super::{Nav, chrome, local_time};
use crate::app::App;
use crate::services::residents::support::{self, AccountView, SupportError};
use crate::staff::roles::Permission;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::pages::{Chrome, FieldError, error_for, render_status, sentence};

#[derive(Template)]
#[template(path = "staff/residents.html")]
struct LookupPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    email: &'a str,
    errors: Vec<FieldError>,
    email_error: Option<String>,
    not_found: bool,
}

fn lookup_page(
    app: &App,
    staff: &Staff<need::ViewResidents>,
    email: &str,
    errors: Vec<FieldError>,
    not_found: bool,
) -> Result<Response, WebError> {
    let (status, title) = outcome(&errors, "Resident accounts");
    render_status(
        status,
        &LookupPage {
            chrome: chrome(app, &title),
            nav: Nav::new(app, &staff.user, &staff.cookies),
            email,
            email_error: error_for(&errors, "email"),
            errors,
            not_found,
        },
    )
}

/// A form page's status and title: 400 and "Error: …" when it has errors.
fn outcome(errors: &[FieldError], title: &str) -> (StatusCode, String) {
    if errors.is_empty() {
        (StatusCode::OK, title.to_owned())
    } else {
        (StatusCode::BAD_REQUEST, format!("Error: {title}"))
    }
}

pub async fn show_lookup(
    State(app): State<App>,
    staff: Staff<need::ViewResidents>,
) -> Result<Response, WebError> {
    lookup_page(&app, &staff, "", Vec::new(), false)
}

#[derive(Deserialize)]
pub struct LookupForm {
    #[serde(default)]
    email: String,
}

pub async fn lookup(
    State(app): State<App>,
    staff: Staff<need::ViewResidents>,
    ClientIp(ip): ClientIp,
    StaffForm(form): StaffForm<LookupForm>,
) -> Result<Response, WebError> {
    let email = match EmailAddress::parse(&form.email) {
        Ok(e) => e,
        Err(e) => {
            let errors = vec![FieldError::new("email", sentence(&e.to_string()))];
            return lookup_page(&app, &staff, form.email.trim(), errors, false);
        }
    };
    match support::find(&app, &staff.user.actor(), &email, ip).await? {
        Some(id) => Ok(Redirect::to(&format!("/residents/{id}")).into_response()),
        None => lookup_page(&app, &staff, form.email.trim(), Vec::new(), true),
    }
}

/// One linked account, for the table.
struct LinkLine {
    department: String,
    account_number: String,
    paperless: bool,
    autopay: Option<String>,
}

/// One charge still to run.
struct PlannedLine {
    kind: &'static str,
    on: String,
    amount: Option<Cents>,
}

#[derive(Template)]
#[template(path = "staff/resident.html")]
struct AccountPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    a: AccountView,
    created: String,
    last_sign_in: String,
    links: Vec<LinkLine>,
    upcoming: Vec<PlannedLine>,
    can_help: bool,
    message: Option<&'static str>,
    reason: &'a str,
    /// Which form the reason belongs to: `second-factor` or `sessions`.
    reason_for: &'a str,
    errors: Vec<FieldError>,
    reason_error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct AccountQuery {
    #[serde(default)]
    done: String,
}

async fn account_page<N: Need>(
    app: &App,
    staff: &Staff<N>,
    ip: Option<std::net::IpAddr>,
    id: i64,
    message: Option<&'static str>,
    (reason_for, reason, errors): (&str, &str, Vec<FieldError>),
) -> Result<Response, WebError> {
    let a = match support::view(app, &staff.user.actor(), id, ip).await {
        Ok(a) => a,
        Err(SupportError::NotFound) => return Err(WebError::NotFound),
        Err(e) => return Err(WebError::Internal(Box::new(e))),
    };
    let links = a
        .links
        .iter()
        .map(|l| LinkLine {
            department: app
                .config
                .department(&l.department)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| l.department.clone()),
            account_number: l.account_number.clone(),
            paperless: l.paperless,
            autopay: l.autopay.map(|p| {
                let max = p
                    .max_cents
                    .map(|m| format!(", up to {}", Cents::new(m)))
                    .unwrap_or_default();
                format!("{} days before the due date{max}", p.days_before)
            }),
        })
        .collect();
    let upcoming = a
        .upcoming
        .iter()
        .map(|p| PlannedLine {
            kind: if p.kind == "autopay" {
                "Autopay"
            } else {
                "Scheduled payment"
            },
            on: p.charge_on.clone(),
            amount: p.amount_cents.map(Cents::new),
        })
        .collect();
    let (status, title) = outcome(&errors, "Resident account");
    render_status(
        status,
        &AccountPage {
            chrome: chrome(app, &title),
            nav: Nav::new(app, &staff.user, &staff.cookies),
            created: local_time(app, a.created_at),
            last_sign_in: a
                .last_sign_in_at
                .map(|t| local_time(app, t))
                .unwrap_or_else(|| "never".to_owned()),
            a,
            links,
            upcoming,
            can_help: staff.user.role.can(Permission::HelpResidents),
            message,
            reason,
            reason_for,
            reason_error: errors.first().map(|e| e.message.clone()),
            errors,
        },
    )
}

pub async fn show(
    State(app): State<App>,
    staff: Staff<need::ViewResidents>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Query(q): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let message = match q.done.as_str() {
        "second-factor" => Some(
            "Two-step verification is off and every session has ended. The resident has been e-mailed.",
        ),
        "second-factor-was-off" => Some("Two-step verification was already off: nothing changed."),
        "sessions" => Some("Every session of this account has ended."),
        _ => None,
    };
    account_page(&app, &staff, ip, id, message, ("", "", Vec::new())).await
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

pub async fn second_factor_off(
    State(app): State<App>,
    staff: Staff<need::HelpResidents>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    StaffForm(form): StaffForm<ReasonForm>,
) -> Result<Response, WebError> {
    let done = support::second_factor_off(&app, &staff.user.actor(), id, &form.reason, ip).await;
    let next = match done {
        Ok(true) => "second-factor",
        Ok(false) => "second-factor-was-off",
        Err(e) => return refused(&app, &staff, ip, id, ("second-factor", &form.reason), e).await,
    };
    Ok(Redirect::to(&format!("/residents/{id}?done={next}")).into_response())
}

pub async fn end_sessions(
    State(app): State<App>,
    staff: Staff<need::HelpResidents>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    StaffForm(form): StaffForm<ReasonForm>,
) -> Result<Response, WebError> {
    match support::end_sessions(&app, &staff.user.actor(), id, &form.reason, ip).await {
        Ok(()) => Ok(Redirect::to(&format!("/residents/{id}?done=sessions")).into_response()),
        Err(e) => refused(&app, &staff, ip, id, ("sessions", &form.reason), e).await,
    }
}

/// The account page again with what was wrong with the form.
async fn refused(
    app: &App,
    staff: &Staff<need::HelpResidents>,
    ip: Option<std::net::IpAddr>,
    id: i64,
    (form, reason): (&str, &str),
    e: SupportError,
) -> Result<Response, WebError> {
    match e {
        SupportError::ReasonRequired | SupportError::ReasonTooLong => {
            let errors = vec![FieldError::new(
                format!("{form}-reason"),
                sentence(&e.to_string()),
            )];
            account_page(app, staff, ip, id, None, (form, reason, errors)).await
        }
        SupportError::NotFound => Err(WebError::NotFound),
        e => Err(WebError::Internal(Box::new(e))),
    }
}
