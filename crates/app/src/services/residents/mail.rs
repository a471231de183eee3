//! The e-mails to residents with accounts, in the language of their
//! account: both a plain-text and an HTML part, the same words in each.
//! Bill e-mails say which bill, how much and when it is due, with a link
//! to pay; never a name, an address or a full account number.

use askama::Template;
use domain::Cents;
use domain::receivable::AccountNumber;

use super::{Mail, open_token};
use crate::app::App;
use crate::i18n::Locale;
use crate::mail::Rendered;
use crate::store;
use crate::store::residents::ResidentRow;

/// One e-mail's words.
pub struct Letter {
    pub lang: &'static str,
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// The button: its label and URL.
    pub action: Option<(String, String)>,
    pub after: Vec<String>,
    /// The footer's unsubscribe label and URL.
    pub unsubscribe: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "mail/letter.txt")]
struct LetterText<'a> {
    m: &'a Letter,
}

#[derive(Template)]
#[template(path = "mail/letter.html")]
struct LetterHtml<'a> {
    m: &'a Letter,
}

impl Letter {
    fn new(l: Locale, heading: String) -> Letter {
        Letter {
            lang: l.code(),
            heading,
            paragraphs: Vec::new(),
            action: None,
            after: Vec::new(),
            unsubscribe: None,
        }
    }

    pub fn rendered(&self, subject: String) -> Result<Rendered, String> {
        Ok(Rendered {
            subject,
            text: LetterText { m: self }.render().map_err(|e| e.to_string())?,
            html: LetterHtml { m: self }.render().map_err(|e| e.to_string())?,
            attachments: Vec::new(),
            unsubscribe: self.unsubscribe.as_ref().map(|(_, url)| url.clone()),
        })
    }
}

