//! Renewing a business licence online: after the look-up (the licence
//! number and the business name), the holder declares what the fee
//! depends on, sees the fee worked out, and pays it like any bill. Also
//! the certificate download and the public verification page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Cents;
use domain::licence_fee::{Declaration, Fee, FeeError, Needs};
use serde::Deserialize;

use super::department;
use crate::app::App;
use crate::audit::Actor;
use crate::config::{Department, LicenceRules};
use crate::crypto::random_token;
use crate::i18n::Locale;
use crate::services::licences::{self, Contact, Licence, RenewalError, Verification};
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::limits::{self, Class};
use crate::web::locale::PageLocale;
use crate::web::pages::{Chrome, FieldError, error_for, page_title, render_status, sentence};
use crate::web::session::{Draft, DraftItem, ResidentSession};

#[derive(Template)]
#[template(path = "pay/renew.html")]
struct RenewPage<'a> {
    chrome: Chrome<'a>,
    dept_id: &'a str,
    number: String,
    business: String,
    category: String,
    expires: String,
    /// Why it cannot be renewed yet, with the dates, if so.
    not_yet: Option<String>,
    late: bool,
    needs_gross: bool,
    needs_employees: bool,
    gross: String,
    employees: String,
    gross_error: Option<String>,
    employees_error: Option<String>,
    /// The contact details on file, as the holder may see them.
    masked_address: String,
    contact: String,
    changes: String,
    contact_error: Option<String>,
    changes_error: Option<String>,
    /// The fee worked out: (label, amount) lines and the total.
    fee: Option<(Vec<(String, Cents)>, Cents)>,
    new_expiry: String,
    csrf: String,
    errors: Vec<FieldError>,
}

fn rules(d: &Department) -> Result<&LicenceRules, WebError> {
    d.licences.as_ref().ok_or(WebError::NotFound)
}

async fn licence_for(
    app: &App,
    d: &Department,
    session: &ResidentSession,
) -> Result<Option<Licence>, WebError> {
    let data = session.load(app).await?;
    let Some(account_id) = data.grant_for(d.id.as_str()) else {
        return Ok(None);
    };
    Ok(licences::for_account(app, account_id).await?)
}

