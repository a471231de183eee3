//! The benchmark's generated data: a receivables CSV, a database full of
//! chained audit events, and the plain SHA-256 chain that `audit verify`
//! is measured against.
//!
//! The audit chain's byte encoding is written out here independently of
//! `domain::audit_chain` (from the format it documents), so a wrong byte on
//! either side makes `audit verify` fail and the benchmark stop.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// A small deterministic generator (SplitMix64), so that every run writes
/// the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from.get(self.below(from.len()))
            .copied()
            .unwrap_or_default()
    }
}

const FIRST: &[&str] = &[
    "Maria", "Sam", "Ana", "John", "Li", "Priya", "Omar", "Grace", "Luis", "Fatima",
];
const LAST: &[&str] = &[
    "Lopez", "Chen", "Garcia", "Smith", "Nguyen", "Patel", "Hassan", "Kim", "Rossi", "Okafor",
];
const STREETS: &[&str] = &[
    "Maple Ave",
    "Harbor View Rd",
    "Oak St",
    "Mission St",
    "Cedar Ln",
    "Bay Blvd",
];

/// Writes `n` utility bills (one open bill per account) in the documented
/// receivables CSV format, and beside it `FILE.accounts` with
/// `account_number,zip` per line.
pub fn receivables(path: &Path, n: usize) -> Result<()> {
    let create = |p: &Path| {
        File::create(p)
            .map(BufWriter::new)
            .with_context(|| p.display().to_string())
    };
    let mut out = create(path)?;
    let mut accounts = create(&beside(path, ".accounts"))?;
    writeln!(
        out,
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference"
    )?;
    let mut rng = Rng(2026);
    for i in 0..n {
        let account = format!("{:04}-{:04}", 1000 + i / 10_000, i % 10_000);
        let zip = format!("{:05}", 94_100 + i % 90);
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let street = rng.pick(STREETS);
        let cents = 1000 + rng.below(40_000);
        writeln!(
            out,
            "{account},{zip},{first} {last},\"{} {street}\",2026-10-01/2026-10-31,{}.{:02},2026-12-18,UT-2026-10-{i:07}",
            1 + i % 9000,
            cents / 100,
            cents % 100,
        )?;
        writeln!(accounts, "{account},{zip}")?;
    }
    out.flush()?;
    accounts.flush()?;
    Ok(())
}

/// `path` with `suffix` appended to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn put_text(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s);
}

/// Version 1 of the chain's canonical encoding: a version byte, `at` as a
/// big-endian i64, then each field as a big-endian u64 length and its
/// bytes, the optional ones (target, source address) behind a 0/1 byte.
fn canonical(out: &mut Vec<u8>, at: i64, fields: [&[u8]; 6]) {
    let [actor, action, target, outcome, ip, details] = fields;
    out.push(1);
    out.extend_from_slice(&at.to_be_bytes());
    put_text(out, actor);
    put_text(out, action);
    out.push(1);
    put_text(out, target);
    put_text(out, outcome);
    out.push(1);
    put_text(out, ip);
    put_text(out, details);
}

