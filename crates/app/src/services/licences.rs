//! Business licences: the licensing system's file of licences, online
//! renewal (a declaration, the fee worked out by the department's schedule,
//! a bill paid like any other), and, once the payment is captured, the
//! licence's new expiry and a certificate whose code anyone can check on
//! the public verification page.

use std::collections::HashSet;

use domain::Cents;
use domain::licence_fee::{Declaration, Fee, FeeError, LineKind};
use domain::personal::{PersonName, PostalAddress};
use domain::receivable::{AccountNumber, parse_iso_date};
use domain::verifier::{Verifier, VerifierKind};
use jiff::civil::Date;
use serde_json::json;
use sqlx::Row;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::{Department, LicenceRules};
use crate::crypto::fields::FieldContext;
use crate::i18n::Locale;
use crate::services::lookup::verifier_purpose;
use crate::store::receivables::AccountWrite;
use crate::store::{self, StoreError, Tx};

/// The columns of a licences file.
pub const COLUMNS: [&str; 5] = [
    "licence_number",
    "business_name",
    "business_address",
    "category",
    "expires_on",
];

#[derive(Debug, thiserror::Error)]
pub enum LicenceError {
    #[error("{file}: {} problem(s); nothing was imported", .errors.len())]
    Invalid { file: String, errors: Vec<String> },
    #[error("department {0} has no [licences] rules")]
    NotLicensing(String),
    #[error("cannot encrypt personal data: {0}")]
    Crypto(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for LicenceError {
    fn from(e: sqlx::Error) -> Self {
        LicenceError::Store(StoreError::from(e))
    }
}

struct LicenceRow {
    number: AccountNumber,
    name: PersonName,
    address: PostalAddress,
    category: String,
    expires_on: Date,
}

fn rules(dept: &Department) -> Result<&LicenceRules, LicenceError> {
    dept.licences
        .as_ref()
        .ok_or_else(|| LicenceError::NotLicensing(dept.id.as_str().to_owned()))
}

/// Reads a licences file; every problem with its line and column.
fn parse_file(text: &str, dept: &Department, file: &str) -> Result<Vec<LicenceRow>, LicenceError> {
    let rules = rules(dept)?;
    let invalid = |errors: Vec<String>| LicenceError::Invalid {
        file: file.to_owned(),
        errors,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(vec![format!("line 1: cannot read the header row: {e}")]))?
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    let mut at = [usize::MAX; 5];
    let mut errors = Vec::new();
    for (i, h) in header.iter().enumerate() {
        match COLUMNS.iter().position(|c| c == h) {
            Some(k) => at[k] = i,
            None => errors.push(format!(
                "line 1: unknown column {h:?}; the columns are {}",
                COLUMNS.join(", ")
            )),
        }
    }
    for (k, pos) in at.iter().enumerate() {
        if *pos == usize::MAX {
            errors.push(format!("line 1: missing column {}", COLUMNS[k]));
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(format!("line {line}: malformed CSV ({e})"));
                break;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |k: usize| record.get(at[k]).unwrap_or("");
        let mut problem = |k: usize, why: String| {
            errors.push(format!("line {line}, column {}: {why}", COLUMNS[k]));
        };
        let number = match AccountNumber::parse(get(0)) {
            Ok(n) => match &dept.account_format {
                Some(f) if !f.matches(n.as_str()) => {
                    problem(0, format!("not in the department's format {}", f.as_str()));
                    None
                }
                _ => Some(n),
            },
            Err(e) => {
                problem(0, e.to_string());
                None
            }
        };
        if let Some(n) = &number
            && !seen.insert(n.as_str().to_owned())
        {
            problem(0, format!("licence {} appears twice", n.as_str()));
        }
        let name = PersonName::parse(get(1))
            .map_err(|e| problem(1, e.to_string()))
            .ok();
        let address = PostalAddress::parse(get(2))
            .map_err(|e| problem(2, e.to_string()))
            .ok();
        let category = get(3).to_lowercase();
        if !rules.schedule.categories.contains_key(&category) {
            let known: Vec<&str> = rules
                .schedule
                .categories
                .keys()
                .map(String::as_str)
                .collect();
            problem(
                3,
                format!(
                    "unknown category {category:?}; the categories are {}",
                    known.join(", ")
                ),
            );
        }
        let expires_on = parse_iso_date(get(4))
            .map_err(|_| {
                problem(
                    4,
                    format!("expected a date like 2026-12-31 (got {:?})", get(4)),
                )
            })
            .ok();
        if let (Some(number), Some(name), Some(address), Some(expires_on)) =
            (number, name, address, expires_on)
        {
            rows.push(LicenceRow {
                number,
                name,
                address,
                category,
                expires_on,
            });
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(invalid(errors))
    }
}

/// Imports the licensing system's licences file, all or nothing. The
/// business name is the verifier a holder types to find the licence. An
/// expiry earlier than the one on record (renewed online since the file
/// was written) never moves it back.
pub async fn import_licences(
    app: &App,
    dept: &Department,
    text: &str,
    file: &str,
    actor: &Actor,
) -> Result<usize, LicenceError> {
    if dept.verifier != VerifierKind::Name {
        return Err(LicenceError::Invalid {
            file: file.to_owned(),
            errors: vec![format!(
                "department {}: licences are found by the business name; set verifier = \"name\"",
                dept.id.as_str()
            )],
        });
    }
    let rows = parse_file(text, dept, file)?;
    let department = dept.id.as_str();
    let fields = &app.keys.fields;
    let purpose = verifier_purpose(department, VerifierKind::Name);
    let now = app.now_us();
    let mut tx = app.db.begin().await?;
    for row in &rows {
        let verifier = Verifier::parse(VerifierKind::Name, row.name.expose(), "").map_err(|e| {
            LicenceError::Invalid {
                file: file.to_owned(),
                errors: vec![format!(
                    "licence {}: business name: {e}",
                    row.number.as_str()
                )],
            }
        })?;
        let key = format!("{department}/{}", row.number.as_str());
        let seal = |column: &str, value: &str| {
            fields
                .seal(
                    value,
                    &FieldContext {
                        table: "service_accounts",
                        column,
                        row: &key,
                    },
                )
                .map_err(|e| LicenceError::Crypto(e.to_string()))
        };
        let content_mac = fields.blind_index(
            "account-content",
            &format!(
                "{}\u{1f}{}\u{1f}{}",
                verifier.as_str(),
                row.name.expose(),
                row.address.expose()
            ),
        );
        let ids = store::receivables::upsert_accounts(
            &mut tx,
            department,
            &[AccountWrite {
                account_number: row.number.as_str(),
                verifier_mac: &fields.blind_index(&purpose, verifier.as_str()),
                content_mac: &content_mac,
                holder_name_enc: &seal("holder_name", row.name.expose())?,
                service_address_enc: &seal("service_address", row.address.expose())?,
            }],
            now,
        )
        .await?;
        let account_id = ids
            .get(row.number.as_str())
            .copied()
            .ok_or_else(|| StoreError::corrupt("account id did not come back"))?;
        sqlx::query(
            "INSERT INTO licences (service_account_id, category, expires_on, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (service_account_id) DO UPDATE SET
                 category = excluded.category,
                 expires_on = CASE WHEN excluded.expires_on > licences.expires_on
                                   THEN excluded.expires_on ELSE licences.expires_on END,
                 updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(&row.category)
        .bind(row.expires_on.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "licences.imported",
            target: None,
            outcome: Outcome::Success,
            source_ip: None,
            details: json!({ "department": department, "file": file, "rows": rows.len() }),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(rows.len())
}

/// A licence as the renewal pages need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    pub id: i64,
    pub account_id: i64,
    pub department: String,
    pub number: String,
    pub business_name: String,
    pub category: String,
    pub expires_on: Date,
}

/// The licence held by a service account, if it is one.
pub async fn for_account(app: &App, account_id: i64) -> Result<Option<Licence>, StoreError> {
    let row = sqlx::query(
        "SELECT l.id, l.category, l.expires_on, a.department, a.account_number, a.holder_name_enc
         FROM licences l JOIN service_accounts a ON a.id = l.service_account_id
         WHERE l.service_account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(app.db.reader())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let department: String = r.try_get("department")?;
    let number: String = r.try_get("account_number")?;
    let sealed: String = r.try_get("holder_name_enc")?;
    let business_name = app
        .keys
        .fields
        .open(
            &sealed,
            &FieldContext {
                table: "service_accounts",
                column: "holder_name",
                row: &format!("{department}/{number}"),
            },
        )
        .map_err(|e| StoreError::corrupt(format!("cannot open the business name: {e}")))?;
    let expires: String = r.try_get("expires_on")?;
    Ok(Some(Licence {
        id: r.try_get("id")?,
        account_id,
        department,
        number,
        business_name,
        category: r.try_get("category")?,
        expires_on: parse_iso_date(&expires)
            .map_err(|_| StoreError::corrupt("bad licence expiry"))?,
    }))
}

/// The first day a licence expiring on `expires_on` may be renewed.
pub fn renewal_opens(rules: &LicenceRules, expires_on: Date) -> Date {
    expires_on
        .checked_sub(jiff::Span::new().days(rules.renewal_window_days))
        .unwrap_or(expires_on)
}

/// The expiry a renewal of a licence expiring on `expires_on` gives.
pub fn next_expiry(rules: &LicenceRules, expires_on: Date) -> Date {
    expires_on
        .checked_add(jiff::Span::new().months(rules.term_months))
        .unwrap_or(expires_on)
}

/// One line of a renewal fee, in words.
pub fn line_label(rules: &LicenceRules, l: Locale, kind: LineKind, category: &str) -> String {
    match kind {
        LineKind::Licence => {
            let names = rules.category_names.get(category);
            let name = match (l, names) {
                (Locale::Es, Some((_, es))) => es.clone(),
                (_, Some((en, _))) => en.clone(),
                (_, None) => category.to_owned(),
            };
            l.msg1("renew-line-licence", "category", name)
        }
        LineKind::LatePenalty { months } => {
            l.msg1("renew-line-penalty", "months", i64::from(months))
        }
        LineKind::Surcharge(i) => rules
            .schedule
            .surcharges
            .get(i)
            .map(|s| s.name.clone())
            .unwrap_or_default(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenewalError {
    #[error("renewal opens on {0}")]
    NotYet(Date),
    #[error(transparent)]
    Fee(#[from] FeeError),
    #[error("a payment for this licence's renewal is already in progress")]
    InProgress,
    #[error(transparent)]
    Licence(#[from] LicenceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RenewalError {
    fn from(e: sqlx::Error) -> Self {
        RenewalError::Store(StoreError::from(e))
    }
}

/// What the holder said of the contact details on file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Confirmed,
    /// What has changed, in their words (for the licensing office).
    Changed(String),
}

/// The longest description of changed contact details kept.
pub const CONTACT_CHANGES_MAX: usize = 500;

/// The fee for renewing `licence` today with `declared`, or why not.
pub fn quote(
    rules: &LicenceRules,
    licence: &Licence,
    declared: &Declaration,
    today: Date,
) -> Result<Fee, RenewalError> {
    let opens = renewal_opens(rules, licence.expires_on);
    if today < opens {
        return Err(RenewalError::NotYet(opens));
    }
    Ok(rules
        .schedule
        .renewal_fee(&licence.category, declared, licence.expires_on, today)?)
}

/// Turns a renewal into a bill of the licensing department (paid like any
/// bill) and records the declaration. An earlier unpaid renewal of the same
/// licence is replaced (its bill drops to nothing due); one with a payment
/// in progress stops this one. Returns the bill's id and the fee.
pub async fn start_renewal(
    app: &App,
    dept: &Department,
    licence: &Licence,
    declared: &Declaration,
    contact: &Contact,
    actor: &Actor,
) -> Result<(i64, Fee), RenewalError> {
    let rules = rules(dept)?;
    let tz = &app.config.timezone;
    let today = app.now().to_zoned_datetime(tz.clone()).date();
    let fee = quote(rules, licence, declared, today)?;
    let new_expiry = next_expiry(rules, licence.expires_on);
    let now = app.now_us();
    let mut tx = app.db.begin().await?;
    // Earlier renewals still unpaid.
    let pending = sqlx::query(
        "SELECT id, receivable_id FROM licence_renewals WHERE licence_id = $1 AND status = 'pending'",
    )
    .bind(licence.id)
    .fetch_all(&mut *tx)
    .await?;
    for p in &pending {
        let receivable_id: i64 = p.try_get("receivable_id")?;
        let view = store::receivables::view(&mut *tx, receivable_id, now).await?;
        if view.is_some_and(|v| v.reserved.is_positive()) {
            return Err(RenewalError::InProgress);
        }
        sqlx::query("UPDATE receivables SET amount_due_cents = 0, updated_at = $2 WHERE id = $1")
            .bind(receivable_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE licence_renewals SET status = 'replaced' WHERE id = $1")
            .bind(p.try_get::<i64, _>("id")?)
            .execute(&mut *tx)
            .await?;
    }
    let attempt: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM licence_renewals WHERE licence_id = $1")
            .bind(licence.id)
            .fetch_one(&mut *tx)
            .await?;
    let reference = format!("{}-R{}-{}", licence.number, new_expiry.year(), attempt + 1);
    let description = format!("Licence renewal to {new_expiry}");
    let today_s = today.to_string();
    let new_expiry_s = new_expiry.to_string();
    // A bill of its own (not from a file), paid like any other.
    let receivable_id: i64 = sqlx::query_scalar(
        "INSERT INTO receivables (service_account_id, reference, period_start, period_end,
             amount_due_cents, due_date, content_mac, department, created_at, updated_at,
             description, pay_separately)
         VALUES ($1, $2, $3, $4, $5, $6, 'licence-renewal', $7, $8, $8, $9, 1)
         RETURNING id",
    )
    .bind(licence.account_id)
    .bind(&reference)
    .bind(&today_s)
    .bind(&new_expiry_s)
    .bind(fee.total.get())
    .bind(&today_s)
    .bind(dept.id.as_str())
    .bind(now)
    .bind(&description)
    .fetch_one(&mut *tx)
    .await?;
    let lines: Vec<serde_json::Value> = fee
        .lines
        .iter()
        .map(|l| {
            json!({
                "kind": match l.kind {
                    LineKind::Licence => "licence".to_owned(),
                    LineKind::LatePenalty { months } => format!("late_penalty:{months}"),
                    LineKind::Surcharge(i) => format!("surcharge:{i}"),
                },
                "cents": l.amount.get(),
            })
        })
        .collect();
    let changes_enc = match contact {
        Contact::Confirmed => None,
        Contact::Changed(text) => Some(
            app.keys
                .fields
                .seal(
                    text,
                    &FieldContext {
                        table: "licence_renewals",
                        column: "contact_changes",
                        row: &reference,
                    },
                )
                .map_err(|e| LicenceError::Crypto(e.to_string()))?,
        ),
    };
    sqlx::query(
        "INSERT INTO licence_renewals (licence_id, receivable_id, declared_gross_cents,
             declared_employees, fee_lines, from_expires_on, new_expires_on, status, created_at,
             contact_confirmed, contact_changes_enc)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10)",
    )
    .bind(licence.id)
    .bind(receivable_id)
    .bind(declared.gross_receipts.map(Cents::get))
    .bind(declared.employees.map(i64::from))
    .bind(serde_json::Value::Array(lines).to_string())
    .bind(licence.expires_on.to_string())
    .bind(&new_expiry_s)
    .bind(now)
    .bind(i64::from(*contact == Contact::Confirmed))
    .bind(changes_enc)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "licence.renewal_started",
            target: Some(format!("licence:{}", licence.id)),
            outcome: Outcome::Success,
            source_ip: None,
            details: json!({
                "reference": reference,
                "total_cents": fee.total.get(),
                "late": fee.lines.iter().any(|l| matches!(l.kind, LineKind::LatePenalty { .. })),
                "new_expires_on": new_expiry_s,
                "contact_changed": matches!(contact, Contact::Changed(_)),
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((receivable_id, fee))
}

/// The code printed on a certificate: a keyed digest of the licence and
/// its expiry, so only cityteller can make one and anyone can check it.
pub fn certificate_code(app: &App, department: &str, number: &str, expires_on: &str) -> String {
    let digest = app.keys.fields.blind_index(
        "licence-certificate",
        &format!("{department}/{number}/{expires_on}"),
    );
    let upper = digest[..12].to_ascii_uppercase();
    format!("{}-{}-{}", &upper[..4], &upper[4..8], &upper[8..12])
}

/// In the capture's transaction: renewals these bills paid advance their
/// licence's expiry (once: only from the expiry they were priced for) and
/// get their certificate code.
pub async fn on_captured(
    app: &App,
    tx: &mut Tx,
    receivable_ids: &[i64],
    now: i64,
) -> Result<(), StoreError> {
    for id in receivable_ids {
        let row = sqlx::query(
            "SELECT r.id, r.licence_id, r.from_expires_on, r.new_expires_on, l.expires_on,
                    a.department, a.account_number
             FROM licence_renewals r JOIN licences l ON l.id = r.licence_id
             JOIN service_accounts a ON a.id = l.service_account_id
             WHERE r.receivable_id = $1 AND r.status = 'pending'",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(r) = row else { continue };
        let renewal: i64 = r.try_get("id")?;
        let licence: i64 = r.try_get("licence_id")?;
        let from: String = r.try_get("from_expires_on")?;
        let to: String = r.try_get("new_expires_on")?;
        let current: String = r.try_get("expires_on")?;
        let department: String = r.try_get("department")?;
        let number: String = r.try_get("account_number")?;
        if current == from {
            sqlx::query("UPDATE licences SET expires_on = $2, updated_at = $3 WHERE id = $1")
                .bind(licence)
                .bind(&to)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        let code = certificate_code(app, &department, &number, &to);
        sqlx::query(
            "UPDATE licence_renewals SET status = 'paid', paid_at = $2, certificate_code = $3
             WHERE id = $1",
        )
        .bind(renewal)
        .bind(now)
        .bind(&code)
        .execute(&mut **tx)
        .await?;
        audit::record(
            tx,
            app.now(),
            Event {
                actor: &Actor::System("payments"),
                action: "licence.renewed",
                target: Some(format!("licence:{licence}")),
                outcome: Outcome::Success,
                source_ip: None,
                details: json!({ "renewal": renewal, "expires_on": to, "advanced": current == from }),
            },
        )
        .await?;
    }
    Ok(())
}

/// What the verification page says about a number and a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Genuine, and the licence runs to `expires_on` (today or later).
    Current {
        business_name: String,
        category: String,
        expires_on: Date,
    },
    /// Genuine, but for a term that has ended or been superseded.
    NotCurrent { expires_on: Date },
    /// No certificate with this number and code was issued.
    NotGenuine,
}

/// Checks a certificate's number and code; the category is named in `l`.
pub async fn verify(
    app: &App,
    dept: &Department,
    number: &str,
    code: &str,
    l: Locale,
) -> Result<Verification, StoreError> {
    let Ok(number) = AccountNumber::parse(number) else {
        return Ok(Verification::NotGenuine);
    };
    let code = code.trim().to_ascii_uppercase().replace(' ', "");
    let Some(account) =
        store::receivables::find_account(app.db.reader(), dept.id.as_str(), number.as_str())
            .await?
    else {
        return Ok(Verification::NotGenuine);
    };
    let Some(licence) = for_account(app, account.id).await? else {
        return Ok(Verification::NotGenuine);
    };
    let issued: Vec<String> = sqlx::query_scalar(
        "SELECT new_expires_on FROM licence_renewals WHERE licence_id = $1 AND status = 'paid'",
    )
    .bind(licence.id)
    .fetch_all(app.db.reader())
    .await?;
    let today = app
        .now()
        .to_zoned_datetime(app.config.timezone.clone())
        .date();
    for expires in issued {
        let expected = certificate_code(app, dept.id.as_str(), number.as_str(), &expires);
        if crate::crypto::constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            let expires_on =
                parse_iso_date(&expires).map_err(|_| StoreError::corrupt("bad expiry"))?;
            return Ok(if expires_on == licence.expires_on && expires_on >= today {
                let category = dept
                    .licences
                    .as_ref()
                    .and_then(|r| r.category_names.get(&licence.category))
                    .map_or_else(
                        || licence.category.clone(),
                        |(en, es)| {
                            if l == Locale::Es {
                                es.clone()
                            } else {
                                en.clone()
                            }
                        },
                    );
                Verification::Current {
                    business_name: licence.business_name,
                    category,
                    expires_on,
                }
            } else {
                Verification::NotCurrent { expires_on }
            });
        }
    }
    Ok(Verification::NotGenuine)
}

/// The certificate for a renewal a payment paid, as PDF: `None` when the
/// payment paid no renewal.
pub async fn certificate_pdf(
    app: &App,
    payment_id: &str,
    l: Locale,
) -> Result<Option<Vec<u8>>, StoreError> {
    let row = sqlx::query(
        "SELECT r.new_expires_on, r.certificate_code, l.service_account_id
         FROM payment_items i JOIN licence_renewals r ON r.receivable_id = i.receivable_id
         JOIN licences l ON l.id = r.licence_id
         WHERE i.payment_id = $1 AND r.status = 'paid'",
    )
    .bind(payment_id)
    .fetch_optional(app.db.reader())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let account_id: i64 = r.try_get("service_account_id")?;
    let Some(licence) = for_account(app, account_id).await? else {
        return Ok(None);
    };
    let expires: String = r.try_get("new_expires_on")?;
    let code: Option<String> = r.try_get("certificate_code")?;
    let category = app
        .config
        .department(&licence.department)
        .and_then(|d| d.licences.as_ref())
        .and_then(|r| r.category_names.get(&licence.category))
        .map_or_else(
            || licence.category.clone(),
            |(en, es)| {
                if l == Locale::Es {
                    es.clone()
                } else {
                    en.clone()
                }
            },
        );
    let title = l.msg("certificate-title");
    let mut d = crate::pdf::Document::new(&title, l.code());
    d.title(&title);
    d.strong(&app.config.city_name);
    d.gap(12.0);
    d.heading(&licence.business_name);
    d.paragraph(&l.msg1("certificate-number", "number", licence.number.as_str()));
    d.paragraph(&l.msg1("certificate-category", "category", category));
    d.paragraph(&l.msg1("certificate-valid-until", "date", l.date(&expires)));
    d.gap(12.0);
    d.strong(&l.msg1(
        "certificate-code",
        "code",
        code.unwrap_or_default().as_str(),
    ));
    let verify_url = app
        .config
        .public_base_url
        .join("verify")
        .map(|u| u.to_string())
        .unwrap_or_default();
    d.paragraph(&l.msg1("certificate-check", "url", verify_url));
    d.paragraph(&l.msg("certificate-display"));
    Ok(Some(d.finish(|n, total| {
        l.msg2(
            "notice-page",
            "page",
            n.to_string(),
            "pages",
            total.to_string(),
        )
    })))
}

/// Whether a payment paid a licence renewal (its receipt offers the
/// certificate).
pub async fn renewal_paid_by(app: &App, payment_id: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payment_items i JOIN licence_renewals r ON r.receivable_id = i.receivable_id
         WHERE i.payment_id = $1 AND r.status = 'paid'",
    )
    .bind(payment_id)
    .fetch_one(app.db.reader())
    .await?;
    Ok(n > 0)
}

/// The changed contact details a renewal carries, opened for staff.
pub fn open_contact_changes(
    app: &App,
    reference: &str,
    sealed: &str,
) -> Result<String, StoreError> {
    app.keys
        .fields
        .open(
            sealed,
            &FieldContext {
                table: "licence_renewals",
                column: "contact_changes",
                row: reference,
            },
        )
        .map_err(|e| StoreError::corrupt(format!("cannot open contact changes: {e}")))
}
