//! The console's home page and the audit log.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::auth::{Staff, need};
use super::{Nav, chrome, local_time};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::staff::roles::Permission;
use crate::store;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::pages::{Chrome, render};

#[derive(Template)]
#[template(path = "staff/home.html")]
struct HomePage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    pending_refunds: Option<usize>,
    today: String,
    can_search: bool,
}

pub async fn home(
    State(app): State<App>,
    staff: Staff<need::SignedIn>,
) -> Result<Response, WebError> {
    let pending_refunds = if staff.user.role.can(Permission::ApproveRefunds) {
        Some(
            store::refunds::with_status(app.db.reader(), "pending_approval")
                .await?
                .len(),
        )
    } else {
        None
    };
    render(&HomePage {
        chrome: chrome(&app, "Home"),
        nav: Nav::new(&app, &staff.user, &staff.cookies),
        pending_refunds,
        today: crate::services::close::today(&app).to_string(),
        can_search: staff.user.role.can(Permission::ViewPayments),
    })
}

pub struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    source_ip: String,
    details: String,
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    rows: Vec<AuditRow>,
    action: &'a str,
    target: &'a str,
    page: i64,
    more: bool,
    next_query: String,
    prev_query: String,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    page: Option<i64>,
}

const PAGE: i64 = 100;

pub async fn audit_log(
    State(app): State<App>,
    staff: Staff<need::ViewAudit>,
    ClientIp(ip): ClientIp,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let action = q.action.trim();
    let target = q.target.trim();
    let (events, more) = store::audit::list(
        app.db.reader(),
        (!action.is_empty()).then_some(action),
        (!target.is_empty()).then_some(target),
        PAGE,
        (page - 1) * PAGE,
    )
    .await?;
    // Reading the audit log is itself recorded.
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &staff.user.actor(),
            action: "audit.viewed",
            target: None,
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "action_filter": action, "target_filter": target, "page": page }),
        },
    )
    .await?;
    tx.commit().await?;
    let rows = events
        .into_iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: local_time(&app, e.at),
            actor: e.actor,
            action: e.action,
            target: e.target.unwrap_or_default(),
            outcome: e.outcome,
            source_ip: e.source_ip.unwrap_or_default(),
            details: e.details,
        })
        .collect();
    let query = |p: i64| {
        serde_urlencoded::to_string([
            ("action", action),
            ("target", target),
            ("page", &p.to_string()),
        ])
        .unwrap_or_default()
    };
    render(&AuditPage {
        chrome: chrome(&app, "Audit log"),
        nav: Nav::new(&app, &staff.user, &staff.cookies),
        rows,
        action,
        target,
        page,
        more,
        next_query: query(page + 1),
        prev_query: query(page - 1),
    })
}
