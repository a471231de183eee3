//! Receivables import: all or nothing, idempotent, updating, with every
//! problem reported by line and column; personal data encrypted at rest.

use app::services::import::{ImportError, ImportSummary};

use crate::db_tests;
use crate::harness::{BILLS_CSV, Backend, Options, spawn_with};

db_tests!(
    import_is_idempotent_and_updates_by_reference,
    a_bad_file_imports_nothing_and_says_where,
    personal_data_is_not_stored_in_plain_text,
    a_large_file_is_written_in_chunks_all_or_nothing,
);

fn no_bills() -> Options {
    Options {
        import_bills: false,
        ..Options::default()
    }
}

const HEADER: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference\n";

async fn import_is_idempotent_and_updates_by_reference(b: Backend) {
    let t = spawn_with(b, no_bills()).await;
    let first = t.import(BILLS_CSV).await.unwrap();
    assert_eq!(
        first,
        ImportSummary {
            rows: 4,
            inserted: 4,
            updated: 0,
            unchanged: 0
        }
    );
    const BILLS_STAMP: &str = "SELECT CAST(SUM(updated_at) AS BIGINT) FROM receivables";
    const ACCOUNTS_STAMP: &str = "SELECT CAST(SUM(updated_at) AS BIGINT) FROM service_accounts";
    let before = t.count(BILLS_STAMP).await;
    let accounts_before = t.count(ACCOUNTS_STAMP).await;
    let again = t.import(BILLS_CSV).await.unwrap();
    assert_eq!(
        again,
        ImportSummary {
            rows: 4,
            inserted: 0,
            updated: 0,
            unchanged: 4
        }
    );
    assert_eq!(t.count(BILLS_STAMP).await, before);
    assert_eq!(t.count(ACCOUNTS_STAMP).await, accounts_before);
    assert_eq!(t.count("SELECT COUNT(*) FROM receivables").await, 4);
    assert_eq!(t.count("SELECT COUNT(*) FROM service_accounts").await, 3);

    // A later file corrects one bill's amount and adds a new bill.
    let later = format!(
        "{HEADER}1002-3345,94110,Maria Lopez,\"1234 Maple Ave, Springfield\",2026-10-01/2026-10-31,80.00,2026-12-18,UT-1\n\
         1002-3345,94110,Maria Lopez,\"1234 Maple Ave, Springfield\",2026-11-01/2026-11-30,90.10,2027-01-18,UT-9\n"
    );
    let third = t.import(&later).await.unwrap();
    assert_eq!(
        third,
        ImportSummary {
            rows: 2,
            inserted: 1,
            updated: 1,
            unchanged: 0
        }
    );
    assert_eq!(t.balance("UT-1").await, 8000);
    assert_eq!(t.balance("UT-9").await, 9010);
    assert_eq!(t.count("SELECT COUNT(*) FROM import_runs").await, 3);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'receivables.imported'")
            .await,
        3
    );
    // The resident sees the corrected amount.
    let mut r = t.resident();
    r.lookup("1002-3345", "94110").await;
    let page = r.get("/pay/utilities/bills").await;
    assert!(
        page.main().contains("$80.00") && page.main().contains("$90.10"),
        "{}",
        page.main()
    );
    // Moving an account to another ZIP follows the latest file.
    let moved = format!(
        "{HEADER}1002-3345,94199,Maria Lopez,\"9 New St\",2026-10-01/2026-10-31,80.00,2026-12-18,UT-1\n"
    );
    t.import(&moved).await.unwrap();
    assert_eq!(r.lookup("1002-3345", "94110").await.status, 400);
    assert_eq!(r.lookup("1002-3345", "94199").await.status, 303);
    t.stop().await;
}

