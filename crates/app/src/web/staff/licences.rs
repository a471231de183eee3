//! Licence renewals for the licensing and finance offices: what each
//! holder declared, the fee it came to, and a mark for the declarations
//! finance wants to audit.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Cents;
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;

use super::auth::{Staff, StaffForm, need};
use super::{Nav, chrome, local_time};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::staff::roles::Permission;
use crate::store::StoreError;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::pages::{Chrome, render};

pub struct RenewalRow {
    id: i64,
    number: String,
    category: String,
    declared: String,
    total: Cents,
    status: String,
    new_expiry: String,
    paid_at: String,
    flagged: bool,
    /// "confirmed", or what the holder said has changed.
    contact: String,
}

#[derive(Template)]
#[template(path = "staff/licences.html")]
struct RenewalsPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    rows: Vec<RenewalRow>,
    can_flag: bool,
    flagged_only: bool,
    message: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct RenewalsQuery {
    #[serde(default)]
    flagged: String,
    #[serde(default)]
    done: String,
}

pub async fn renewals(
    State(app): State<App>,
    staff: Staff<need::ViewPayments>,
    Query(q): Query<RenewalsQuery>,
) -> Result<Response, WebError> {
    let flagged_only = q.flagged == "1";
    let rows = sqlx::query(
        "SELECT r.id, r.declared_gross_cents, r.declared_employees, r.status, r.new_expires_on,
                r.paid_at, r.audit_flag, rc.amount_due_cents, l.category, a.account_number,
                r.contact_confirmed, r.contact_changes_enc, rc.reference
         FROM licence_renewals r
         JOIN licences l ON l.id = r.licence_id
         JOIN service_accounts a ON a.id = l.service_account_id
         JOIN receivables rc ON rc.id = r.receivable_id
         WHERE r.status <> 'replaced' AND ($1 = 0 OR r.audit_flag = 1)
         ORDER BY r.id DESC LIMIT 500",
    )
    .bind(i64::from(flagged_only))
    .fetch_all(app.db.reader())
    .await
    .map_err(StoreError::from)?;
    let rows = rows
        .iter()
        .map(|r| -> Result<RenewalRow, sqlx::Error> {
            let gross: Option<i64> = r.try_get("declared_gross_cents")?;
            let employees: Option<i64> = r.try_get("declared_employees")?;
            let declared = match (gross, employees) {
                (Some(g), _) => format!("gross receipts {}", Cents::new(g)),
                (_, Some(n)) => format!("{n} employee(s)"),
                _ => "nothing (flat fee)".to_owned(),
            };
            let paid_at: Option<i64> = r.try_get("paid_at")?;
            let sealed: Option<String> = r.try_get("contact_changes_enc")?;
            let reference: String = r.try_get("reference")?;
            let contact = match sealed {
                Some(s) => crate::services::licences::open_contact_changes(&app, &reference, &s)
                    .map(|t| format!("changed: {t}"))
                    .unwrap_or_else(|_| "changed (cannot be opened with this key file)".into()),
                None if r.try_get::<i64, _>("contact_confirmed")? == 1 => "confirmed".into(),
                None => String::new(),
            };
            Ok(RenewalRow {
                id: r.try_get("id")?,
                number: r.try_get("account_number")?,
                category: r.try_get("category")?,
                declared,
                total: Cents::new(r.try_get("amount_due_cents")?),
                status: r.try_get("status")?,
                new_expiry: r.try_get("new_expires_on")?,
                paid_at: paid_at.map(|t| local_time(&app, t)).unwrap_or_default(),
                flagged: r.try_get::<i64, _>("audit_flag")? == 1,
                contact,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::from)?;
    render(&RenewalsPage {
        chrome: chrome(&app, "Licence renewals"),
        nav: Nav::new(&app, &staff.user, &staff.cookies),
        rows,
        can_flag: staff.user.role.can(Permission::FlagDeclarations),
        flagged_only,
        message: match q.done.as_str() {
            "flagged" => Some("The declaration is marked for audit."),
            "cleared" => Some("The audit mark is cleared."),
            _ => None,
        },
    })
}

#[derive(Deserialize)]
pub struct FlagForm {
    /// `1` to mark, `0` to clear.
    #[serde(default)]
    flag: String,
}

pub async fn flag(
    State(app): State<App>,
    staff: Staff<need::FlagDeclarations>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    StaffForm(form): StaffForm<FlagForm>,
) -> Result<Response, WebError> {
    let on = form.flag == "1";
    let mut tx = app.db.begin().await?;
    let changed = sqlx::query(
        "UPDATE licence_renewals SET audit_flag = $2 WHERE id = $1 AND status <> 'replaced'",
    )
    .bind(id)
    .bind(i64::from(on))
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?
    .rows_affected();
    if changed == 0 {
        return Err(WebError::NotFound);
    }
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &staff.user.actor(),
            action: if on {
                "licence.declaration_flagged"
            } else {
                "licence.declaration_cleared"
            },
            target: Some(format!("licence_renewal:{id}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({}),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Redirect::to(if on {
        "/licences?done=flagged"
    } else {
        "/licences?done=cleared"
    })
    .into_response())
}
