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
use crate::i18n::Localize;
use crate::services::lookup::{LookupError, find_account};
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::limits::{self, Class};
use crate::web::locale::PageLocale;
use crate::web::pages::{Chrome, FieldError, error_for, page_title, render_status};
use crate::web::session::ResidentSession;

#[derive(Template)]
#[template(path = "pay/lookup.html")]
struct LookupPage<'a> {
    chrome: Chrome<'a>,
    dept_id: &'a str,
    dept_name: String,
    lookup_label: String,
    lookup_hint: String,
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
    locale: &PageLocale,
    typed: (&str, &str),
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let l = locale.locale;
    let text = d.text(l);
    let title = page_title(
        l,
        l.msg1("lookup-title", "department", text.name.to_lowercase()),
        !errors.is_empty(),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_status(
        status,
        &LookupPage {
            chrome: Chrome::resident(app, locale, title),
            dept_id: d.id.as_str(),
            dept_name: text.name,
            lookup_label: text.lookup_label,
            lookup_hint: text.lookup_hint,
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
    locale: PageLocale,
    Path(dept): Path<String>,
) -> Result<Response, WebError> {
    let d = department(&app, &dept)?;
    page(&app, d, &session, &locale, ("", ""), Vec::new())
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
    locale: PageLocale,
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
            if let Some(e) = account {
                errors.push(FieldError::new("account_number", e.localize(locale.locale)));
            }
            if let Some(e) = verifier {
                errors.push(FieldError::new("zip", e.localize(locale.locale)));
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
                locale.locale.msg("lookup-no-match"),
            )]
        }
        Err(LookupError::Store(e)) => return Err(e.into()),
    };
    page(
        &app,
        d,
        &session,
        &locale,
        (&form.account_number, &form.zip),
        errors,
    )
}
