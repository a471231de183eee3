//! Runs after the rest of the suite (see `scripts/test`): scans every
//! database file, PostgreSQL dump, e-mail and log the suite wrote for
//! anything that looks like a card number (a Luhn-valid run of 13 to 19
//! digits with a card network's prefix, written plain or in groups). The
//! suite typed test card numbers into the sandbox's hosted page; none may
//! have reached cityteller's storage, mail or logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn artifacts_root() -> PathBuf {
    match std::env::var("TEST_ARTIFACTS_DIR") {
        Ok(p) => PathBuf::from(p),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts"),
    }
}

/// Issuer prefixes of the card networks (Visa, Mastercard, American
/// Express, Discover, JCB, Diners Club, UnionPay).
fn card_prefix(d: &[u8]) -> bool {
    let n = |k: usize| -> u32 {
        std::str::from_utf8(&d[..k.min(d.len())])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    d.first() == Some(&b'4')
        || (51..=55).contains(&n(2))
        || (2221..=2720).contains(&n(4))
        || n(2) == 34
        || n(2) == 37
        || n(4) == 6011
        || n(2) == 65
        || (644..=649).contains(&n(3))
        || (3528..=3589).contains(&n(4))
        || n(2) == 36
        || n(2) == 38
        || (300..=305).contains(&n(3))
        || n(2) == 62
}

/// Card-number-like runs in `data`: digits, optionally in groups separated
/// by single spaces or dashes, not part of a longer word (so hex digests
/// and base64 do not count).
fn find_card_numbers(data: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < data.len() {
        // Not inside a word (a hyphenated identifier such as a UUID counts
        // as one: "186b5e5d-5375-4524-9996-…" is not a card), and not the
        // fraction of a decimal number.
        let in_word = i > 0
            && (data[i - 1].is_ascii_alphanumeric()
                || (data[i - 1] == b'-' && i > 1 && data[i - 2].is_ascii_alphanumeric()));
        let fraction = i > 1 && data[i - 1] == b'.' && data[i - 2].is_ascii_digit();
        if !data[i].is_ascii_digit() || in_word || fraction {
            i += 1;
            continue;
        }
        let mut digits = Vec::new();
        let mut j = i;
        while j < data.len() {
            let c = data[j];
            if c.is_ascii_digit() {
                digits.push(c);
                j += 1;
            } else if (c == b' ' || c == b'-')
                && j + 1 < data.len()
                && data[j + 1].is_ascii_digit()
                && !digits.is_empty()
            {
                j += 1;
            } else {
                break;
            }
        }
        let boundary = j >= data.len() || !data[j].is_ascii_alphanumeric();
        let text = String::from_utf8_lossy(&digits);
        if boundary && card_prefix(&digits) && domain::luhn::card_shaped(&text) {
            found.push(text.into_owned());
        }
        i = j.max(i + 1);
    }
    found
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn the_scanner_finds_card_numbers_and_ignores_other_numbers() {
    assert_eq!(
        find_card_numbers(b"x 4242424242424242 y"),
        vec!["4242424242424242"]
    );
    assert_eq!(
        find_card_numbers(b"\"number\":\"4242 4242 4242 4242\""),
        vec!["4242424242424242"]
    );
    assert_eq!(
        find_card_numbers(b"5555-5555-5555-4444,"),
        vec!["5555555555554444"]
    );
    assert_eq!(
        find_card_numbers(b"\x00\x014000000000009995\x00"),
        vec!["4000000000009995"]
    );
    assert_eq!(
        find_card_numbers(b"amex 378282246310005."),
        vec!["378282246310005"]
    );
    // Not card numbers: a microsecond timestamp, a digest, a failing Luhn
    // check, too short, inside a word.
    assert!(find_card_numbers(b"\"at\":1796000000000000").is_empty());
    assert!(find_card_numbers(b"a94242424242424242f0").is_empty());
    assert!(find_card_numbers(b"4242424242424241").is_empty());
    assert!(find_card_numbers(b"424242424242").is_empty());
    assert!(find_card_numbers(b"2026-11-27 12:00:00").is_empty());
    assert!(find_card_numbers(b"\"ms\":6.4355649999999995}").is_empty());
    // A UUID whose middle groups are all digits, cut by a quoted-printable
    // line break in an e-mail (seen in a browser-suite receipt).
    assert!(find_card_numbers(b"receipt/186b5e5d-5375-4524-9996-28=\n").is_empty());
    // A dash that only separates words still leaves a card number found.
    assert_eq!(
        find_card_numbers(b"card - 4242424242424242"),
        vec!["4242424242424242"]
    );
}

#[test]
fn no_card_number_reached_storage_mail_or_logs() {
    let root = artifacts_root();
    let mut files = Vec::new();
    files_under(&root, &mut files);
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let databases = files
        .iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("cityteller.db") || name == "postgres-dump.txt"
        })
        .count();
    let logs = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .count();
    if databases == 0 || logs == 0 {
        let why = format!(
            "no test artifacts under {} ({databases} databases, {logs} logs): run the suite first (scripts/test does)",
            root.display()
        );
        if in_ci {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
        return;
    }
    let mut hits = Vec::new();
    let mut bytes = 0usize;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        bytes += data.len();
        for n in find_card_numbers(&data) {
            hits.push(format!(
                "{}: {}…{}",
                f.display(),
                &n[..4],
                &n[n.len() - 4..]
            ));
        }
    }
    println!(
        "scanned {} files ({bytes} bytes): {databases} databases, {logs} logs",
        files.len()
    );
    assert!(hits.is_empty(), "card numbers found:\n{}", hits.join("\n"));
}
