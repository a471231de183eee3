//! Importing the billing system's receivables file. All or nothing: the
//! file is read and written in one transaction, and a single bad row rolls
//! everything back after every problem in the file has been listed.
//! Re-importing the same file changes nothing; a later file with the same
//! bill reference updates that bill.

use std::collections::HashMap;
use std::io::Read;

use domain::formats::receivables_csv::{ReceivableRow, ReceivablesCsv, RowError};
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::Department;
use crate::config::VerifierKind;
use crate::crypto::fields::FieldContext;
use crate::services::lookup::verifier_purpose;
use crate::store::receivables::{AccountWrite, ImportRun, ReceivableWrite};
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
    #[error("the import was interrupted; nothing was imported")]
    Interrupted,
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

/// Rows written per statement: at least this many…
const CHUNK: usize = 1000;
/// …and at most this many (13 values a bill stay below SQLite's limit of
/// 32,766 in one statement).
const MAX_CHUNK: usize = 2500;

/// A valid row with what writing it needs, computed off the async runtime:
/// the keyed digests and both personal fields sealed for the case that the
/// account is new or changed (sealing is cheap next to a second pass).
struct Prepared {
    row: ReceivableRow,
    verifier_mac: String,
    content_mac: String,
    name_enc: String,
    address_enc: String,
    period_start: String,
    period_end: String,
    due_date: String,
    /// Keyed digest of the bill's figures and account: equal means the
    /// billing system sent nothing new.
    bill_mac: String,
}

/// What reading the whole file found.
#[derive(Default)]
struct Tally {
    rows: i64,
    errors: Vec<RowError>,
    more: usize,
}

impl Tally {
    fn problems(&mut self, problems: Vec<RowError>) {
        for p in problems {
            if self.errors.len() < LISTED {
                self.errors.push(p);
            } else {
                self.more += 1;
            }
        }
    }
}

type Batch = Result<Vec<Prepared>, ImportError>;

/// Imports a department's receivables file in one transaction. The file is
/// read, checked, digested and encrypted on a blocking thread (the sealing
/// split over two) while the previous chunk of rows is written, a chunk per
/// statement.
pub async fn import_receivables<R, F>(
    app: &App,
    dept: &Department,
    input: R,
    file_name: &str,
    file_sha256: &str,
    actor: &Actor,
    progress: F,
) -> Result<ImportSummary, ImportError>
where
    R: Read + Send + 'static,
    F: FnMut(u64) + Send + 'static,
{
    let department = dept.id.as_str();
    let (send, batches) = tokio::sync::mpsc::channel::<Batch>(2);
    let reader = {
        let app = app.clone();
        let department = department.to_owned();
        tokio::task::spawn_blocking(move || {
            let input = Counting {
                inner: input,
                read: 0,
                progress,
            };
            read_file(&app, &department, input, &send)
        })
    };
    let result = write_all(app, dept, batches, reader, file_name, file_sha256, actor).await;
    app.db.end_bulk(&["service_accounts", "receivables"]).await;
    result
}

