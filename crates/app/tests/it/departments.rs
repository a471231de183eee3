//! Departments are configuration: a city adds parking citations, verified
//! by the plate and its state and numbered in its own format, without a
//! line of code; residents find, pay and are posted to that department's
//! ledger accounts.

use domain::payment::PaymentStatus;

use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, spawn_with};

db_tests!(
    a_city_adds_parking_citations_by_configuration,
    a_parking_file_is_checked_against_its_format_and_verifier,
);

#[test]
fn an_import_mapping_names_only_columns_of_the_department() {
    use app::config::Config;
    let toml = format!(
        "{}\n[departments.utilities]\nname = \"Utilities\"\n[departments.utilities.ledger]\ncash_clearing = \"1010\"\nreceivable = \"1200\"\nfee_income = \"4410\"\n",
        PARKING.replace("verifier_plate = \"Plate\"", "verifier_zip = \"Zip\"")
    );
    let errs = Config::from_parts(
        toml.parse().unwrap(),
        "cityteller.toml",
        Vec::<(String, String)>::new(),
    )
    .err()
    .map(|e| e.0)
    .unwrap_or_default();
    assert!(
        errs.iter()
            .any(|e| e.contains("departments.parking.import.verifier_zip: unknown setting")),
        "{errs:?}"
    );
}

pub const PARKING: &str = r#"
[departments.parking]
name = "Parking citations"
summary = "Tickets issued by the city's parking enforcement"
lookup_label = "Citation number"
lookup_hint = "Printed at the top of the ticket, for example PK-1234567."
verifier = "plate_state"
account_format = "PK-#######"
min_payment = "1.00"
allow_partial = false
refund_approval_threshold = "50.00"

[departments.parking.es]
name = "Multas de estacionamiento"

[departments.parking.card_fee]
flat = "1.50"

[departments.parking.ledger]
cash_clearing = "1010-CLEARING"
receivable = "1230-PARK-AR"
fee_income = "4490-CONV-FEES"

# The parking system's own column names.
[departments.parking.import]
account_number = "Citation"
verifier_plate = "Plate"
verifier_state = "Plate state"
name = "Registered owner"
service_address = "Location"
bill_period = "Violation period"
amount_due = "Fine"
due_date = "Due date"
bill_reference = "Citation ID"
"#;

pub const CITATIONS: &str = "\
Citation,Plate,Plate state,Registered owner,Location,Violation period,Fine,Due date,Citation ID
PK-1234567,7ABC123,CA,Jordan Reyes,\"300 Main St, Springfield\",2026-11-02/2026-11-02,65.00,2026-12-02,PK-2026-0001
PK-7654321,KXT 4410,NV,Sam Chen,\"12 Oak Ave, Springfield\",2026-11-05/2026-11-05,45.00,2026-12-05,PK-2026-0002
";

async fn with_parking(b: Backend) -> TestApp {
    let t = spawn_with(
        b,
        Options {
            extra_toml: PARKING.into(),
            ..Options::default()
        },
    )
    .await;
    let summary = import(&t, CITATIONS).await.unwrap();
    assert_eq!(summary.rows, 2, "{summary:?}");
    t
}

pub async fn import(
    t: &TestApp,
    csv: &str,
) -> Result<app::services::import::ImportSummary, app::services::import::ImportError> {
    t.import_to("parking", csv).await
}

/// Every problem an import reported, one per line.
fn problems(
    r: Result<app::services::import::ImportSummary, app::services::import::ImportError>,
) -> String {
    match r {
        Err(app::services::import::ImportError::Invalid { errors, .. }) => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("expected problems, got {other:?}"),
    }
}

