//! Breach scope: who could have been exposed, and which of their data,
//! for a compromise of the database or of the public site in a window; and
//! the notices that tell them.

use app::audit::Actor;
use std::path::{Path, PathBuf};

use app::services::breach::{Category, Component, recipients_csv, scope};
use app::services::notices::{self, Incident};
use jiff::{SignedDuration, Timestamp};

use crate::db_tests;
use crate::harness::{Backend, spawn_app};

db_tests!(breach_scope_names_the_people_and_their_data);
db_tests!(breach_notices_tell_each_person_about_their_own_data);
db_tests!(attorney_general_sample_only_above_500_california_residents);

const ONE_MORE: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
5150-0001,94110,Ada Park,\"9 Pine St, Springfield, CA 94110\",2026-10-01/2026-10-31,12.00,2026-12-18,UT-9
";

async fn breach_scope_names_the_people_and_their_data(b: Backend) {
    let t = spawn_app(b).await;
    t.import(ONE_MORE).await.unwrap();
    let mut r = t.resident();
    let (paid, _) = r
        .pay_bill(
            "1002-3345",
            "94110",
            "UT-1",
            "4242424242424242",
            "Payer@Example.com",
        )
        .await;
    assert!(crate::resident::is_succeeded(&t.settled(&paid).await));
    // The same person pays again: one recipient.
    let mut again = t.resident();
    again
        .pay_bill(
            "2048-7781",
            "94112",
            "UT-2",
            "4242424242424242",
            "payer@example.com",
        )
        .await;

    let now = Timestamp::now();
    let (from, to) = (
        now - SignedDuration::from_hours(1),
        now + SignedDuration::from_hours(1),
    );
    let actor = Actor::System("test");

    // The database: every holder's name and address, every payer's e-mail.
    let db = scope(&t.app, Component::Database, from, to, &actor)
        .await
        .unwrap();
    assert_eq!(db.recipients.len(), 5, "{:?}", db.recipients);
    assert_eq!(db.by_category[&Category::Name], 4);
    assert_eq!(db.by_category[&Category::PostalAddress], 4);
    assert_eq!(db.by_category[&Category::EmailAddress], 1);
    assert_eq!(db.by_state["CA"], 1);
    assert_eq!(db.by_state["unknown"], 4);
    let maria = db
        .recipients
        .iter()
        .find(|p| p.name.as_deref() == Some("Maria Lopez"))
        .unwrap();
    assert_eq!(
        maria.postal_address.as_deref(),
        Some("1234 Maple Ave, Springfield")
    );
    // Each person's own data only.
    assert_eq!(maria.email, None);
    let csv = recipients_csv(&db);
    assert!(csv.starts_with("name,email,postal_address,state,language,categories\n"));
    assert!(csv.contains("Ada Park,,\"9 Pine St, Springfield, CA 94110\",CA,en,"));
    assert!(csv.to_lowercase().contains("payer@example.com"), "{csv}");
    assert!(!csv.contains("4242"), "no card data anywhere");

    // Backups taken in the window hold the same.
    let backups = scope(&t.app, Component::Backups, from, to, &actor)
        .await
        .unwrap();
    assert_eq!(backups.recipients.len(), 5);

    // The public site: only who used it — the two accounts looked up and
    // paid (what they typed), and the payer's e-mail.
    let public = scope(&t.app, Component::Public, from, to, &actor)
        .await
        .unwrap();
    assert_eq!(public.recipients.len(), 3, "{:?}", public.recipients);
    assert_eq!(public.by_category[&Category::AccountNumber], 2);
    assert!(!public.by_category.contains_key(&Category::Name));
    assert_eq!(public.by_category[&Category::EmailAddress], 1);

    // Before any of it was stored: nobody.
    let before = scope(
        &t.app,
        Component::Database,
        now - SignedDuration::from_hours(48),
        now - SignedDuration::from_hours(24),
        &actor,
    )
    .await
    .unwrap();
    assert!(before.recipients.is_empty());
    assert!(
        scope(&t.app, Component::Public, to, from, &actor)
            .await
            .is_err(),
        "an empty window is refused"
    );

    // Every run is in the audit log, with counts and no personal data.
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'breach.scope'")
            .await,
        4
    );
    assert_eq!(
        t.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'breach.scope' AND details LIKE '%Maria%'"
        )
        .await,
        0
    );
    t.stop().await;
}

