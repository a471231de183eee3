//! Receipt e-mails, sent by a job after the payment's transaction commits.

use askama::Template;
use domain::Cents;
use domain::personal::EmailAddress;
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
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
    pub department: String,
    pub reference: String,
    pub amount: Cents,
}

/// What a receipt says, for the page and the e-mail.
pub struct Receipt {
    pub city: String,
    pub receipt_number: String,
    pub paid_on: String,
    pub lines: Vec<ReceiptLine>,
    pub amount: Cents,
    pub fee: Cents,
    pub total: Cents,
    pub card: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "mail/receipt.txt")]
struct ReceiptText<'a> {
    r: &'a Receipt,
}

#[derive(Template)]
#[template(path = "mail/receipt.html")]
struct ReceiptHtml<'a> {
    r: &'a Receipt,
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
        let department = app
            .config
            .department(&item.department)
            .map(|d| d.name.clone())
            .unwrap_or(item.department.clone());
        lines.push(ReceiptLine {
            department,
            reference: view.map(|v| v.reference).unwrap_or_default(),
            amount: item.amount,
        });
    }
    let card = match (p.card_brand.as_deref(), p.card_last4.as_deref()) {
        (Some(b), Some(l)) => format!("{} ending {l}", brand_name(b)),
        _ => "card".into(),
    };
    Ok(Receipt {
        city: app.config.city_name.clone(),
        receipt_number: p.receipt_number.unwrap_or_default(),
        paid_on: p.business_date.unwrap_or_default(),
        lines,
        amount: p.amount,
        fee: p.fee,
        total: p.total,
        card,
        url: app.config.public_url(&format!("/pay/receipt/{}", p.id)),
    })
}

pub fn brand_name(brand: &str) -> &'static str {
    match brand {
        "visa" => "Visa",
        "mastercard" => "Mastercard",
        "amex" => "American Express",
        "discover" => "Discover",
        _ => "Card",
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
    let rendered = Rendered {
        subject: format!("Your payment receipt {}", receipt.receipt_number),
        text: ReceiptText { r: &receipt }.render()?,
        html: ReceiptHtml { r: &receipt }.render()?,
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
