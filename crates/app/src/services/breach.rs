//! Breach scope: who could have been exposed by a compromise of one part
//! of the system during a window, and which of their data.
//!
//! - `database`, `backups` and `staff` (the staff console sees everything
//!   stored): every person whose personal data was held at the end of the
//!   window — account holders (name, service address) and payers who left a
//!   receipt e-mail address (removed ones, by retention, are not held).
//! - `public` (the resident site): the people who used it in the window —
//!   holders of accounts looked up (what they typed: the account number
//!   and its verifier, and changed contact details sent with a licence
//!   renewal), and payers (their receipt e-mail address).
//!
//! Card numbers are never among the categories: they are typed on the
//! processor's page and never reach cityteller.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use serde_json::json;
use sqlx::Row;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::crypto::fields::FieldContext;
use crate::services::payments::email_context;
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Public,
    Staff,
    Database,
    Backups,
}

impl Component {
    pub fn parse(s: &str) -> Option<Component> {
        match s {
            "public" => Some(Component::Public),
            "staff" => Some(Component::Staff),
            "database" => Some(Component::Database),
            "backups" => Some(Component::Backups),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Public => "public",
            Component::Staff => "staff",
            Component::Database => "database",
            Component::Backups => "backups",
        }
    }
}

/// What could have been exposed about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Name,
    PostalAddress,
    EmailAddress,
    /// The account or notice number, and what proves it (ZIP, code, plate).
    AccountNumber,
    /// Changes to contact details sent with a licence renewal.
    ContactChanges,
    /// The e-mail address and password of a resident account (the
    /// password kept only as a salted Argon2id hash; typed in clear on a
    /// compromised public site).
    AccountLogin,
    /// The brand and last four digits of a card saved for autopay.
    SavedCard,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Name => "name",
            Category::PostalAddress => "postal address",
            Category::EmailAddress => "e-mail address",
            Category::AccountNumber => "account number and its verifier",
            Category::ContactChanges => "contact details sent with a licence renewal",
            Category::AccountLogin => "resident account e-mail address and password",
            Category::SavedCard => "brand and last four digits of a saved card",
        }
    }
}

/// One person to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub name: Option<String>,
    pub email: Option<String>,
    pub postal_address: Option<String>,
    /// Two-letter state of the address, where the address names one.
    pub state: Option<String>,
    /// `en` or `es`: the language they used with us, where known.
    pub language: &'static str,
    pub categories: BTreeSet<Category>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub recipients: Vec<Recipient>,
    pub by_category: BTreeMap<Category, usize>,
    /// By state of residence; `unknown` where the address names none.
    pub by_state: BTreeMap<String, usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("the window ends before it starts")]
    EmptyWindow,
    #[error(
        "cannot open stored personal data ({0}); is this the key file the data was sealed with?"
    )]
    Sealed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The state an address ends with (`…, Springfield, CA 94110`), if any.
pub fn state_of(address: &str) -> Option<String> {
    let words: Vec<&str> = address
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    words
        .iter()
        .rev()
        .take(3)
        .find(|w| {
            w.len() == 2 && domain::verifier::STATES.contains(&w.to_ascii_uppercase().as_str())
        })
        .map(|w| w.to_ascii_uppercase())
}

struct Holder {
    id: i64,
    department: String,
    number: String,
    name_enc: String,
    address_enc: String,
}