/// An incident file for a window around now.
fn incident(component: &str, home_state: Option<&str>) -> String {
    let now = Timestamp::now();
    format!(
        r#"reference = "INC-TEST-1"
component = "{component}"
from = "{from}"
to = "{to}"
discovered = "{today}"
{home}
[contact]
organisation = "City of Springfield, Finance Department"
phone = "1-800-555-0100"
email = "privacy@springfield.example"
address = "100 Main St, Springfield, CA 94110"
website = "https://springfield.example/incident"

[en]
what_happened = "Someone copied the payment service's database."
what_we_are_doing = "We rebuilt the server and changed every key."

[es]
what_happened = "Alguien copió la base de datos del servicio de pagos."
what_we_are_doing = "Reconstruimos el servidor y cambiamos todas las claves."
"#,
        today = now
            .to_zoned_datetime(jiff::tz::TimeZone::get("America/Los_Angeles").unwrap())
            .date(),
        from = now - SignedDuration::from_hours(1),
        to = now + SignedDuration::from_hours(1),
        home = home_state
            .map(|s| format!("home_state = \"{s}\"\n"))
            .unwrap_or_default(),
    )
}

fn parse(text: &str) -> Incident {
    Incident::parse(
        text,
        "incident.toml",
        &jiff::tz::TimeZone::get("America/Los_Angeles").unwrap(),
    )
    .unwrap()
}

fn outbox_count(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("outbox"))
        .map(|d| d.flatten().count())
        .unwrap_or(0)
}

/// The text a PDF reader gets out of `pdf` (pypdf), with its title.
fn pdf_text(pdf: &Path) -> Option<String> {
    let py = crate::harness::python_peer("pypdf")?;
    let out = std::process::Command::new(py)
        .args([
            "-c",
            "import sys; from pypdf import PdfReader; r = PdfReader(sys.argv[1], strict=True); \
             print(r.metadata.title); print(len(r.pages)); \
             print('\\n'.join(p.extract_text() for p in r.pages))",
        ])
        .arg(pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pypdf could not read {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

fn notice_files(out: &Path, number: &str) -> (String, PathBuf) {
    let dir = out.join("notices");
    let html = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(number) && name.ends_with(".html")
        })
        .unwrap();
    let pdf = html.with_extension("pdf");
    (std::fs::read_to_string(&html).unwrap(), pdf)
}

async fn breach_notices_tell_each_person_about_their_own_data(b: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let t = spawn_app(b).await;
    t.import(ONE_MORE).await.unwrap();
    // A payer who used the site in Spanish and left an e-mail address.
    let mut r = t.resident();
    r.get("/?lang=es").await;
    r.pay_bill(
        "2048-7781",
        "94112",
        "UT-2",
        "4242424242424242",
        "pagadora@example.com",
    )
    .await;
    // Its receipt e-mail first (a background job), so that the count
    // below is of notices only.
    for _ in 0..200 {
        if outbox_count(&t.dir) >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let before = outbox_count(&t.dir);
    assert_eq!(before, 1, "the payer's receipt");

    let out = t.dir.join("notices-run");
    let mut calls = Vec::new();
    let summary = notices::issue(
        &t.app,
        &parse(&incident("database", None)),
        &out,
        true,
        &Actor::System("test"),
        &mut |done, total| calls.push((done, total)),
    )
    .await
    .unwrap();
    assert_eq!(summary.notices, 5, "four holders and one payer");
    assert_eq!(calls.last(), Some(&(5, 5)), "progress reaches the end");
    assert_eq!(summary.by_language.get("es"), Some(&1));
    assert_eq!(summary.by_language.get("en"), Some(&4));
    assert_eq!(summary.emailed, 1);
    assert_eq!(summary.email_failures, 0);
    assert_eq!(summary.california, 1, "only Ada's address names a state");
    assert_eq!(summary.attorney_general_sample, None);
    assert!(!out.join("attorney-general-sample.pdf").exists());
    assert_eq!(outbox_count(&t.dir), before + 1, "one notice e-mailed");

    // Personal data: only the notice team can read it.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("notices")), 0o700);
    assert_eq!(mode(&summary.mail_merge), 0o600);

    let merge = std::fs::read_to_string(&summary.mail_merge).unwrap();
    let rows: Vec<&str> = merge.lines().collect();
    assert_eq!(
        rows[0],
        "notice,language,name,email,postal_address,state,categories,html,pdf,emailed"
    );
    assert_eq!(rows.len(), 6);
    let ada = rows.iter().find(|r| r.contains("Ada Park")).unwrap();
    let ada_number = &ada[..6];
    assert!(ada.contains(",en,Ada Park,,\"9 Pine St, Springfield, CA 94110\",CA,"));
    assert!(ada.ends_with(&format!(
        "notices/{ada_number}-en.html,notices/{ada_number}-en.pdf,"
    )));
    let payer = rows.iter().find(|r| r.contains("pagadora@")).unwrap();
    assert!(payer.ends_with(",yes"), "{payer}");
    let payer_number = &payer[..6];

    // Ada's letter: her name and her kinds of data, no one else's.
    let (html, pdf) = notice_files(&out, ada_number);
    assert_eq!(mode(&pdf), 0o600);
    assert!(html.contains("<h1>Notice of Data Breach</h1>"));
    assert!(html.contains("Dear Ada Park,"));
    assert!(html.contains("<li>your name</li>"));
    assert!(html.contains("<li>your postal (service) address</li>"));
    assert!(!html.contains("<li>your e-mail address</li>"));
    for other in ["Maria", "Lopez", "pagadora", "1002-3345", "2048-7781"] {
        assert!(!html.contains(other), "{other} in Ada's notice");
    }
    if let Some(text) = pdf_text(&pdf) {
        let text = text.replace('\n', " ");
        assert!(text.starts_with("Notice of Data Breach "), "{text}");
        for heading in [
            "What Happened",
            "What Information Was Involved",
            "What We Are Doing",
            "What You Can Do",
            "For More Information",
            "Dear Ada Park,",
            "Someone copied the payment service's database.",
        ] {
            assert!(text.contains(heading), "{heading:?} not in the PDF: {text}");
        }
        assert!(!text.contains("Maria"));
    }

    // The payer's letter is in Spanish and lists only the e-mail address.
    let (html, pdf) = notice_files(&out, payer_number);
    assert!(html.contains("<html lang=\"es\">"));
    assert!(html.contains("<h1>Aviso de filtración de datos</h1>"));
    assert!(html.contains("Notice of Data Breach"));
    assert!(html.contains("<li>su correo electrónico</li>"));
    assert!(!html.contains("<li>su nombre</li>"));
    assert!(html.contains("Alguien copió la base de datos"));
    assert!(!html.contains("Ada") && !html.contains("Maria"));
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("Qué sucedió"), "{text}");
        assert!(text.contains("Para obtener más información"), "{text}");
        assert!(text.contains("Página 1 de"), "{text}");
    }

    // Running again into the same folder is refused; nothing is rewritten.
    let again = notices::issue(
        &t.app,
        &parse(&incident("database", None)),
        &out,
        false,
        &Actor::System("test"),
        &mut |_, _| {},
    )
    .await;
    assert!(matches!(again, Err(notices::NoticeError::OutputExists(_))));

    // Audited with counts only.
    let details: String =
        sqlx::query_scalar("SELECT details FROM audit_events WHERE action = 'breach.notices'")
            .fetch_one(t.app.db.reader())
            .await
            .unwrap();
    assert!(details.contains("\"notices\":5"), "{details}");
    assert!(details.contains("\"emailed\":1"), "{details}");
    for personal in ["Ada", "pagadora", "Pine"] {
        assert!(!details.contains(personal));
    }
    t.stop().await;
}

