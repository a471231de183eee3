//! Resident accounts: sign-up with a confirmed e-mail address, sign-in,
//! password reset by e-mail, service accounts linked with proof of holding
//! them, e-bills and due-date reminders.
//!
//! What an answer reveals is the same whether or not an address is
//! registered: sign-up and reset always say "we sent you an e-mail"; the
//! e-mail differs (a confirmation link, or "you already have an account").
//! Linking says the same for an unknown account and a wrong proof, and a
//! resident gets a few wrong proofs an hour.
//!
//! Links sent by e-mail are single-purpose, expire, work once and are kept
//! only as hashes; until the e-mail job sends one it is sealed in the job.

use std::net::IpAddr;

use domain::Cents;
use domain::personal::EmailAddress;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::{Department, LinkProof};
use crate::crypto::fields::FieldContext;
use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::i18n::Locale;
use crate::services::lookup::{AccountError, LookupError, find_account};
use crate::store::jobs::NewJob;
use crate::store::residents::{self as rows, Purpose, ResidentRow};
use crate::store::{self, StoreError, Tx};

/// Wrong proofs a resident may give in an hour before linking is refused
/// for the rest of it.
pub const LINK_FAILURES_ALLOWED: i64 = 5;
const HOUR_US: i64 = 3_600_000_000;
const MINUTE_US: i64 = 60_000_000;
/// Failed sign-ins for one address before each further attempt waits.
const SIGN_IN_FREE_FAILURES: i64 = 5;
/// Failed sign-ins from one network address before each further attempt
/// waits.
const SIGN_IN_FREE_FAILURES_IP: i64 = 30;
pub const MAIL_JOB: &str = "resident_mail";

#[derive(Debug, thiserror::Error)]
pub enum ResidentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("cannot seal or open a stored value: {0}")]
    Crypto(String),
}

/// Why a link from an e-mail was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Used,
    Expired,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("link refused: {0:?}")]
    Refused(TokenProblem),
    #[error(transparent)]
    Resident(#[from] ResidentError),
}

impl From<sqlx::Error> for ResidentError {
    fn from(e: sqlx::Error) -> Self {
        ResidentError::Store(e.into())
    }
}

impl From<sqlx::Error> for TokenError {
    fn from(e: sqlx::Error) -> Self {
        TokenError::Resident(e.into())
    }
}

impl From<sqlx::Error> for SignInError {
    fn from(e: sqlx::Error) -> Self {
        SignInError::Resident(e.into())
    }
}

impl From<sqlx::Error> for LinkError {
    fn from(e: sqlx::Error) -> Self {
        LinkError::Store(e.into())
    }
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        TokenError::Resident(e.into())
    }
}

/// The e-mails this module sends, as queued.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mail", rename_all = "snake_case")]
pub enum Mail {
    /// Confirm the address (sign-up); `token` sealed.
    Confirm { resident_id: i64, token: String },
    /// A sign-up with an address that already has a confirmed account.
    Exists { resident_id: i64 },
    /// Choose a new password; `token` sealed.
    Reset { resident_id: i64, token: String },
    /// A new bill on an account with e-bills.
    BillReady {
        resident_id: i64,
        receivable_id: i64,
    },
    /// A bill with something still owed is due soon.
    DueSoon {
        resident_id: i64,
        receivable_id: i64,
    },
    /// Autopay will charge a bill: when, how much, on which card.
    AutopayPlanned { resident_id: i64, planned_id: i64 },
    /// A planned charge was declined (and will be tried again on
    /// `retry_on`, if set).
    ChargeDeclined {
        resident_id: i64,
        planned_id: i64,
        retry_on: Option<String>,
    },
    /// A planned charge was not made: `reason` is `over_max`,
    /// `card_removed` or `needs_holder`.
    ChargeNotMade {
        resident_id: i64,
        planned_id: i64,
        reason: String,
    },
    /// City staff turned off two-step sign-in (the resident had lost their
    /// authenticator) and ended every session.
    SecondFactorOff { resident_id: i64 },
}

