//! Importing the billing system's receivables file. All or nothing: the
//! file is read and written in one transaction, and a single bad row rolls
//! everything back after every problem in the file has been listed.
//! Re-importing the same file changes nothing; a later file with the same
//! bill reference updates that bill.

use std::io::Read;

use domain::formats::receivables_csv::{ReceivableRow, ReceivablesCsv, RowError};
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::Department;
use crate::crypto::fields::FieldContext;
use crate::services::lookup::verifier_purpose;
use crate::store::receivables::{AccountWrite, ImportRun, ReceivableWrite, Upserted};
use crate::store::{self, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {} problem(s); nothing was imported", .errors.len() + *.more)]
    Invalid {
        file: String,
        errors: Vec<RowError>,
        /// Problems beyond those listed.
        more: usize,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot encrypt personal data: {0}")]
    Crypto(String),
}

/// Problems listed in full; past this many only a count is kept.
const LISTED: usize = 500;

/// Counts bytes read, for a progress bar.
struct Counting<R, F> {
    inner: R,
    read: u64,
    progress: F,
}

impl<R: Read, F: FnMut(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

pub async fn import_receivables<R: Read, F: FnMut(u64)>(
    app: &App,
    dept: &Department,
    input: R,
    file_name: &str,
    file_sha256: &str,
    actor: &Actor,
    progress: F,
) -> Result<ImportSummary, ImportError> {
    let reader = Counting {
        inner: input,
        read: 0,
        progress,
    };
    let invalid = |errors: Vec<RowError>, more: usize| ImportError::Invalid {
        file: file_name.to_owned(),
        errors,
        more,
    };
    let mut csv = match ReceivablesCsv::new(reader) {
        Ok(c) => c,
        Err(errors) => {
            let e = invalid(errors, 0);
            record_rejection(app, dept, file_name, file_sha256, actor, &e).await?;
            return Err(e);
        }
    };
    let now = app.now_us();
    let department = dept.id.as_str();
    let mut tx = app.db.begin().await?;
    let run_id = store::receivables::start_import_run(
        &mut tx,
        &ImportRun {
            department,
            file_name,
            file_sha256,
            actor: &actor.label(),
        },
        now,
    )
    .await?;
    let mut summary = ImportSummary::default();
    let mut errors = Vec::new();
    let mut more = 0usize;
    while let Some(row) = csv.next_row() {
        summary.rows += 1;
        match row {
            Err(problems) => {
                for p in problems {
                    if errors.len() < LISTED {
                        errors.push(p);
                    } else {
                        more += 1;
                    }
                }
            }
            // Once the file is known to be bad, keep reading only to
            // report the rest of its problems.
            Ok(_) if !errors.is_empty() => {}
            Ok(row) => match write_row(app, &mut tx, dept, &row, run_id, now).await? {
                Upserted::Inserted(_) => summary.inserted += 1,
                Upserted::Updated(_) => summary.updated += 1,
                Upserted::Unchanged(_) => summary.unchanged += 1,
            },
        }
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        let e = invalid(errors, more);
        record_rejection(app, dept, file_name, file_sha256, actor, &e).await?;
        return Err(e);
    }
    store::receivables::finish_import_run(
        &mut tx,
        run_id,
        [
            summary.rows,
            summary.inserted,
            summary.updated,
            summary.unchanged,
        ],
        app.now_us(),
    )
    .await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "receivables.imported",
            target: Some(format!("import_run:{run_id}")),
            outcome: Outcome::Success,
            source_ip: None,
            details: json!({
                "department": department,
                "file": file_name,
                "sha256": file_sha256,
                "rows": summary.rows,
                "inserted": summary.inserted,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(summary)
}

async fn write_row(
    app: &App,
    tx: &mut store::Tx,
    dept: &Department,
    row: &ReceivableRow,
    run_id: i64,
    now: i64,
) -> Result<Upserted, ImportError> {
    let department = dept.id.as_str();
    let number = row.account_number.as_str();
    let fields = &app.keys.fields;
    let verifier_mac = fields.blind_index(&verifier_purpose(department), row.verifier_zip.as_str());
    let content = format!(
        "{}\u{1f}{}\u{1f}{}",
        row.verifier_zip.as_str(),
        row.name.expose(),
        row.service_address.expose()
    );
    let content_mac = fields.blind_index("account-content", &content);
    let account_id = match store::receivables::account_digest(tx, department, number).await? {
        Some((id, mac)) if mac == content_mac => id,
        existing => {
            let row_key = format!("{department}/{number}");
            let seal = |column: &str, value: &str| {
                fields
                    .seal(
                        value,
                        &FieldContext {
                            table: "service_accounts",
                            column,
                            row: &row_key,
                        },
                    )
                    .map_err(|e| ImportError::Crypto(e.to_string()))
            };
            let name_enc = seal("holder_name", row.name.expose())?;
            let address_enc = seal("service_address", row.service_address.expose())?;
            let write = AccountWrite {
                department,
                account_number: number,
                verifier_mac: &verifier_mac,
                content_mac: &content_mac,
                holder_name_enc: &name_enc,
                service_address_enc: &address_enc,
            };
            match existing {
                Some((id, _)) => {
                    store::receivables::update_account(tx, id, &write, now).await?;
                    id
                }
                None => store::receivables::insert_account(tx, &write, now).await?,
            }
        }
    };
    let period_start = row.period.start().to_string();
    let period_end = row.period.end().to_string();
    let due = row.due_date.to_string();
    let receivable_mac = fields.blind_index(
        "receivable-content",
        &format!(
            "{account_id}\u{1f}{period_start}\u{1f}{period_end}\u{1f}{}\u{1f}{due}",
            row.amount_due.get()
        ),
    );
    let r = store::receivables::upsert_receivable(
        tx,
        &ReceivableWrite {
            department,
            service_account_id: account_id,
            reference: row.reference.as_str(),
            period_start: &period_start,
            period_end: &period_end,
            amount_due: row.amount_due,
            due_date: &due,
            content_mac: &receivable_mac,
            import_run_id: run_id,
        },
        now,
    )
    .await?;
    Ok(r)
}

/// A refused file is an event too (it may be the first sign of a broken
/// export upstream).
async fn record_rejection(
    app: &App,
    dept: &Department,
    file_name: &str,
    file_sha256: &str,
    actor: &Actor,
    e: &ImportError,
) -> Result<(), StoreError> {
    let problems = match e {
        ImportError::Invalid { errors, more, .. } => errors.len() + more,
        _ => 0,
    };
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "receivables.import_rejected",
            target: None,
            outcome: Outcome::Failure,
            source_ip: None,
            details: json!({
                "department": dept.id.as_str(),
                "file": file_name,
                "sha256": file_sha256,
                "problems": problems,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(StoreError::from(e))
    }
}
