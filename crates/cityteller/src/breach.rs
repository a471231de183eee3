//! `cityteller breach scope`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use app::App;
use app::audit::Actor;
use app::clock::SystemClock;
use app::services::breach::{self, Component};
use clap::Subcommand;
use jiff::Timestamp;

#[derive(Subcommand)]
pub enum BreachCommand {
    /// Who could have been exposed, and which of their data: counts by
    /// category and by state, and optionally a CSV of the recipients.
    Scope {
        /// Start of the window: 2026-11-01 (midnight, city time) or an
        /// RFC 3339 time such as 2026-11-01T08:00:00Z.
        #[arg(long)]
        from: String,
        /// End of the window (exclusive), in the same forms.
        #[arg(long)]
        to: String,
        /// What was compromised: public (the resident site), staff,
        /// database or backups.
        #[arg(long, default_value = "database")]
        component: String,
        /// Write the recipients here (created with mode 0600; it holds
        /// personal data).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

fn when(s: &str, tz: &jiff::tz::TimeZone, flag: &str) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(tz.clone()).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            format!("--{flag} {s:?}: expected a date like 2026-11-01 or a time like 2026-11-01T08:00:00Z")
        })
}

pub async fn run(config: Option<&Path>, cmd: BreachCommand) -> Result<ExitCode> {
    let BreachCommand::Scope {
        from,
        to,
        component,
        csv,
    } = cmd;
    let config = match crate::load_config(config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let Some(component) = Component::parse(&component) else {
        eprintln!(
            "cityteller: --component {component:?}: expected public, staff, database or backups"
        );
        return Ok(ExitCode::from(2));
    };
    let (from, to) = match (
        when(&from, &config.timezone, "from"),
        when(&to, &config.timezone, "to"),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("cityteller: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(path) = &csv
        && path.exists()
    {
        eprintln!(
            "cityteller: {} exists; choose a new file for the recipients",
            path.display()
        );
        return Ok(ExitCode::from(2));
    }
    let app = App::from_config(config, Arc::new(SystemClock)).await?;
    let scope = match breach::scope(&app, component, from, to, &Actor::cli()).await {
        Ok(s) => s,
        Err(breach::BreachError::EmptyWindow) => {
            eprintln!("cityteller: --to must be after --from");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "{} person(s) could have been exposed by a compromise of the {} from {from} to {to}.",
        scope.recipients.len(),
        component.as_str()
    );
    println!("By category:");
    for (c, n) in &scope.by_category {
        println!("  {:<34} {n}", c.as_str());
    }
    println!(
        "  {:<34} 0 (never held: cards are entered on the processor's page)",
        "card numbers"
    );
    println!("By state of residence:");
    for (s, n) in &scope.by_state {
        println!("  {s:<34} {n}");
    }
    if let Some(path) = csv {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(breach::recipients_csv(&scope).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.sync_all()?;
        println!("Recipients written to {} (mode 0600).", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