impl Mail {
    fn resident_id(&self) -> i64 {
        match self {
            Mail::Confirm { resident_id, .. }
            | Mail::Exists { resident_id }
            | Mail::Reset { resident_id, .. }
            | Mail::BillReady { resident_id, .. }
            | Mail::DueSoon { resident_id, .. }
            | Mail::AutopayPlanned { resident_id, .. }
            | Mail::ChargeDeclined { resident_id, .. }
            | Mail::ChargeNotMade { resident_id, .. }
            | Mail::SecondFactorOff { resident_id } => *resident_id,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Mail::Confirm { .. } => "confirm",
            Mail::Exists { .. } => "exists",
            Mail::Reset { .. } => "reset",
            Mail::BillReady { .. } => "bill_ready",
            Mail::DueSoon { .. } => "due_soon",
            Mail::AutopayPlanned { .. } => "autopay_planned",
            Mail::ChargeDeclined { .. } => "charge_declined",
            Mail::ChargeNotMade { .. } => "charge_not_made",
            Mail::SecondFactorOff { .. } => "second_factor_off",
        }
    }
}

fn email_index(app: &App, email: &EmailAddress) -> String {
    app.keys
        .fields
        .blind_index("resident-email", &email.expose().to_lowercase())
}

fn email_context(email_index: &str) -> FieldContext<'_> {
    FieldContext {
        table: "residents",
        column: "email",
        row: email_index,
    }
}

fn token_context(resident: &str) -> FieldContext<'_> {
    FieldContext {
        table: "jobs",
        column: "resident_token",
        row: resident,
    }
}

/// The resident's e-mail address.
pub fn email_of(app: &App, r: &ResidentRow) -> Result<EmailAddress, ResidentError> {
    let plain = app
        .keys
        .fields
        .open(&r.email_enc, &email_context(&r.email_index))
        .map_err(|e| ResidentError::Crypto(e.to_string()))?;
    EmailAddress::parse(&plain).map_err(|e| ResidentError::Crypto(e.to_string()))
}

fn actor(id: i64) -> Actor {
    Actor::Resident {
        session_tag: format!("account-{id}"),
    }
}

async fn record(
    tx: &mut Tx,
    app: &App,
    actor: &Actor,
    (action, target, outcome): (&str, Option<String>, Outcome),
    ip: Option<IpAddr>,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    audit::record(
        tx,
        app.now(),
        Event {
            actor,
            action,
            target,
            outcome,
            source_ip: ip,
            details,
        },
    )
    .await?;
    Ok(())
}

/// Queues an e-mail, once per `dedupe`.
pub async fn enqueue_mail(
    tx: &mut Tx,
    app: &App,
    mail: &Mail,
    dedupe: &str,
) -> Result<(), StoreError> {
    let payload = serde_json::to_string(mail).map_err(|e| StoreError::corrupt(e.to_string()))?;
    store::jobs::enqueue(
        tx,
        &NewJob {
            kind: MAIL_JOB,
            payload: &payload,
            dedupe_key: Some(dedupe),
            run_at: app.now_us(),
            max_attempts: 12,
        },
        app.now_us(),
    )
    .await?;
    Ok(())
}

/// A new single-purpose link for the resident: stores its hash and returns
/// it sealed for the e-mail job. Earlier unused links of the purpose stop
/// working.
async fn new_token(
    tx: &mut Tx,
    app: &App,
    resident_id: i64,
    purpose: Purpose,
) -> Result<String, ResidentError> {
    let now = app.now_us();
    let ttl = match purpose {
        Purpose::Confirm => app.config.accounts.confirm_link_hours * HOUR_US,
        Purpose::Reset => app.config.accounts.reset_link_minutes * MINUTE_US,
    };
    rows::retire_tokens(tx, resident_id, purpose, now).await?;
    let token = random_token(32);
    rows::insert_token(
        tx,
        &sha256_hex(token.as_bytes()),
        resident_id,
        purpose,
        now + ttl,
        now,
    )
    .await?;
    app.keys
        .fields
        .seal(&token, &token_context(&resident_id.to_string()))
        .map_err(|e| ResidentError::Crypto(e.to_string()))
}

/// A new single-purpose link for the resident, e-mailed to them.
async fn send_link(
    tx: &mut Tx,
    app: &App,
    resident_id: i64,
    purpose: Purpose,
) -> Result<(), ResidentError> {
    let token = new_token(tx, app, resident_id, purpose).await?;
    let mail = match purpose {
        Purpose::Confirm => Mail::Confirm { resident_id, token },
        Purpose::Reset => Mail::Reset { resident_id, token },
    };
    let dedupe = format!(
        "resident:{}:{resident_id}:{}",
        purpose.as_str(),
        random_token(8)
    );
    enqueue_mail(tx, app, &mail, &dedupe).await?;
    Ok(())
}

