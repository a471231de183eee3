//! Streaming CSV out of a query: rows go to the client as they are read,
//! through a small bounded channel, so a million-row export uses the same
//! memory as a ten-row one. Every text cell is made safe for spreadsheets.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use domain::formats::spreadsheet;
use futures_util::TryStreamExt;
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use tokio::sync::mpsc;

use super::StoreError;

/// A value bound to a numbered placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    I64(i64),
    Text(String),
}

pub fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::I64(v) => q.bind(*v),
            Bind::Text(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// A cell: text (made safe for spreadsheets) or an amount in cents.
pub enum Cell {
    Text(String),
    Cents(i64),
}

pub type RowFn = fn(&AnyRow) -> Result<Vec<Cell>, StoreError>;

const CHUNK: usize = 64 * 1024;

/// Appends one CSV record (quoted as needed) to `buf`.
fn write_record<I: IntoIterator<Item = String>>(
    buf: &mut Vec<u8>,
    cells: I,
) -> Result<(), StoreError> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(512)
        .from_writer(buf);
    w.write_record(cells.into_iter().collect::<Vec<_>>())
        .and_then(|()| w.flush().map_err(csv::Error::from))
        .map_err(|e| StoreError::corrupt(e.to_string()))
}

pub fn csv_body(
    pool: AnyPool,
    sql: String,
    binds: Vec<Bind>,
    header: &'static [&'static str],
    row: RowFn,
) -> Body {
    let (tx, mut rx) = mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        if let Err(e) = write_rows(&pool, &sql, &binds, header, row, &tx).await {
            // The client sees a truncated file ending in this line.
            tracing::error!(error = %e, "CSV export failed part-way");
            let _ = tx
                .send(Bytes::from_static(
                    b"\n# export failed: see the server log\n",
                ))
                .await;
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|o| o.map(Ok::<Bytes, Infallible>))
    });
    Body::from_stream(stream)
}

async fn write_rows(
    pool: &AnyPool,
    sql: &str,
    binds: &[Bind],
    header: &[&str],
    row: RowFn,
    tx: &mpsc::Sender<Bytes>,
) -> Result<(), StoreError> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    write_record(&mut buf, header.iter().map(|h| (*h).to_owned()))?;
    let mut rows = bind_all(sqlx::query(sql), binds).fetch(pool);
    while let Some(r) = rows.try_next().await? {
        let cells = row(&r)?.into_iter().map(|c| match c {
            Cell::Text(s) => spreadsheet::cell(&s).into_owned(),
            Cell::Cents(c) => spreadsheet::amount_cell(c),
        });
        write_record(&mut buf, cells)?;
        if buf.len() >= CHUNK
            && tx
                .send(Bytes::from(std::mem::take(&mut buf)))
                .await
                .is_err()
        {
            // The client went away.
            return Ok(());
        }
    }
    if !buf.is_empty() {
        let _ = tx.send(Bytes::from(buf)).await;
    }
    Ok(())
}
