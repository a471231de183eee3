//! Finding payments, their timelines, notes, receipts, CSV export.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Cents;
use domain::payment::PaymentStatus;
use domain::personal::EmailAddress;
use serde::Deserialize;
use serde_json::json;

use super::auth::{Staff, StaffCookies, StaffForm, need};
use super::{Nav, chrome, local_time};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::crypto::fields::FieldContext;
use crate::services::payments::email_context;
use crate::services::receipts::brand_name;
use crate::services::staff_auth::SignedIn;
use crate::staff::roles::Permission;
use crate::store::{self, search::PaymentFilter};
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::pages::{Chrome, FieldError, error_for, render_status, sentence};

#[derive(Deserialize, Default, Clone)]
pub struct SearchQuery {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    receipt_number: String,
    #[serde(default)]
    last4: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<i64>,
}

impl SearchQuery {
    fn is_empty(&self) -> bool {
        [
            &self.reference,
            &self.account_number,
            &self.receipt_number,
            &self.last4,
            &self.amount,
            &self.status,
            &self.department,
            &self.from,
            &self.to,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }

    fn query_string(&self, page: i64) -> String {
        serde_urlencoded::to_string([
            ("reference", self.reference.trim()),
            ("account_number", self.account_number.trim()),
            ("receipt_number", self.receipt_number.trim()),
            ("last4", self.last4.trim()),
            ("amount", self.amount.trim()),
            ("status", self.status.trim()),
            ("department", self.department.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default()
    }
}

/// Turns the form into a filter, or says what is wrong beside each field.
fn filter(app: &App, q: &SearchQuery) -> Result<PaymentFilter, Vec<FieldError>> {
    let mut errors = Vec::new();
    let opt = |s: &str| {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    };
    let mut f = PaymentFilter {
        reference: opt(&q.reference),
        receipt_number: opt(&q.receipt_number).map(|s| s.to_uppercase()),
        ..PaymentFilter::default()
    };
    if let Some(a) = opt(&q.account_number) {
        match domain::receivable::AccountNumber::parse(&a) {
            Ok(n) => f.account_number = Some(n.as_str().to_owned()),
            Err(e) => errors.push(FieldError::new("account_number", sentence(&e.to_string()))),
        }
    }
    if let Some(l) = opt(&q.last4) {
        if l.len() == 4 && l.bytes().all(|b| b.is_ascii_digit()) {
            f.last4 = Some(l);
        } else {
            errors.push(FieldError::new(
                "last4",
                "Enter the last 4 digits of the card",
            ));
        }
    }
    if let Some(a) = opt(&q.amount) {
        match Cents::parse_dollars(&a) {
            Ok(c) => f.amount = Some(c),
            Err(e) => errors.push(FieldError::new("amount", sentence(&e.to_string()))),
        }
    }
    if let Some(s) = opt(&q.status) {
        match PaymentStatus::parse(&s) {
            Ok(st) => f.status = Some(st.as_str().to_owned()),
            Err(_) => errors.push(FieldError::new("status", "Choose a status from the list")),
        }
    }
    if let Some(d) = opt(&q.department) {
        if app.config.department(&d).is_some() {
            f.department = Some(d);
        } else {
            errors.push(FieldError::new(
                "department",
                "Choose a department from the list",
            ));
        }
    }
    let tz = app.config.timezone.clone();
    let day_start =
        |s: &str, field: &'static str, errors: &mut Vec<FieldError>, next: bool| -> Option<i64> {
            let d = domain::receivable::parse_iso_date(s)
                .map_err(|e| errors.push(FieldError::new(field, sentence(&e.to_string()))))
                .ok()?;
            let d = if next { d.tomorrow().ok()? } else { d };
            d.to_zoned_datetime(tz.clone())
                .ok()
                .map(|z| z.timestamp().as_microsecond())
        };
    if let Some(s) = opt(&q.from) {
        f.from_us = day_start(&s, "from", &mut errors, false);
    }
    if let Some(s) = opt(&q.to) {
        f.to_us = day_start(&s, "to", &mut errors, true);
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(errors)
    }
}

pub struct ResultRow {
    id: String,
    created: String,
    status: String,
    department: String,
    reference: String,
    account_number: String,
    receipt_number: String,
    total: Cents,
    card: String,
}

#[derive(Template)]
#[template(path = "staff/payments.html")]
struct SearchPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    q: SearchQuery,
    errors: Vec<FieldError>,
    statuses: Vec<&'static str>,
    departments: Vec<(&'a str, &'a str)>,
    searched: bool,
    rows: Vec<ResultRow>,
    page: i64,
    more: bool,
    next_query: String,
    prev_query: String,
    export_query: String,
    can_export: bool,
}

impl SearchPage<'_> {
    fn error(&self, field: &str) -> Option<String> {
        error_for(&self.errors, field)
    }
}

const PAGE: i64 = 50;

pub async fn search(
    State(app): State<App>,
    staff: Staff<need::ViewPayments>,
    Query(q): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let (rows, more, errors) = match filter(&app, &q) {
        Ok(f) if !q.is_empty() => {
            let (found, more) =
                store::search::search(app.db.reader(), &f, PAGE, (page - 1) * PAGE).await?;
            let rows = found
                .into_iter()
                .map(|p| ResultRow {
                    created: local_time(&app, p.created_at),
                    status: p.status,
                    department: p.department,
                    reference: p.reference,
                    account_number: p.account_number,
                    receipt_number: p.receipt_number.unwrap_or_default(),
                    total: p.total,
                    card: match (p.card_brand, p.card_last4) {
                        (Some(b), Some(l)) => format!("{} {l}", brand_name(&b).unwrap_or("Card")),
                        _ => String::new(),
                    },
                    id: p.id,
                })
                .collect();
            (rows, more, Vec::new())
        }
        Ok(_) => (Vec::new(), false, Vec::new()),
        Err(errors) => (Vec::new(), false, errors),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = if errors.is_empty() {
        "Payments"
    } else {
        "Error: Payments"
    };
    render_status(
        status,
        &SearchPage {
            chrome: chrome(&app, title),
            nav: Nav::new(&app, &staff.user, &staff.cookies),
            searched: !q.is_empty() && errors.is_empty(),
            statuses: PaymentStatus::ALL.iter().map(|s| s.as_str()).collect(),
            departments: app
                .config
                .departments
                .iter()
                .map(|d| (d.id.as_str(), d.name.as_str()))
                .collect(),
            rows,
            page,
            more,
            next_query: q.query_string(page + 1),
            prev_query: q.query_string(page - 1),
            export_query: q.query_string(1),
            can_export: staff.user.role.can(Permission::Export),
            errors,
            q,
        },
    )
}

pub async fn export(
    State(app): State<App>,
    staff: Staff<need::Export>,
    ClientIp(ip): ClientIp,
    Query(q): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let f = filter(&app, &q).map_err(|_| WebError::BadRequest("bad search"))?;
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &staff.user.actor(),
            action: "payments.exported",
            target: None,
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "query": q.query_string(1) }),
        },
    )
    .await?;
    tx.commit().await?;
    let (sql, binds) = store::search::export_query(&f);
    let body = store::export::csv_body(
        app.db.reader().clone(),
        sql,
        binds,
        store::search::EXPORT_HEADER,
        store::search::export_row,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"payments.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

pub struct TimelineItem {
    at: String,
    sort: i64,
    what: String,
    who: String,
}

pub struct RefundItem {
    amount: Cents,
    status: String,
    reason: String,
    requested_by: String,
    created: String,
}

#[derive(Template)]
#[template(path = "staff/payment.html")]
struct DetailPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    p: store::payments::PaymentRow,
    items: Vec<(String, String, String, Cents, Cents)>,
    holder: String,
    email: String,
    card: String,
    created: String,
    timeline: Vec<TimelineItem>,
    postings: Vec<(String, String, String, i64)>,
    refunds: Vec<RefundItem>,
    notes: Vec<(String, String, String)>,
    can_note: bool,
    can_resend: bool,
    can_refund: bool,
    done: Option<&'static str>,
    note_error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    #[serde(default)]
    done: String,
}