/// Registers the address (or, for an address already registered, e-mails
/// its holder instead). The caller shows the same page either way.
pub async fn sign_up(
    app: &App,
    email: &EmailAddress,
    password: &SecretString,
    locale: Locale,
    ip: Option<IpAddr>,
) -> Result<(), ResidentError> {
    let hash = app
        .hasher
        .hash(password)
        .await
        .map_err(|e| ResidentError::Hash(e.to_string()))?;
    let index = email_index(app, email);
    let sealed = app
        .keys
        .fields
        .seal(email.expose(), &email_context(&index))
        .map_err(|e| ResidentError::Crypto(e.to_string()))?;
    let now = app.now_us();
    let mut tx = app.db.begin().await?;
    let new = rows::NewResident {
        email_index: &index,
        email_enc: &sealed,
        password_hash: &hash,
        locale: locale.code(),
    };
    match rows::insert(&mut tx, &new, now).await? {
        Some(id) => {
            send_link(&mut tx, app, id, Purpose::Confirm).await?;
            let target = Some(format!("resident:{id}"));
            let what = ("resident.signed_up", target, Outcome::Success);
            record(&mut tx, app, &actor(id), what, ip, json!({})).await?;
        }
        None => {
            let existing = rows::by_email_index(&mut *tx, &index)
                .await?
                .ok_or_else(|| StoreError::corrupt("resident vanished during sign-up"))?;
            let id = existing.id;
            if existing.confirmed {
                let mail = Mail::Exists { resident_id: id };
                let dedupe = format!("resident:exists:{id}:{}", random_token(8));
                enqueue_mail(&mut tx, app, &mail, &dedupe).await?;
            } else {
                // Never confirmed: whoever confirms the address now gets
                // the account, with the password chosen last.
                rows::set_password(&mut tx, id, &hash, now).await?;
                rows::set_locale(&mut tx, id, locale.code()).await?;
                send_link(&mut tx, app, id, Purpose::Confirm).await?;
            }
            let what = (
                "resident.sign_up_repeated",
                Some(format!("resident:{id}")),
                Outcome::Failure,
            );
            let details = json!({ "confirmed": existing.confirmed });
            record(&mut tx, app, &Actor::Anonymous, what, ip, details).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Whether a link from an e-mail would be accepted now, without using it.
pub async fn check_token(app: &App, token: &str, purpose: Purpose) -> Result<(), TokenError> {
    let row = rows::token(app.db.reader(), &sha256_hex(token.as_bytes()), purpose).await?;
    match row {
        None => Err(TokenError::Refused(TokenProblem::Unknown)),
        Some(t) if t.used => Err(TokenError::Refused(TokenProblem::Used)),
        Some(t) if t.expires_at <= app.now_us() => Err(TokenError::Refused(TokenProblem::Expired)),
        Some(_) => Ok(()),
    }
}

/// Uses the link once, or says why it cannot be used.
async fn take_token(
    tx: &mut Tx,
    app: &App,
    token: &str,
    purpose: Purpose,
) -> Result<i64, TokenError> {
    let hash = sha256_hex(token.as_bytes());
    if let Some(id) = rows::use_token(tx, &hash, purpose, app.now_us()).await? {
        return Ok(id);
    }
    let problem = match rows::token(&mut **tx, &hash, purpose).await? {
        None => TokenProblem::Unknown,
        Some(t) if t.used => TokenProblem::Used,
        Some(_) => TokenProblem::Expired,
    };
    Err(TokenError::Refused(problem))
}

/// Confirms the address the link was sent to.
pub async fn confirm(app: &App, token: &str, ip: Option<IpAddr>) -> Result<i64, TokenError> {
    let mut tx = app.db.begin().await?;
    let id = take_token(&mut tx, app, token, Purpose::Confirm).await?;
    rows::set_confirmed(&mut tx, id, app.now_us()).await?;
    let what = (
        "resident.email_confirmed",
        Some(format!("resident:{id}")),
        Outcome::Success,
    );
    record(&mut tx, app, &actor(id), what, ip, json!({})).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong e-mail address or password")]
    Invalid,
    /// Too many failures: try again in this many seconds.
    #[error("too many attempts")]
    Throttled(i64),
    /// The password was right but the address was never confirmed; a new
    /// confirmation link is on its way.
    #[error("address not confirmed")]
    Unconfirmed,
    /// The password was right; the authenticator code is asked next.
    #[error("second factor needed")]
    NeedsCode(SignedIn),
    #[error(transparent)]
    Resident(#[from] ResidentError),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        SignInError::Resident(e.into())
    }
}

/// A resident who has just signed in.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn {
    pub id: i64,
    pub epoch: i64,
    pub locale: Locale,
}

fn throttle_keys(app: &App, email: &str, ip: Option<IpAddr>) -> [(String, i64); 2] {
    let account = app
        .keys
        .fields
        .blind_index("resident-signin", &email.trim().to_lowercase());
    let ip = ip
        .map(|i| i.to_string())
        .unwrap_or_else(|| "unknown".into());
    [
        (format!("resident:{account}"), SIGN_IN_FREE_FAILURES),
        (format!("resident-ip:{ip}"), SIGN_IN_FREE_FAILURES_IP),
    ]
}

pub async fn sign_in(
    app: &App,
    email: &str,
    password: &SecretString,
    ip: Option<IpAddr>,
) -> Result<SignedIn, SignInError> {
    let now = app.now_us();
    let keys = throttle_keys(app, email, ip);
    for (key, _) in &keys {
        let (_, blocked_until) = store::staff::throttle(app.db.reader(), key).await?;
        if blocked_until > now {
            let wait = (blocked_until - now + 999_999) / 1_000_000;
            let mut tx = app.db.begin().await?;
            let what = ("resident.sign_in_throttled", None, Outcome::Denied);
            let details = json!({ "wait_seconds": wait });
            record(&mut tx, app, &Actor::Anonymous, what, ip, details).await?;
            tx.commit().await?;
            return Err(SignInError::Throttled(wait));
        }
    }
    let resident = match EmailAddress::parse(email) {
        Ok(e) => rows::by_email_index(app.db.reader(), &email_index(app, &e)).await?,
        Err(_) => None,
    };
    // The same work whether or not the address is registered.
    let ok = app
        .hasher
        .verify(password, resident.as_ref().map(|r| r.password_hash.clone()))
        .await
        .map_err(|e| ResidentError::Hash(e.to_string()))?;
    let mut tx = app.db.begin().await?;
    let outcome = match (ok, &resident) {
        (true, Some(r)) if r.confirmed && r.totp_secret_enc.is_some() => {
            let what = (
                "resident.password_accepted",
                Some(format!("resident:{}", r.id)),
                Outcome::Success,
            );
            record(&mut tx, app, &actor(r.id), what, ip, json!({})).await?;
            Err(SignInError::NeedsCode(SignedIn {
                id: r.id,
                epoch: r.session_epoch,
                locale: Locale::parse(&r.locale).unwrap_or_default(),
            }))
        }
        (true, Some(r)) if r.confirmed => {
            store::staff::clear_throttle(&mut tx, &keys[0].0).await?;
            rows::signed_in(&mut tx, r.id, now).await?;
            let what = (
                "resident.signed_in",
                Some(format!("resident:{}", r.id)),
                Outcome::Success,
            );
            record(&mut tx, app, &actor(r.id), what, ip, json!({})).await?;
            Ok(SignedIn {
                id: r.id,
                epoch: r.session_epoch,
                locale: Locale::parse(&r.locale).unwrap_or_default(),
            })
        }
        (true, Some(r)) => {
            send_link(&mut tx, app, r.id, Purpose::Confirm).await?;
            let what = (
                "resident.sign_in_unconfirmed",
                Some(format!("resident:{}", r.id)),
                Outcome::Denied,
            );
            record(&mut tx, app, &actor(r.id), what, ip, json!({})).await?;
            Err(SignInError::Unconfirmed)
        }
        _ => {
            for (key, free) in &keys {
                let (failures, _) = store::staff::throttle(&mut *tx, key).await?;
                let until = now + crate::services::staff_auth::delay_after(failures + 1, *free);
                store::staff::record_failure(&mut tx, key, until, now).await?;
            }
            let reason = if resident.is_some() {
                "wrong_password"
            } else {
                "unknown_account"
            };
            let what = (
                "resident.sign_in_failed",
                resident.as_ref().map(|r| format!("resident:{}", r.id)),
                Outcome::Failure,
            );
            let details = json!({ "reason": reason });
            record(&mut tx, app, &Actor::Anonymous, what, ip, details).await?;
            Err(SignInError::Invalid)
        }
    };
    tx.commit().await?;
    outcome
}

fn totp_context<'a>(column: &'static str, id: &'a str) -> FieldContext<'a> {
    FieldContext {
        table: "residents",
        column,
        row: id,
    }
}

/// The second step of signing in: a code from the authenticator app,
/// each good once, throttled like the password.
pub async fn second_factor(
    app: &App,
    who: SignedIn,
    code: &str,
    ip: Option<IpAddr>,
) -> Result<SignedIn, SignInError> {
    let now = app.now_us();
    let key = format!("resident-code:{}", who.id);
    let (failures, blocked_until) = store::staff::throttle(app.db.reader(), &key).await?;
    if blocked_until > now {
        return Err(SignInError::Throttled(
            (blocked_until - now + 999_999) / 1_000_000,
        ));
    }
    let Some(r) = current(app, who.id, who.epoch).await? else {
        return Err(SignInError::Invalid);
    };
    let step = match &r.totp_secret_enc {
        Some(sealed) => {
            let secret = open_secret(app, "totp_secret", r.id, sealed)?;
            secret.verify(code, app.now().as_second(), r.totp_last_step)
        }
        None => None,
    };
    let mut tx = app.db.begin().await?;
    let fresh = match step {
        Some(s) => rows::use_totp_step(&mut tx, r.id, s).await?,
        None => false,
    };
    let result = if fresh {
        store::staff::clear_throttle(&mut tx, &key).await?;
        rows::signed_in(&mut tx, r.id, now).await?;
        let what = (
            "resident.signed_in",
            Some(format!("resident:{}", r.id)),
            Outcome::Success,
        );
        record(
            &mut tx,
            app,
            &actor(r.id),
            what,
            ip,
            json!({ "second_factor": "totp" }),
        )
        .await?;
        Ok(who)
    } else {
        let until =
            now + crate::services::staff_auth::delay_after(failures + 1, SIGN_IN_FREE_FAILURES);
        store::staff::record_failure(&mut tx, &key, until, now).await?;
        let what = (
            "resident.second_factor_failed",
            Some(format!("resident:{}", r.id)),
            Outcome::Failure,
        );
        record(&mut tx, app, &Actor::Anonymous, what, ip, json!({})).await?;
        Err(SignInError::Invalid)
    };
    tx.commit().await?;
    result
}

fn open_secret(
    app: &App,
    column: &'static str,
    id: i64,
    sealed: &str,
) -> Result<crate::crypto::totp::TotpSecret, ResidentError> {
    let b32 = app
        .keys
        .fields
        .open(sealed, &totp_context(column, &id.to_string()))
        .map_err(|e| ResidentError::Crypto(e.to_string()))?;
    crate::crypto::totp::TotpSecret::from_base32(&b32)
        .ok_or_else(|| ResidentError::Crypto("bad stored secret".into()))
}

/// Starts setting up the authenticator: a new secret, kept sealed until
/// a code from it confirms it. Returns the secret (base32) and the
/// `otpauth:` URL for the QR code.
pub async fn totp_begin(app: &App, r: &ResidentRow) -> Result<(String, String), ResidentError> {
    let secret = crate::crypto::totp::TotpSecret::generate();
    let sealed = app
        .keys
        .fields
        .seal(
            &secret.base32(),
            &totp_context("totp_pending", &r.id.to_string()),
        )
        .map_err(|e| ResidentError::Crypto(e.to_string()))?;
    let mut tx = app.db.begin().await?;
    rows::set_pending_totp(&mut tx, r.id, &sealed).await?;
    tx.commit().await?;
    let account = email_of(app, r)?;
    Ok((
        secret.base32(),
        secret.otpauth_url(&app.config.city_name, account.expose()),
    ))
}

/// Turns the second factor on once a code from the new secret checks
/// out; `false` if it does not.
pub async fn totp_enable(
    app: &App,
    r: &ResidentRow,
    code: &str,
    ip: Option<IpAddr>,
) -> Result<bool, ResidentError> {
    let Some(sealed) = &r.totp_pending_enc else {
        return Ok(false);
    };
    let secret = open_secret(app, "totp_pending", r.id, sealed)?;
    let Some(step) = secret.verify(code, app.now().as_second(), 0) else {
        return Ok(false);
    };
    let kept = app
        .keys
        .fields
        .seal(
            &secret.base32(),
            &totp_context("totp_secret", &r.id.to_string()),
        )
        .map_err(|e| ResidentError::Crypto(e.to_string()))?;
    let mut tx = app.db.begin().await?;
    rows::set_totp(&mut tx, r.id, Some(&kept), step).await?;
    let what = (
        "resident.second_factor_on",
        Some(format!("resident:{}", r.id)),
        Outcome::Success,
    );
    record(&mut tx, app, &actor(r.id), what, ip, json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

/// Turns the second factor off, with a current code; `false` if the code
/// does not check out.
pub async fn totp_disable(
    app: &App,
    r: &ResidentRow,
    code: &str,
    ip: Option<IpAddr>,
) -> Result<bool, ResidentError> {
    let Some(sealed) = &r.totp_secret_enc else {
        return Ok(false);
    };
    let secret = open_secret(app, "totp_secret", r.id, sealed)?;
    if secret
        .verify(code, app.now().as_second(), r.totp_last_step)
        .is_none()
    {
        return Ok(false);
    }
    let mut tx = app.db.begin().await?;
    rows::set_totp(&mut tx, r.id, None, 0).await?;
    let what = (
        "resident.second_factor_off",
        Some(format!("resident:{}", r.id)),
        Outcome::Success,
    );
    record(&mut tx, app, &actor(r.id), what, ip, json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

/// The resident a session names, if the account still accepts that
/// session (confirmed, and no password reset since it signed in).
pub async fn current(app: &App, id: i64, epoch: i64) -> Result<Option<ResidentRow>, ResidentError> {
    Ok(rows::by_id(app.db.reader(), id)
        .await?
        .filter(|r| r.confirmed && r.session_epoch == epoch))
}

/// Sends a reset link if the address is registered; says nothing either
/// way.
pub async fn request_reset(
    app: &App,
    email: &EmailAddress,
    ip: Option<IpAddr>,
) -> Result<(), ResidentError> {
    let index = email_index(app, email);
    let mut tx = app.db.begin().await?;
    match rows::by_email_index(&mut *tx, &index).await? {
        Some(r) => {
            send_link(&mut tx, app, r.id, Purpose::Reset).await?;
            let what = (
                "resident.reset_requested",
                Some(format!("resident:{}", r.id)),
                Outcome::Success,
            );
            record(&mut tx, app, &Actor::Anonymous, what, ip, json!({})).await?;
        }
        None => {
            let what = ("resident.reset_requested", None, Outcome::Failure);
            let details = json!({ "reason": "unknown_account" });
            record(&mut tx, app, &Actor::Anonymous, what, ip, details).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Sets a new password with a reset link. Every session signed in before
/// ends; the one returned is the caller's new one. Following the link
/// also proves the address, so an unconfirmed account is confirmed.
pub async fn reset_password(
    app: &App,
    token: &str,
    password: &SecretString,
    ip: Option<IpAddr>,
) -> Result<SignedIn, TokenError> {
    check_token(app, token, Purpose::Reset).await?;
    let hash = app
        .hasher
        .hash(password)
        .await
        .map_err(|e| ResidentError::Hash(e.to_string()))?;
    let now = app.now_us();
    let mut tx = app.db.begin().await?;
    let id = take_token(&mut tx, app, token, Purpose::Reset).await?;
    rows::set_password(&mut tx, id, &hash, now).await?;
    rows::set_confirmed(&mut tx, id, now).await?;
    rows::retire_tokens(&mut tx, id, Purpose::Reset, now).await?;
    let r = rows::by_id(&mut *tx, id)
        .await?
        .ok_or_else(|| StoreError::corrupt("resident vanished during reset"))?;
    let what = (
        "resident.password_reset",
        Some(format!("resident:{id}")),
        Outcome::Success,
    );
    record(&mut tx, app, &actor(id), what, ip, json!({})).await?;
    tx.commit().await?;
    Ok(SignedIn {
        id,
        epoch: r.session_epoch,
        locale: Locale::parse(&r.locale).unwrap_or_default(),
    })
}

/// Ends the session (audited; the caller forgets it).
pub async fn sign_out(app: &App, id: i64, ip: Option<IpAddr>) -> Result<(), StoreError> {
    let mut tx = app.db.begin().await?;
    let what = (
        "resident.signed_out",
        Some(format!("resident:{id}")),
        Outcome::Success,
    );
    record(&mut tx, app, &actor(id), what, ip, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the form has errors")]
    Invalid {
        account: Option<AccountError>,
        verifier: Option<domain::verifier::VerifierError>,
        last_bill: Option<domain::money::AmountError>,
    },
    /// No account matches what was typed (an unknown number and a wrong
    /// proof are not told apart).
    #[error("no matching account")]
    NoMatch,
    /// Too many wrong proofs this hour.
    #[error("too many attempts")]
    Throttled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Links the account the proof names to the resident. `Ok(false)`: it was
/// linked already.
pub async fn link(
    app: &App,
    resident: &ResidentRow,
    dept: &Department,
    account: &str,
    verifier: (&str, &str),
    last_bill: &str,
    ip: Option<IpAddr>,
) -> Result<bool, LinkError> {
    let now = app.now_us();
    if resident.link_failures >= LINK_FAILURES_ALLOWED
        && resident.link_failures_since > now - HOUR_US
    {
        let mut tx = app.db.begin().await?;
        let what = (
            "resident.link_throttled",
            Some(format!("resident:{}", resident.id)),
            Outcome::Denied,
        );
        let details = json!({ "department": dept.id.as_str() });
        record(&mut tx, app, &actor(resident.id), what, ip, details).await?;
        tx.commit().await?;
        return Err(LinkError::Throttled);
    }
    let amount = match dept.link_proof {
        LinkProof::Verifier => Ok(None),
        LinkProof::VerifierAndLastBill => Cents::parse_dollars(last_bill).map(Some),
    };
    let found = find_account(app, dept, account, verifier).await;
    let (found, amount) = match (found, amount) {
        (Err(LookupError::Invalid { account, verifier }), amount) => {
            return Err(LinkError::Invalid {
                account,
                verifier,
                last_bill: amount.err(),
            });
        }
        (_, Err(e)) => {
            return Err(LinkError::Invalid {
                account: None,
                verifier: None,
                last_bill: Some(e),
            });
        }
        (Err(LookupError::Store(e)), _) => return Err(e.into()),
        (found, Ok(amount)) => (found.ok(), amount),
    };
    // The last bill is read whether or not the account was found, so both
    // answers take the same work.
    let last = rows::last_bill_cents(app.db.reader(), found.unwrap_or(0)).await?;
    let proved = match (found, amount) {
        (Some(_), None) => true,
        (Some(_), Some(typed)) => last.is_some_and(|c| {
            constant_time_eq(c.to_string().as_bytes(), typed.get().to_string().as_bytes())
        }),
        (None, _) => false,
    };
    let mut tx = app.db.begin().await?;
    let result = match found {
        Some(account_id) if proved => {
            let added = rows::insert_link(&mut tx, resident.id, account_id, now).await?;
            let what = (
                "resident.account_linked",
                Some(format!("service_account:{account_id}")),
                Outcome::Success,
            );
            let details =
                json!({ "department": dept.id.as_str(), "resident": resident.id, "new": added });
            record(&mut tx, app, &actor(resident.id), what, ip, details).await?;
            Ok(added)
        }
        _ => {
            rows::link_failed(&mut tx, resident.id, now, HOUR_US).await?;
            let what = (
                "resident.link_failed",
                Some(format!("resident:{}", resident.id)),
                Outcome::Failure,
            );
            let details = json!({ "department": dept.id.as_str() });
            record(&mut tx, app, &actor(resident.id), what, ip, details).await?;
            Err(LinkError::NoMatch)
        }
    };
    tx.commit().await?;
    result
}

/// Removes one of the resident's links; `false` if it was not theirs.
pub async fn unlink(
    app: &App,
    resident_id: i64,
    link_id: i64,
    ip: Option<IpAddr>,
) -> Result<bool, StoreError> {
    let mut tx = app.db.begin().await?;
    // Nothing is charged on an account no longer linked.
    let why = (true, "account unlinked");
    store::wallet::cancel_planned_for_link(&mut tx, resident_id, link_id, why, app.now_us())
        .await?;
    let Some(account_id) = rows::delete_link(&mut tx, resident_id, link_id).await? else {
        return Ok(false);
    };
    let what = (
        "resident.account_unlinked",
        Some(format!("service_account:{account_id}")),
        Outcome::Success,
    );
    let details = json!({ "resident": resident_id });
    record(&mut tx, app, &actor(resident_id), what, ip, details).await?;
    tx.commit().await?;
    Ok(true)
}

/// E-bills on or off for one link.
pub async fn set_paperless(
    app: &App,
    resident_id: i64,
    link_id: i64,
    on: bool,
    (via, ip): (&str, Option<IpAddr>),
) -> Result<bool, StoreError> {
    let mut tx = app.db.begin().await?;
    let changed = rows::set_paperless(&mut tx, resident_id, link_id, on, app.now_us()).await?;
    if changed {
        let action = if on {
            "resident.paperless_on"
        } else {
            "resident.paperless_off"
        };
        let what = (
            action,
            Some(format!("resident:{resident_id}")),
            Outcome::Success,
        );
        let details = json!({ "link": link_id, "via": via });
        record(&mut tx, app, &actor(resident_id), what, ip, details).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// The token in an e-mail's unsubscribe link: the link id and a keyed
/// digest of it (it works without signing in, and only for that link).
pub fn unsubscribe_token(app: &App, link_id: i64) -> String {
    let mac = app
        .keys
        .fields
        .blind_index("unsubscribe", &link_id.to_string());
    format!("{link_id}.{}", &mac[..32.min(mac.len())])
}

/// The link an unsubscribe token names, if the token is genuine.
pub fn unsubscribe_link(app: &App, token: &str) -> Option<i64> {
    let (id, _) = token.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    let expected = unsubscribe_token(app, id);
    constant_time_eq(expected.as_bytes(), token.as_bytes()).then_some(id)
}

/// Turns e-bills off for the link an e-mail's unsubscribe token names.
/// `false` when the token is not genuine or the link is gone.
pub async fn unsubscribe(app: &App, token: &str, ip: Option<IpAddr>) -> Result<bool, StoreError> {
    let Some(link_id) = unsubscribe_link(app, token) else {
        return Ok(false);
    };
    let Some(owner) = rows::link_owner(app.db.reader(), link_id).await? else {
        return Ok(false);
    };
    set_paperless(app, owner, link_id, false, ("unsubscribe", ip)).await?;
    Ok(true)
}

/// Queues the e-bill and reminder e-mails now due; each is queued once
/// (several nodes may run this: the notice's key decides).
pub async fn queue_notices(app: &App) -> Result<usize, StoreError> {
    let today = crate::services::close::today(app);
    let days = app.config.accounts.reminder_days;
    let until = (days > 0)
        .then(|| today.checked_add(jiff::Span::new().days(days)).ok())
        .flatten()
        .map(|d| d.to_string());
    let now = app.now_us();
    let mut tx = app.db.begin().await?;
    let due = rows::notices_due(&mut tx, (&today.to_string(), until.as_deref()), 500).await?;
    let mut queued = 0;
    for n in &due {
        if !rows::insert_notice(&mut tx, n, now).await? {
            continue;
        }
        let mail = match n.kind {
            "bill_ready" => Mail::BillReady {
                resident_id: n.resident_id,
                receivable_id: n.receivable_id,
            },
            _ => Mail::DueSoon {
                resident_id: n.resident_id,
                receivable_id: n.receivable_id,
            },
        };
        let key = format!("resident:{}:{}:{}", n.kind, n.resident_id, n.receivable_id);
        enqueue_mail(&mut tx, app, &mail, &key).await?;
        queued += 1;
    }
    tx.commit().await?;
    Ok(queued)
}

pub mod mail;
pub mod support;

/// Sends one queued e-mail (the job's handler). A bill e-mail whose
/// reason has gone (unlinked, e-bills off, already paid) is dropped.
pub async fn send_mail(app: &App, payload: &str) -> Result<(), String> {
    let mail: Mail = serde_json::from_str(payload).map_err(|e| format!("bad payload: {e}"))?;
    let Some(resident) = rows::by_id(app.db.reader(), mail.resident_id())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let Some(rendered) = mail::render(app, &resident, &mail).await? else {
        return Ok(());
    };
    let to = email_of(app, &resident).map_err(|e| e.to_string())?;
    if let Err(e) = app.mailer.send(&to, rendered).await {
        app.metrics.emails_failed.inc();
        return Err(e.to_string());
    }
    app.metrics.emails_sent.inc();
    let mut tx = app.db.begin().await.map_err(|e| e.to_string())?;
    let what = (
        "resident.emailed",
        Some(format!("resident:{}", resident.id)),
        Outcome::Success,
    );
    let details = json!({ "mail": mail.kind() });
    record(&mut tx, app, &Actor::System("mailer"), what, None, details)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Opens a token sealed for the e-mail job.
fn open_token(app: &App, resident_id: i64, sealed: &str) -> Result<String, String> {
    app.keys
        .fields
        .open(sealed, &token_context(&resident_id.to_string()))
        .map_err(|e| format!("cannot open the link: {e}"))
}
