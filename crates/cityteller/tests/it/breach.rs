//! `cityteller breach scope` as an operator runs it after an incident.

use super::{artifacts, keys_and_bills, run, write_config};

#[test]
fn breach_scope_through_the_command() {
    let dir = artifacts("breach-cli");
    let db = format!("sqlite://{}", dir.join("cityteller.db").display());
    let config = write_config(&dir, &db);
    keys_and_bills(&dir, &config);

    let out_csv = dir.join("recipients.csv");
    // A date (midnight, city time) and an RFC 3339 time.
    let (from, to) = (
        "2020-01-01".to_string(),
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string(),
    );
    let (code, out, err) = run(
        &config,
        &[
            "breach",
            "scope",
            "--from",
            &from,
            "--to",
            &to,
            "--component",
            "database",
            "--csv",
            &out_csv.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("could have been exposed by a compromise of the database"),
        "{out}"
    );
    assert!(out.contains("card numbers"), "{out}");
    assert!(out.contains("never held"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_csv).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the recipients file is private");
    }
    let written = std::fs::read_to_string(&out_csv).unwrap();
    assert!(written.starts_with("name,email,postal_address,state,language,categories\n"));
    assert!(written.lines().count() > 1, "{written}");

    // Never overwritten; bad input says what and where.
    let (code, _, err) = run(
        &config,
        &[
            "breach",
            "scope",
            "--from",
            &from,
            "--to",
            &to,
            "--csv",
            &out_csv.display().to_string(),
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("exists"), "{err}");
    let (code, _, err) = run(
        &config,
        &["breach", "scope", "--from", "last week", "--to", &to],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--from \"last week\": expected a date like 2026-11-01"),
        "{err}"
    );
    let (code, _, err) = run(
        &config,
        &[
            "breach",
            "scope",
            "--from",
            &from,
            "--to",
            &to,
            "--component",
            "printer",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("expected public, staff, database or backups"),
        "{err}"
    );
    let (code, _, err) = run(&config, &["breach", "scope", "--from", &to, "--to", &from]);
    assert_eq!(code, 2);
    assert!(err.contains("--to must be after --from"), "{err}");
}