async fn detail_page(
    app: &App,
    user: &SignedIn,
    cookies: &StaffCookies,
    id: &str,
    done: Option<&'static str>,
    note_error: Option<String>,
) -> Result<Response, WebError> {
    let p = store::payments::by_id(app.db.reader(), id)
        .await?
        .ok_or(WebError::NotFound)?;
    let mut items = Vec::new();
    let mut holder = String::new();
    for i in store::payments::items(app.db.reader(), id).await? {
        let view = store::receivables::view(app.db.reader(), i.receivable_id, app.now_us()).await?;
        let account = match &view {
            Some(v) => store::receivables::account_by_id(&app.db, v.service_account_id).await?,
            None => None,
        };
        if let Some(a) = &account {
            let row_key = format!("{}/{}", a.department, a.account_number);
            holder = app
                .keys
                .fields
                .open(
                    &a.holder_name_enc,
                    &FieldContext {
                        table: "service_accounts",
                        column: "holder_name",
                        row: &row_key,
                    },
                )
                .unwrap_or_else(|_| "(unreadable)".into());
        }
        items.push((
            app.config
                .department(&i.department)
                .map(|d| d.name.clone())
                .unwrap_or(i.department.clone()),
            view.map(|v| v.reference).unwrap_or_default(),
            account.map(|a| a.account_number).unwrap_or_default(),
            i.amount,
            i.fee,
        ));
    }
    let email = p
        .receipt_email_enc
        .as_deref()
        .and_then(|s| app.keys.fields.open(s, &email_context(&p.id)).ok())
        .and_then(|a| EmailAddress::parse(&a).ok())
        .map(|a| a.masked())
        .unwrap_or_default();
    let mut timeline: Vec<TimelineItem> =
        store::audit::for_target(app.db.reader(), &format!("payment:{id}"))
            .await?
            .into_iter()
            .map(|e| TimelineItem {
                at: local_time(app, e.at),
                sort: e.at,
                what: format!("{} ({})", e.action, e.outcome),
                who: e.actor,
            })
            .collect();
    for (kind, event_id, at) in store::processor_events::for_payment(app.db.reader(), id).await? {
        timeline.push(TimelineItem {
            at: local_time(app, at),
            sort: at,
            what: format!("processor event {kind} ({event_id})"),
            who: format!("processor:{}", p.processor),
        });
    }
    timeline.sort_by_key(|t| t.sort);
    let postings = store::ledger::lines_for_payment(app.db.reader(), id)
        .await?
        .into_iter()
        .map(|(key, account, receivable, amount)| {
            (
                key,
                account,
                receivable.map(|r| r.to_string()).unwrap_or_default(),
                amount,
            )
        })
        .collect();
    let refunds = store::refunds::for_payment(app.db.reader(), id)
        .await?
        .into_iter()
        .map(|r| RefundItem {
            created: local_time(app, r.created_at),
            amount: r.amount,
            status: match (&r.reversal_date, &r.reversal_reason) {
                (Some(on), Some(why)) => format!(
                    "{}, then not completed by the processor ({why}); reversed on {on}",
                    r.status
                ),
                _ => r.status,
            },
            reason: r.reason,
            requested_by: r.requested_by_email,
        })
        .collect();
    let notes = store::staff::notes(app.db.reader(), id)
        .await?
        .into_iter()
        .map(|n| (local_time(app, n.created_at), n.author, n.body))
        .collect();
    let role = user.role;
    let card = match (&p.card_brand, &p.card_last4) {
        (Some(b), Some(l)) => format!("{} ending {l}", brand_name(b).unwrap_or("Card")),
        _ => String::new(),
    };
    let status = if note_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &DetailPage {
            chrome: chrome(app, "Payment"),
            nav: Nav::new(app, user, cookies),
            created: local_time(app, p.created_at),
            can_note: role.can(Permission::AddNotes),
            can_resend: role.can(Permission::ResendReceipts)
                && p.status.was_captured()
                && p.receipt_email_enc.is_some(),
            can_refund: role.can(Permission::RequestRefunds)
                && matches!(
                    p.status,
                    PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
                ),
            p,
            items,
            holder,
            email,
            card,
            timeline,
            postings,
            refunds,
            notes,
            done,
            note_error,
        },
    )
}