async fn a_city_adds_parking_citations_by_configuration(b: Backend) {
    let t = with_parking(b).await;
    let mut r = t.resident();
    let home = r.get("/").await;
    assert!(home.main().contains("parking citations"), "{}", home.main());

    let form = r.get("/pay/parking").await;
    assert_eq!(form.status, 200);
    assert!(form.main().contains("Citation number"));
    assert!(form.main().contains("Licence plate"));
    assert!(form.main().contains(r#"<option value="CA">CA</option>"#));
    assert!(!form.main().contains("ZIP code"));

    // Not the department's format: said so, with an example.
    let wrong = r
        .post(
            "/pay/parking",
            &[
                ("account_number", "1234567"),
                ("plate", "7ABC123"),
                ("state", "CA"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.main().contains("like PK-1234567"), "{}", wrong.main());
    // No state chosen: the error is on the state.
    let no_state = r
        .post(
            "/pay/parking",
            &[
                ("account_number", "PK-1234567"),
                ("plate", "7ABC123"),
                ("state", ""),
            ],
        )
        .await;
    assert_eq!(no_state.status, 400);
    assert!(
        no_state.main().contains(r#"id="state-error""#),
        "{}",
        no_state.main()
    );
    // Another state's plate of the same letters: the same answer as an
    // unknown citation.
    let other_state = r
        .post(
            "/pay/parking",
            &[
                ("account_number", "PK-1234567"),
                ("plate", "7ABC123"),
                ("state", "NV"),
            ],
        )
        .await;
    let unknown = r
        .post(
            "/pay/parking",
            &[
                ("account_number", "PK-1111111"),
                ("plate", "7ABC123"),
                ("state", "CA"),
            ],
        )
        .await;
    assert_eq!(other_state.status, unknown.status);
    assert!(other_state.main().contains("could not find a notice"));
    let summary = |p: &crate::resident::Page| {
        let m = p.main();
        let start = m.find("<div class=\"error-summary\"").unwrap();
        let end = start + m[start..].find("</div>").unwrap();
        m[start..end].to_owned()
    };
    assert_eq!(summary(&other_state), summary(&unknown));

    // As people type it: lower case, spaces.
    let found = r
        .post(
            "/pay/parking",
            &[
                ("account_number", "pk-1234567"),
                ("plate", "7abc 123"),
                ("state", "ca"),
            ],
        )
        .await;
    assert_eq!(found.status, 303, "{}", found.body);
    assert_eq!(found.location.as_deref(), Some("/pay/parking/bills"));
    let bill = t.bill_id("PK-2026-0001").await;
    let bill_s = bill.to_string();
    // Partial payment is not allowed for this department: not offered,
    // and a forged "other amount" pays the citation in full.
    let bills = r.get("/pay/parking/bills").await;
    assert!(bills.main().contains("$65.00"), "{}", bills.main());
    assert!(
        !bills.main().contains(r#"value="other""#),
        "{}",
        bills.main()
    );
    let chosen = r
        .post(
            "/pay/parking/bills",
            &[("bill", &bill_s), ("choice", "other"), ("amount", "20.00")],
        )
        .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    let review = r.get("/pay/review").await;
    assert!(review.main().contains("$1.50"), "the department's fee");
    assert!(review.main().contains("$66.50"), "{}", review.main());
    let checkout = r.confirm("").await.location.unwrap();
    let back = r.pay_on_processor(&checkout, "4242424242424242").await;
    let id = back
        .location
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(t.settled(&id).await.status, PaymentStatus::Succeeded);
    assert_eq!(t.balance("PK-2026-0001").await, 0);
    assert_eq!(t.balance("PK-2026-0002").await, 4500, "the other citation");

    // Posted to the department's own accounts.
    let lines = app::store::ledger::lines_for_payment(t.db().reader(), &id)
        .await
        .unwrap();
    let accounts: Vec<(String, i64)> = lines.iter().map(|l| (l.1.clone(), l.3)).collect();
    assert!(
        accounts.contains(&("1230-PARK-AR".to_string(), -6500)),
        "{accounts:?}"
    );
    assert!(
        accounts.contains(&("4490-CONV-FEES".to_string(), -150)),
        "{accounts:?}"
    );
    assert!(
        accounts.contains(&("1010-CLEARING".to_string(), 6650)),
        "{accounts:?}"
    );
    t.assert_books_balance().await;

    // The same department in Spanish.
    let es = r.get("/pay/parking?lang=es").await;
    assert!(es.main().contains("Placa del vehículo"));
    assert!(es.main().contains("multas de estacionamiento"));
    t.stop().await;
}

async fn a_parking_file_is_checked_against_its_format_and_verifier(b: Backend) {
    let t = spawn_with(
        b,
        Options {
            extra_toml: PARKING.into(),
            ..Options::default()
        },
    )
    .await;
    // A utilities file sent to parking: the header names what is missing.
    let utilities = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference\n1,94110,A B,\"1 A St\",2026-10-01/2026-10-31,5.00,2026-11-30,X-1\n";
    let err = problems(import(&t, utilities).await);
    assert!(err.contains("unknown column \"verifier_zip\""), "{err}");
    assert!(err.contains("missing column Plate\n"), "{err}");
    assert!(err.contains("missing column Plate state"), "{err}");
    assert!(err.contains("missing column Citation ID"), "{err}");

    let bad = "\
CITATION,plate,Plate State,Registered owner,Location,Violation period,Fine,Due date,Citation ID
PK-12345,7ABC123,CA,Jordan Reyes,\"300 Main St, Springfield\",2026-11-02/2026-11-02,65.00,2026-12-02,PK-2026-0001
PK-7654321,KXT4410,ZZ,Sam Chen,\"12 Oak Ave, Springfield\",2026-11-05/2026-11-05,45.00,2026-12-05,PK-2026-0002
PK-7654322,,NV,Sam Chen,\"12 Oak Ave, Springfield\",2026-11-05/2026-11-05,45.00,2026-12-05,PK-2026-0003
";
    let err = problems(import(&t, bad).await);
    assert!(
        err.contains(
            "line 2, column Citation: not in the department's format PK-####### (got \"PK-12345\")"
        ),
        "{err}"
    );
    assert!(
        err.contains("line 3, column Plate state: bad value: choose the state the plate is from"),
        "{err}"
    );
    assert!(err.contains("line 4, column Plate: missing value"), "{err}");
    // All or nothing: not one citation was stored.
    assert_eq!(
        t.count("SELECT COUNT(*) FROM receivables WHERE reference LIKE 'PK-%'")
            .await,
        0
    );
    t.stop().await;
}

/// A licensing department: renewal window, term, late penalty, a state
/// surcharge and three kinds of category fee, all in configuration.
pub const LICENSING: &str = r#"
[departments.licensing]
name = "Business licences"
verifier = "name"
account_format = "BL-######"
allow_partial = false

[departments.licensing.ledger]
cash_clearing = "1010-CLEARING"
receivable = "1250-LIC-AR"
fee_income = "4490-CONV-FEES"

[departments.licensing.licences]
renewal_window_days = 60
term_months = 12

[departments.licensing.licences.late_penalty]
percent_per_month = "10"
max_percent = "50"

[departments.licensing.licences.surcharges]
"State disability access fee" = "4.00"

[departments.licensing.licences.categories.retail]
name = "Retail"
name_es = "Comercio minorista"
fee = "gross_receipts"
base = "75.00"
threshold = "50000.00"
rate_per_thousand = "0.80"
cap = "5000.00"

[departments.licensing.licences.categories.contractor]
name = "Contractor"
fee = "employees"
base = "60.00"
included = 2
per_employee = "12.50"

[departments.licensing.licences.categories.home]
name = "Home occupation"
fee = "flat"
amount = "50.00"
"#;

fn licensing_config(toml: &str) -> Result<app::config::Config, Vec<String>> {
    app::config::Config::from_parts(
        format!("{}{toml}", crate::harness::UTILITIES)
            .parse()
            .unwrap(),
        "cityteller.toml",
        Vec::<(String, String)>::new(),
    )
    .map_err(|e| e.0)
}

#[test]
fn a_licence_fee_schedule_is_configuration() {
    use domain::licence_fee::{Declaration, LineKind};
    let config = licensing_config(LICENSING).unwrap();
    let rules = config
        .department("licensing")
        .unwrap()
        .licences
        .clone()
        .unwrap();
    assert_eq!(rules.renewal_window_days, 60);
    assert_eq!(rules.category_names["retail"].1, "Comercio minorista");
    assert_eq!(rules.category_names["contractor"].1, "Contractor");
    let expiry = jiff::civil::date(2026, 12, 31);
    let fee = rules
        .schedule
        .renewal_fee(
            "retail",
            &Declaration {
                gross_receipts: Some(domain::Cents::parse_dollars("250000").unwrap()),
                employees: None,
            },
            expiry,
            jiff::civil::date(2027, 2, 10),
        )
        .unwrap();
    // $235 licence, 20 % late ($47), $4 surcharge.
    assert_eq!(fee.total.get(), 28_600);
    assert_eq!(fee.lines[1].kind, LineKind::LatePenalty { months: 2 });
    // Departments without licences have none.
    assert!(config.department("utilities").unwrap().licences.is_none());
}

#[test]
fn a_broken_licence_schedule_names_every_problem() {
    let broken = LICENSING
        .replace("fee = \"flat\"", "fee = \"monthly\"")
        .replace("cap = \"5000.00\"", "cap = \"10.00\"")
        .replace("max_percent = \"50\"", "max_percent = \"150\"")
        .replace("per_employee = \"12.50\"", "per_employee = \"a lot\"")
        .replace("renewal_window_days = 60", "renewal_window_days = 0");
    let errs = licensing_config(&broken).unwrap_err().join("\n");
    for expected in [
        "cityteller.toml: departments.licensing.licences.categories.home.fee: \"monthly\": expected flat, gross_receipts or employees",
        "cityteller.toml: departments.licensing.licences.categories.retail: the cap must be at least the base fee",
        "cityteller.toml: departments.licensing.licences.late_penalty: the late penalty percentages must be between 0 and 100",
        "cityteller.toml: departments.licensing.licences.categories.contractor.per_employee: ",
        "cityteller.toml: departments.licensing.licences.renewal_window_days: must be between 1 and 366",
    ] {
        assert!(errs.contains(expected), "{expected:?} not in\n{errs}");
    }
}