/// The message, or `None` when it should no longer be sent.
pub async fn render(
    app: &App,
    resident: &ResidentRow,
    mail: &Mail,
) -> Result<Option<Rendered>, String> {
    let l = Locale::parse(&resident.locale).unwrap_or_default();
    let city = app.config.city_name.as_str();
    let url = |path: &str| app.config.public_url(path);
    let ignore = l.msg("account-mail-ignore");
    let (subject, letter) = match mail {
        Mail::Confirm { token, .. } => {
            let token = open_token(app, resident.id, token)?;
            let mut m = Letter::new(l, l.msg1("account-mail-confirm-heading", "city", city));
            m.paragraphs.push(l.msg1(
                "account-mail-confirm-body",
                "hours",
                app.config.accounts.confirm_link_hours,
            ));
            m.action = Some((
                l.msg("account-mail-confirm-action"),
                url(&format!("/account/confirm/{token}")),
            ));
            m.after.push(ignore);
            (l.msg1("account-mail-confirm-subject", "city", city), m)
        }
        Mail::Exists { .. } => {
            let mut m = Letter::new(l, l.msg1("account-mail-exists-heading", "city", city));
            m.paragraphs.push(l.msg("account-mail-exists-body"));
            m.action = Some((l.msg("account-mail-exists-action"), url("/account/signin")));
            m.after
                .push(l.msg1("account-mail-exists-reset", "url", url("/account/reset")));
            m.after.push(ignore);
            (l.msg1("account-mail-exists-subject", "city", city), m)
        }
        Mail::Reset { token, .. } => {
            let token = open_token(app, resident.id, token)?;
            let mut m = Letter::new(l, l.msg("account-mail-reset-heading"));
            m.paragraphs.push(l.msg1(
                "account-mail-reset-body",
                "minutes",
                app.config.accounts.reset_link_minutes,
            ));
            m.action = Some((
                l.msg("account-mail-reset-action"),
                url(&format!("/account/reset/{token}")),
            ));
            m.after.push(l.msg("account-mail-reset-ignore"));
            (l.msg1("account-mail-reset-subject", "city", city), m)
        }
        Mail::BillReady { receivable_id, .. } | Mail::DueSoon { receivable_id, .. } => {
            let due_soon = matches!(mail, Mail::DueSoon { .. });
            let Some(bill) = bill_notice(app, resident.id, *receivable_id).await? else {
                return Ok(None);
            };
            if due_soon && !bill.balance.is_positive() {
                return Ok(None);
            }
            let dept = app
                .config
                .department(&bill.department)
                .map(|d| d.text(l).name)
                .unwrap_or_else(|| bill.department.clone());
            let due = l.date(&bill.due_date);
            let (heading, subject) = if due_soon {
                (
                    l.msg1("account-mail-due-heading", "date", due.as_str()),
                    l.msg2(
                        "account-mail-due-subject",
                        "department",
                        dept.as_str(),
                        "date",
                        due.as_str(),
                    ),
                )
            } else {
                (
                    l.msg1("account-mail-bill-heading", "department", dept.as_str()),
                    l.msg1("account-mail-bill-subject", "department", dept.as_str()),
                )
            };
            let mut m = Letter::new(l, heading);
            m.paragraphs.push(l.msg2(
                "account-mail-bill-account",
                "department",
                dept.as_str(),
                "account",
                bill.masked_account.as_str(),
            ));
            m.paragraphs.push(l.msg2(
                "account-mail-bill-amount",
                "amount",
                l.money(if due_soon {
                    bill.balance
                } else {
                    bill.amount_due
                }),
                "date",
                due.as_str(),
            ));
            m.action = Some((l.msg("account-mail-bill-action"), url("/account")));
            m.after.push(l.msg("account-mail-bill-autopay-note"));
            m.unsubscribe = Some((
                l.msg("account-mail-unsubscribe"),
                url(&format!(
                    "/account/unsubscribe/{}",
                    super::unsubscribe_token(app, bill.link_id)
                )),
            ));
            (subject, m)
        }
        Mail::SecondFactorOff { .. } => {
            let mut m = Letter::new(l, l.msg("account-mail-2fa-off-heading"));
            m.paragraphs.push(l.msg("account-mail-2fa-off-body"));
            m.action = Some((l.msg("account-mail-exists-action"), url("/account/signin")));
            m.after
                .push(l.msg1("account-mail-2fa-off-not-you", "url", url("/account/reset")));
            (l.msg1("account-mail-2fa-off-subject", "city", city), m)
        }
        Mail::AutopayPlanned { planned_id, .. }
        | Mail::ChargeDeclined { planned_id, .. }
        | Mail::ChargeNotMade { planned_id, .. } => {
            let Some(c) = planned_notice(app, resident.id, *planned_id, l).await? else {
                return Ok(None);
            };
            let due = l.date(&c.due_date);
            let on = l.date(&c.charge_on);
            let mut m;
            let subject;
            match mail {
                Mail::AutopayPlanned { .. } => {
                    subject = l.msg1(
                        "account-mail-autopay-subject",
                        "department",
                        c.department.as_str(),
                    );
                    m = Letter::new(l, subject.clone());
                    m.paragraphs.push(l.msg_args(
                        "account-mail-autopay-body",
                        &[
                            ("amount", l.money(c.amount).into()),
                            ("card", c.card.clone().into()),
                            ("date", on.clone().into()),
                            ("due", due.clone().into()),
                        ],
                    ));
                    m.paragraphs.push(l.msg("account-mail-autopay-change"));
                }
                Mail::ChargeDeclined { retry_on, .. } => {
                    subject = l.msg1(
                        "account-mail-declined-subject",
                        "department",
                        c.department.as_str(),
                    );
                    m = Letter::new(l, subject.clone());
                    m.paragraphs.push(l.msg2(
                        "account-mail-declined-body",
                        "card",
                        c.card.as_str(),
                        "due",
                        due.as_str(),
                    ));
                    m.paragraphs.push(match retry_on {
                        Some(d) => l.msg1("account-mail-declined-retry", "date", l.date(d)),
                        None => l.msg("account-mail-declined-final"),
                    });
                }
                _ => {
                    let reason = match mail {
                        Mail::ChargeNotMade { reason, .. } => reason.as_str(),
                        _ => "",
                    };
                    subject = l.msg1(
                        "account-mail-not-made-subject",
                        "department",
                        c.department.as_str(),
                    );
                    m = Letter::new(l, subject.clone());
                    m.paragraphs.push(l.msg(match reason {
                        "over_max" => "account-mail-not-made-over-max",
                        "needs_holder" => "account-mail-not-made-needs-holder",
                        _ => "account-mail-not-made-card-removed",
                    }));
                    m.paragraphs.push(l.msg2(
                        "account-mail-bill-amount",
                        "amount",
                        l.money(c.amount),
                        "date",
                        due.as_str(),
                    ));
                }
            }
            m.action = Some((l.msg("account-mail-bill-action"), url("/account")));
            m.after.push(l.msg("account-mail-bill-autopay-note"));
            (subject, m)
        }
    };
    letter.rendered(subject).map(Some)
}