async fn a_bad_file_imports_nothing_and_says_where(b: Backend) {
    let t = spawn_with(b, no_bills()).await;
    let mut bad = format!(
        "{HEADER}1,94110,Ann,1 A St,2026-10-01/2026-10-31,10.00,2026-11-30,R1\n\
         2,94110,Bob,2 B St,2026-10-01/2026-10-31,12.345,2026-11-30,R2\n\
         3,94110,Cy,3 C St,2026-10-01/2026-10-31,5.00,2026-02-30,R3\n\
         4,94110,,4 D St,2026-10-01/2026-10-31,5.00,2026-11-30,R4\n\
         5,94110,Di,5 E St,2026-10-01/2026-10-31,5.00,2026-11-30,R1\n\
         6,94110,Ed,6 F St,2026-10-01/2026-10-31,5.00\n"
    )
    .into_bytes();
    bad.extend_from_slice(b"7,94110,Jos\xe9,7 G St,2026-10-01/2026-10-31,5.00,2026-11-30,R7\n");
    let csv = String::from_utf8_lossy(&bad).into_owned();
    // Import through the raw bytes (the lossy string above is only for the
    // assertion messages).
    let dept = t.app.config.department("utilities").unwrap();
    let err = app::services::import::import_receivables(
        &t.app,
        dept,
        std::io::Cursor::new(bad.clone()),
        "bad.csv",
        "sha",
        &app::audit::Actor::System("test"),
        |_| {},
    )
    .await
    .unwrap_err();
    let ImportError::Invalid { file, errors, more } = err else {
        panic!("expected a list of problems for {csv}");
    };
    assert_eq!(file, "bad.csv");
    assert_eq!(more, 0);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "line 3, column amount_due: bad amount: an amount cannot have more than two decimal places (got \"12.345\")",
            "line 4, column due_date: bad date: write dates as YYYY-MM-DD, like 2026-11-30 (got \"2026-02-30\")",
            "line 5, column name: missing value",
            "line 6, column bill_reference: duplicate bill reference R1 (first on line 2)",
            "line 7: expected 8 fields, found 6",
            "line 8, column name: malformed UTF-8 at byte 4 of the field",
        ]
    );
    for table in ["receivables", "service_accounts", "import_runs"] {
        assert_eq!(
            t.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'receivables.import_rejected'")
            .await,
        1
    );
    // A file whose header is wrong.
    let err = t.import("account,zip\n1,2\n").await.unwrap_err();
    let ImportError::Invalid { errors, .. } = err else {
        panic!()
    };
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("missing column account_number"))
    );
    t.stop().await;
}

async fn personal_data_is_not_stored_in_plain_text(b: Backend) {
    let t = spawn_with(b.clone(), Options::default()).await;
    let mut everything = String::new();
    {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT holder_name_enc, service_address_enc, verifier_mac FROM service_accounts",
        )
        .fetch_all(t.db().reader())
        .await
        .unwrap();
        for r in rows {
            for i in 0..3 {
                everything.push_str(&r.try_get::<String, _>(i).unwrap());
            }
        }
    }
    assert!(!everything.is_empty());
    for secret in ["Maria", "Lopez", "Maple", "Harbor", "94110", "Bakery"] {
        assert!(
            !everything.contains(secret),
            "{secret} stored in plain text"
        );
    }
    if let Backend::Sqlite = b {
        // The raw file, as a thief would read it.
        t.db().close().await;
        let mut raw = std::fs::read(t.dir.join("cityteller.db")).unwrap();
        if let Ok(wal) = std::fs::read(t.dir.join("cityteller.db-wal")) {
            raw.extend(wal);
        }
        let raw = String::from_utf8_lossy(&raw);
        for secret in ["Maria Lopez", "Maple Ave", "Harbor View", "Rivera Family"] {
            assert!(!raw.contains(secret), "{secret} in the database file");
        }
    }
    // The pool was closed to read the file: the usual end-of-test checks
    // cannot run.
    t.stop_unchecked().await;
}

