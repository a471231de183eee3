//! Breach notices: one letter per person in a breach's scope, in their
//! language, as HTML and PDF (and optionally e-mailed), with a mail-merge
//! list and, when more than 500 California residents are notified, a
//! sample copy for the Attorney General with no personal data.
//!
//! The letter follows California's rules for a notice (Civ. Code §1798.29
//! for local agencies, §1798.82 for businesses): titled "Notice of Data
//! Breach", with the headings What Happened, What Information Was Involved,
//! What We Are Doing, What You Can Do and For More Information, in type no
//! smaller than 10 points; it names who is notifying, the kinds of data
//! involved (this person's own), the dates of the breach and of the
//! notice, and whether law enforcement delayed it. The incident's story and
//! contacts come from a TOML file the city writes; everything else from
//! the scope.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use askama::Template;
use domain::personal::EmailAddress;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::reader::Reader;
use crate::i18n::Locale;
use crate::mail::Rendered;
use crate::pdf;
use crate::services::breach::{self, BreachError, Category, Component, Recipient};
use crate::store::StoreError;

/// More California residents than this, and the Attorney General gets a
/// sample copy (§1798.29(e), §1798.82(f)).
pub const ATTORNEY_GENERAL_THRESHOLD: usize = 500;

/// The incident's story in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Story {
    pub what_happened: String,
    pub what_we_are_doing: String,
    /// Added before the standard advice.
    pub what_you_can_do: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub organisation: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub website: Option<String>,
}

/// What the city knows about the incident: the `--incident` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub reference: String,
    pub component: Component,
    pub from: Timestamp,
    pub to: Timestamp,
    pub discovered: Date,
    /// The date printed on the notices (today unless the file says).
    pub notice_date: Option<Date>,
    pub delayed_by_law_enforcement: bool,
    /// Addresses that name no state are taken to be in this one (a city's
    /// service addresses are in the city).
    pub home_state: Option<String>,
    pub contact: Contact,
    pub en: Story,
    pub es: Story,
}