/// Writes what the reader sends in one transaction, commits it when the
/// whole file was good and rolls it back otherwise.
async fn write_all(
    app: &App,
    dept: &Department,
    mut batches: tokio::sync::mpsc::Receiver<Batch>,
    reader: tokio::task::JoinHandle<Tally>,
    file_name: &str,
    file_sha256: &str,
    actor: &Actor,
) -> Result<ImportSummary, ImportError> {
    let department = dept.id.as_str();
    let now = app.now_us();
    let mut tx = app.db.begin_bulk().await?;
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
    while let Some(batch) = batches.recv().await {
        write_chunk(&mut tx, department, &batch?, run_id, now, &mut summary).await?;
    }
    let tally = match reader.await {
        Ok(t) => t,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => return Err(ImportError::Interrupted),
    };
    summary.rows = tally.rows;
    if !tally.errors.is_empty() {
        tx.rollback().await?;
        let e = ImportError::Invalid {
            file: file_name.to_owned(),
            errors: tally.errors,
            more: tally.more,
        };
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

/// Reads every row, sending valid ones in chunks until the first problem;
/// after that it only reads on to list the rest of the file's problems.
/// Stops early when the writer has gone (it failed).
fn read_file<R: Read>(
    app: &App,
    department: &str,
    input: R,
    send: &tokio::sync::mpsc::Sender<Batch>,
) -> Tally {
    let mut tally = Tally::default();
    let Some(dept) = app.config.department(department) else {
        tally.problems(vec![domain::formats::receivables_csv::RowError {
            line: 0,
            column: None,
            message: format!("no department {department:?} in the configuration"),
        }]);
        return tally;
    };
    let mut csv = match ReceivablesCsv::for_department(
        input,
        dept.verifier,
        dept.account_format.clone(),
        &dept.import_headers,
    ) {
        Ok(c) => c,
        Err(errors) => {
            tally.problems(errors);
            return tally;
        }
    };
    let mut chunk = Vec::with_capacity(CHUNK);
    while let Some(row) = csv.next_row() {
        tally.rows += 1;
        match row {
            Err(problems) => {
                tally.problems(problems);
                chunk.clear();
            }
            Ok(_) if !tally.errors.is_empty() => {}
            Ok(row) => {
                // A chunk ends between accounts, so an account's rows in a
                // row are written together and its details once; an account
                // with thousands of rows still ends one (bind limits).
                let full = chunk.len() >= CHUNK
                    && (chunk.len() >= MAX_CHUNK
                        || chunk.last().is_some_and(|l: &ReceivableRow| {
                            l.account_number != row.account_number
                        }));
                if full {
                    let rows = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    if send.blocking_send(prepare(app, department, rows)).is_err() {
                        return tally;
                    }
                }
                chunk.push(row);
            }
        }
    }
    if tally.errors.is_empty() && !chunk.is_empty() {
        // A failed send means the writer already has its error.
        let _ = send.blocking_send(prepare(app, department, chunk));
    }
    tally
}

/// Digests and seals a chunk, half of it on a second thread.
fn prepare(app: &App, department: &str, mut rows: Vec<ReceivableRow>) -> Batch {
    let second = rows.split_off(rows.len() / 2);
    let (first, second) = std::thread::scope(|s| {
        let other = s.spawn(|| prepare_rows(app, department, second));
        let first = prepare_rows(app, department, rows);
        (first, other.join())
    });
    let mut first = first?;
    match second {
        Ok(second) => first.extend(second?),
        Err(panic) => std::panic::resume_unwind(panic),
    }
    Ok(first)
}

fn prepare_rows(app: &App, department: &str, rows: Vec<ReceivableRow>) -> Batch {
    let fields = &app.keys.fields;
    let kind = app
        .config
        .department(department)
        .map(|d| d.verifier)
        .unwrap_or(VerifierKind::Zip);
    let verifier = verifier_purpose(department, kind);
    let mut row_key = String::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let number = row.account_number.as_str();
        let verifier_mac = fields.blind_index(&verifier, row.verifier.as_str());
        let content = format!(
            "{}\u{1f}{}\u{1f}{}",
            row.verifier.as_str(),
            row.name.expose(),
            row.service_address.expose()
        );
        let content_mac = fields.blind_index("account-content", &content);
        row_key.clear();
        row_key.push_str(department);
        row_key.push('/');
        row_key.push_str(number);
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
        let period_start = row.period.start().to_string();
        let period_end = row.period.end().to_string();
        let due_date = row.due_date.to_string();
        // What the billing system says of the bill; the optional columns
        // only when given, so files without them digest as before.
        let mut figures = format!(
            "{row_key}\u{1f}{period_start}\u{1f}{period_end}\u{1f}{}\u{1f}{due_date}",
            row.amount_due.get()
        );
        if let Some(d) = &row.description {
            figures.push_str("\u{1f}description:");
            figures.push_str(d);
        }
        if !row.pay_separately {
            figures.push_str("\u{1f}together");
        }
        let bill_mac = fields.blind_index("receivable-content", &figures);
        out.push(Prepared {
            verifier_mac,
            content_mac,
            name_enc,
            address_enc,
            period_start,
            period_end,
            due_date,
            bill_mac,
            row,
        });
    }
    Ok(out)
}

/// Writes a chunk: one look-up and at most one upsert for its accounts, the
/// same for its bills. Unchanged accounts and bills are not rewritten.
async fn write_chunk(
    tx: &mut store::Tx,
    department: &str,
    chunk: &[Prepared],
    run_id: i64,
    now: i64,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    // An account's last row in the chunk carries its current details (the
    // file is in order; earlier chunks are already written).
    let mut latest: HashMap<&str, &Prepared> = HashMap::with_capacity(chunk.len());
    for p in chunk {
        latest.insert(p.row.account_number.as_str(), p);
    }
    let numbers: Vec<&str> = latest.keys().copied().collect();
    let existing = store::receivables::account_digests(tx, department, &numbers).await?;
    let mut ids: HashMap<&str, i64> = HashMap::with_capacity(latest.len());
    let mut accounts = Vec::new();
    for (number, p) in &latest {
        match existing.get(*number) {
            Some((id, mac)) if *mac == p.content_mac => {
                ids.insert(number, *id);
            }
            _ => accounts.push(AccountWrite {
                account_number: number,
                verifier_mac: &p.verifier_mac,
                content_mac: &p.content_mac,
                holder_name_enc: &p.name_enc,
                service_address_enc: &p.address_enc,
            }),
        }
    }
    let written = store::receivables::upsert_accounts(tx, department, &accounts, now).await?;
    let references: Vec<&str> = chunk.iter().map(|p| p.row.reference.as_str()).collect();
    let existing = store::receivables::receivable_digests(tx, department, &references).await?;
    let mut bills = Vec::with_capacity(chunk.len());
    for p in chunk {
        let number = p.row.account_number.as_str();
        let Some(account_id) = ids.get(number).or_else(|| written.get(number)) else {
            return Err(StoreError::Corrupt(format!(
                "account {number} was written but its id did not come back"
            ))
            .into());
        };
        match existing.get(p.row.reference.as_str()) {
            Some(old) if *old == p.bill_mac => {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => summary.updated += 1,
            None => summary.inserted += 1,
        }
        bills.push(ReceivableWrite {
            service_account_id: *account_id,
            reference: p.row.reference.as_str(),
            period_start: &p.period_start,
            period_end: &p.period_end,
            amount_due: p.row.amount_due,
            due_date: &p.due_date,
            content_mac: &p.bill_mac,
            description: p.row.description.as_deref().unwrap_or(""),
            pay_separately: p.row.pay_separately,
        });
    }
    store::receivables::upsert_receivables(tx, department, run_id, &bills, now).await?;
    Ok(())
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
