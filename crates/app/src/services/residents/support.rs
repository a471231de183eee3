//! What city staff may do for a resident who calls for help with their
//! online account: find it by its e-mail address, see what it holds, turn
//! off two-step verification for someone who lost their authenticator, and
//! end every session. Each is done by a named member of staff and goes into
//! the audit log, the changes with the reason they gave (how they confirmed
//! who was asking). Staff never see a password, a second-factor secret or a
//! card beyond its brand and last four digits.

use std::net::IpAddr;

use domain::personal::EmailAddress;
use serde_json::json;

use super::{Mail, ResidentError, email_index, email_of, enqueue_mail, record, rows};
use crate::app::App;
use crate::audit::{Actor, Outcome};
use crate::crypto::random_token;
use crate::services::{ReasonProblem, clean_reason};
use crate::store::wallet::{self, Autopay, PlannedRow};
use crate::store::{StoreError, Tx};

/// A resident account as staff see it.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub id: i64,
    pub email: String,
    pub confirmed: bool,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    pub locale: String,
    pub second_factor: bool,
    pub links: Vec<LinkView>,
    /// Saved cards: brand and last four digits.
    pub cards: Vec<(String, String)>,
    pub upcoming: Vec<PlannedRow>,
}

#[derive(Debug, Clone)]
pub struct LinkView {
    pub department: String,
    pub account_number: String,
    pub paperless: bool,
    pub autopay: Option<Autopay>,
}

#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    #[error("say how you confirmed who is asking")]
    ReasonRequired,
    #[error("the reason is too long (at most 500 characters)")]
    ReasonTooLong,
    #[error("no such resident account")]
    NotFound,
    #[error(transparent)]
    Resident(#[from] ResidentError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SupportError {
    fn from(e: sqlx::Error) -> Self {
        SupportError::Store(e.into())
    }
}

impl From<ReasonProblem> for SupportError {
    fn from(p: ReasonProblem) -> Self {
        match p {
            ReasonProblem::Missing => SupportError::ReasonRequired,
            ReasonProblem::TooLong => SupportError::ReasonTooLong,
        }
    }
}

/// The account registered with `email`, if any. Every look-up is audited,
/// found or not (the address itself is not recorded).
pub async fn find(
    app: &App,
    staff: &Actor,
    email: &EmailAddress,
    ip: Option<IpAddr>,
) -> Result<Option<i64>, StoreError> {
    let found = rows::by_email_index(app.db.reader(), &email_index(app, email))
        .await?
        .map(|r| r.id);
    let mut tx = app.db.begin().await?;
    let what = match found {
        Some(id) => (
            "resident.looked_up",
            Some(format!("resident:{id}")),
            Outcome::Success,
        ),
        None => ("resident.looked_up", None, Outcome::Failure),
    };
    record(&mut tx, app, staff, what, ip, json!({})).await?;
    tx.commit().await?;
    Ok(found)
}

/// The account as staff see it (audited: who looked at whose account).
pub async fn view(
    app: &App,
    staff: &Actor,
    id: i64,
    ip: Option<IpAddr>,
) -> Result<AccountView, SupportError> {
    let db = app.db.reader();
    let r = rows::by_id(db, id).await?.ok_or(SupportError::NotFound)?;
    let email = email_of(app, &r)?.expose().to_owned();
    let autopays = wallet::autopays(db, id).await?;
    let links = rows::links(db, id)
        .await?
        .into_iter()
        .map(|l| LinkView {
            autopay: autopays
                .iter()
                .find(|(link, _)| *link == l.id)
                .map(|(_, a)| *a),
            department: l.department,
            account_number: l.account_number,
            paperless: l.paperless,
        })
        .collect();
    let cards = wallet::methods(db, id)
        .await?
        .into_iter()
        .map(|m| (m.brand, m.last4))
        .collect();
    let upcoming = wallet::upcoming(db, id).await?;
    let mut tx = app.db.begin().await?;
    let what = (
        "resident.viewed",
        Some(format!("resident:{id}")),
        Outcome::Success,
    );
    record(&mut tx, app, staff, what, ip, json!({})).await?;
    tx.commit().await?;
    Ok(AccountView {
        id,
        email,
        confirmed: r.confirmed,
        created_at: r.created_at,
        last_sign_in_at: r.last_sign_in_at,
        locale: r.locale,
        second_factor: r.totp_secret_enc.is_some(),
        links,
        cards,
        upcoming,
    })
}

/// Turns off the resident's two-step verification and ends every session
/// they have; the resident is e-mailed that it was done. `false` when it
/// was not on (nothing changes).
pub async fn second_factor_off(
    app: &App,
    staff: &Actor,
    id: i64,
    reason: &str,
    ip: Option<IpAddr>,
) -> Result<bool, SupportError> {
    let reason = clean_reason(reason)?;
    let mut tx = app.db.begin().await?;
    let r = resident(&mut tx, id).await?;
    if r.totp_secret_enc.is_none() {
        return Ok(false);
    }
    rows::set_totp(&mut tx, id, None, 0).await?;
    rows::end_sessions(&mut tx, id, app.now_us()).await?;
    let mail = Mail::SecondFactorOff { resident_id: id };
    // Each time it is done is told (the clock alone could repeat).
    let dedupe = format!("resident:second_factor_off:{id}:{}", random_token(8));
    enqueue_mail(&mut tx, app, &mail, &dedupe).await?;
    let what = (
        "resident.second_factor_off",
        Some(format!("resident:{id}")),
        Outcome::Success,
    );
    let details = json!({ "by_staff": true, "reason": reason, "sessions_ended": true });
    record(&mut tx, app, staff, what, ip, details).await?;
    tx.commit().await?;
    Ok(true)
}

/// Ends every session the resident has (a shared or lost computer, a
/// suspected break-in while they choose a new password).
pub async fn end_sessions(
    app: &App,
    staff: &Actor,
    id: i64,
    reason: &str,
    ip: Option<IpAddr>,
) -> Result<(), SupportError> {
    let reason = clean_reason(reason)?;
    let mut tx = app.db.begin().await?;
    resident(&mut tx, id).await?;
    rows::end_sessions(&mut tx, id, app.now_us()).await?;
    let what = (
        "resident.sessions_ended",
        Some(format!("resident:{id}")),
        Outcome::Success,
    );
    record(&mut tx, app, staff, what, ip, json!({ "reason": reason })).await?;
    tx.commit().await?;
    Ok(())
}

async fn resident(tx: &mut Tx, id: i64) -> Result<rows::ResidentRow, SupportError> {
    rows::by_id(&mut **tx, id)
        .await?
        .ok_or(SupportError::NotFound)
}
