//! `cityteller demo` and `cityteller sandbox`.
//!
//! The demo runs the real server on SQLite in a data folder, with demo
//! bills imported through the ordinary import path, and the sandbox
//! processor in a separate process on its own port: test card numbers
//! typed on the sandbox's page never enter cityteller's process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use app::App;
use app::audit::Actor;
use app::clock::{Clock, SystemClock};
use app::config::Config;
use app::keys::Keys;
use app::processor::sandbox::{Sandbox, SandboxSettings};
use app::services::import::import_receivables;
use url::Url;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Where the demo keeps its database, key file and e-mail outbox.
    #[arg(long, default_value = "cityteller-demo")]
    data_dir: PathBuf,
    /// Resident site address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    public: SocketAddr,
    /// Staff listener address.
    #[arg(long, default_value = "127.0.0.1:8081")]
    staff: SocketAddr,
    /// Sandbox processor address (a different origin from the site).
    #[arg(long, default_value = "127.0.0.1:8090")]
    sandbox: SocketAddr,
    /// Start from an empty database (the key file is kept).
    #[arg(long)]
    reset: bool,
}

#[derive(clap::Args)]
pub struct SandboxArgs {
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The sandbox's own base URL, as browsers reach it.
    #[arg(long)]
    public_url: Url,
    /// The merchant site (return URLs must be on its origin).
    #[arg(long)]
    merchant_url: Url,
    /// Where to deliver signed webhooks.
    #[arg(long)]
    webhook_url: Url,
    /// Key file holding the sandbox API key and webhook secret(s).
    #[arg(long)]
    keys_file: PathBuf,
}

/// One demo account: number, ZIP, holder, address, and its bills as
/// (amount, days until due, months back for the period).
struct DemoAccount {
    number: &'static str,
    zip: &'static str,
    name: &'static str,
    address: &'static str,
    bills: &'static [(&'static str, i64, i32)],
}

const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        number: "1002-3345",
        zip: "94110",
        name: "Maria Lopez",
        address: "1234 Maple Ave, Springfield",
        bills: &[("84.12", 21, 1)],
    },
    DemoAccount {
        number: "2048-7781",
        zip: "94112",
        name: "Sam Chen",
        address: "77 Harbor View Rd, Unit 3, Springfield",
        bills: &[("61.40", -9, 2), ("58.95", 21, 1)],
    },
    DemoAccount {
        number: "3090-1200",
        zip: "94117",
        name: "Rivera Family Bakery",
        address: "500 Market St, Springfield",
        bills: &[("312.50", 14, 1)],
    },
];

const DEMO_SETTINGS: &str = r#"
mode = "development"
city_name = "City of Springfield"

[log]
format = "text"

[processor]
kind = "sandbox"

[departments.utilities]
name = "Utilities"
position = 1
summary = "Water, sewer and garbage"
lookup_label = "Account number"
lookup_hint = "Printed at the top right of your bill, for example 1002-3345."
verifier = "zip"
min_payment = "1.00"
allow_partial = true
allow_overpayment = false

[departments.utilities.es]
name = "Servicios públicos"
summary = "Agua, alcantarillado y basura"
lookup_label = "Número de cuenta"
lookup_hint = "Impreso en la esquina superior derecha de su factura, por ejemplo 1002-3345."

[departments.utilities.card_fee]
percent = "2.5"
min = "1.00"

[departments.utilities.ledger]
cash_clearing = "1010-CLEARING"
receivable = "1210-UTIL-AR"
fee_income = "4490-CONV-FEES"

[departments.parking]
name = "Parking citations"
position = 2
summary = "Tickets from the city's parking enforcement"
lookup_label = "Citation number"
lookup_hint = "Printed at the top of the ticket, for example PK-2026001."
verifier = "plate_state"
account_format = "PK-#######"
min_payment = "1.00"
allow_partial = false

[departments.parking.es]
name = "Multas de estacionamiento"
summary = "Multas de la unidad de estacionamiento de la ciudad"
lookup_label = "Número de multa"
lookup_hint = "Impreso en la parte superior de la multa, por ejemplo PK-2026001."

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
bill_period = "Violation date"
amount_due = "Fine"
due_date = "Due date"
bill_reference = "Citation ID"

[departments.licensing]
name = "Business licences"
position = 3
summary = "Renew a business licence, or pay a licensing bill"
lookup_label = "Licence number"
lookup_hint = "Printed on the licence, for example BL-000101."
verifier = "name"
account_format = "BL-######"
min_payment = "1.00"
allow_partial = false

