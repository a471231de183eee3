//! Finding the account: the number on the notice and what the department
//! verifies it with (the service ZIP code, a code on the notice, the
//! holder's name, or a plate and its state).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::department;
use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::{Department, VerifierKind};
use crate::i18n::Localize;
use crate::services::lookup::{AccountError, LookupError, find_account};
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
    verifier_fields: Vec<VerifierField>,
    errors: Vec<FieldError>,
    account_error: Option<String>,
}

/// One input of the department's verifier.
pub(crate) struct VerifierField {
    /// The input's id and name.
    pub(crate) id: &'static str,
    pub(crate) label: String,
    pub(crate) hint: String,
    pub(crate) value: String,
    pub(crate) error: Option<String>,
    pub(crate) inputmode: &'static str,
    pub(crate) autocomplete: &'static str,
    pub(crate) narrow: bool,
    /// A choice instead of a text input, when not empty.
    pub(crate) options: &'static [&'static str],
    pub(crate) choose: String,
}

/// The ids of a kind's inputs: the first and, for a plate, its state.
pub(crate) fn verifier_ids(kind: VerifierKind) -> (&'static str, Option<&'static str>) {
    match kind {
        // `zip` since the first version of the form.
        VerifierKind::Zip => ("zip", None),
        VerifierKind::Pin | VerifierKind::Name => ("verifier", None),
        VerifierKind::PlateState => ("plate", Some("state")),
    }
}

pub(crate) fn verifier_fields(
    kind: VerifierKind,
    l: crate::i18n::Locale,
    typed: (&str, &str),
    errors: &[FieldError],
) -> Vec<VerifierField> {
    let (first, second) = verifier_ids(kind);
    let text =
        |id: &'static str,
         label: &str,
         hint: &str,
         value: &str,
         (inputmode, autocomplete, narrow): (&'static str, &'static str, bool)| {
            VerifierField {
                id,
                label: l.msg(label),
                hint: if hint.is_empty() {
                    String::new()
                } else {
                    l.msg(hint)
                },
                value: value.trim().to_owned(),
                error: error_for(errors, id),
                inputmode,
                autocomplete,
                narrow,
                options: &[],
                choose: String::new(),
            }
        };
    let mut out = vec![match kind {
        VerifierKind::Zip => text(
            first,
            "lookup-zip-label",
            "lookup-zip-hint",
            typed.0,
            ("numeric", "postal-code", true),
        ),
        VerifierKind::Pin => text(
            first,
            "lookup-pin-label",
            "lookup-pin-hint",
            typed.0,
            ("text", "off", true),
        ),
        VerifierKind::Name => text(
            first,
            "lookup-name-label",
            "lookup-name-hint",
            typed.0,
            ("text", "name", false),
        ),
        VerifierKind::PlateState => text(
            first,
            "lookup-plate-label",
            "lookup-plate-hint",
            typed.0,
            ("text", "off", true),
        ),
    }];
    if let Some(id) = second {
        let mut state = text(id, "lookup-state-label", "", typed.1, ("text", "off", true));
        state.options = &domain::verifier::STATES;
        state.value = state.value.to_ascii_uppercase();
        state.choose = l.msg("lookup-state-choose");
        out.push(state);
    }
    out
}

/// The look-up form, empty or with what was typed and what is wrong.
fn page(
    app: &App,
    d: &Department,
    session: &ResidentSession,
    locale: &PageLocale,
    typed: (&str, (&str, &str)),
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
            verifier_fields: verifier_fields(d.verifier, l, typed.1, &errors),
            account_error: error_for(&errors, "account_number"),
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
    page(&app, d, &session, &locale, ("", ("", "")), Vec::new())
}

#[derive(Deserialize)]
pub(crate) struct LookupForm {
    #[serde(default)]
    pub(crate) account_number: String,
    #[serde(default)]
    pub(crate) zip: String,
    /// A code or a name, for departments that verify by one.
    #[serde(default)]
    pub(crate) verifier: String,
    #[serde(default)]
    pub(crate) plate: String,
    #[serde(default)]
    pub(crate) state: String,
}

impl LookupForm {
    /// What was typed for `kind`'s inputs.
    pub(crate) fn typed(&self, kind: VerifierKind) -> (&str, &str) {
        match kind {
            VerifierKind::Zip => (&self.zip, ""),
            VerifierKind::Pin | VerifierKind::Name => (&self.verifier, ""),
            VerifierKind::PlateState => (&self.plate, &self.state),
        }
    }
}

/// What is wrong with the number and the verifier typed, by field.
pub(crate) fn input_errors(
    d: &Department,
    l: crate::i18n::Locale,
    account: Option<AccountError>,
    verifier: Option<domain::verifier::VerifierError>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match account {
        Some(AccountError::Malformed(e)) => {
            errors.push(FieldError::new("account_number", e.localize(l)))
        }
        Some(AccountError::WrongFormat { example }) => errors.push(FieldError::new(
            "account_number",
            l.msg1("account-number-format", "example", example),
        )),
        None => {}
    }
    if let Some(e) = verifier {
        let (first, second) = verifier_ids(d.verifier);
        let id = match (&e, second) {
            (domain::verifier::VerifierError::StateMalformed, Some(s)) => s,
            _ => first,
        };
        errors.push(FieldError::new(id, e.localize(l)));
    }
    errors
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
    let typed = form.typed(d.verifier);
    let errors = match find_account(&app, d, &form.account_number, typed).await {
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
            input_errors(d, locale.locale, account, verifier)
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
                locale.locale.msg(if d.verifier == VerifierKind::Zip {
                    "lookup-no-match"
                } else {
                    "lookup-no-match-other"
                }),
            )]
        }
        Err(LookupError::Store(e)) => return Err(e.into()),
    };
    page(
        &app,
        d,
        &session,
        &locale,
        (&form.account_number, typed),
        errors,
    )
}
