//! Receipt e-mails, sent by a job after the payment's transaction commits.

use askama::Template;
use domain::Cents;
use domain::personal::EmailAddress;
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::i18n::Locale;
use crate::mail::Rendered;
use crate::services::payments::email_context;
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("payment {0} not found")]
    NotFound(String),
    #[error("payment {0} has no receipt (status {1})")]
    NotSucceeded(String, String),
    #[error("cannot read the receipt address: {0}")]
    Crypto(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error(transparent)]
    Template(#[from] askama::Error),
}

/// One line of a receipt.
pub struct ReceiptLine {
    /// The department's name in English and in Spanish.
    names: (String, String),
    pub reference: String,
    pub amount: Cents,
}

impl ReceiptLine {
    pub fn department(&self, l: &Locale) -> &str {
        match l {
            Locale::En => &self.names.0,
            Locale::Es => &self.names.1,
        }
    }
}

/// What a receipt says, for the page and the e-mail.
pub struct Receipt {
    pub city: String,
    pub receipt_number: String,
    /// The business date (`2026-11-28`).
    pub business_date: String,
    pub lines: Vec<ReceiptLine>,
    pub amount: Cents,
    pub fee: Cents,
    pub total: Cents,
    card_brand: Option<String>,
    card_last4: Option<String>,
    pub url: String,
    /// The licence certificate, when the payment renewed a licence.
    pub certificate_url: Option<String>,
    /// The language the resident paid in: the e-mail's, and the page's
    /// unless the resident switches.
    pub locale: Locale,
}

impl Receipt {
    /// "Visa ending 4242", "Visa terminada en 4242".
    pub fn card(&self, l: &Locale) -> String {
        match (self.card_brand.as_deref(), self.card_last4.as_deref()) {
            (Some(b), Some(last4)) => card_label(*l, b, last4),
            _ => l.msg("card-unknown"),
        }
    }

    pub fn paid_on(&self, l: &Locale) -> String {
        l.date(&self.business_date)
    }
}

#[derive(Template)]
#[template(path = "mail/receipt.txt")]
struct ReceiptText<'a> {
    r: &'a Receipt,
    l: Locale,
}

#[derive(Template)]
#[template(path = "mail/receipt.html")]
struct ReceiptHtml<'a> {
    r: &'a Receipt,
    l: Locale,
}

pub async fn load_receipt(app: &App, payment_id: &str) -> Result<Receipt, ReceiptError> {
    let p = store::payments::by_id(app.db.reader(), payment_id)
        .await?
        .ok_or_else(|| ReceiptError::NotFound(payment_id.to_owned()))?;
    if !p.status.was_captured() {
        return Err(ReceiptError::NotSucceeded(p.id, p.status.to_string()));
    }
    let mut lines = Vec::new();
    for item in store::payments::items(app.db.reader(), &p.id).await? {
        let view =
            store::receivables::view(app.db.reader(), item.receivable_id, app.now_us()).await?;
        let names = match app.config.department(&item.department) {
            Some(d) => (d.name.clone(), d.text(Locale::Es).name),
            None => (item.department.clone(), item.department.clone()),
        };
        lines.push(ReceiptLine {
            names,
            reference: view.map(|v| v.reference).unwrap_or_default(),
            amount: item.amount,
        });
    }
    Ok(Receipt {
        city: app.config.city_name.clone(),
        receipt_number: p.receipt_number.unwrap_or_default(),
        business_date: p.business_date.unwrap_or_default(),
        lines,
        amount: p.amount,
        fee: p.fee,
        total: p.total,
        card_brand: p.card_brand,
        card_last4: p.card_last4,
        url: app.config.public_url(&format!("/pay/receipt/{}", p.id)),
        certificate_url: if crate::services::licences::renewal_paid_by(app, &p.id).await? {
            Some(
                app.config
                    .public_url(&format!("/pay/receipt/{}/certificate.pdf", p.id)),
            )
        } else {
            None
        },
        locale: p.locale,
    })
}

/// "Visa ending 4242", "Visa terminada en 4242".
pub fn card_label(l: Locale, brand: &str, last4: &str) -> String {
    let brand = match brand_name(brand) {
        Some(name) => name.to_owned(),
        None => l.msg("card-brand-other"),
    };
    l.msg2("card-ending", "brand", brand, "last4", last4)
}

/// Card brands are names, the same in every language.
pub fn brand_name(brand: &str) -> Option<&'static str> {
    match brand {
        "visa" => Some("Visa"),
        "mastercard" => Some("Mastercard"),
        "amex" => Some("American Express"),
        "discover" => Some("Discover"),
        _ => None,
    }
}

pub async fn send_receipt(app: &App, payment_id: &str) -> Result<(), ReceiptError> {
    let p = store::payments::by_id(app.db.reader(), payment_id)
        .await?
        .ok_or_else(|| ReceiptError::NotFound(payment_id.to_owned()))?;
    let Some(sealed) = p.receipt_email_enc.as_deref() else {
        return Ok(());
    };
    let address = app
        .keys
        .fields
        .open(sealed, &email_context(&p.id))
        .map_err(|e| ReceiptError::Crypto(e.to_string()))?;
    let to = EmailAddress::parse(&address).map_err(|e| ReceiptError::Crypto(e.to_string()))?;
    let receipt = load_receipt(app, payment_id).await?;
    let l = receipt.locale;
    let rendered = Rendered {
        unsubscribe: None,
        subject: l.msg1("mail-subject", "number", receipt.receipt_number.as_str()),
        text: ReceiptText { r: &receipt, l }.render()?,
        html: ReceiptHtml { r: &receipt, l }.render()?,
        // A licence renewal's certificate goes with its receipt.
        attachments: match crate::services::licences::certificate_pdf(app, payment_id, l).await? {
            Some(pdf) => vec![crate::mail::Attachment {
                filename: "licence-certificate.pdf".into(),
                content_type: "application/pdf",
                bytes: pdf,
            }],
            None => Vec::new(),
        },
    };
    if let Err(e) = app.mailer.send(&to, rendered).await {
        app.metrics.emails_failed.inc();
        return Err(e.into());
    }
    app.metrics.emails_sent.inc();
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &Actor::System("mailer"),
            action: "receipt.emailed",
            target: Some(format!("payment:{payment_id}")),
            outcome: Outcome::Success,
            source_ip: None,
            details: json!({ "receipt_number": receipt.receipt_number }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

impl From<sqlx::Error> for ReceiptError {
    fn from(e: sqlx::Error) -> Self {
        ReceiptError::Store(StoreError::from(e))
    }
}
