//! Finding a bill by what is printed on it. An unknown account and a wrong
//! verifier give the same answer, after the same work (a keyed digest and
//! a constant-time comparison either way), so the page cannot be used to
//! discover which account numbers exist.

use domain::personal::PostalAddress;
use domain::receivable::{AccountNumber, AccountNumberError};
use domain::verifier::{NumberFormat, Verifier, VerifierError, VerifierKind};

use crate::app::App;
use crate::config::Department;
use crate::crypto::constant_time_eq;
use crate::crypto::fields::FieldContext;
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("the form has errors")]
    Invalid {
        account: Option<AccountError>,
        verifier: Option<VerifierError>,
    },
    #[error("no matching account")]
    NoMatch,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the number typed was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountError {
    Malformed(AccountNumberError),
    /// Not in the department's format; `example` shows one that is.
    WrongFormat {
        example: String,
    },
}

/// What the keyed digest of a department's verifier is for: a ZIP digest
/// of one department is useless for another.
pub fn verifier_purpose(department: &str, kind: VerifierKind) -> String {
    format!("verifier:{}:{department}", kind.as_str())
}

/// A number in `format`, for hints and error messages.
pub fn format_example(format: &NumberFormat) -> String {
    let (mut digits, mut letters) = ("1234567890".chars().cycle(), ('A'..='Z').cycle());
    format
        .as_str()
        .chars()
        .map(|c| match c {
            '#' | '*' => digits.next().unwrap_or('0'),
            'A' => letters.next().unwrap_or('A'),
            other => other,
        })
        .collect()
}

/// `verifier` is what the resident typed; `second` the plate's state where
/// the department verifies by plate.
pub async fn find_account(
    app: &App,
    dept: &Department,
    account_input: &str,
    (verifier, second): (&str, &str),
) -> Result<i64, LookupError> {
    let account = AccountNumber::parse(account_input)
        .map_err(AccountError::Malformed)
        .and_then(|a| match &dept.account_format {
            Some(f) if !f.matches(a.as_str()) => Err(AccountError::WrongFormat {
                example: format_example(f),
            }),
            _ => Ok(a),
        });
    let checked = Verifier::parse(dept.verifier, verifier, second);
    let (account, checked) = match (account, checked) {
        (Ok(a), Ok(v)) => (a, v),
        (a, v) => {
            return Err(LookupError::Invalid {
                account: a.err(),
                verifier: v.err(),
            });
        }
    };
    let offered = app.keys.fields.blind_index(
        &verifier_purpose(dept.id.as_str(), dept.verifier),
        checked.as_str(),
    );
    let row = store::receivables::find_account(app.db.reader(), dept.id.as_str(), account.as_str())
        .await?;
    // Compare against something of the same length even when there is no
    // account, so both paths do the same work.
    let stored = row
        .as_ref()
        .map(|r| r.verifier_mac.clone())
        .unwrap_or_else(|| "0".repeat(offered.len()));
    let matches = constant_time_eq(stored.as_bytes(), offered.as_bytes());
    match row {
        Some(r) if matches => Ok(r.id),
        _ => {
            app.metrics.lookups_failed.inc();
            Err(LookupError::NoMatch)
        }
    }
}

/// What a bill page shows about the account: nothing that identifies the
/// holder beyond what they typed.
pub struct AccountSummary {
    pub department: String,
    pub masked_number: String,
    pub masked_address: String,
}

pub async fn account_summary(
    app: &App,
    account_id: i64,
) -> Result<Option<AccountSummary>, StoreError> {
    let Some(row) = store::receivables::account_by_id(&app.db, account_id).await? else {
        return Ok(None);
    };
    let row_key = format!("{}/{}", row.department, row.account_number);
    let address = app
        .keys
        .fields
        .open(
            &row.service_address_enc,
            &FieldContext {
                table: "service_accounts",
                column: "service_address",
                row: &row_key,
            },
        )
        .map_err(|e| {
            StoreError::corrupt(format!("service address of account {account_id}: {e}"))
        })?;
    let masked_address = PostalAddress::parse(&address)
        .map(|a| a.masked())
        .unwrap_or_default();
    let masked_number = AccountNumber::parse(&row.account_number)
        .map(|a| a.masked())
        .unwrap_or_default();
    Ok(Some(AccountSummary {
        department: row.department,
        masked_number,
        masked_address,
    }))
}
