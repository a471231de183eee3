//! `cityteller breach scope` and `breach notices` as an operator runs them
//! after an incident.

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

/// The example incident file in `docs/`, with a window around now.
fn example_incident(dir: &std::path::Path) -> std::path::PathBuf {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/incident.example.toml"),
    )
    .unwrap();
    let now = jiff::Timestamp::now();
    let text = example
        .replace("from = \"2026-10-01\"", "from = \"2020-01-01\"")
        .replace(
            "to = \"2026-11-01\"",
            &format!("to = \"{}\"", now + jiff::SignedDuration::from_hours(48)),
        )
        .replace(
            "discovered = \"2026-11-03\"",
            &format!(
                "discovered = \"{}\"",
                now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
            ),
        );
    let path = dir.join("incident.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn breach_notices_through_the_command() {
    let dir = artifacts("notices-cli");
    let db = format!("sqlite://{}", dir.join("cityteller.db").display());
    let config = write_config(&dir, &db);
    keys_and_bills(&dir, &config);
    let incident = example_incident(&dir);
    let out = dir.join("notices");

    let (code, stdout, err) = run(
        &config,
        &[
            "breach",
            "notices",
            "--incident",
            &incident.display().to_string(),
            "--out",
            &out.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("notice(s) written to"), "{stdout}");
    assert!(stdout.contains("in English"), "{stdout}");
    assert!(
        stdout.contains("no sample copy for the Attorney General is required"),
        "{stdout}"
    );
    let written = std::fs::read_dir(out.join("notices")).unwrap().count();
    assert!(
        written >= 2 && written.is_multiple_of(2),
        "an HTML and a PDF per person: {written}"
    );
    let merge = std::fs::read_to_string(out.join("mail-merge.csv")).unwrap();
    assert_eq!(merge.lines().count(), written / 2 + 1, "{merge}");

    // The same folder again: refused.
    let (code, _, err) = run(
        &config,
        &[
            "breach",
            "notices",
            "--incident",
            &incident.display().to_string(),
            "--out",
            &out.display().to_string(),
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("exists; choose a new folder"), "{err}");

    // A broken incident file: every problem, with the file and setting.
    let bad = dir.join("bad-incident.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&incident)
            .unwrap()
            .replace("component = \"database\"", "component = \"printer\"")
            .replace("[es]", "[fr]"),
    )
    .unwrap();
    let (code, _, err) = run(
        &config,
        &[
            "breach",
            "notices",
            "--incident",
            &bad.display().to_string(),
            "--out",
            &dir.join("other").display().to_string(),
        ],
    );
    assert_eq!(code, 2);
    let label = bad.display().to_string();
    assert!(err.contains(&format!("{label}: component: ")), "{err}");
    assert!(
        err.contains(&format!("{label}: es.what_happened: missing")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{label}: fr.what_happened: unknown setting")),
        "{err}"
    );
    assert!(!dir.join("other").exists(), "nothing written");
}
