//! Payments waiting for the processor's outcome, as if residents had just
//! been sent to the card page: each pays one open bill in full.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use app::store::{self, Db};
use domain::Cents;
use sqlx::Row;

pub async fn run(config: &Path, payments: usize, out: &Path) -> Result<()> {
    let config = app::config::Config::load(Some(config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    let bills = sqlx::query(
        "SELECT id, department, amount_due_cents FROM receivables
         WHERE amount_due_cents > 0 ORDER BY id LIMIT $1",
    )
    .bind(i64::try_from(payments)?)
    .fetch_all(db.reader())
    .await?;
    if bills.len() < payments {
        bail!(
            "only {} open bills for {payments} payments: import more",
            bills.len()
        );
    }
    let now = jiff::Timestamp::now().as_microsecond();
    let expires = now + 3_600_000_000;
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("{}", out.display()))?,
    );
    let mut tx = db.begin().await?;
    for (i, bill) in bills.iter().enumerate() {
        let receivable_id: i64 = bill.try_get("id")?;
        let department: String = bill.try_get("department")?;
        let amount = Cents::new(bill.try_get("amount_due_cents")?);
        let id = format!("bench-{i:08}");
        let processor_ref = format!("chk_bench_{i:08}");
        store::payments::insert(
            &mut tx,
            &store::payments::NewPayment {
                id: &id,
                idempotency_key: &id,
                amount,
                fee: Cents::ZERO,
                total: amount,
                processor: "sandbox",
                receipt_email_enc: None,
                locale: app::i18n::Locale::En,
                created_at: now,
                expires_at: expires,
                items: &[store::payments::NewItem {
                    receivable_id,
                    department: &department,
                    amount,
                    fee: Cents::ZERO,
                }],
            },
        )
        .await?;
        if !store::payments::mark_pending(
            &mut tx,
            &id,
            &processor_ref,
            "http://127.0.0.1:9/bench",
            expires,
            now,
        )
        .await?
        {
            bail!("payment {id} was not created");
        }
        writeln!(file, "{processor_ref},{id},{}", amount.get())?;
    }
    tx.commit().await?;
    file.flush()?;
    println!("{payments} payments waiting for their outcome");
    Ok(())
}