impl Incident {
    /// Reads an incident file; `label` names it in messages. Every problem
    /// is reported, each with the file and the setting.
    pub fn parse(text: &str, label: &str, tz: &TimeZone) -> Result<Incident, Vec<String>> {
        let table: toml::Table = toml::from_str(text).map_err(|e| vec![format!("{label}: {e}")])?;
        let mut r = Reader::new(table, label);
        let required = |r: &mut Reader, path: &str| -> Option<String> {
            match r.opt_string(path).map(|s| s.trim().to_owned()) {
                Some(s) if !s.is_empty() => Some(s),
                Some(_) => {
                    r.error(path, "is empty");
                    None
                }
                None => {
                    r.error(path, "missing");
                    None
                }
            }
        };
        let optional = |r: &mut Reader, path: &str| -> Option<String> {
            r.opt_string(path)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let reference = required(&mut r, "reference");
        let component = r.parsed("component", None, |s| {
            Component::parse(s).ok_or("expected public, staff, database or backups")
        });
        if !r.is_set("component") {
            r.error("component", "missing (public, staff, database or backups)");
        }
        let from = required(&mut r, "from").and_then(|s| match moment(&s, tz) {
            Ok(t) => Some(t),
            Err(e) => {
                r.error("from", e);
                None
            }
        });
        let to = required(&mut r, "to").and_then(|s| match moment(&s, tz) {
            Ok(t) => Some(t),
            Err(e) => {
                r.error("to", e);
                None
            }
        });
        let date = |r: &mut Reader, path: &str, s: Option<String>| -> Option<Date> {
            s.and_then(|s| match s.parse::<Date>() {
                Ok(d) => Some(d),
                Err(_) => {
                    r.error(path, format!("{s:?}: expected a date like 2026-11-03"));
                    None
                }
            })
        };
        let discovered = required(&mut r, "discovered");
        let discovered = date(&mut r, "discovered", discovered);
        let notice_date = optional(&mut r, "notice_date");
        let notice_date = date(&mut r, "notice_date", notice_date);
        let delayed = r.boolean("delayed_by_law_enforcement", false);
        let home_state = optional(&mut r, "home_state").and_then(|s| {
            let upper = s.to_ascii_uppercase();
            if domain::verifier::STATES.contains(&upper.as_str()) {
                Some(upper)
            } else {
                r.error(
                    "home_state",
                    format!("{s:?}: expected a two-letter state like CA"),
                );
                None
            }
        });
        let contact = (
            required(&mut r, "contact.organisation"),
            required(&mut r, "contact.phone"),
            required(&mut r, "contact.email"),
            required(&mut r, "contact.address"),
            optional(&mut r, "contact.website"),
        );
        let story = |r: &mut Reader, lang: &str| {
            (
                required(r, &format!("{lang}.what_happened")),
                required(r, &format!("{lang}.what_we_are_doing")),
                optional(r, &format!("{lang}.what_you_can_do")),
            )
        };
        let en = story(&mut r, "en");
        let es = story(&mut r, "es");
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            r.error("to", "must be after from");
        }
        if let (Some(f), Some(d)) = (from, discovered)
            && d < f.to_zoned_datetime(tz.clone()).date()
        {
            r.error("discovered", "is before the breach started (from)");
        }
        r.finish()?;
        // Every value was checked above; a missing one was reported there.
        let (
            Some(reference),
            Some(component),
            Some(from),
            Some(to),
            Some(discovered),
            (Some(organisation), Some(phone), Some(email), Some(address), website),
            (Some(en_happened), Some(en_doing), en_can_do),
            (Some(es_happened), Some(es_doing), es_can_do),
        ) = (reference, component, from, to, discovered, contact, en, es)
        else {
            return Err(vec![format!("{label}: incomplete")]);
        };
        Ok(Incident {
            reference,
            component,
            from,
            to,
            discovered,
            notice_date,
            delayed_by_law_enforcement: delayed,
            home_state,
            contact: Contact {
                organisation,
                phone,
                email,
                address,
                website,
            },
            en: Story {
                what_happened: en_happened,
                what_we_are_doing: en_doing,
                what_you_can_do: en_can_do,
            },
            es: Story {
                what_happened: es_happened,
                what_we_are_doing: es_doing,
                what_you_can_do: es_can_do,
            },
        })
    }

    fn story(&self, l: Locale) -> &Story {
        match l {
            Locale::En => &self.en,
            Locale::Es => &self.es,
        }
    }
}

/// `2026-11-01` (midnight, city time) or an RFC 3339 time.
pub fn moment(s: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    s.parse::<Date>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(tz.clone()).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            format!("{s:?}: expected a date like 2026-11-01 or a time like 2026-11-01T08:00:00Z")
        })
}

/// One section of a letter.
pub struct Section {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub bullets: Vec<String>,
    /// Paragraphs after the list.
    pub after: Vec<String>,
}

/// A letter, before it becomes HTML, text or PDF.
pub struct Letter {
    pub lang: &'static str,
    pub title: String,
    /// The English title too, on a Spanish letter.
    pub subtitle: Option<String>,
    pub from: String,
    pub meta: Vec<String>,
    pub greeting: String,
    pub intro: String,
    pub sections: Vec<Section>,
}

/// Who a letter is for: a person in the scope, or nobody (the Attorney
/// General's sample).
pub struct Addressee<'a> {
    pub name: Option<&'a str>,
    pub categories: &'a BTreeSet<Category>,
}

fn category_key(c: Category) -> &'static str {
    match c {
        Category::Name => "notice-category-name",
        Category::PostalAddress => "notice-category-address",
        Category::EmailAddress => "notice-category-email",
        Category::AccountNumber => "notice-category-account",
        Category::ContactChanges => "notice-category-contact-changes",
        Category::AccountLogin => "notice-category-account-login",
        Category::SavedCard => "notice-category-saved-card",
    }
}

