//! Benchmark baseline for `audit verify`: a plain SHA-256 chain over the
//! same canonical bytes, read from the length-prefixed file that
//! `bench/gen_audit.py` writes beside the database. The file is read into
//! memory first, so only the hashing is timed.
//!
//! Usage: sha_chain FILE.raw

use sha2::{Digest, Sha256};

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: sha_chain FILE.raw");
        return std::process::ExitCode::from(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("sha_chain: {path}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    let mut prev = [0u8; 32];
    let mut n = 0u64;
    let mut rest = data.as_slice();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_be_bytes(*len) as usize;
        let Some((record, tail)) = tail.split_at_checked(len) else {
            eprintln!("sha_chain: {path}: truncated record {n}");
            return std::process::ExitCode::from(2);
        };
        let mut h = Sha256::new();
        h.update(prev);
        h.update(record);
        prev = h.finalize().into();
        n += 1;
        rest = tail;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "sha-256 chain: {n} records in {secs:.3} s ({:.0} records/s), last {}",
        n as f64 / secs.max(1e-9),
        hex::encode(prev)
    );
    std::process::ExitCode::SUCCESS
}