[departments.licensing.es]
name = "Licencias comerciales"
summary = "Renueve una licencia comercial o pague una factura de licencias"
lookup_label = "Número de licencia"
lookup_hint = "Impreso en la licencia, por ejemplo BL-000101."

[departments.licensing.card_fee]
flat = "1.00"

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
name_es = "Contratista"
fee = "employees"
base = "60.00"
included = 2
per_employee = "12.50"

[departments.licensing.licences.categories.home]
name = "Home occupation"
name_es = "Negocio en el hogar"
fee = "flat"
amount = "50.00"
"#;

/// Demo licences: number, business, address, category, days until expiry
/// (negative: expired).
const DEMO_LICENCES: &[(&str, &str, &str, &str, i64)] = &[
    (
        "BL-000101",
        "Corner Books LLC",
        "12 Elm St, Springfield",
        "retail",
        -10,
    ),
    (
        "BL-000102",
        "Reyes Roofing",
        "3 Oak Ave, Springfield",
        "contractor",
        25,
    ),
    (
        "BL-000103",
        "Ana's Alterations",
        "9 Pine St, Springfield",
        "home",
        200,
    ),
];

fn demo_licences_csv(today: jiff::civil::Date) -> Result<String> {
    let mut out =
        String::from("licence_number,business_name,business_address,category,expires_on\n");
    for (number, name, address, category, days) in DEMO_LICENCES {
        let expires = today.checked_add(jiff::Span::new().days(*days))?;
        out.push_str(&format!(
            "{number},{name},\"{address}\",{category},{expires}\n"
        ));
    }
    Ok(out)
}

/// Demo parking citations: number, plate, state, owner, where, fine, days
/// since the violation.
const DEMO_CITATIONS: &[(&str, &str, &str, &str, &str, &str, i64)] = &[
    (
        "PK-2026001",
        "7ABC123",
        "CA",
        "Jordan Reyes",
        "300 Main St, Springfield",
        "65.00",
        6,
    ),
    (
        "PK-2026002",
        "KXT4410",
        "NV",
        "Sam Chen",
        "12 Oak Ave, Springfield",
        "45.00",
        3,
    ),
];

fn demo_citations_csv(today: jiff::civil::Date) -> Result<String> {
    let mut out = String::from(
        "Citation,Plate,Plate state,Registered owner,Location,Violation date,Fine,Due date,Citation ID\n",
    );
    for (number, plate, state, owner, place, fine, days_ago) in DEMO_CITATIONS {
        let on = today.checked_sub(jiff::Span::new().days(*days_ago))?;
        let due = on.checked_add(jiff::Span::new().days(30))?;
        out.push_str(&format!(
            "{number},{plate},{state},{owner},\"{place}\",{on}/{on},{fine},{due},{number}-C\n"
        ));
    }
    Ok(out)
}

fn set(table: &mut toml::Table, path: &[&str], value: &str) {
    let mut cur = table;
    for p in &path[..path.len() - 1] {
        cur = match cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        {
            toml::Value::Table(t) => t,
            other => {
                *other = toml::Value::Table(toml::Table::new());
                match other {
                    toml::Value::Table(t) => t,
                    _ => return,
                }
            }
        };
    }
    cur.insert(
        path[path.len() - 1].to_string(),
        toml::Value::String(value.to_owned()),
    );
}

