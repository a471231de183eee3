//! Finding the account: the number on the bill and the service ZIP code.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::department;
use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::Department;
use crate::services::lookup::{LookupError, find_account};
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::limits::{self, Class};
use crate::web::pages::{Chrome, FieldError, error_for, render_status};
use crate::web::session::ResidentSession;

#[derive(Template)]
#[template(path = "pay/lookup.html")]
struct LookupPage<'a> {
    chrome: Chrome<'a>,
    dept_id: &'a str,
    dept_name: &'a str,
    lookup_label: &'a str,
    lookup_hint: &'a str,
    csrf: String,
    account: &'a str,
    zip: &'a str,
    errors: Vec<FieldError>,
    account_error: Option<String>,
    zip_error: Option<String>,
}

/// The look-up form, empty or with what was typed and what is wrong.
fn page(
    app: &App,
    d: &Department,
    session: &ResidentSession,
    typed: (&str, &str),
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let prefix = if errors.is_empty() { "" } else { "Error: " };
    let title = format!("{prefix}Pay a {} bill", d.name.to_lowercase());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_status(
        status,
        &LookupPage {
            chrome: Chrome::new(app, &title),
            dept_id: d.id.as_str(),
            dept_name: &d.name,
            lookup_label: &d.lookup_label,
            lookup_hint: &d.lookup_hint,
            csrf: session.csrf_token(app),
            account: typed.0.trim(),
            zip: typed.1.trim(),
            account_error: error_for(&errors, "account_number"),
            zip_error: error_for(&errors, "zip"),
            errors,
        },
    )
}

pub async fn show(
    State(app): State<App>,
    session: ResidentSession,
    Path(dept): Path<String>,
) -> Result<Response, WebError> {
    let d = department(&app, &dept)?;
    page(&app, d, &session, ("", ""), Vec::new())
}

#[derive(Deserialize)]
pub struct LookupForm {
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    zip: String,
}

pub async fn submit(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    Path(dept): Path<String>,
    CsrfForm(form): CsrfForm<LookupForm>,
) -> Result<Response, WebError> {
    let d = department(&app, &dept)?;
    if let Some(too_many) = limits::check(&app, ip, Class::Lookup).await {
        return Ok(too_many);
    }
    let actor = Actor::Resident {
        session_tag: session.tag(&app),
    };
    let errors = match find_account(&app, d, &form.account_number, &form.zip).await {
        Ok(account_id) => {
            let mut data = session.load(&app).await?;
            data.set_grant(d.id.as_str(), account_id);
            data.draft = None;
            session.save(&app, &data).await?;
            let mut tx = app.db.begin().await?;
            audit::record(
                &mut tx,
                app.now(),
                Event {
                    actor: &actor,
                    action: "lookup.succeeded",
                    target: Some(format!("service_account:{account_id}")),
                    outcome: Outcome::Success,
                    source_ip: ip,
                    details: json!({ "department": d.id.as_str() }),
                },
            )
            .await?;
            tx.commit().await?;
            return Ok(Redirect::to(&format!("/pay/{}/bills", d.id)).into_response());
        }
        Err(LookupError::Invalid { account, verifier }) => {
            let mut errors = Vec::new();
            if let Some(m) = account {
                errors.push(FieldError::new("account_number", m));
            }
            if let Some(m) = verifier {
                errors.push(FieldError::new("zip", m));
            }
            errors
        }
        Err(LookupError::NoMatch) => {
            let mut tx = app.db.begin().await?;
            audit::record(
                &mut tx,
                app.now(),
                Event {
                    actor: &actor,
                    action: "lookup.failed",
                    target: None,
                    outcome: Outcome::Failure,
                    source_ip: ip,
                    details: json!({ "department": d.id.as_str() }),
                },
            )
            .await?;
            tx.commit().await?;
            vec![FieldError::new(
                "account_number",
                "We could not find a bill with that account number and ZIP code. Check both against your bill.",
            )]
        }
        Err(LookupError::Store(e)) => return Err(e.into()),
    };
    page(&app, d, &session, (&form.account_number, &form.zip), errors)
}
