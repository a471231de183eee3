//! Resident pages, receipts and e-mails in Spanish: how the language is
//! chosen and remembered, that every page is Spanish through and through,
//! and that a payment keeps the language it was made in.

use std::time::Duration;

use app::i18n::{Locale, escape_html, source};
use base64::Engine;

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_app, spawn_with};
use crate::resident::{Page, Resident, read};

const GOOD: &str = "4242 4242 4242 4242";
const DECLINED: &str = "4000000000000002";

db_tests!(
    every_resident_page_reads_in_spanish,
    a_spanish_payment_keeps_its_language,
);

/// English messages long enough to be unmistakable (and not the same in
/// Spanish), without variables: none of them may appear on a Spanish page.
fn english_only_texts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in source(Locale::En).lines() {
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        let key = key.trim();
        if key.starts_with('#') || value.contains('{') || value.trim().len() < 12 {
            continue;
        }
        if Locale::Es.msg(key) == Locale::En.msg(key) {
            continue;
        }
        out.push((key.to_owned(), escape_html(value.trim())));
    }
    assert!(out.len() > 60, "the English catalogue was read");
    out
}

/// A Spanish page: `lang="es"`, the link back to English, these Spanish
/// messages, and no English message anywhere.
fn assert_spanish(page: &Page, what: &str, keys: &[&str]) {
    assert!(
        page.body.contains("<html lang=\"es\">"),
        "{what}: <html lang=\"es\">"
    );
    assert!(
        page.body
            .contains("hreflang=\"en\" lang=\"en\">English</a>"),
        "{what}: a link to the English page, marked as English"
    );
    for key in keys {
        let es = escape_html(&Locale::Es.msg(key));
        // Field errors start lower-case in the catalogue; some pages make
        // them sentences.
        let mut chars = es.chars();
        let sentence = chars
            .next()
            .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
            .unwrap_or_default();
        assert!(
            page.body.contains(&es) || page.body.contains(&sentence),
            "{what}: {key} in Spanish ({es}) in:\n{}",
            page.main()
        );
    }
    for (key, en) in english_only_texts() {
        assert!(
            !page.body.contains(&en),
            "{what}: English left on a Spanish page ({key}: {en})"
        );
    }
}

impl Resident<'_> {
    async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.client.get(format!("{}{path}", self.t.public));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.unwrap()).await
    }
}

async fn every_resident_page_reads_in_spanish(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();

    let home = r.get("/?lang=es").await;
    assert_eq!(home.status, 200);
    assert_spanish(
        &home,
        "start page",
        &[
            "home-title",
            "home-lead",
            "home-before-bill",
            "footer-card-note",
            "skip-link",
        ],
    );
    assert!(
        home.body
            .contains("Pagar una factura de servicios públicos")
    );
    assert!(
        home.body.contains("Agua, alcantarillado y basura"),
        "the department's Spanish summary"
    );

    let lookup = r.get("/pay/utilities").await;
    assert_spanish(
        &lookup,
        "look-up page",
        &[
            "lookup-intro",
            "lookup-default-label",
            "lookup-zip-label",
            "lookup-submit",
        ],
    );
    assert!(
        lookup.body.contains("hreflang=\"en\"")
            && lookup.body.contains("href=\"/pay/utilities?lang=en\""),
        "the language link returns to the same page"
    );

    let empty = r
        .post("/pay/utilities", &[("account_number", ""), ("zip", "9411")])
        .await;
    assert_eq!(empty.status, 400);
    assert_spanish(
        &empty,
        "look-up errors",
        &[
            "error-summary-title",
            "account-number-empty",
            "zip-malformed",
        ],
    );
    assert!(
        empty
            .body
            .contains("<title>Error: Pagar una factura de servicios públicos")
    );
    let wrong = r.lookup("1002-3345", "94111").await;
    assert_spanish(&wrong, "no such bill", &["lookup-no-match"]);

    let found = r.lookup("1002-3345", "94110").await;
    assert_eq!(found.status, 303);
    let bills = r.get("/pay/utilities/bills").await;
    assert_spanish(
        &bills,
        "bills",
        &[
            "bills-account",
            "bills-period",
            "bills-how-much",
            "bills-other-amount",
        ],
    );
    assert!(
        bills
            .main()
            .contains("del 1 de octubre de 2026 al 31 de octubre de 2026")
    );
    assert!(
        bills.main().contains("18 de diciembre de 2026"),
        "due date in Spanish"
    );
    assert!(
        bills
            .main()
            .contains("El importe pendiente completo, $84.12")
    );

    let bill = t.bill_id("UT-1").await;
    let too_much = r.choose(bill, "other", "100").await;
    assert_eq!(too_much.status, 400);
    assert_spanish(&too_much, "amount error", &[]);
    assert!(
        too_much
            .main()
            .contains("Puede pagar como máximo $84.12, el importe pendiente"),
        "{}",
        too_much.main()
    );
    let not_money = r.choose(bill, "other", "ten").await;
    assert!(
        not_money
            .main()
            .contains("Escriba un importe en dólares y centavos")
    );

    let chosen = r.choose(bill, "full", "").await;
    assert_eq!(chosen.status, 303);
    let review = r.get("/pay/review").await;
    assert_spanish(
        &review,
        "review",
        &[
            "review-title",
            "review-fee",
            "review-next-processor",
            "review-submit",
        ],
    );
    assert!(review.main().contains("Factura UT-1 de Servicios públicos"));
    assert!(
        review
            .main()
            .contains("El 2.5 % del pago, con un mínimo de $1.00. El cargo cubre"),
        "{}",
        review.main()
    );
    let key = review.input("idempotency_key").unwrap();
    let bad_email = r
        .post(
            "/pay/review",
            &[("idempotency_key", &key), ("email", "maria at example")],
        )
        .await;
    assert_eq!(bad_email.status, 400);
    assert_spanish(&bad_email, "review error", &["email-malformed"]);
    assert!(bad_email.body.contains("<title>Error: Revise su pago"));

    let confirmed = r
        .post("/pay/review", &[("idempotency_key", &key), ("email", "")])
        .await;
    let checkout = confirmed.location.unwrap();
    let back = r.pay_on_processor(&checkout, DECLINED).await;
    let failed = r.get(back.location.as_deref().unwrap()).await;
    assert_spanish(
        &failed,
        "declined",
        &[
            "receipt-failed-title",
            "decline-declined",
            "receipt-not-charged",
            "receipt-try-again",
        ],
    );

    let missing = r.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert_spanish(
        &missing,
        "not found",
        &[
            "error-not-found-title",
            "error-not-found-text",
            "error-start-page",
        ],
    );
    t.stop().await;
}