async fn attorney_general_sample_only_above_500_california_residents(b: Backend) {
    let t = spawn_app(b).await;
    let mut csv = String::from(
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference\n",
    );
    for i in 0..500 {
        csv.push_str(&format!(
            "7000-{i:04},94110,Resident {i},\"{i} Oak St, Springfield, CA 94110\",2026-10-01/2026-10-31,10.00,2026-12-18,CA-{i}-X\n"
        ));
    }
    t.import(&csv).await.unwrap();

    // Exactly 500 Californians (the other holders' addresses name no
    // state): no sample.
    let at_limit = notices::issue(
        &t.app,
        &parse(&incident("database", None)),
        &t.dir.join("at-limit"),
        false,
        &Actor::System("test"),
        &mut |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(at_limit.california, 500);
    assert_eq!(at_limit.notices, 503);
    assert_eq!(at_limit.attorney_general_sample, None);

    // The city's own addresses that name no state count as Californian:
    // 503, and the Attorney General gets one sample with no one's data.
    let above = notices::issue(
        &t.app,
        &parse(&incident("database", Some("CA"))),
        &t.dir.join("above"),
        false,
        &Actor::System("test"),
        &mut |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(above.california, 503);
    let sample_pdf = above.attorney_general_sample.clone().unwrap();
    let sample = std::fs::read_to_string(sample_pdf.with_extension("html")).unwrap();
    assert!(sample.contains("<h1>Notice of Data Breach</h1>"));
    assert!(sample.contains("Dear resident,"));
    assert!(sample.contains("<li>your name</li>"));
    for personal in ["Resident 1", "Oak St", "Maria", "Lopez", "7000-", "94110\""] {
        assert!(!sample.contains(personal), "{personal} in the sample");
    }
    if let Some(text) = pdf_text(&sample_pdf) {
        assert!(text.contains("What Information Was Involved"), "{text}");
        assert!(!text.contains("Resident 1") && !text.contains("Oak St"));
    }
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'breach.notices'")
            .await,
        2
    );
    t.stop().await;
}