/// The letter for `to`, in `l`.
pub fn letter(
    incident: &Incident,
    city: &str,
    tz: &TimeZone,
    today: Date,
    to: &Addressee<'_>,
    l: Locale,
) -> Letter {
    let story = incident.story(l);
    let day = |t: Timestamp| t.to_zoned_datetime(tz.clone()).date();
    let first = day(incident.from);
    // The window's end is exclusive: its last day is the day before, unless
    // it ends during a day.
    let end = incident.to.to_zoned_datetime(tz.clone());
    let last = if end.time() == jiff::civil::Time::midnight() {
        end.date().yesterday().unwrap_or(end.date())
    } else {
        end.date()
    };
    let notice_date = incident.notice_date.unwrap_or(today);
    let when = if first >= last {
        l.msg1("notice-when-day", "date", l.date(&first.to_string()))
    } else {
        l.msg2(
            "notice-when-range",
            "from",
            l.date(&first.to_string()),
            "to",
            l.date(&last.to_string()),
        )
    };
    let discovered = l.msg1(
        "notice-discovered",
        "date",
        l.date(&incident.discovered.to_string()),
    );
    let delay = if incident.delayed_by_law_enforcement {
        l.msg("notice-delayed")
    } else {
        l.msg("notice-not-delayed")
    };

    let mut advice = Vec::new();
    if let Some(extra) = &story.what_you_can_do {
        advice.push(extra.clone());
    }
    if to.categories.contains(&Category::EmailAddress) {
        advice.push(l.msg("notice-advice-email"));
    }
    if to.categories.contains(&Category::AccountNumber) {
        advice.push(l.msg("notice-advice-account"));
    }
    if to.categories.contains(&Category::AccountLogin) {
        advice.push(l.msg("notice-advice-password"));
    }
    if to.categories.contains(&Category::PostalAddress) || to.categories.contains(&Category::Name) {
        advice.push(l.msg("notice-advice-post"));
    }
    advice.push(l.msg("notice-advice-cards"));

    let c = &incident.contact;
    let mut contact = vec![
        l.msg1("notice-contact-phone", "phone", c.phone.as_str()),
        l.msg1("notice-contact-email", "email", c.email.as_str()),
        l.msg1("notice-contact-post", "address", c.address.as_str()),
    ];
    if let Some(web) = &c.website {
        contact.push(l.msg1("notice-contact-web", "url", web.as_str()));
    }

    Letter {
        lang: l.code(),
        title: l.msg("notice-title"),
        subtitle: (l != Locale::En).then(|| Locale::En.msg("notice-title")),
        from: c.organisation.clone(),
        meta: vec![
            l.msg1("notice-date", "date", l.date(&notice_date.to_string())),
            l.msg1("notice-reference", "reference", incident.reference.as_str()),
        ],
        greeting: match to.name {
            Some(name) => l.msg1("notice-dear", "name", name),
            None => l.msg("notice-dear-resident"),
        },
        intro: l.msg1("notice-intro", "city", city),
        sections: vec![
            Section {
                heading: l.msg("notice-what-happened"),
                paragraphs: vec![
                    story.what_happened.clone(),
                    format!("{when} {discovered}"),
                    delay,
                ],
                bullets: vec![],
                after: vec![],
            },
            Section {
                heading: l.msg("notice-what-information"),
                paragraphs: vec![l.msg("notice-your-information")],
                bullets: to
                    .categories
                    .iter()
                    .map(|c| l.msg(category_key(*c)))
                    .collect(),
                after: vec![l.msg("notice-no-cards")],
            },
            Section {
                heading: l.msg("notice-what-we-are-doing"),
                paragraphs: vec![story.what_we_are_doing.clone()],
                bullets: vec![],
                after: vec![],
            },
            Section {
                heading: l.msg("notice-what-you-can-do"),
                paragraphs: advice,
                bullets: vec![],
                after: vec![],
            },
            Section {
                heading: l.msg("notice-more-information"),
                paragraphs: vec![l.msg1(
                    "notice-contact-intro",
                    "organisation",
                    c.organisation.as_str(),
                )],
                bullets: contact,
                after: vec![l.msg1(
                    "notice-quote-reference",
                    "reference",
                    incident.reference.as_str(),
                )],
            },
        ],
    }
}