#[allow(clippy::too_many_arguments)]
async fn page(
    app: &App,
    d: &Department,
    session: &ResidentSession,
    locale: &PageLocale,
    licence: &Licence,
    form: &DeclareForm,
    fee: Option<&Fee>,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let l = locale.locale;
    let r = rules(d)?;
    let today = app
        .now()
        .to_zoned_datetime(app.config.timezone.clone())
        .date();
    let opens = licences::renewal_opens(r, licence.expires_on);
    let needs = r
        .schedule
        .categories
        .get(&licence.category)
        .map_or(Needs::Nothing, |c| c.needs());
    let category = licences::line_label(
        r,
        l,
        domain::licence_fee::LineKind::Licence,
        &licence.category,
    );
    let title = page_title(
        l,
        l.msg1("renew-licence-title", "number", licence.number.as_str()),
        !errors.is_empty(),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_status(
        status,
        &RenewPage {
            chrome: Chrome::resident(app, locale, title),
            dept_id: d.id.as_str(),
            number: licence.number.clone(),
            business: licence.business_name.clone(),
            category: r.category_names.get(&licence.category).map_or_else(
                || category.clone(),
                |(en, es)| {
                    if l == Locale::Es {
                        es.clone()
                    } else {
                        en.clone()
                    }
                },
            ),
            expires: l.date(&licence.expires_on.to_string()),
            not_yet: (today < opens).then(|| {
                l.format(
                    "renew-not-yet",
                    &[
                        ("number", licence.number.as_str().into()),
                        ("expires", l.date(&licence.expires_on.to_string()).into()),
                        ("opens", l.date(&opens.to_string()).into()),
                        ("days", r.renewal_window_days.into()),
                    ],
                )
            }),
            late: today > licence.expires_on,
            needs_gross: needs == Needs::GrossReceipts,
            needs_employees: needs == Needs::Employees,
            gross: form.gross.clone(),
            employees: form.employees.clone(),
            gross_error: error_for(&errors, "gross"),
            employees_error: error_for(&errors, "employees"),
            masked_address: crate::services::lookup::account_summary(app, licence.account_id)
                .await?
                .map(|a| a.masked_address)
                .unwrap_or_default(),
            contact: form.contact.clone(),
            changes: form.changes.clone(),
            contact_error: error_for(&errors, "contact-confirmed"),
            changes_error: error_for(&errors, "changes"),
            fee: fee.map(|f| {
                (
                    f.lines
                        .iter()
                        .map(|line| {
                            (
                                licences::line_label(r, l, line.kind, &licence.category),
                                line.amount,
                            )
                        })
                        .collect(),
                    f.total,
                )
            }),
            new_expiry: l.date(&licences::next_expiry(r, licence.expires_on).to_string()),
            csrf: session.csrf_token(app),
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
    rules(d)?;
    let Some(licence) = licence_for(&app, d, &session).await? else {
        return Ok(Redirect::to(&format!("/pay/{}", d.id)).into_response());
    };
    let form = DeclareForm::default();
    page(
        &app,
        d,
        &session,
        &locale,
        &licence,
        &form,
        None,
        Vec::new(),
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct DeclareForm {
    #[serde(default)]
    gross: String,
    #[serde(default)]
    employees: String,
    /// `quote` (work out the fee) or `continue` (to payment).
    #[serde(default)]
    action: String,
    /// `confirmed` or `changed`: the contact details on file.
    #[serde(default)]
    contact: String,
    /// What changed, when something did.
    #[serde(default)]
    changes: String,
}

/// The holder's answer about the contact details, or the error beside it.
fn contact_answer(form: &DeclareForm, l: Locale) -> Result<Contact, FieldError> {
    match form.contact.as_str() {
        "confirmed" => Ok(Contact::Confirmed),
        "changed" => {
            let text = form.changes.trim();
            if text.is_empty() {
                Err(FieldError::new(
                    "changes",
                    sentence(&l.msg("renew-changes-empty")),
                ))
            } else if text.chars().count() > licences::CONTACT_CHANGES_MAX
                || text
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                Err(FieldError::new(
                    "changes",
                    sentence(&l.msg1(
                        "renew-changes-too-long",
                        "count",
                        licences::CONTACT_CHANGES_MAX as i64,
                    )),
                ))
            } else {
                Ok(Contact::Changed(text.to_owned()))
            }
        }
        _ => Err(FieldError::new(
            "contact-confirmed",
            sentence(&l.msg("renew-contact-missing")),
        )),
    }
}

/// The declaration typed, or the errors beside its fields.
fn declaration(
    r: &LicenceRules,
    needs: Needs,
    form: &DeclareForm,
    l: Locale,
) -> Result<Declaration, Vec<FieldError>> {
    let mut d = Declaration::default();
    match needs {
        Needs::Nothing => {}
        Needs::GrossReceipts => {
            let typed = form.gross.trim().replace([',', '$'], "");
            let parsed = if typed.is_empty() {
                Err(l.msg("renew-gross-empty"))
            } else {
                Cents::parse_dollars(&typed).map_err(|e| match e {
                    domain::money::AmountError::TooLarge => l.msg1(
                        "renew-gross-too-high",
                        "amount",
                        r.schedule.gross_receipts_ceiling,
                    ),
                    _ => l.msg("renew-gross-bad"),
                })
            };
            match parsed {
                Ok(g) if g > r.schedule.gross_receipts_ceiling => {
                    return Err(vec![FieldError::new(
                        "gross",
                        sentence(&l.msg1(
                            "renew-gross-too-high",
                            "amount",
                            r.schedule.gross_receipts_ceiling,
                        )),
                    )]);
                }
                Ok(g) => d.gross_receipts = Some(g),
                Err(why) => return Err(vec![FieldError::new("gross", sentence(&why))]),
            }
        }
        Needs::Employees => {
            let typed = form.employees.trim();
            match typed.parse::<u32>() {
                _ if typed.is_empty() => {
                    return Err(vec![FieldError::new(
                        "employees",
                        sentence(&l.msg("renew-employees-empty")),
                    )]);
                }
                Ok(n) if n > r.schedule.employees_ceiling => {
                    return Err(vec![FieldError::new(
                        "employees",
                        sentence(&l.msg1(
                            "renew-employees-too-many",
                            "count",
                            i64::from(r.schedule.employees_ceiling),
                        )),
                    )]);
                }
                Ok(n) => d.employees = Some(n),
                Err(_) => {
                    return Err(vec![FieldError::new(
                        "employees",
                        sentence(&l.msg("renew-employees-bad")),
                    )]);
                }
            }
        }
    }
    Ok(d)
}

pub async fn submit(
    State(app): State<App>,
    session: ResidentSession,
    locale: PageLocale,
    Path(dept): Path<String>,
    CsrfForm(form): CsrfForm<DeclareForm>,
) -> Result<Response, WebError> {
    let d = department(&app, &dept)?;
    let r = rules(d)?;
    let Some(licence) = licence_for(&app, d, &session).await? else {
        return Ok(Redirect::to(&format!("/pay/{}", d.id)).into_response());
    };
    let l = locale.locale;
    let needs = r
        .schedule
        .categories
        .get(&licence.category)
        .map_or(Needs::Nothing, |c| c.needs());
    let declared = match declaration(r, needs, &form, l) {
        Ok(dcl) => dcl,
        Err(errors) => {
            return page(&app, d, &session, &locale, &licence, &form, None, errors).await;
        }
    };
    let today = app
        .now()
        .to_zoned_datetime(app.config.timezone.clone())
        .date();
    // Unless it goes on to payment, the page again: with the fee worked
    // out, or with what is wrong.
    let (fee, errors) = if form.action != "continue" {
        match licences::quote(r, &licence, &declared, today) {
            Ok(fee) => (Some(fee), Vec::new()),
            Err(e) => (None, renewal_errors(e, l)?),
        }
    } else {
        match contact_answer(&form, l) {
            Err(e) => (licences::quote(r, &licence, &declared, today).ok(), vec![e]),
            Ok(contact) => {
                let actor = Actor::Resident {
                    session_tag: session.tag(&app),
                };
                match licences::start_renewal(&app, d, &licence, &declared, &contact, &actor).await
                {
                    Ok((receivable_id, fee)) => {
                        let mut data = session.load(&app).await?;
                        data.draft = Some(Draft {
                            items: vec![DraftItem {
                                department: d.id.as_str().to_owned(),
                                receivable_id,
                                amount_cents: fee.total.get(),
                                seen_balance_cents: fee.total.get(),
                            }],
                            idempotency_key: random_token(24),
                            from_cart: false,
                        });
                        session.save(&app, &data).await?;
                        return Ok(Redirect::to("/pay/review").into_response());
                    }
                    Err(e) => (None, renewal_errors(e, l)?),
                }
            }
        }
    };
    page(
        &app,
        d,
        &session,
        &locale,
        &licence,
        &form,
        fee.as_ref(),
        errors,
    )
    .await
}

/// What the page says about a renewal that could not go on: nothing extra
/// when it is too early (the page explains, with the dates), the fee's
/// problem beside its field, or that a payment is already in progress.
fn renewal_errors(e: RenewalError, l: Locale) -> Result<Vec<FieldError>, WebError> {
    match e {
        RenewalError::NotYet(_) => Ok(Vec::new()),
        RenewalError::Fee(e) => {
            let field = match e {
                FeeError::EmployeesMissing | FeeError::EmployeesTooMany(_) => "employees",
                _ => "gross",
            };
            Ok(vec![FieldError::new(field, sentence(&e.to_string()))])
        }
        RenewalError::InProgress => Ok(vec![FieldError::new(
            "renew-title",
            l.msg("renew-in-progress"),
        )]),
        e => Err(WebError::Internal(Box::new(e))),
    }
}

/// The certificate of the renewal a payment paid.
pub async fn certificate(
    State(app): State<App>,
    locale: PageLocale,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| WebError::NotFound)?
        .to_string();
    let pdf = licences::certificate_pdf(&app, &id, locale.locale)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"licence-certificate.pdf\"",
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "pay/verify.html")]
struct VerifyPage<'a> {
    chrome: Chrome<'a>,
    number: String,
    code: String,
    /// (kind, message): kind is `ok`, `old` or `bad`.
    result: Option<(&'static str, String)>,
}

#[derive(Deserialize, Default)]
pub struct VerifyQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    code: String,
}

/// The public verification page: a number and a code in, genuine and
/// current or not out. Rate-limited like look-ups.
pub async fn verify(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    locale: PageLocale,
    Query(q): Query<VerifyQuery>,
) -> Result<Response, WebError> {
    let l = locale.locale;
    let Some(d) = app.config.departments.iter().find(|d| d.licences.is_some()) else {
        return Err(WebError::NotFound);
    };
    let asked = !q.number.trim().is_empty() || !q.code.trim().is_empty();
    let result = if asked {
        if let Some(too_many) = limits::check(&app, ip, Class::Lookup).await {
            return Ok(too_many);
        }
        Some(
            match licences::verify(&app, d, &q.number, &q.code, l).await? {
                Verification::Current {
                    business_name,
                    category,
                    expires_on,
                } => (
                    "ok",
                    l.format(
                        "verify-current",
                        &[
                            ("business", business_name.into()),
                            ("category", category.into()),
                            ("number", q.number.trim().to_uppercase().into()),
                            ("date", l.date(&expires_on.to_string()).into()),
                        ],
                    ),
                ),
                Verification::NotCurrent { expires_on } => (
                    "old",
                    l.msg1(
                        "verify-not-current",
                        "date",
                        l.date(&expires_on.to_string()),
                    ),
                ),
                Verification::NotGenuine => ("bad", l.msg("verify-not-genuine")),
            },
        )
    } else {
        None
    };
    render_status(
        StatusCode::OK,
        &VerifyPage {
            chrome: Chrome::resident(&app, &locale, l.msg("verify-title")),
            number: q.number.trim().chars().take(40).collect(),
            code: q.code.trim().chars().take(40).collect(),
            result,
        },
    )
}