/// The text of a stored e-mail, with quoted-printable and base64 parts
/// decoded.
fn decoded(eml: &str) -> String {
    let mut out = String::new();
    let soft = eml.replace("=\r\n", "").replace("=\n", "");
    let bytes = soft.as_bytes();
    let mut plain = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&soft[i + 1..i + 3], 16)
        {
            plain.push(b);
            i += 3;
            continue;
        }
        plain.push(bytes[i]);
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&plain));
    // Base64 bodies: runs of base64 lines after a blank line.
    let mut block = String::new();
    for line in eml.lines() {
        let l = line.trim();
        let is_b64 = !l.is_empty()
            && l.len() >= 16
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
        if is_b64 {
            block.push_str(l);
        } else if !block.is_empty() {
            if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(&block) {
                out.push_str(&String::from_utf8_lossy(&b));
            }
            block.clear();
        }
    }
    out
}

async fn a_spanish_payment_keeps_its_language(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    // Spanish from the browser's preferences, not a choice on the page.
    let home = r
        .get_with("/", &[("accept-language", "es-US,es;q=0.9,en;q=0.5")])
        .await;
    assert!(home.body.contains("<html lang=\"es\">"));
    r.get("/?lang=es").await;
    let (id, back) = r
        .pay_bill("1002-3345", "94110", "UT-1", GOOD, "maria@example.com")
        .await;
    // The processor's webhook completes the payment, before anyone
    // looks at the receipt page.
    let p = t.settled(&id).await;
    assert_eq!(p.locale, Locale::Es, "the payment remembers its language");
    let number = p.receipt_number.clone().unwrap();

    let outbox = t.dir.join("outbox");
    let mut emails = Vec::new();
    for _ in 0..200 {
        emails = std::fs::read_dir(&outbox)
            .unwrap()
            .filter_map(Result::ok)
            .collect();
        if !emails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(emails.len(), 1);
    let eml = std::fs::read_to_string(emails[0].path()).unwrap();
    assert!(
        eml.contains(&format!("Subject: Su recibo de pago {number}")),
        "{eml}"
    );
    let text = decoded(&eml);
    for expected in [
        "Visa terminada en 4242",
        "Total cobrado: $86.22",
        "Cargo por conveniencia: $2.10",
        "Guarde este correo para sus archivos.",
        "Servicios públicos, factura UT-1: $84.12",
        "<html lang=\"es\">",
        &format!("Recibo número <strong>{number}</strong>, pagado el "),
    ] {
        assert!(text.contains(expected), "e-mail has {expected:?}:\n{text}");
    }
    let months = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    assert!(
        months
            .iter()
            .any(|m| text.contains(&format!(" de {m} de "))),
        "the date is written in Spanish:\n{text}"
    );
    assert!(
        !text.contains("Total charged") && !text.contains(" ending "),
        "{text}"
    );

    // The receipt page, in this browser and in another one that prefers
    // English (opened from the e-mail), is in the language paid in.
    let ret = back.location.unwrap();
    let path = ret.strip_prefix(&t.public).unwrap().to_owned();
    let mine = r.get(&path).await;
    assert_spanish(
        &mine,
        "receipt",
        &["receipt-paid-title", "receipt-total", "receipt-keep"],
    );
    assert!(
        mine.main()
            .contains(&format!("Su número de recibo es <strong>{number}</strong>"))
    );
    assert!(
        mine.main()
            .contains("Le enviamos una copia de este recibo a m•••@example.com.")
    );
    assert!(
        mine.main().contains("Factura UT-1 de Servicios públicos"),
        "the department's Spanish name: {}",
        mine.main()
    );
    let other = t.resident();
    let elsewhere = other.get_with(&path, &[("accept-language", "en-US")]).await;
    assert_spanish(
        &elsewhere,
        "receipt in another browser",
        &["receipt-paid-title"],
    );
    // Unless the reader asks for English.
    let english = other.get_with(&format!("{path}?lang=en"), &[]).await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.main().contains("Payment received"));
    assert!(english.main().contains("Visa ending 4242"));
    t.stop().await;
}