pub async fn detail(
    State(app): State<App>,
    staff: Staff<need::ViewPayments>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, WebError> {
    let done = match q.done.as_str() {
        "note" => Some("Note added."),
        "resent" => Some("The receipt will be sent again in a moment."),
        "refund" => Some("Refund recorded. See its status below."),
        _ => None,
    };
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &staff.user.actor(),
            action: "payment.viewed",
            target: Some(format!("payment:{id}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    detail_page(&app, &staff.user, &staff.cookies, &id, done, None).await
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
}

pub async fn add_note(
    State(app): State<App>,
    staff: Staff<need::AddNotes>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    StaffForm(form): StaffForm<NoteForm>,
) -> Result<Response, WebError> {
    store::payments::by_id(app.db.reader(), &id)
        .await?
        .ok_or(WebError::NotFound)?;
    let body = form.body.trim();
    if body.is_empty() || body.chars().count() > 2000 {
        let msg = if body.is_empty() {
            "Write the note"
        } else {
            "A note has at most 2,000 characters"
        };
        return detail_page(
            &app,
            &staff.user,
            &staff.cookies,
            &id,
            None,
            Some(msg.into()),
        )
        .await;
    }
    let mut tx = app.db.begin().await?;
    store::staff::add_note(&mut tx, &id, staff.user.id, body, app.now_us()).await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &staff.user.actor(),
            action: "payment.note_added",
            target: Some(format!("payment:{id}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "length": body.chars().count() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/payments/{id}?done=note")).into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn resend(
    State(app): State<App>,
    staff: Staff<need::ResendReceipts>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    StaffForm(_): StaffForm<Empty>,
) -> Result<Response, WebError> {
    let p = store::payments::by_id(app.db.reader(), &id)
        .await?
        .ok_or(WebError::NotFound)?;
    if !p.status.was_captured() || p.receipt_email_enc.is_none() {
        return Err(WebError::BadRequest("no receipt to resend"));
    }
    let mut tx = app.db.begin().await?;
    crate::jobs::enqueue_receipt_again(&mut tx, &app, &id).await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &staff.user.actor(),
            action: "receipt.resend_requested",
            target: Some(format!("payment:{id}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/payments/{id}?done=resent")).into_response())
}