/// What an e-mail about a planned charge says.
struct PlannedNotice {
    department: String,
    due_date: String,
    charge_on: String,
    amount: Cents,
    /// "Visa ending 4242".
    card: String,
}

async fn planned_notice(
    app: &App,
    resident_id: i64,
    planned_id: i64,
    l: Locale,
) -> Result<Option<PlannedNotice>, String> {
    let err = |e: store::StoreError| e.to_string();
    let Some(p) = store::wallet::planned(app.db.reader(), planned_id)
        .await
        .map_err(err)?
        .filter(|p| p.resident_id == resident_id)
    else {
        return Ok(None);
    };
    let Some(view) = store::receivables::view(app.db.reader(), p.receivable_id, app.now_us())
        .await
        .map_err(err)?
    else {
        return Ok(None);
    };
    let method_id = match p.method_id {
        Some(m) => Some(m),
        None => store::wallet::autopay_for(app.db.reader(), resident_id, view.service_account_id)
            .await
            .map_err(err)?
            .map(|a| a.method_id),
    };
    let card = match method_id {
        Some(m) => store::wallet::method(app.db.reader(), resident_id, m)
            .await
            .map_err(err)?,
        None => None,
    };
    let card = match card {
        Some(c) => crate::services::receipts::card_label(l, &c.brand, &c.last4),
        None => l.msg("card-unknown"),
    };
    Ok(Some(PlannedNotice {
        department: app
            .config
            .department(&view.department)
            .map(|d| d.text(l).name)
            .unwrap_or_else(|| view.department.clone()),
        due_date: view.due_date.clone(),
        charge_on: p.charge_on,
        amount: p
            .amount_cents
            .map(Cents::new)
            .unwrap_or_else(|| view.balance()),
        card,
    }))
}

/// What a bill e-mail says, while the resident still has e-bills on the
/// bill's account.
struct BillNotice {
    link_id: i64,
    department: String,
    masked_account: String,
    amount_due: Cents,
    balance: Cents,
    due_date: String,
}

async fn bill_notice(
    app: &App,
    resident_id: i64,
    receivable_id: i64,
) -> Result<Option<BillNotice>, String> {
    let Some(view) = store::receivables::view(app.db.reader(), receivable_id, app.now_us())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let links = store::residents::links(app.db.reader(), resident_id)
        .await
        .map_err(|e| e.to_string())?;
    let Some(link) = links
        .into_iter()
        .find(|k| k.service_account_id == view.service_account_id && k.paperless)
    else {
        return Ok(None);
    };
    Ok(Some(BillNotice {
        link_id: link.id,
        department: view.department.clone(),
        masked_account: AccountNumber::parse(&link.account_number)
            .map(|a| a.masked())
            .unwrap_or_default(),
        amount_due: view.amount_due,
        balance: view.balance(),
        due_date: view.due_date.clone(),
    }))
}
