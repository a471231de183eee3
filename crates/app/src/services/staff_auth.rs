//! Staff accounts: invitation, enrolment (password and authenticator),
//! sign-in with a code every time, sessions, throttling and disabling.

use std::net::IpAddr;

use domain::personal::EmailAddress;
use secrecy::SecretString;
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::crypto::fields::FieldContext;
use crate::crypto::totp::TotpSecret;
use crate::crypto::{random_token, sha256_hex};
use crate::staff::password::{PasswordProblem, check_new_password};
use crate::staff::roles::Role;
use crate::store::{self, StoreError, staff::StaffRow};

/// How long an enrolment link works.
const ENROL_TTL_US: i64 = 24 * 3600 * 1_000_000;
/// Failures of one account before each further attempt must wait.
const ACCOUNT_FREE_FAILURES: i64 = 4;
/// Failures from one address before each further attempt must wait.
const IP_FREE_FAILURES: i64 = 20;
/// The longest wait between attempts.
const MAX_DELAY_US: i64 = 15 * 60 * 1_000_000;
const RECOVERY_CODES: usize = 10;

/// A member of staff with a live session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub session_hash: String,
}

impl SignedIn {
    pub fn actor(&self) -> Actor {
        Actor::Staff {
            id: self.id,
            email: self.email.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("{0}")]
    InvalidEmail(String),
    #[error("a member of staff with that e-mail address already exists")]
    Exists,
    #[error("no such member of staff")]
    NotFound,
    #[error("you cannot disable your own account")]
    OwnAccount,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for StaffError {
    fn from(e: sqlx::Error) -> Self {
        StaffError::Store(StoreError::from(e))
    }
}

fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn enrol_link(app: &App, token: &str) -> String {
    app.config.staff_url(&format!("/enrol/{token}"))
}

/// Creates a member of staff and returns their id and one-time enrolment
/// link (valid 24 hours).
pub async fn add_staff(
    app: &App,
    email: &str,
    role: Role,
    actor: &Actor,
    ip: Option<IpAddr>,
) -> Result<(i64, String), StaffError> {
    let email = EmailAddress::parse(email).map_err(|e| StaffError::InvalidEmail(e.to_string()))?;
    let email = email.expose().to_lowercase();
    let now = app.now_us();
    let mut tx = app.db.begin().await?;
    if store::staff::user_by_email(&mut *tx, &email)
        .await?
        .is_some()
    {
        return Err(StaffError::Exists);
    }
    let id = store::staff::insert_user(&mut tx, &email, role.as_str(), now).await?;
    let token = random_token(32);
    store::staff::insert_enrolment(&mut tx, &token_hash(&token), id, now, now + ENROL_TTL_US)
        .await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "staff.added",
            target: Some(format!("staff:{id}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "email": email, "role": role.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((id, enrol_link(app, &token)))
}

/// A fresh enrolment link (the old one stops working); the account must
/// enrol again before it can sign in.
pub async fn reinvite(
    app: &App,
    who: &SignedIn,
    staff_id: i64,
    ip: Option<IpAddr>,
) -> Result<String, StaffError> {
    reissue(app, &who.actor(), staff_id, ip).await
}

/// The same, from the command line or the demo.
pub async fn reissue_link(app: &App, staff_id: i64, actor: &Actor) -> Result<String, StaffError> {
    reissue(app, actor, staff_id, None).await
}

async fn reissue(
    app: &App,
    actor: &Actor,
    staff_id: i64,
    ip: Option<IpAddr>,
) -> Result<String, StaffError> {
    let now = app.now_us();
    let mut tx = app.db.begin().await?;
    let user = store::staff::user_by_id(&mut *tx, staff_id)
        .await?
        .ok_or(StaffError::NotFound)?;
    let token = random_token(32);
    store::staff::insert_enrolment(
        &mut tx,
        &token_hash(&token),
        staff_id,
        now,
        now + ENROL_TTL_US,
    )
    .await?;
    store::staff::set_status(&mut tx, staff_id, "invited", now).await?;
    store::staff::end_all_sessions(&mut tx, staff_id).await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "staff.reinvited",
            target: Some(format!("staff:{staff_id}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "email": user.email }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(enrol_link(app, &token))
}

pub async fn set_disabled(
    app: &App,
    who: &SignedIn,
    staff_id: i64,
    disabled: bool,
    ip: Option<IpAddr>,
) -> Result<(), StaffError> {
    if staff_id == who.id {
        return Err(StaffError::OwnAccount);
    }
    let mut tx = app.db.begin().await?;
    let user = store::staff::user_by_id(&mut *tx, staff_id)
        .await?
        .ok_or(StaffError::NotFound)?;
    let (to, action) = if disabled {
        ("disabled", "staff.disabled")
    } else if user.password_hash.is_some() {
        ("active", "staff.enabled")
    } else {
        ("invited", "staff.enabled")
    };
    let changed = store::staff::set_status(&mut tx, staff_id, to, app.now_us()).await?;
    let ended = if disabled {
        store::staff::end_all_sessions(&mut tx, staff_id).await?
    } else {
        0
    };
    if changed {
        audit::record(
            &mut tx,
            app.now(),
            Event {
                actor: &who.actor(),
                action,
                target: Some(format!("staff:{staff_id}")),
                outcome: Outcome::Success,
                source_ip: ip,
                details: json!({ "email": user.email, "sessions_ended": ended }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("this enrolment link is not valid")]
    Unknown,
    #[error("this enrolment link has expired")]
    Expired,
    #[error("this enrolment link has already been used")]
    Used,
    #[error("the form has errors")]
    Invalid {
        password: Option<String>,
        code: Option<String>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for EnrolError {
    fn from(e: sqlx::Error) -> Self {
        EnrolError::Store(StoreError::from(e))
    }
}

pub struct Enrolment {
    pub email: String,
    pub secret: TotpSecret,
}

fn pending_context(hash: &str) -> FieldContext<'_> {
    FieldContext {
        table: "staff_enrolments",
        column: "pending_totp",
        row: hash,
    }
}

fn totp_context(staff_id: &str) -> FieldContext<'_> {
    FieldContext {
        table: "staff_users",
        column: "totp_secret",
        row: staff_id,
    }
}

/// What the enrolment page shows: the account and the authenticator secret
/// to scan (created on first view, kept until the link is used).
pub async fn enrolment(app: &App, token: &str) -> Result<Enrolment, EnrolError> {
    let hash = token_hash(token);
    let row = store::staff::enrolment(app.db.reader(), &hash)
        .await?
        .ok_or(EnrolError::Unknown)?;
    if row.used_at.is_some() {
        return Err(EnrolError::Used);
    }
    if row.expires_at <= app.now_us() {
        return Err(EnrolError::Expired);
    }
    let user = store::staff::user_by_id(app.db.reader(), row.staff_id)
        .await?
        .ok_or(EnrolError::Unknown)?;
    if user.status == "disabled" {
        return Err(EnrolError::Unknown);
    }
    let fields = &app.keys.fields;
    if row.pending_totp_enc.is_none() {
        let secret = TotpSecret::generate();
        let sealed = fields
            .seal(&secret.base32(), &pending_context(&hash))
            .map_err(|e| EnrolError::Internal(e.to_string()))?;
        let mut tx = app.db.begin().await?;
        store::staff::set_pending_totp(&mut tx, &hash, &sealed).await?;
        tx.commit().await?;
    }
    // Read back: two first views at once keep whichever secret won.
    let row = store::staff::enrolment(app.db.reader(), &hash)
        .await?
        .ok_or(EnrolError::Unknown)?;
    let sealed = row.pending_totp_enc.ok_or(EnrolError::Unknown)?;
    let b32 = fields
        .open(&sealed, &pending_context(&hash))
        .map_err(|e| EnrolError::Internal(e.to_string()))?;
    let secret = TotpSecret::from_base32(&b32)
        .ok_or_else(|| EnrolError::Internal("bad stored secret".into()))?;
    Ok(Enrolment {
        email: user.email,
        secret,
    })
}

/// Sets the password and authenticator; returns the recovery codes, shown
/// once.
pub async fn complete_enrolment(
    app: &App,
    token: &str,
    password: &SecretString,
    confirm: &SecretString,
    code: &str,
    ip: Option<IpAddr>,
) -> Result<Vec<String>, EnrolError> {
    use secrecy::ExposeSecret;
    let e = enrolment(app, token).await?;
    let password_problem =
        check_new_password(password.expose_secret(), confirm.expose_secret(), &e.email)
            .err()
            .map(|p: PasswordProblem| p.to_string());
    let now_s = app.now().as_second();
    let step = e.secret.verify(code, now_s, 0);
    let code_problem = step
        .is_none()
        .then(|| "the code does not match: check the time on your phone and enter the current 6-digit code".to_owned());
    if password_problem.is_some() || code_problem.is_some() {
        return Err(EnrolError::Invalid {
            password: password_problem,
            code: code_problem,
        });
    }
    let hash = app
        .hasher
        .hash(password)
        .await
        .map_err(|e| EnrolError::Internal(e.to_string()))?;
    let hash_token = token_hash(token);
    let row = store::staff::enrolment(app.db.reader(), &hash_token)
        .await?
        .ok_or(EnrolError::Unknown)?;
    let staff_id = row.staff_id;
    let id_text = staff_id.to_string();
    let sealed = app
        .keys
        .fields
        .seal(&e.secret.base32(), &totp_context(&id_text))
        .map_err(|e| EnrolError::Internal(e.to_string()))?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| recovery_hash(app, staff_id, c))
        .collect();
    let mut tx = app.db.begin().await?;
    if !store::staff::use_enrolment(&mut tx, &hash_token, app.now_us()).await? {
        return Err(EnrolError::Used);
    }
    store::staff::activate(
        &mut tx,
        staff_id,
        &hash,
        &sealed,
        step.unwrap_or(0),
        app.now_us(),
    )
    .await?;
    store::staff::replace_recovery_codes(&mut tx, staff_id, &hashes).await?;
    store::staff::end_all_sessions(&mut tx, staff_id).await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &Actor::Staff {
                id: staff_id,
                email: e.email.clone(),
            },
            action: "staff.enrolled",
            target: Some(format!("staff:{staff_id}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "recovery_codes": RECOVERY_CODES }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

fn new_recovery_code() -> String {
    let raw = crate::crypto::totp::base32_encode(&crate::crypto::random_bytes::<7>());
    format!("{}-{}", &raw[..5], &raw[5..10]).to_lowercase()
}

fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_uppercase()
}

fn recovery_hash(app: &App, staff_id: i64, code: &str) -> String {
    app.keys
        .fields
        .blind_index(&format!("recovery:{staff_id}"), &normalise_recovery(code))
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the e-mail address, password or code is not right")]
    Invalid,
    #[error("too many attempts; try again in {0} seconds")]
    Throttled(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for SignInError {
    fn from(e: sqlx::Error) -> Self {
        SignInError::Store(StoreError::from(e))
    }
}

fn account_key(app: &App, email: &str) -> String {
    format!(
        "account:{}",
        app.keys
            .fields
            .blind_index("signin", &email.trim().to_lowercase())
    )
}

fn ip_key(ip: Option<IpAddr>) -> String {
    format!(
        "ip:{}",
        ip.map(|i| i.to_string())
            .unwrap_or_else(|| "unknown".into())
    )
}

pub(crate) fn delay_after(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = u32::try_from((failures - free).min(20)).unwrap_or(20);
    (2_000_000i64.saturating_mul(1 << doublings)).min(MAX_DELAY_US)
}

/// A new session id for the cookie (rotated: never the pre-sign-in one).
pub struct NewSession {
    pub cookie_value: String,
    pub user: SignedIn,
}

pub async fn sign_in(
    app: &App,
    email: &str,
    password: &SecretString,
    code: &str,
    ip: Option<IpAddr>,
) -> Result<NewSession, SignInError> {
    let now = app.now_us();
    let akey = account_key(app, email);
    let ikey = ip_key(ip);
    for key in [&akey, &ikey] {
        let (_, blocked_until) = store::staff::throttle(app.db.reader(), key).await?;
        if blocked_until > now {
            let wait = (blocked_until - now + 999_999) / 1_000_000;
            let mut tx = app.db.begin().await?;
            audit::record(
                &mut tx,
                app.now(),
                Event {
                    actor: &Actor::Anonymous,
                    action: "staff.sign_in_throttled",
                    target: None,
                    outcome: Outcome::Denied,
                    source_ip: ip,
                    details: json!({ "wait_seconds": wait }),
                },
            )
            .await?;
            tx.commit().await?;
            return Err(SignInError::Throttled(wait));
        }
    }
    let email_norm = email.trim().to_lowercase();
    let user = store::staff::user_by_email(app.db.reader(), &email_norm).await?;
    let active = user.as_ref().filter(|u| u.status == "active");
    let stored = active.and_then(|u| u.password_hash.clone());
    let password_ok = app
        .hasher
        .verify(password, stored)
        .await
        .map_err(|e| SignInError::Internal(e.to_string()))?;
    let mut second_factor = None;
    if let (true, Some(u)) = (password_ok, active) {
        second_factor = check_second_factor(app, u, code).await?;
    }
    match (password_ok, active, second_factor) {
        (true, Some(u), Some(method)) => {
            let cookie_value = random_token(32);
            let session_hash = sha256_hex(cookie_value.as_bytes());
            let absolute = i64::try_from(app.config.staff_absolute.as_micros()).unwrap_or(i64::MAX);
            let ip_text = ip.map(|i| i.to_string());
            let mut tx = app.db.begin().await?;
            store::staff::insert_session(
                &mut tx,
                &session_hash,
                u.id,
                now,
                now + absolute,
                ip_text.as_deref(),
            )
            .await?;
            store::staff::clear_throttle(&mut tx, &akey).await?;
            audit::record(
                &mut tx,
                app.now(),
                Event {
                    actor: &Actor::Staff {
                        id: u.id,
                        email: u.email.clone(),
                    },
                    action: "staff.signed_in",
                    target: Some(format!("staff:{}", u.id)),
                    outcome: Outcome::Success,
                    source_ip: ip,
                    details: json!({ "second_factor": method }),
                },
            )
            .await?;
            tx.commit().await?;
            let role =
                Role::parse(&u.role).ok_or_else(|| SignInError::Internal("unknown role".into()))?;
            Ok(NewSession {
                cookie_value,
                user: SignedIn {
                    id: u.id,
                    email: u.email.clone(),
                    role,
                    session_hash,
                },
            })
        }
        _ => {
            let mut tx = app.db.begin().await?;
            let mut locked = false;
            for (key, free) in [(&akey, ACCOUNT_FREE_FAILURES), (&ikey, IP_FREE_FAILURES)] {
                let (failures, _) = store::staff::throttle(&mut *tx, key).await?;
                let blocked_until = now + delay_after(failures + 1, free);
                store::staff::record_failure(&mut tx, key, blocked_until, now).await?;
                locked |= failures + 1 == free;
            }
            let reason = match (password_ok, user.as_ref()) {
                (_, None) => "unknown_account",
                (_, Some(u)) if u.status != "active" => "inactive_account",
                (false, _) => "wrong_password",
                (true, _) => "wrong_code",
            };
            audit::record(
                &mut tx,
                app.now(),
                Event {
                    actor: &Actor::Anonymous,
                    action: "staff.sign_in_failed",
                    target: user.as_ref().map(|u| format!("staff:{}", u.id)),
                    outcome: Outcome::Failure,
                    source_ip: ip,
                    details: json!({ "reason": reason }),
                },
            )
            .await?;
            if locked {
                audit::record(
                    &mut tx,
                    app.now(),
                    Event {
                        actor: &Actor::Anonymous,
                        action: "staff.locked_out",
                        target: user.as_ref().map(|u| format!("staff:{}", u.id)),
                        outcome: Outcome::Denied,
                        source_ip: ip,
                        details: json!({ "until_seconds": delay_after(ACCOUNT_FREE_FAILURES, ACCOUNT_FREE_FAILURES) / 1_000_000 }),
                    },
                )
                .await?;
            }
            tx.commit().await?;
            Err(SignInError::Invalid)
        }
    }
}

/// A 6-digit authenticator code (each good once) or a recovery code
/// (each good once). Returns which one worked.
async fn check_second_factor(
    app: &App,
    u: &StaffRow,
    code: &str,
) -> Result<Option<&'static str>, SignInError> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let Some(sealed) = &u.totp_secret_enc else {
            return Ok(None);
        };
        let id_text = u.id.to_string();
        let b32 = app
            .keys
            .fields
            .open(sealed, &totp_context(&id_text))
            .map_err(|e| SignInError::Internal(e.to_string()))?;
        let secret = TotpSecret::from_base32(&b32)
            .ok_or_else(|| SignInError::Internal("bad stored secret".into()))?;
        let Some(step) = secret.verify(&digits, app.now().as_second(), u.totp_last_step) else {
            return Ok(None);
        };
        let mut tx = app.db.begin().await?;
        let fresh = store::staff::use_totp_step(&mut tx, u.id, step).await?;
        tx.commit().await?;
        return Ok(fresh.then_some("totp"));
    }
    if normalise_recovery(code).len() == 10 {
        let mut tx = app.db.begin().await?;
        let ok = store::staff::use_recovery_code(
            &mut tx,
            u.id,
            &recovery_hash(app, u.id, code),
            app.now_us(),
        )
        .await?;
        tx.commit().await?;
        return Ok(ok.then_some("recovery_code"));
    }
    Ok(None)
}

/// The member of staff behind a session cookie, if the session is live.
pub async fn session(app: &App, cookie_value: &str) -> Result<Option<SignedIn>, StoreError> {
    let hash = sha256_hex(cookie_value.as_bytes());
    let now = app.now_us();
    let idle = i64::try_from(app.config.staff_idle.as_micros()).unwrap_or(i64::MAX);
    let Some((user, seen)) = store::staff::live_session(app.db.reader(), &hash, now, idle).await?
    else {
        return Ok(None);
    };
    // Refresh the idle clock at most every 20 seconds.
    if now - seen > 20_000_000 {
        let mut tx = app.db.begin().await?;
        store::staff::touch_session(&mut tx, &hash, now).await?;
        tx.commit().await?;
    }
    let Some(role) = Role::parse(&user.role) else {
        return Ok(None);
    };
    Ok(Some(SignedIn {
        id: user.id,
        email: user.email,
        role,
        session_hash: hash,
    }))
}

pub async fn sign_out(
    app: &App,
    who: &SignedIn,
    everywhere: bool,
    ip: Option<IpAddr>,
) -> Result<(), StoreError> {
    let mut tx = app.db.begin().await?;
    let ended = if everywhere {
        store::staff::end_all_sessions(&mut tx, who.id).await?
    } else {
        store::staff::end_session(&mut tx, &who.session_hash).await?;
        1
    };
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &who.actor(),
            action: if everywhere {
                "staff.signed_out_everywhere"
            } else {
                "staff.signed_out"
            },
            target: Some(format!("staff:{}", who.id)),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "sessions_ended": ended }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        assert_eq!(delay_after(3, 4), 0);
        assert_eq!(delay_after(4, 4), 2_000_000);
        assert_eq!(delay_after(5, 4), 4_000_000);
        assert_eq!(delay_after(30, 4), MAX_DELAY_US);
    }

    #[test]
    fn recovery_codes_look_right() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 11);
        assert_eq!(&c[5..6], "-");
        assert_eq!(normalise_recovery(&c).len(), 10);
        assert_eq!(normalise_recovery(" abcde-FGHIJ "), "ABCDEFGHIJ");
    }
}