/// Appends `n` valid, hash-chained audit events to the cityteller SQLite
/// database at `db` (migrated, so it has a chain head), and writes the
/// same canonical byte strings, in order and each behind its big-endian
/// u32 length, to `DB.raw` for the SHA-256 chain baseline.
pub fn audit_events(db: &Path, n: u64) -> Result<()> {
    let mut conn = rusqlite::Connection::open(db).with_context(|| db.display().to_string())?;
    let tx = conn.transaction()?;
    let (seq, head): (i64, String) =
        tx.query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let mut prev: [u8; 32] = hex::decode(&head)
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("the chain head's hash is not 64 hex digits")?;
    let raw_path = beside(db, ".raw");
    let mut raw =
        BufWriter::new(File::create(&raw_path).with_context(|| raw_path.display().to_string())?);
    let at0: i64 = 1_790_000_000_000_000;
    let mut bytes = Vec::with_capacity(512);
    {
        let mut insert = tx.prepare(
            "INSERT INTO audit_events (seq, at, actor, action, target, outcome, source_ip, details, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        let actor = "resident:3688ad72e66b";
        let outcome = "success";
        for i in 1..=i64::try_from(n)? {
            let action = if i % 3 == 0 {
                "lookup.succeeded"
            } else {
                "payment.succeeded"
            };
            let target = format!("payment:{i:032x}");
            let ip = format!("203.0.113.{}", i % 250);
            let details = format!(
                r#"{{"via":"webhook","receipt_number":"R2026-{:06}","total_cents":{},"card_brand":"visa"}}"#,
                i % 999_999,
                1000 + i
            );
            let at = at0 + i;
            bytes.clear();
            canonical(
                &mut bytes,
                at,
                [
                    actor.as_bytes(),
                    action.as_bytes(),
                    target.as_bytes(),
                    outcome.as_bytes(),
                    ip.as_bytes(),
                    details.as_bytes(),
                ],
            );
            raw.write_all(&u32::try_from(bytes.len())?.to_be_bytes())?;
            raw.write_all(&bytes)?;
            let hash: [u8; 32] = Sha256::new()
                .chain_update(prev)
                .chain_update(&bytes)
                .finalize()
                .into();
            insert.execute(rusqlite::params![
                seq + i,
                at,
                actor,
                action,
                target,
                outcome,
                ip,
                details,
                hex::encode(prev),
                hex::encode(hash),
            ])?;
            prev = hash;
        }
    }
    tx.execute(
        "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1",
        rusqlite::params![seq + i64::try_from(n)?, hex::encode(prev)],
    )?;
    tx.commit()?;
    raw.flush()?;
    Ok(())
}

/// The baseline for `audit verify`: a plain SHA-256 chain over the records
/// of a file `audit_events` wrote. The file is read into memory first, so
/// only the hashing is timed. Prints the count, time and rate.
pub fn sha_chain(path: &Path) -> Result<()> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .with_context(|| path.display().to_string())?;
    let started = Instant::now();
    let mut prev = [0u8; 32];
    let mut n = 0u64;
    let mut rest = data.as_slice();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = usize::try_from(u32::from_be_bytes(*len))?;
        let Some((record, tail)) = tail.split_at_checked(len) else {
            bail!("{}: record {n} is cut short", path.display());
        };
        prev = Sha256::new()
            .chain_update(prev)
            .chain_update(record)
            .finalize()
            .into();
        n += 1;
        rest = tail;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "sha-256 chain: {n} records in {secs:.3} s ({:.0} records/s), last {}",
        n as f64 / secs.max(1e-9),
        hex::encode(prev)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The independent encoding here must agree with the application's.
    #[test]
    fn the_canonical_bytes_match_the_domain_encoding() {
        let mut ours = Vec::new();
        canonical(
            &mut ours,
            -5,
            [
                b"staff:1",
                b"payment.refunded",
                b"payment:9",
                b"success",
                b"192.0.2.7",
                b"{}",
            ],
        );
        let theirs = domain::audit_chain::canonical(&domain::audit_chain::ChainEvent {
            at: -5,
            actor: "staff:1".into(),
            action: "payment.refunded".into(),
            target: Some("payment:9".into()),
            outcome: "success".into(),
            source_ip: Some("192.0.2.7".into()),
            details: "{}".into(),
        });
        assert_eq!(ours, theirs);
    }

    #[test]
    fn receivables_are_the_same_every_run_and_one_per_account() {
        let dir = std::env::temp_dir().join(format!("ct-bench-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
        receivables(&a, 25).unwrap();
        receivables(&b, 25).unwrap();
        let text = std::fs::read_to_string(&a).unwrap();
        assert_eq!(text, std::fs::read_to_string(&b).unwrap());
        assert_eq!(text.lines().count(), 26);
        let accounts = std::fs::read_to_string(beside(&a, ".accounts")).unwrap();
        assert_eq!(accounts.lines().count(), 25);
        assert_eq!(accounts.lines().next(), Some("1000-0000,94100"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