/// Who could have been exposed by a compromise of `component` during
/// `[from, to)`. Recorded in the audit log (counts only).
pub async fn scope(
    app: &App,
    component: Component,
    from: Timestamp,
    to: Timestamp,
    actor: &Actor,
) -> Result<Scope, BreachError> {
    if to <= from {
        return Err(BreachError::EmptyWindow);
    }
    let (from_us, to_us) = (from.as_microsecond(), to.as_microsecond());
    let db = app.db.reader();
    let held = component != Component::Public;

    // Account holders.
    let holder_rows = if held {
        sqlx::query(
            "SELECT id, department, account_number, holder_name_enc, service_address_enc
             FROM service_accounts WHERE created_at < $1 AND content_mac <> 'anonymised'
             ORDER BY id",
        )
        .bind(to_us)
        .fetch_all(db)
        .await
    } else {
        // Looked up (and so typed) on the public site during the window,
        // or paid for there.
        sqlx::query(
            "SELECT id, department, account_number, holder_name_enc, service_address_enc
             FROM service_accounts WHERE id IN (
                 SELECT CAST(SUBSTR(target, 17) AS BIGINT) FROM audit_events
                 WHERE action = 'lookup.succeeded' AND at >= $1 AND at < $2
                   AND target LIKE 'service_account:%'
                 UNION
                 SELECT r.service_account_id FROM payments p
                 JOIN payment_items i ON i.payment_id = p.id
                 JOIN receivables r ON r.id = i.receivable_id
                 WHERE p.created_at >= $1 AND p.created_at < $2
             ) AND content_mac <> 'anonymised' ORDER BY id",
        )
        .bind(from_us)
        .bind(to_us)
        .fetch_all(db)
        .await
    }
    .map_err(StoreError::from)?;
    let holders: Vec<Holder> = holder_rows
        .iter()
        .map(|r| -> Result<Holder, sqlx::Error> {
            Ok(Holder {
                id: r.try_get("id")?,
                department: r.try_get("department")?,
                number: r.try_get("account_number")?,
                name_enc: r.try_get("holder_name_enc")?,
                address_enc: r.try_get("service_address_enc")?,
            })
        })
        .collect::<Result<_, _>>()
        .map_err(StoreError::from)?;

    // Payers who left an e-mail address.
    let payer_rows = if held {
        sqlx::query(
            "SELECT id, receipt_email_enc, locale FROM payments
             WHERE receipt_email_enc IS NOT NULL AND created_at < $1 ORDER BY created_at, id",
        )
        .bind(to_us)
        .fetch_all(db)
        .await
    } else {
        sqlx::query(
            "SELECT id, receipt_email_enc, locale FROM payments
             WHERE receipt_email_enc IS NOT NULL AND created_at >= $1 AND created_at < $2
             ORDER BY created_at, id",
        )
        .bind(from_us)
        .bind(to_us)
        .fetch_all(db)
        .await
    }
    .map_err(StoreError::from)?;

    // Licence holders who sent changed contact details with a renewal.
    let changed_contacts: BTreeSet<i64> = if held {
        sqlx::query_scalar(
            "SELECT DISTINCT l.service_account_id FROM licence_renewals r
             JOIN licences l ON l.id = r.licence_id
             WHERE r.contact_changes_enc IS NOT NULL AND r.created_at < $1",
        )
        .bind(to_us)
        .fetch_all(db)
        .await
        .map_err(StoreError::from)?
        .into_iter()
        .collect()
    } else {
        // Typed on the public site during the window.
        sqlx::query_scalar(
            "SELECT DISTINCT l.service_account_id FROM licence_renewals r
             JOIN licences l ON l.id = r.licence_id
             WHERE r.contact_changes_enc IS NOT NULL AND r.created_at >= $1 AND r.created_at < $2",
        )
        .bind(from_us)
        .bind(to_us)
        .fetch_all(db)
        .await
        .map_err(StoreError::from)?
        .into_iter()
        .collect()
    };
    let fields = &app.keys.fields;
    let mut recipients = Vec::new();
    for h in &holders {
        let row = format!("{}/{}", h.department, h.number);
        let open = |sealed: &str, column: &str| {
            fields
                .open(
                    sealed,
                    &FieldContext {
                        table: "service_accounts",
                        column,
                        row: &row,
                    },
                )
                .map_err(|e| BreachError::Sealed(format!("service account {row}: {e}")))
        };
        let name = open(&h.name_enc, "holder_name")?;
        let address = open(&h.address_enc, "service_address")?;
        let mut categories = BTreeSet::new();
        if held {
            categories.extend([Category::Name, Category::PostalAddress]);
        }
        categories.insert(Category::AccountNumber);
        if changed_contacts.contains(&h.id) {
            categories.insert(Category::ContactChanges);
        }
        recipients.push(Recipient {
            name: Some(name),
            state: state_of(&address),
            postal_address: Some(address),
            email: None,
            language: "en",
            categories,
        });
    }
    // One recipient per e-mail address, however many payments it made.
    let mut by_email: HashMap<String, usize> = HashMap::new();
    for r in &payer_rows {
        let id: String = r.try_get("id").map_err(StoreError::from)?;
        let sealed: String = r.try_get("receipt_email_enc").map_err(StoreError::from)?;
        let locale: String = r.try_get("locale").map_err(StoreError::from)?;
        let email = fields
            .open(&sealed, &email_context(&id))
            .map_err(|e| BreachError::Sealed(format!("payment {id}: {e}")))?;
        let key = email.to_lowercase();
        let language = if locale == "es" { "es" } else { "en" };
        match by_email.get(&key) {
            Some(&i) => {
                // The latest payment's language.
                recipients[i].language = language;
            }
            None => {
                by_email.insert(key, recipients.len());
                recipients.push(Recipient {
                    name: None,
                    email: Some(email),
                    postal_address: None,
                    state: None,
                    language,
                    categories: BTreeSet::from([Category::EmailAddress]),
                });
            }
        }
    }

    // Resident accounts: every one held in the database, or those whose
    // password was typed on the public site during the window.
    let resident_rows = if held {
        sqlx::query(
            "SELECT id, email_index, email_enc, locale,
                    (SELECT COUNT(*) FROM wallet_methods w WHERE w.resident_id = r.id) AS cards
             FROM residents r WHERE created_at < $1 ORDER BY id",
        )
        .bind(to_us)
        .fetch_all(db)
        .await
    } else {
        sqlx::query(
            "SELECT id, email_index, email_enc, locale, 0 AS cards FROM residents WHERE id IN (
                 SELECT CAST(SUBSTR(target, 10) AS BIGINT) FROM audit_events
                 WHERE action IN ('resident.signed_up', 'resident.signed_in',
                                  'resident.password_reset', 'resident.password_accepted')
                   AND at >= $1 AND at < $2 AND target LIKE 'resident:%'
             ) ORDER BY id",
        )
        .bind(from_us)
        .bind(to_us)
        .fetch_all(db)
        .await
    }
    .map_err(StoreError::from)?;
    for r in &resident_rows {
        let id: i64 = r.try_get("id").map_err(StoreError::from)?;
        let index: String = r.try_get("email_index").map_err(StoreError::from)?;
        let sealed: String = r.try_get("email_enc").map_err(StoreError::from)?;
        let locale: String = r.try_get("locale").map_err(StoreError::from)?;
        let cards: i64 = r.try_get("cards").map_err(StoreError::from)?;
        let email = fields
            .open(
                &sealed,
                &FieldContext {
                    table: "residents",
                    column: "email",
                    row: &index,
                },
            )
            .map_err(|e| BreachError::Sealed(format!("resident {id}: {e}")))?;
        let mut categories = BTreeSet::from([Category::EmailAddress, Category::AccountLogin]);
        if cards > 0 {
            categories.insert(Category::SavedCard);
        }
        let language = if locale == "es" { "es" } else { "en" };
        match by_email.get(&email.to_lowercase()) {
            Some(&i) => recipients[i].categories.extend(categories),
            None => {
                by_email.insert(email.to_lowercase(), recipients.len());
                recipients.push(Recipient {
                    name: None,
                    email: Some(email),
                    postal_address: None,
                    state: None,
                    language,
                    categories,
                });
            }
        }
    }

    let mut scope = Scope::default();
    for r in &recipients {
        for c in &r.categories {
            *scope.by_category.entry(*c).or_default() += 1;
        }
        *scope
            .by_state
            .entry(r.state.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
    }
    scope.recipients = recipients;

    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "breach.scope",
            target: None,
            outcome: Outcome::Success,
            source_ip: None,
            details: json!({
                "component": component.as_str(),
                "from": from.to_string(),
                "to": to.to_string(),
                "recipients": scope.recipients.len(),
                "by_category": scope.by_category.iter()
                    .map(|(c, n)| (c.as_str().to_owned(), *n)).collect::<BTreeMap<_, _>>(),
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(scope)
}

/// The recipients as a mail-merge CSV (personal data: write it only where
/// the notice team can read it, and delete it after).
pub fn recipients_csv(scope: &Scope) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "name",
        "email",
        "postal_address",
        "state",
        "language",
        "categories",
    ]);
    for r in &scope.recipients {
        let categories: Vec<&str> = r.categories.iter().map(|c| c.as_str()).collect();
        let _ = w.write_record([
            r.name.as_deref().unwrap_or(""),
            r.email.as_deref().unwrap_or(""),
            r.postal_address.as_deref().unwrap_or(""),
            r.state.as_deref().unwrap_or(""),
            r.language,
            &categories.join("; "),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_read_from_the_end_of_an_address() {
        assert_eq!(
            state_of("12 Elm St, Springfield, CA 94110").as_deref(),
            Some("CA")
        );
        assert_eq!(
            state_of("12 Elm St, Springfield, nv").as_deref(),
            Some("NV")
        );
        assert_eq!(state_of("1234 Maple Ave, Springfield"), None);
        // "IN" as a word early in the address is not a state.
        assert_eq!(state_of("In The Back, 12 Elm St, Springfield"), None);
    }
}
