//! The catalogue is complete in both languages, and the code only asks for
//! messages it has.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fluent_syntax::ast;

use super::*;

/// Each message's variables (`$name`) and the other messages and terms it
/// refers to, by message id.
fn shapes(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
    shapes_of(source(locale), locale.code())
}

fn shapes_of(src: &str, name: &str) -> BTreeMap<String, BTreeSet<String>> {
    let resource = match fluent_syntax::parser::parse(src) {
        Ok(r) => r,
        Err((_, errors)) => panic!("{name}.ftl does not parse: {errors:?}"),
    };
    let mut out = BTreeMap::new();
    for entry in resource.body {
        match entry {
            ast::Entry::Message(m) => {
                let mut refs = BTreeSet::new();
                if let Some(p) = &m.value {
                    pattern_refs(p, &mut refs);
                }
                for a in &m.attributes {
                    refs.insert(format!(".{}", a.id.name));
                    pattern_refs(&a.value, &mut refs);
                }
                let id = m.id.name.to_owned();
                assert!(
                    out.insert(id.clone(), refs).is_none(),
                    "{id} is defined twice in {name}.ftl"
                );
            }
            ast::Entry::Term(t) => panic!(
                "-{} in {name}.ftl: terms are not used here; write the words into each message",
                t.id.name
            ),
            ast::Entry::Junk { content } => {
                panic!("{name}.ftl has a syntax error near: {content}")
            }
            _ => {}
        }
    }
    out
}

fn pattern_refs(p: &ast::Pattern<&str>, refs: &mut BTreeSet<String>) {
    for el in &p.elements {
        if let ast::PatternElement::Placeable { expression } = el {
            expression_refs(expression, refs);
        }
    }
}

fn expression_refs(e: &ast::Expression<&str>, refs: &mut BTreeSet<String>) {
    match e {
        ast::Expression::Select { selector, variants } => {
            inline_refs(selector, refs);
            for v in variants {
                pattern_refs(&v.value, refs);
            }
        }
        ast::Expression::Inline(i) => inline_refs(i, refs),
    }
}

fn inline_refs(i: &ast::InlineExpression<&str>, refs: &mut BTreeSet<String>) {
    match i {
        ast::InlineExpression::VariableReference { id } => {
            refs.insert(format!("${}", id.name));
        }
        ast::InlineExpression::MessageReference { id, .. } => {
            refs.insert(id.name.to_owned());
        }
        ast::InlineExpression::TermReference { id, .. } => {
            refs.insert(format!("-{}", id.name));
        }
        ast::InlineExpression::FunctionReference { id, arguments } => {
            refs.insert(format!("{}()", id.name));
            for a in &arguments.positional {
                inline_refs(a, refs);
            }
            for a in &arguments.named {
                inline_refs(&a.value, refs);
            }
        }
        ast::InlineExpression::Placeable { expression } => expression_refs(expression, refs),
        ast::InlineExpression::StringLiteral { .. }
        | ast::InlineExpression::NumberLiteral { .. } => {}
    }
}

/// What differs between two catalogues: messages only in one, and messages
/// whose variables or references differ.
fn drift(
    en: &BTreeMap<String, BTreeSet<String>>,
    es: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for id in en.keys().filter(|id| !es.contains_key(*id)) {
        out.push(format!("{id}: missing from es.ftl"));
    }
    for id in es.keys().filter(|id| !en.contains_key(*id)) {
        out.push(format!("{id}: missing from en.ftl"));
    }
    for (id, refs) in en {
        if let Some(other) = es.get(id)
            && other != refs
        {
            out.push(format!("{id}: en uses {refs:?}, es uses {other:?}"));
        }
    }
    out
}

#[test]
fn both_languages_have_the_same_messages_with_the_same_variables() {
    let en = shapes(Locale::En);
    let es = shapes(Locale::Es);
    let problems = drift(&en, &es);
    assert!(
        problems.is_empty(),
        "the catalogues differ:\n{}",
        problems.join("\n")
    );
    assert!(en.len() > 100, "the catalogue has all resident texts");
}

#[test]
fn the_comparison_finds_missing_messages_and_different_variables() {
    let en = shapes_of(
        "a = One { $n }\nb = Two\nc = { $x ->\n    [one] one\n   *[other] { $x } more\n}\n",
        "en",
    );
    let es = shapes_of(
        "a = Uno { $m }\nc = { $x ->\n    [one] uno\n   *[other] { $x } más\n}\nd = Cuatro\n",
        "es",
    );
    let problems = drift(&en, &es);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("b: missing from es.ftl"));
    assert!(problems[1].starts_with("d: missing from en.ftl"));
    assert!(problems[2].starts_with("a: en uses {\"$n\"}"));
}

#[test]
fn every_message_formats_without_errors() {
    for locale in Locale::ALL {
        for (id, refs) in shapes(locale) {
            let args: Vec<(&str, Arg)> = refs
                .iter()
                .filter_map(|r| r.strip_prefix('$'))
                .map(|name| (name, Arg::Count(3)))
                .collect();
            let bundle = CATALOGUE.bundle(locale);
            let pattern = bundle.get_message(&id).and_then(|m| m.value());
            let Some(pattern) = pattern else {
                panic!("{id} in {}.ftl has no value", locale.code());
            };
            let mut fa = FluentArgs::new();
            for (name, a) in &args {
                if let Arg::Count(n) = a {
                    fa.set(name.to_string(), FluentValue::from(*n));
                }
            }
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fa), &mut errors);
            assert!(errors.is_empty(), "{id} ({}): {errors:?}", locale.code());
            assert!(!text.trim().is_empty(), "{id} ({}) is empty", locale.code());
        }
    }
}