#[derive(Template)]
#[template(path = "notice/breach.html")]
struct LetterHtml<'a> {
    letter: &'a Letter,
}

impl Letter {
    pub fn html(&self) -> Result<String, askama::Error> {
        LetterHtml { letter: self }.render()
    }

    /// The plain-text version (the e-mail's text part).
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.title.to_uppercase());
        if let Some(s) = &self.subtitle {
            out.push_str(&format!("({s})\n"));
        }
        out.push_str(&format!("\n{}\n", self.from));
        for m in &self.meta {
            out.push_str(&format!("{m}\n"));
        }
        out.push_str(&format!("\n{}\n\n{}\n", self.greeting, self.intro));
        for s in &self.sections {
            out.push_str(&format!(
                "\n{}\n{}\n",
                s.heading,
                "-".repeat(s.heading.chars().count())
            ));
            for p in &s.paragraphs {
                out.push_str(&format!("{p}\n\n"));
            }
            for b in &s.bullets {
                out.push_str(&format!("  * {b}\n"));
            }
            if !s.bullets.is_empty() {
                out.push('\n');
            }
            for p in &s.after {
                out.push_str(&format!("{p}\n\n"));
            }
        }
        out
    }

    pub fn pdf(&self) -> Vec<u8> {
        let l = Locale::parse(self.lang).unwrap_or_default();
        let mut d = pdf::Document::new(&self.title, self.lang);
        d.title(&self.title);
        if let Some(s) = &self.subtitle {
            d.strong(s);
        }
        d.gap(6.0);
        d.strong(&self.from);
        for m in &self.meta {
            d.paragraph(m);
        }
        d.gap(6.0);
        d.paragraph(&self.greeting);
        d.paragraph(&self.intro);
        for s in &self.sections {
            d.heading(&s.heading);
            for p in &s.paragraphs {
                d.paragraph(p);
            }
            for b in &s.bullets {
                d.bullet(b);
            }
            if !s.bullets.is_empty() {
                d.gap(6.0);
            }
            for p in &s.after {
                d.paragraph(p);
            }
        }
        d.finish(|n, total| {
            l.msg2(
                "notice-page",
                "page",
                n.to_string(),
                "pages",
                total.to_string(),
            )
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("{} exists; choose a new folder for the notices", .0.display())]
    OutputExists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Scope(#[from] BreachError),
    #[error(transparent)]
    Template(#[from] askama::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub notices: usize,
    pub by_language: BTreeMap<&'static str, usize>,
    /// Recipients counted as California residents.
    pub california: usize,
    pub attorney_general_sample: Option<PathBuf>,
    pub emailed: usize,
    /// E-mails that could not be sent (each is in the mail-merge list).
    pub email_failures: usize,
    /// Recipients with an e-mail address, when `send` was not asked for.
    pub email_addresses: usize,
    pub mail_merge: PathBuf,
}

fn create_file(path: &Path, bytes: &[u8]) -> Result<(), NoticeError> {
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().map_err(|source| NoticeError::Write {
        path: path.to_owned(),
        source,
    })
}

fn state_of(r: &Recipient, home: Option<&str>) -> Option<String> {
    r.state.clone().or_else(|| {
        // Only a postal address that names no state is taken to be local;
        // an e-mail address says nothing about where someone lives.
        r.postal_address.as_ref().and(home.map(str::to_owned))
    })
}

/// Writes a notice for everyone in the incident's scope into `out` (a new
/// folder, mode 0700; files 0600: they hold personal data), with
/// `mail-merge.csv` and, above the threshold, the Attorney General's
/// sample; with `send`, e-mails each notice to those who gave an address.
/// `progress(done, total)` is called after each notice. Audited with
/// counts only.
pub async fn issue(
    app: &App,
    incident: &Incident,
    out: &Path,
    send: bool,
    actor: &Actor,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<Summary, NoticeError> {
    if out.exists() {
        return Err(NoticeError::OutputExists(out.to_owned()));
    }
    let scope = breach::scope(app, incident.component, incident.from, incident.to, actor).await?;
    let tz = &app.config.timezone;
    let today = app.now().to_zoned_datetime(tz.clone()).date();
    let city = &app.config.city_name;
    let notices_dir = out.join("notices");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&notices_dir)
        .map_err(|source| NoticeError::Write {
            path: notices_dir.clone(),
            source,
        })?;

    let mut summary = Summary {
        mail_merge: out.join("mail-merge.csv"),
        ..Summary::default()
    };
    let mut merge = csv::Writer::from_writer(Vec::new());
    let _ = merge.write_record([
        "notice",
        "language",
        "name",
        "email",
        "postal_address",
        "state",
        "categories",
        "html",
        "pdf",
        "emailed",
    ]);
    let mut california_categories = BTreeSet::new();
    let total = scope.recipients.len();
    for (i, r) in scope.recipients.iter().enumerate() {
        let number = format!("{:06}", i + 1);
        let l = Locale::parse(r.language).unwrap_or_default();
        let letter = letter(
            incident,
            city,
            tz,
            today,
            &Addressee {
                name: r.name.as_deref(),
                categories: &r.categories,
            },
            l,
        );
        let html_name = format!("{number}-{}.html", l.code());
        let pdf_name = format!("{number}-{}.pdf", l.code());
        let html = letter.html()?;
        create_file(&notices_dir.join(&html_name), html.as_bytes())?;
        create_file(&notices_dir.join(&pdf_name), &letter.pdf())?;
        *summary.by_language.entry(l.code()).or_default() += 1;
        summary.notices += 1;
        let state = state_of(r, incident.home_state.as_deref());
        if state.as_deref() == Some("CA") {
            summary.california += 1;
            california_categories.extend(r.categories.iter().copied());
        }

        let emailed = match r.email.as_deref().map(EmailAddress::parse) {
            None => String::new(),
            Some(Err(_)) => "no: not a deliverable address".to_owned(),
            Some(Ok(address)) => {
                summary.email_addresses += 1;
                if send {
                    let message = Rendered {
                        unsubscribe: None,
                        subject: l.msg1("notice-subject", "city", city.as_str()),
                        text: letter.text(),
                        html,
                        attachments: Vec::new(),
                    };
                    match app.mailer.send(&address, message).await {
                        Ok(()) => {
                            summary.emailed += 1;
                            "yes".to_owned()
                        }
                        Err(e) => {
                            summary.email_failures += 1;
                            tracing::warn!(notice = %number, error = %e, "breach notice e-mail failed");
                            format!("no: {e}")
                        }
                    }
                } else {
                    "not sent".to_owned()
                }
            }
        };
        let categories: Vec<&str> = r.categories.iter().map(|c| c.as_str()).collect();
        let _ = merge.write_record([
            number.as_str(),
            l.code(),
            r.name.as_deref().unwrap_or(""),
            r.email.as_deref().unwrap_or(""),
            r.postal_address.as_deref().unwrap_or(""),
            state.as_deref().unwrap_or(""),
            &categories.join("; "),
            &format!("notices/{html_name}"),
            &format!("notices/{pdf_name}"),
            &emailed,
        ]);
        progress(i + 1, total);
    }
    let merge = merge.into_inner().unwrap_or_default();
    create_file(&summary.mail_merge, &merge)?;

    if summary.california > ATTORNEY_GENERAL_THRESHOLD {
        // The same letter with no one's name, listing every kind of data
        // any California recipient had involved.
        let sample = letter(
            incident,
            city,
            tz,
            today,
            &Addressee {
                name: None,
                categories: &california_categories,
            },
            Locale::En,
        );
        create_file(
            &out.join("attorney-general-sample.html"),
            sample.html()?.as_bytes(),
        )?;
        let pdf_path = out.join("attorney-general-sample.pdf");
        create_file(&pdf_path, &sample.pdf())?;
        summary.attorney_general_sample = Some(pdf_path);
    }

    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "breach.notices",
            target: None,
            outcome: if summary.email_failures == 0 {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            source_ip: None,
            details: json!({
                "incident": incident.reference,
                "component": incident.component.as_str(),
                "notices": summary.notices,
                "by_language": summary.by_language,
                "california": summary.california,
                "attorney_general_sample": summary.attorney_general_sample.is_some(),
                "emailed": summary.emailed,
                "email_failures": summary.email_failures,
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const INCIDENT: &str = r#"
reference = "INC-2026-007"
component = "database"
from = "2026-10-01"
to = "2026-11-01"
discovered = "2026-11-03"
notice_date = "2026-11-20"
home_state = "ca"

[contact]
organisation = "City of Springfield, Finance Department"
phone = "1-800-555-0100"
email = "privacy@springfield.example"
address = "100 Main St, Springfield, CA 94110"

[en]
what_happened = "Someone copied the payment service's database."
what_we_are_doing = "We shut the server down and rebuilt it."

[es]
what_happened = "Alguien copió la base de datos del servicio de pagos."
what_we_are_doing = "Apagamos el servidor y lo reconstruimos."
what_you_can_do = "Revise sus facturas."
"#;

    fn tz() -> TimeZone {
        TimeZone::get("America/Los_Angeles").unwrap()
    }

    #[test]
    fn an_incident_file_is_read_into_its_parts() {
        let i = Incident::parse(INCIDENT, "incident.toml", &tz()).unwrap();
        assert_eq!(i.reference, "INC-2026-007");
        assert_eq!(i.component, Component::Database);
        assert_eq!(i.from.to_string(), "2026-10-01T07:00:00Z");
        assert_eq!(i.home_state.as_deref(), Some("CA"));
        assert_eq!(i.notice_date, Some(jiff::civil::date(2026, 11, 20)));
        assert!(!i.delayed_by_law_enforcement);
        assert_eq!(
            i.es.what_you_can_do.as_deref(),
            Some("Revise sus facturas.")
        );
        assert_eq!(i.en.what_you_can_do, None);
    }

    #[test]
    fn every_problem_in_an_incident_file_is_named_with_its_setting() {
        let bad = INCIDENT
            .replace("component = \"database\"", "component = \"website\"")
            .replace("to = \"2026-11-01\"", "to = \"2026-09-01\"")
            .replace("discovered = \"2026-11-03\"", "discovered = \"last week\"")
            .replace("phone = \"1-800-555-0100\"\n", "")
            .replace("what_happened = \"Alguien", "what_happend = \"Alguien")
            .replace("home_state = \"ca\"", "home_state = \"XX\"");
        let errors = Incident::parse(&bad, "incident.toml", &tz()).unwrap_err();
        let all = errors.join("\n");
        for expected in [
            "incident.toml: component: ",
            "incident.toml: to: must be after from",
            "incident.toml: discovered: \"last week\": expected a date",
            "incident.toml: contact.phone: missing",
            "incident.toml: es.what_happened: missing",
            "incident.toml: es.what_happend: unknown setting",
            "incident.toml: home_state: \"XX\"",
        ] {
            assert!(all.contains(expected), "{expected:?} not in\n{all}");
        }
        let early = INCIDENT.replace("discovered = \"2026-11-03\"", "discovered = \"2026-09-30\"");
        let errors = Incident::parse(&early, "incident.toml", &tz()).unwrap_err();
        assert_eq!(
            errors,
            ["incident.toml: discovered: is before the breach started (from)"]
        );
        // Broken TOML: the parser's line and column.
        let errors =
            Incident::parse("reference = \"x\nfrom = 1", "incident.toml", &tz()).unwrap_err();
        assert!(errors[0].starts_with("incident.toml: "), "{errors:?}");
        assert!(errors[0].contains("line 1"), "{errors:?}");
    }

    fn sample(l: Locale, name: Option<&str>, categories: &[Category]) -> Letter {
        let i = Incident::parse(INCIDENT, "incident.toml", &tz()).unwrap();
        let categories: BTreeSet<Category> = categories.iter().copied().collect();
        letter(
            &i,
            "City of Springfield",
            &tz(),
            jiff::civil::date(2026, 11, 28),
            &Addressee {
                name,
                categories: &categories,
            },
            l,
        )
    }

    #[test]
    fn a_letter_has_californias_title_and_headings_in_order() {
        let letter = sample(
            Locale::En,
            Some("Ada Park"),
            &[Category::Name, Category::PostalAddress],
        );
        let html = letter.html().unwrap();
        let text = letter.text();
        assert!(html.contains("<h1>Notice of Data Breach</h1>"));
        let mut at = 0;
        for heading in [
            "What Happened",
            "What Information Was Involved",
            "What We Are Doing",
            "What You Can Do",
            "For More Information",
        ] {
            let found = html[at..]
                .find(&format!("<h2>{heading}</h2>"))
                .unwrap_or_else(|| panic!("{heading} missing or out of order"));
            at += found;
            assert!(text.contains(&format!("\n{heading}\n")));
        }
        // No type smaller than 10 points.
        assert!(html.contains("font-size: 12pt"));
        assert!(!html.contains("font-size: 8") && !html.contains("font-size: 9"));
        assert!(html.contains("Dear Ada Park,"));
        assert!(html.contains("Date of this notice: November 20, 2026"));
        // The window ends at midnight on November 1: its last day is
        // October 31.
        assert!(
            html.contains("between October 1, 2026 and October 31, 2026"),
            "{html}"
        );
        assert!(html.contains("We discovered it on November 3, 2026."));
        assert!(html.contains("not delayed by a law enforcement investigation"));
        // This person's categories, and only theirs.
        assert!(html.contains("<li>your name</li>"));
        assert!(html.contains("<li>your postal (service) address</li>"));
        assert!(!html.contains("your e-mail address"));
        assert!(html.contains("Your card number was not involved"));
        assert!(html.contains("Telephone: 1-800-555-0100"));
        assert!(html.contains("INC-2026-007"));
    }

    #[test]
    fn a_spanish_letter_carries_the_english_title_too() {
        let letter = sample(Locale::Es, None, &[Category::EmailAddress]);
        let html = letter.html().unwrap();
        assert!(html.starts_with("<!doctype html>\n<html lang=\"es\">"));
        assert!(html.contains("<h1>Aviso de filtración de datos</h1>"));
        assert!(html.contains("<p class=\"subtitle\" lang=\"en\">Notice of Data Breach</p>"));
        for heading in [
            "Qué sucedió",
            "Qué información estuvo involucrada",
            "Qué estamos haciendo",
            "Qué puede hacer usted",
            "Para obtener más información",
        ] {
            assert!(html.contains(&format!("<h2>{heading}</h2>")), "{heading}");
        }
        assert!(html.contains("Estimado/a residente:"));
        assert!(html.contains("<li>su correo electrónico</li>"));
        assert!(html.contains("Revise sus facturas."));
        assert!(html.contains("entre el 1 de octubre de 2026 y el 31 de octubre de 2026"));
        let pdf = letter.pdf();
        assert!(String::from_utf8_lossy(&pdf).contains("/Lang (es)"));
    }

    #[test]
    fn names_and_stories_are_escaped_in_html() {
        let letter = sample(Locale::En, Some("<b>Bobby</b> & Co"), &[Category::Name]);
        let html = letter.html().unwrap();
        assert!(
            html.contains("Dear &#60;b&#62;Bobby&#60;/b&#62; &#38; Co,"),
            "{html}"
        );
        assert!(!html.contains("<b>Bobby"));
    }
}
