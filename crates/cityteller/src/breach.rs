//! `cityteller breach scope` and `cityteller breach notices`.

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
use app::services::notices::{self, Incident, moment};
use clap::Subcommand;

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
    /// A "Notice of Data Breach" for everyone in the incident's scope, in
    /// their language, as HTML and PDF, with a mail-merge list and (above
    /// 500 California residents) the Attorney General's sample copy.
    Notices {
        /// The incident file (TOML): window, component, dates, contacts
        /// and the story in English and Spanish (see the README).
        #[arg(long)]
        incident: PathBuf,
        /// A new folder for the notices (created with mode 0700: the
        /// notices hold personal data).
        #[arg(long)]
        out: PathBuf,
        /// Also e-mail each notice to the people who gave an address,
        /// through the configured mail server.
        #[arg(long)]
        send: bool,
    },
}

pub async fn run(config: Option<&Path>, cmd: BreachCommand) -> Result<ExitCode> {
    let (from, to, component, csv) = match cmd {
        BreachCommand::Scope {
            from,
            to,
            component,
            csv,
        } => (from, to, component, csv),
        BreachCommand::Notices {
            incident,
            out,
            send,
        } => return notices(config, &incident, &out, send).await,
    };
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
        moment(&from, &config.timezone),
        moment(&to, &config.timezone),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) => {
            eprintln!("cityteller: --from {e}");
            return Ok(ExitCode::from(2));
        }
        (_, Err(e)) => {
            eprintln!("cityteller: --to {e}");
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

async fn notices(
    config: Option<&Path>,
    incident: &Path,
    out: &Path,
    send: bool,
) -> Result<ExitCode> {
    let config = match crate::load_config(config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let text = match std::fs::read_to_string(incident) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cityteller: cannot read {}: {e}", incident.display());
            return Ok(ExitCode::from(2));
        }
    };
    let incident_label = incident.display().to_string();
    let incident = match Incident::parse(&text, &incident_label, &config.timezone) {
        Ok(i) => i,
        Err(problems) => {
            eprintln!("cityteller: the incident file has problems:");
            for p in problems {
                eprintln!("  {p}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    if out.exists() {
        eprintln!(
            "cityteller: {} exists; choose a new folder for the notices",
            out.display()
        );
        return Ok(ExitCode::from(2));
    }
    let app = App::from_config(config, Arc::new(SystemClock)).await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(if send {
        "writing and e-mailing notices"
    } else {
        "writing notices"
    });
    let mut progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let summary = notices::issue(&app, &incident, out, send, &Actor::cli(), &mut progress).await;
    bar.finish_and_clear();
    let summary = summary?;
    println!(
        "{} notice(s) written to {} ({}).",
        summary.notices,
        out.join("notices").display(),
        summary
            .by_language
            .iter()
            .map(|(l, n)| format!("{n} in {}", if *l == "es" { "Spanish" } else { "English" }))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Mail-merge list: {} (mode 0600; delete it when the mailing is done).",
        summary.mail_merge.display()
    );
    if send {
        println!(
            "E-mailed: {}; failed: {} (see the emailed column).",
            summary.emailed, summary.email_failures
        );
    } else if summary.email_addresses > 0 {
        println!(
            "{} recipient(s) have an e-mail address; run again into a new folder with --send to e-mail them.",
            summary.email_addresses
        );
    }
    println!("California residents notified: {}.", summary.california);
    match &summary.attorney_general_sample {
        Some(path) => println!(
            "More than {} California residents: submit the sample copy {} (no personal data) to the Attorney General (https://oag.ca.gov/ecrime/databreach/reporting).",
            notices::ATTORNEY_GENERAL_THRESHOLD,
            path.display()
        ),
        None => println!(
            "{} or fewer California residents: no sample copy for the Attorney General is required.",
            notices::ATTORNEY_GENERAL_THRESHOLD
        ),
    }
    Ok(if summary.email_failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