/// `?lang=` beats the cookie, the cookie beats `Accept-Language`, and that
/// beats the default; the choice is remembered in an HttpOnly, SameSite
/// cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_is_chosen_and_remembered() {
    let t = spawn_app(Backend::Sqlite).await;
    let r = t.resident();
    let default = r.get_with("/", &[]).await;
    assert!(
        default.body.contains("<html lang=\"en\">"),
        "English by default"
    );
    assert!(
        default
            .body
            .contains("<a href=\"/?lang=es\" hreflang=\"es\" lang=\"es\">Español</a>"),
        "a link to Spanish, marked as Spanish"
    );
    let vary = default.headers["vary"].to_str().unwrap();
    assert!(
        vary.contains("Accept-Language") && vary.contains("Cookie"),
        "{vary}"
    );

    let browser_es = r.get_with("/", &[("accept-language", "es-MX")]).await;
    assert!(browser_es.body.contains("<html lang=\"es\">"));
    assert!(
        browser_es
            .headers
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().contains("ct_lang")),
        "the browser's preference is not stored"
    );

    // Choosing English on the page beats the browser's Spanish, and is
    // remembered.
    let chose = r
        .get_with("/pay/utilities?lang=en", &[("accept-language", "es")])
        .await;
    assert!(chose.body.contains("<html lang=\"en\">"));
    let cookie = chose
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("ct_lang="))
        .expect("a language cookie");
    assert!(cookie.starts_with("ct_lang=en;"), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attr), "{cookie} has {attr}");
    }
    let later = r.get_with("/", &[("accept-language", "es")]).await;
    assert!(
        later.body.contains("<html lang=\"en\">"),
        "the cookie beats Accept-Language"
    );
    // ?lang beats the cookie.
    let es = r.get_with("/?lang=es", &[]).await;
    assert!(es.body.contains("<html lang=\"es\">"));
    let again = r
        .get_with("/pay/utilities", &[("accept-language", "en")])
        .await;
    assert!(
        again.body.contains("<html lang=\"es\">"),
        "now remembered as Spanish"
    );
    // Nothing to remember when the cookie already says so.
    let same = r.get_with("/?lang=es", &[]).await;
    assert!(
        same.headers
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().contains("ct_lang")),
    );
    // An unknown language changes nothing.
    let unknown = r.get_with("/?lang=fr", &[]).await;
    assert!(unknown.body.contains("<html lang=\"es\">"));
    t.stop().await;
}

/// Over TLS the language cookie is `__Host-` and Secure, like the session's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_cookie_is_secure_over_tls() {
    let t = spawn_with(
        Backend::Sqlite,
        Options {
            public_base_url: Some("https://pay.springfield.example/".into()),
            ..Options::default()
        },
    )
    .await;
    let p = t.resident().get_with("/?lang=es", &[]).await;
    let cookie = p
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.contains("ct_lang"))
        .expect("a language cookie");
    assert!(cookie.starts_with("__Host-ct_lang=es;"), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax")
    );
    assert!(cookie.contains("Path=/") && !cookie.contains("Domain"));
    t.stop().await;
}

/// Staff pages stay English whatever the browser asks for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_pages_stay_english() {
    let t = spawn_app(Backend::Sqlite).await;
    let p = read(
        t.client
            .get(format!("{}/login?lang=es", t.staff))
            .header("accept-language", "es")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(p.body.contains("<html lang=\"en\">"), "{}", p.body);
    assert!(!p.body.contains("Español") && !p.body.contains("ct_lang"));
    t.stop().await;
}
