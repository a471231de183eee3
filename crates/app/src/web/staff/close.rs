//! The daily close: totals, reconciliation, closing, exports.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::json;

use super::auth::{Staff, StaffCookies, StaffForm, need};
use super::{Nav, chrome, local_time};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::services::close::{self, CloseError, DayReport};
use crate::services::staff_auth::SignedIn;
use crate::staff::roles::Permission;
use crate::store;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::pages::{Chrome, render, render_status, sentence};

fn parse_date(s: &str) -> Result<Date, WebError> {
    domain::receivable::parse_iso_date(s).map_err(|_| WebError::NotFound)
}

#[derive(Template)]
#[template(path = "staff/close_index.html")]
struct IndexPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    days: Vec<(String, bool)>,
}

pub async fn index(
    State(app): State<App>,
    staff: Staff<need::ViewClose>,
) -> Result<Response, WebError> {
    let today = close::today(&app);
    let mut days = Vec::new();
    let mut d = today;
    for _ in 0..14 {
        let closed = store::close::is_closed(app.db.reader(), &d.to_string()).await?;
        days.push((d.to_string(), closed));
        d = match d.yesterday() {
            Ok(y) => y,
            Err(_) => break,
        };
    }
    render(&IndexPage {
        chrome: chrome(&app, "Daily close"),
        nav: Nav::new(&app, &staff.user, &staff.cookies),
        days,
    })
}

/// The processor's side of the day, as text.
pub struct ProcessorDay {
    charges: String,
    refunds: String,
    /// Refunds that came back (not completed), when there were any.
    returned: Option<String>,
    fees: String,
    net: String,
    /// (id, amount, arrival date, status)
    payouts: Vec<(String, String, String, String)>,
}

pub struct MismatchRow {
    kind: &'static str,
    id: String,
    reason: &'static str,
    ours: String,
    processor: String,
}

#[derive(Template)]
#[template(path = "staff/close_day.html")]
struct DayPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    date: String,
    r: DayReport,
    mismatches: Vec<MismatchRow>,
    processor: Option<ProcessorDay>,
    processor_error: Option<String>,
    closed_at: String,
    can_close: bool,
    can_export: bool,
    error: Option<String>,
    note: &'a str,
}

async fn day_page(
    app: &App,
    user: &SignedIn,
    cookies: &StaffCookies,
    date: Date,
    status: StatusCode,
    error: Option<String>,
    note: &str,
) -> Result<Response, WebError> {
    let r = close::report(app, date).await?;
    let (mismatches, processor, processor_error) = match &r.reconciliation {
        Ok(rec) => (
            rec.mismatches
                .iter()
                .map(|m| MismatchRow {
                    kind: m.kind,
                    id: m.id.clone(),
                    reason: m.reason.describe(),
                    ours: m.ours.map(|c| c.to_string()).unwrap_or_else(|| "—".into()),
                    processor: m
                        .processor
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "—".into()),
                })
                .collect(),
            Some(ProcessorDay {
                charges: rec.charges.to_string(),
                refunds: rec.refunds.to_string(),
                returned: rec.returned.is_positive().then(|| rec.returned.to_string()),
                fees: rec.fees.to_string(),
                net: rec.net.to_string(),
                payouts: rec
                    .payouts
                    .iter()
                    .map(|p| {
                        (
                            p.id.clone(),
                            p.amount_text(),
                            p.arrival
                                .to_zoned_datetime(app.config.timezone.clone())
                                .date()
                                .to_string(),
                            p.status.clone(),
                        )
                    })
                    .collect(),
            }),
            None,
        ),
        Err(e) => (Vec::new(), None, Some(e.clone())),
    };
    let closed_at = r
        .closed
        .as_ref()
        .map(|c| local_time(app, c.closed_at))
        .unwrap_or_default();
    render_status(
        status,
        &DayPage {
            chrome: chrome(app, "Daily close"),
            nav: Nav::new(app, user, cookies),
            date: date.to_string(),
            can_close: user.role.can(Permission::CloseDay) && r.closed.is_none() && r.over,
            can_export: user.role.can(Permission::Export),
            mismatches,
            processor,
            processor_error,
            closed_at,
            r,
            error,
            note,
        },
    )
}

pub async fn day(
    State(app): State<App>,
    staff: Staff<need::ViewClose>,
    Path(date): Path<String>,
) -> Result<Response, WebError> {
    let date = parse_date(&date)?;
    day_page(
        &app,
        &staff.user,
        &staff.cookies,
        date,
        StatusCode::OK,
        None,
        "",
    )
    .await
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    note: String,
}

pub async fn close(
    State(app): State<App>,
    staff: Staff<need::CloseDay>,
    ClientIp(ip): ClientIp,
    Path(date): Path<String>,
    StaffForm(form): StaffForm<CloseForm>,
) -> Result<Response, WebError> {
    let date = parse_date(&date)?;
    match close::close_day(&app, &staff.user, date, &form.note, ip).await {
        Ok(()) => Ok(Redirect::to(&format!("/close/{date}")).into_response()),
        Err(CloseError::Store(e)) => Err(e.into()),
        Err(e) => {
            let status = match e {
                CloseError::AlreadyClosed(_) => StatusCode::CONFLICT,
                CloseError::NotReconciled(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            day_page(
                &app,
                &staff.user,
                &staff.cookies,
                date,
                status,
                Some(sentence(&e.to_string())),
                &form.note,
            )
            .await
        }
    }
}

/// One of the day's CSV files.
struct DayFile {
    name: &'static str,
    sql: &'static str,
    header: &'static [&'static str],
    row: store::export::RowFn,
}

async fn export(
    app: &App,
    who: &SignedIn,
    ip: Option<std::net::IpAddr>,
    date: Date,
    file: DayFile,
) -> Result<Response, WebError> {
    let what = file.name;
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &who.actor(),
            action: "close.exported",
            target: Some(format!("business_date:{date}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "file": what }),
        },
    )
    .await?;
    tx.commit().await?;
    let body = store::export::csv_body(
        app.db.reader().clone(),
        file.sql.to_owned(),
        vec![store::export::Bind::Text(date.to_string())],
        file.header,
        file.row,
    );
    let disposition = format!("attachment; filename=\"{what}-{date}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

pub async fn postings_csv(
    State(app): State<App>,
    staff: Staff<need::Export>,
    ClientIp(ip): ClientIp,
    Path(date): Path<String>,
) -> Result<Response, WebError> {
    let date = parse_date(&date)?;
    let file = DayFile {
        name: "postings",
        sql: store::close::postings_query(),
        header: store::close::POSTINGS_HEADER,
        row: store::close::postings_row,
    };
    export(&app, &staff.user, ip, date, file).await
}

pub async fn journal_csv(
    State(app): State<App>,
    staff: Staff<need::Export>,
    ClientIp(ip): ClientIp,
    Path(date): Path<String>,
) -> Result<Response, WebError> {
    let date = parse_date(&date)?;
    let file = DayFile {
        name: "journal",
        sql: store::close::journal_query(),
        header: store::close::JOURNAL_HEADER,
        row: store::close::journal_row,
    };
    export(&app, &staff.user, ip, date, file).await
}
