//! What residents read, in English and Spanish: a Fluent message catalogue
//! per language (`locales/*.ftl`, compiled into the binary like the
//! templates), the choice of language, and per-language formatting of money,
//! numbers and dates. Staff pages and the sandbox processor stay in English.

mod format;
mod messages;

use std::borrow::Cow;
use std::sync::LazyLock;

use domain::Cents;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

pub use messages::Localize;

/// A language the resident pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    En,
    Es,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Es];

    /// The code for `lang` attributes, `?lang=`, the cookie and the database.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
        }
    }

    /// The language's name in itself, for the link that switches to it.
    pub fn endonym(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Es => "Español",
        }
    }

    /// The language a page offers to switch to.
    pub fn other(self) -> Locale {
        match self {
            Locale::En => Locale::Es,
            Locale::Es => Locale::En,
        }
    }

    /// `en`, `es`, or a regional tag of either (`es-MX`, `en_US`), any case.
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("en") {
            Some(Locale::En)
        } else if primary.eq_ignore_ascii_case("es") {
            Some(Locale::Es)
        } else {
            None
        }
    }

    /// The best of our languages for an `Accept-Language` header: highest
    /// weight first, the earlier one on a tie; `None` when it names
    /// neither (the caller then uses the default).
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        let mut best: Option<(u16, Locale)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let mut weight: u16 = 1000;
            for param in parts {
                if let Some(q) = param.trim().strip_prefix("q=") {
                    weight = parse_weight(q).unwrap_or(0);
                }
            }
            let Some(locale) = Locale::parse(tag) else {
                continue;
            };
            if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, locale));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The message `key`, without variables.
    pub fn msg(self, key: &str) -> String {
        self.format(key, &[])
    }

    pub fn msg1(self, key: &str, name: &str, value: impl Into<Arg>) -> String {
        self.format(key, &[(name, value.into())])
    }

    pub fn msg2(
        self,
        key: &str,
        name: &str,
        value: impl Into<Arg>,
        name2: &str,
        value2: impl Into<Arg>,
    ) -> String {
        self.format(key, &[(name, value.into()), (name2, value2.into())])
    }

    /// The message `key` with any number of variables.
    pub fn msg_args(self, key: &str, args: &[(&str, Arg)]) -> String {
        self.format(key, args)
    }

    /// The message `key` as HTML with the variable `name` in bold: the
    /// message text and every value are escaped, so the result may be
    /// written into a page unescaped.
    pub fn msg_strong(self, key: &str, name: &str, value: impl Into<Arg>) -> String {
        self.msg_strong_with(key, (name, value.into()), &[])
    }

    /// [`Locale::msg_strong`] with one more (plain) variable.
    pub fn msg_strong2(
        self,
        key: &str,
        name: &str,
        value: impl Into<Arg>,
        name2: &str,
        value2: impl Into<Arg>,
    ) -> String {
        self.msg_strong_with(key, (name, value.into()), &[(name2, value2.into())])
    }

    fn msg_strong_with(self, key: &str, strong: (&str, Arg), rest: &[(&str, Arg)]) -> String {
        // A private-use character stands in for the bold value while the
        // rest is escaped; it cannot come from the catalogue or a value
        // (values are escaped separately and spliced in afterwards).
        const MARK: &str = "\u{E000}";
        let mut args: Vec<(&str, Arg)> = rest.to_vec();
        args.push((strong.0, Arg::Str(MARK.to_owned())));
        let text = escape_html(&self.format(key, &args));
        let value = escape_html(&self.arg_text(&strong.1).replace(MARK, ""));
        text.replacen(MARK, &format!("<strong>{value}</strong>"), 1)
    }

    pub fn format(self, key: &str, args: &[(&str, Arg)]) -> String {
        let bundle = CATALOGUE.bundle(self);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(
                key,
                locale = self.code(),
                "message missing from the catalogue"
            );
            return key.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, arg) in args {
            let value = match arg {
                Arg::Count(n) => FluentValue::from(*n),
                other => FluentValue::from(self.arg_text(other)),
            };
            fluent_args.set(name.to_string(), value);
        }
        let mut errors = Vec::new();
        let out = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, locale = self.code(), errors = ?errors, "message formatted with errors");
        }
        out.into_owned()
    }

    fn arg_text(self, arg: &Arg) -> String {
        match arg {
            Arg::Str(s) => s.clone(),
            Arg::Count(n) => self.number(*n),
            Arg::Money(c) => self.money(c),
        }
    }

    /// Takes a reference too, as templates pass one.
    pub fn money(self, amount: impl std::borrow::Borrow<Cents>) -> String {
        format::money(self, *amount.borrow())
    }

    pub fn number(self, n: i64) -> String {
        format::number(self, n)
    }

    /// A calendar date (`2026-11-28`) in words: "November 28, 2026",
    /// "28 de noviembre de 2026". Anything else is shown as it is.
    pub fn date(self, iso: &str) -> String {
        format::date(self, iso)
    }

    /// "October 1, 2026 to October 31, 2026".
    pub fn date_range(self, start: &str, end: &str) -> String {
        self.msg2(
            "date-range",
            "start",
            self.date(start),
            "end",
            self.date(end),
        )
    }
}