/// `n` bills, three per account; an account's last row carries a new name.
/// References end in a letter: SQLite stores a bill's reference and its
/// period side by side, and "R-26" + "2026-10-01" + "2026-10-31" reads as
/// a Luhn-valid Mastercard-like number to the card-number scan.
fn many_bills(n: usize, cents: impl Fn(usize) -> u64, broken_line: Option<usize>) -> String {
    let mut csv = String::from(HEADER);
    for i in 0..n {
        let account = format!("7{:03}-{:04}", i / 3 / 10_000, (i / 3) % 10_000);
        let name = if i % 3 == 2 { "Ana New" } else { "Ana Old" };
        let c = cents(i);
        let amount = if broken_line == Some(i + 2) {
            "ten dollars".to_owned()
        } else {
            format!("{}.{:02}", c / 100, c % 100)
        };
        csv.push_str(&format!(
            "{account},94110,{name},{} Oak St,2026-10-01/2026-10-31,{amount},2026-12-18,R-{i}-A\n",
            i / 3 + 1
        ));
    }
    csv
}

async fn a_large_file_is_written_in_chunks_all_or_nothing(b: Backend) {
    let t = spawn_with(b, no_bills()).await;
    let n = 2_500;
    // A problem on line 2,400 (in the third chunk) undoes the two chunks
    // already written.
    let err = t
        .import(&many_bills(n, |i| 1_000 + i as u64, Some(2_400)))
        .await
        .unwrap_err();
    let ImportError::Invalid { errors, more, .. } = err else {
        panic!("expected a list of problems, got {err}");
    };
    assert_eq!((errors.len(), more), (1, 0), "{errors:?}");
    assert_eq!(errors[0].line, 2_400, "{errors:?}");
    for table in ["receivables", "service_accounts", "import_runs"] {
        assert_eq!(
            t.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table} after a refused file"
        );
    }

    let good = many_bills(n, |i| 1_000 + i as u64, None);
    let first = t.import(&good).await.unwrap();
    assert_eq!(
        first,
        ImportSummary {
            rows: 2_500,
            inserted: 2_500,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM service_accounts").await, 834);
    let expected: u64 = (0..n).map(|i| 1_000 + i as u64).sum();
    assert_eq!(
        t.count("SELECT CAST(SUM(amount_due_cents) AS BIGINT) FROM receivables")
            .await,
        expected as i64
    );
    // Account 333 has rows 999-1001, across the 1,000-row mark: the last
    // row's name is what is stored, sealed to its row.
    let sealed: String = sqlx::query_scalar(
        "SELECT holder_name_enc FROM service_accounts WHERE account_number = '70000333'",
    )
    .fetch_one(t.db().reader())
    .await
    .unwrap();
    let ctx = app::crypto::fields::FieldContext {
        table: "service_accounts",
        column: "holder_name",
        row: "utilities/70000333",
    };
    assert_eq!(t.app.keys.fields.open(&sealed, &ctx).unwrap(), "Ana New");
    // Every bill belongs to the account its row names.
    assert_eq!(
        t.count(
            "SELECT COUNT(*) FROM receivables r JOIN service_accounts a
               ON a.id = r.service_account_id
             WHERE CAST(substr(r.reference, 3, length(r.reference) - 4) AS INTEGER) / 3
                 = CAST(substr(a.account_number, 5) AS INTEGER)"
        )
        .await,
        2_500
    );

    const ACCOUNTS_STAMP: &str = "SELECT CAST(SUM(updated_at) AS BIGINT) FROM service_accounts";
    let stamp = t.count(ACCOUNTS_STAMP).await;
    let again = t.import(&good).await.unwrap();
    assert_eq!(
        (again.inserted, again.updated, again.unchanged),
        (0, 0, 2_500)
    );
    assert_eq!(t.count(ACCOUNTS_STAMP).await, stamp, "accounts rewritten");

    // The billing system corrects the last 500 bills.
    let corrected = many_bills(n, |i| if i >= 2_000 { 5 } else { 1_000 + i as u64 }, None);
    let third = t.import(&corrected).await.unwrap();
    assert_eq!(
        (third.inserted, third.updated, third.unchanged),
        (0, 500, 2_000)
    );
    assert_eq!(t.balance("R-2499-A").await, 5);
    assert_eq!(t.balance("R-1999-A").await, 2_999);
    t.stop().await;
}