fn demo_config(args: &DemoArgs) -> Result<Config> {
    let mut table: toml::Table = DEMO_SETTINGS.parse().context("demo settings")?;
    let dir = args.data_dir.display().to_string();
    let public = format!("http://{}/", args.public);
    set(&mut table, &["data_dir"], &dir);
    set(&mut table, &["public", "listen"], &args.public.to_string());
    set(&mut table, &["public", "base_url"], &public);
    set(&mut table, &["staff", "listen"], &args.staff.to_string());
    set(
        &mut table,
        &["processor", "sandbox_url"],
        &format!("http://{}/", args.sandbox),
    );
    set(
        &mut table,
        &["sandbox", "listen"],
        &args.sandbox.to_string(),
    );
    set(
        &mut table,
        &["sandbox", "webhook_url"],
        &format!("{public}webhooks/sandbox"),
    );
    set(
        &mut table,
        &["mail", "outbox_dir"],
        &args.data_dir.join("outbox").display().to_string(),
    );
    Config::from_parts(table, "demo settings", std::env::vars()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The demo bills as a receivables file, dated around today.
fn demo_csv(today: jiff::civil::Date) -> Result<String> {
    let mut out = String::from(
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference\n",
    );
    for a in DEMO_ACCOUNTS {
        for (amount, due_in, months_back) in a.bills {
            let month = today
                .first_of_month()
                .checked_sub(jiff::Span::new().months(*months_back))?;
            let end = month.last_of_month();
            let due = today.checked_add(jiff::Span::new().days(*due_in))?;
            let reference = format!(
                "UT-{}{:02}-{}",
                month.year(),
                month.month(),
                a.number.replace('-', "")
            );
            out.push_str(&format!(
                "{},{},{},\"{}\",{}/{},{},{},{}\n",
                a.number, a.zip, a.name, a.address, month, end, amount, due, reference
            ));
        }
    }
    Ok(out)
}

pub async fn run(args: DemoArgs) -> Result<ExitCode> {
    let config = demo_config(&args)?;
    app::telemetry::init_logging(config.log_format);
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    if args.reset {
        for name in ["cityteller.db", "cityteller.db-wal", "cityteller.db-shm"] {
            let _ = std::fs::remove_file(args.data_dir.join(name));
        }
        let _ = std::fs::remove_dir_all(args.data_dir.join("outbox"));
    }
    if !config.keys_file.exists() {
        Keys::write_new_file(&config.keys_file)?;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let today = clock
        .now()
        .to_zoned_datetime(config.timezone.clone())
        .date();
    let public_listen = config.public_listen;
    let staff_listen = config.staff_listen;
    let keys_file = config.keys_file.clone();
    let outbox = args.data_dir.join("outbox");
    let app = App::from_config(config, clock).await?;

    // Demo bills go through the same import as a city's files.
    let dept = app
        .config
        .department("utilities")
        .context("demo department missing")?;
    let csv = demo_csv(today)?;
    let sha = app::crypto::sha256_hex(csv.as_bytes());
    let summary = import_receivables(
        &app,
        dept,
        std::io::Cursor::new(csv.into_bytes()),
        "demo-bills.csv",
        &sha,
        &Actor::System("demo"),
        |_| {},
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let parking = app
        .config
        .department("parking")
        .context("demo department missing")?;
    let citations = demo_citations_csv(today)?;
    let sha = app::crypto::sha256_hex(citations.as_bytes());
    import_receivables(
        &app,
        parking,
        std::io::Cursor::new(citations.into_bytes()),
        "demo-citations.csv",
        &sha,
        &Actor::System("demo"),
        |_| {},
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    let licensing = app
        .config
        .department("licensing")
        .context("demo department missing")?;
    app::services::licences::import_licences(
        &app,
        licensing,
        &demo_licences_csv(today)?,
        "demo-licences.csv",
        &Actor::System("demo"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    let mut sandbox = spawn_sandbox(&args, &keys_file).await?;
    let public = tokio::net::TcpListener::bind(public_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {public_listen}; is another cityteller running? (use --public)"
            )
        })?;
    let staff = tokio::net::TcpListener::bind(staff_listen)
        .await
        .with_context(|| format!("cannot listen on {staff_listen} (use --staff)"))?;
    let admin = demo_administrator(&app).await?;
    let running = app::server::start(app, public, staff)?;

    println!(
        "\ncityteller demo is running ({} new demo bills, {} unchanged).\n",
        summary.inserted, summary.unchanged
    );
    println!("  Residents:  http://{}/", running.public_addr);
    println!(
        "  Staff:      http://{}/   (/healthz, /metrics)",
        running.staff_addr
    );
    println!(
        "  Processor:  http://{}/   (sandbox, another origin)",
        args.sandbox
    );
    println!(
        "  E-mail:     receipts and account e-mails are written to {}/*.eml",
        outbox.display()
    );
    println!(
        "  Accounts:   http://{}/account/signup (the confirmation link arrives in the outbox)\n",
        running.public_addr
    );
    println!("  Demo accounts (choose \"Pay a utilities bill\"):");
    for a in DEMO_ACCOUNTS {
        let bills: Vec<String> = a
            .bills
            .iter()
            .map(|(amt, _, _)| format!("${amt}"))
            .collect();
        println!(
            "    account {}   ZIP {}   bill(s) {}",
            a.number,
            a.zip,
            bills.join(" + ")
        );
    }
    println!("  Demo parking citations (choose \"Pay a parking citations bill\"):");
    for (number, plate, state, _, _, fine, _) in DEMO_CITATIONS {
        println!("    citation {number}   plate {plate} ({state})   ${fine}");
    }
    println!("  Demo business licences (choose \"Pay a business licences bill\", then Renew):");
    for (number, name, _, category, days) in DEMO_LICENCES {
        let when = if *days < 0 {
            format!("expired {} days ago", -days)
        } else {
            format!("expires in {days} days")
        };
        println!("    licence {number}   business name \"{name}\"   {category}, {when}");
    }
    match &admin {
        Some(link) => {
            println!(
                "\n  Staff console: set up the demo administrator ({DEMO_ADMIN}) with this one-time link,"
            );
            println!("  an authenticator app and a password of your choice:");
            println!("    {link}");
        }
        None => println!(
            "\n  Staff console: sign in as {DEMO_ADMIN} (already set up in this data folder)."
        ),
    }
    println!("\n  Test cards (any future expiry, any CVC):");
    println!("    4242 4242 4242 4242  succeeds");
    println!("    4000 0000 0000 0002  is declined");
    println!("    4000 0000 0000 9995  fails: insufficient funds");
    println!("\nPress Ctrl+C to stop.");

    tokio::select! {
        _ = crate::shutdown_signal() => {}
        status = sandbox.wait() => {
            eprintln!("cityteller: the sandbox processor stopped ({status:?})");
        }
    }
    running.stop().await;
    let _ = sandbox.kill().await;
    Ok(ExitCode::SUCCESS)
}

const DEMO_ADMIN: &str = "admin@springfield.example";

/// The demo's administrator: created on the first run; a fresh enrolment
/// link on every run until it has been used.
async fn demo_administrator(app: &App) -> Result<Option<String>> {
    use app::services::staff_auth::{StaffError, add_staff};
    use app::staff::roles::Role;
    match add_staff(
        app,
        DEMO_ADMIN,
        Role::Administrator,
        &Actor::System("demo"),
        None,
    )
    .await
    {
        Ok((_, link)) => Ok(Some(link)),
        Err(StaffError::Exists) => {
            let user = app::store::staff::user_by_email(app.db.reader(), DEMO_ADMIN)
                .await?
                .context("demo administrator vanished")?;
            if user.status == "active" {
                return Ok(None);
            }
            let link =
                app::services::staff_auth::reissue_link(app, user.id, &Actor::System("demo"))
                    .await?;
            Ok(Some(link))
        }
        Err(e) => Err(e.into()),
    }
}

async fn spawn_sandbox(args: &DemoArgs, keys_file: &Path) -> Result<tokio::process::Child> {
    let exe = std::env::current_exe().context("cannot find the cityteller executable")?;
    let mut child = tokio::process::Command::new(exe)
        .arg("sandbox")
        .arg("--listen")
        .arg(args.sandbox.to_string())
        .arg("--public-url")
        .arg(format!("http://{}/", args.sandbox))
        .arg("--merchant-url")
        .arg(format!("http://{}/", args.public))
        .arg("--webhook-url")
        .arg(format!("http://{}/webhooks/sandbox", args.public))
        .arg("--keys-file")
        .arg(keys_file)
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the sandbox processor")?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(args.sandbox).await.is_ok() {
            return Ok(child);
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the sandbox processor exited ({status}); is port {} free? (use --sandbox)",
                args.sandbox
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the sandbox processor did not start listening on {}",
        args.sandbox
    )
}

pub async fn run_sandbox(args: SandboxArgs) -> Result<ExitCode> {
    if std::env::var("CITYTELLER_MODE").is_ok_and(|m| m == "production") {
        eprintln!("cityteller: the sandbox processor refuses to run in production mode");
        return Ok(ExitCode::from(2));
    }
    app::telemetry::init_logging(app::config::LogFormat::Text);
    let keys = Keys::load(&args.keys_file, std::env::var("CITYTELLER_KEYS").ok())?;
    let sandbox = Sandbox::start(SandboxSettings {
        public_base: args.public_url,
        api_key: keys.processor_api_key.clone(),
        webhook_secrets: keys.webhook_secrets.clone(),
        webhook_url: args.webhook_url,
        merchant_origin: args.merchant_url.origin().ascii_serialization(),
        retry_delays: SandboxSettings::default_retry_delays(),
        test_controls: false,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tokio::select! {
        served = sandbox.serve(listener) => served?,
        _ = crate::shutdown_signal() => {}
    }
    Ok(ExitCode::SUCCESS)
}