fn parse_weight(q: &str) -> Option<u16> {
    // Weights have at most three decimals (RFC 9110 section 12.4.2).
    let q = q.trim();
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        let digit = u16::from(b - b'0');
        thousandths += digit * [100, 10, 1][i];
    }
    if whole == 1000 && thousandths > 0 {
        return None;
    }
    Some(whole + thousandths)
}

/// A value for a message variable.
#[derive(Debug, Clone)]
pub enum Arg {
    Str(String),
    /// A number that may choose a plural form.
    Count(i64),
    /// Formatted for the message's language.
    Money(Cents),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Str(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Str(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg::Str(s.clone())
    }
}

impl From<Cow<'_, str>> for Arg {
    fn from(s: Cow<'_, str>) -> Arg {
        Arg::Str(s.into_owned())
    }
}

impl From<Cents> for Arg {
    fn from(c: Cents) -> Arg {
        Arg::Money(c)
    }
}

impl From<&Cents> for Arg {
    fn from(c: &Cents) -> Arg {
        Arg::Money(*c)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Arg {
        Arg::Count(n)
    }
}

impl From<&i64> for Arg {
    fn from(n: &i64) -> Arg {
        Arg::Count(*n)
    }
}

impl From<u64> for Arg {
    fn from(n: u64) -> Arg {
        Arg::Count(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<&u64> for Arg {
    fn from(n: &u64) -> Arg {
        Arg::from(*n)
    }
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The catalogue sources, for the tests that compare the languages.
pub fn source(locale: Locale) -> &'static str {
    match locale {
        Locale::En => include_str!("../../locales/en.ftl"),
        Locale::Es => include_str!("../../locales/es.ftl"),
    }
}

struct Catalogue {
    en: FluentBundle<FluentResource>,
    es: FluentBundle<FluentResource>,
}

impl Catalogue {
    fn bundle(&self, locale: Locale) -> &FluentBundle<FluentResource> {
        match locale {
            Locale::En => &self.en,
            Locale::Es => &self.es,
        }
    }
}

fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    let tag = match locale {
        Locale::En => "en-US",
        Locale::Es => "es-US",
    };
    let langid = tag.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // The Unicode isolation marks Fluent puts around values by default are
    // for mixed-direction text; in pages and e-mails they only get in the
    // way (copying a receipt number, searching a page).
    bundle.set_use_isolating(false);
    // Numbers in messages (counts that choose a plural form) are grouped
    // like any other number of ours ("1,500 minutes").
    bundle.set_formatter(Some(format::fluent_number));
    // A syntax error keeps the messages that parsed: the catalogue tests
    // fail on it, and a running server shows the key rather than stopping.
    let resource = match FluentResource::try_new(source(locale).to_owned()) {
        Ok(r) => r,
        Err((r, errors)) => {
            tracing::error!(locale = locale.code(), errors = ?errors, "message catalogue has syntax errors");
            r
        }
    };
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(locale = locale.code(), errors = ?errors, "message catalogue has duplicate messages");
    }
    bundle
}

/// Built once, on first use. The catalogue is part of the program (like the
/// templates), not configuration, so a process-wide value is fine here.
static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| Catalogue {
    en: bundle(Locale::En),
    es: bundle(Locale::Es),
});

#[cfg(test)]
mod tests;