/// Every key the templates and the Rust code ask for, found by the calls
/// that take one (`msg("key"`, `msg1("key"`…) and by the keys handed
/// around as values (`"decline-…"`, `"error-…"`).
fn keys_used() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("templates"), &mut files);
    collect(&root.join("src"), &mut files);
    let mut keys = BTreeSet::new();
    for f in files {
        if f.ends_with("i18n/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for call in [
            "msg(\"",
            "msg1(\"",
            "msg2(\"",
            "msg_strong(\"",
            "msg_strong2(\"",
            ".format(\"",
        ] {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                if let Some(end) = rest.find('"') {
                    keys.insert(rest[..end].to_owned());
                }
            }
        }
        // Keys chosen in one place and formatted in another (Rust only:
        // templates have class names like "error-message").
        let prefixes: &[&str] = if f.extension().is_some_and(|e| e == "rs") {
            &[
                "\"decline-",
                "\"error-",
                "\"receipt-",
                "\"month-",
                "\"notice-",
            ]
        } else {
            &[]
        };
        for prefix in prefixes {
            for (i, _) in text.match_indices(prefix) {
                let rest = &text[i + 1..];
                if let Some(end) = rest.find('"') {
                    let key = &rest[..end];
                    if key
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    {
                        keys.insert(key.to_owned());
                    }
                }
            }
        }
    }
    keys
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_key_the_code_uses_is_in_the_catalogue() {
    let en = shapes(Locale::En);
    let used = keys_used();
    assert!(
        used.len() > 100,
        "the scan finds the keys ({} found)",
        used.len()
    );
    let missing: Vec<_> = used
        .iter()
        // Built at run time: month-1 … month-12.
        .filter(|k| *k != "month-")
        .filter(|k| !en.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "used but not in the catalogue: {missing:?}"
    );
    for m in 1..=12 {
        assert!(en.contains_key(&format!("month-{m}")));
    }
}

#[test]
fn a_missing_key_shows_the_key_not_a_panic() {
    assert_eq!(Locale::Es.msg("no-such-message"), "no-such-message");
}

#[test]
fn plurals_follow_each_language() {
    let one = Locale::En.msg2(
        "bills-in-progress",
        "amount",
        Cents::new(500),
        "minutes",
        1_u64,
    );
    assert!(one.contains("within 1 minute."), "{one}");
    let many = Locale::En.msg2(
        "bills-in-progress",
        "amount",
        Cents::new(500),
        "minutes",
        30_u64,
    );
    assert!(many.contains("within 30 minutes."), "{many}");
    let uno = Locale::Es.msg2(
        "bills-in-progress",
        "amount",
        Cents::new(500),
        "minutes",
        1_u64,
    );
    assert!(uno.contains("en 1 minuto como"), "{uno}");
    let muchos = Locale::Es.msg2(
        "bills-in-progress",
        "amount",
        Cents::new(500),
        "minutes",
        30_u64,
    );
    assert!(muchos.contains("en 30 minutos como"), "{muchos}");
    assert!(muchos.contains("$5.00"), "{muchos}");
    let grouped = Locale::Es.msg2(
        "bills-in-progress",
        "amount",
        Cents::new(500),
        "minutes",
        1_500_u64,
    );
    assert!(grouped.contains("en 1,500 minutos como"), "{grouped}");
}

#[test]
fn dates_money_and_numbers_per_language() {
    assert_eq!(Locale::En.date("2026-11-28"), "November 28, 2026");
    assert_eq!(Locale::Es.date("2026-11-28"), "28 de noviembre de 2026");
    assert_eq!(Locale::Es.date("2026-01-05"), "5 de enero de 2026");
    assert_eq!(Locale::En.date("not a date"), "not a date");
    assert_eq!(
        Locale::En.date_range("2026-10-01", "2026-10-31"),
        "October 1, 2026 to October 31, 2026"
    );
    assert_eq!(
        Locale::Es.date_range("2026-10-01", "2026-10-31"),
        "del 1 de octubre de 2026 al 31 de octubre de 2026"
    );
    for l in Locale::ALL {
        assert_eq!(l.money(Cents::new(123_456)), "$1,234.56");
        assert_eq!(l.money(Cents::new(-300)), "-$3.00");
        assert_eq!(l.number(1_234_567), "1,234,567");
        assert_eq!(l.number(-12), "-12");
    }
}

#[test]
fn bold_values_are_escaped_and_so_is_the_message() {
    let html = Locale::En.msg_strong("receipt-number", "number", "<b>&");
    assert_eq!(
        html,
        "Your receipt number is <strong>&lt;b&gt;&amp;</strong>"
    );
    let two = Locale::Es.msg_strong2("mail-receipt-number", "number", "R-1", "date", "<i>");
    assert_eq!(
        two,
        "Recibo número <strong>R-1</strong>, pagado el &lt;i&gt;."
    );
}

#[test]
fn accept_language_weights() {
    assert_eq!(Locale::negotiate("es"), Some(Locale::Es));
    assert_eq!(
        Locale::negotiate("en-US,en;q=0.9,es;q=0.8"),
        Some(Locale::En)
    );
    assert_eq!(Locale::negotiate("es-US, en;q=0.9"), Some(Locale::Es));
    assert_eq!(Locale::negotiate("en;q=0.5, es-MX;q=0.7"), Some(Locale::Es));
    assert_eq!(Locale::negotiate("es;q=0, en;q=0.1"), Some(Locale::En));
    assert_eq!(Locale::negotiate("fr-CA, de"), None);
    assert_eq!(Locale::negotiate("*"), None);
    assert_eq!(Locale::negotiate("es;q=2"), None);
    assert_eq!(Locale::negotiate(""), None);
}
