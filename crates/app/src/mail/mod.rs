//! Outgoing e-mail: SMTP (STARTTLS when the server offers it, or implicit
//! TLS with `smtps://`), or in development an outbox folder with one `.eml`
//! file per message.

use std::str::FromStr;

use domain::personal::EmailAddress;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{MailConfig, MailTransport};

enum Transport {
    Outbox(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot build message: {0}")]
    Build(String),
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// A rendered message: both parts are always sent, and any attachments.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
    /// A one-click unsubscribe URL (RFC 8058): sent as `List-Unsubscribe`
    /// with `List-Unsubscribe-Post`, so mail programs offer the button.
    pub unsubscribe: Option<String>,
}

/// A file sent with a message.
pub struct Attachment {
    pub filename: String,
    /// A MIME type such as `application/pdf`.
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Mailer {
    pub fn from_config(cfg: &MailConfig, password: Option<SecretString>) -> Result<Mailer, String> {
        let from = Mailbox::from_str(&cfg.from).map_err(|e| format!("mail.from: {e}"))?;
        let transport = match &cfg.transport {
            MailTransport::Outbox(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create outbox {}: {e}", dir.display()))?;
                Transport::Outbox(AsyncFileTransport::new(dir))
            }
            MailTransport::Smtp(url) => {
                let host = url
                    .host_str()
                    .ok_or("mail.smtp_url has no host")?
                    .to_owned();
                let builder = if url.scheme() == "smtps" {
                    AsyncSmtpTransport::<Tokio1Executor>::relay(&host)
                        .map_err(|e| e.to_string())?
                        .port(url.port().unwrap_or(465))
                } else {
                    let tls = TlsParameters::new(host.clone()).map_err(|e| e.to_string())?;
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                        .port(url.port().unwrap_or(587))
                        .tls(Tls::Opportunistic(tls))
                };
                let builder = match (url.username(), password) {
                    ("", _) => builder,
                    (user, Some(pass)) => builder.credentials(Credentials::new(
                        user.to_owned(),
                        pass.expose_secret().to_owned(),
                    )),
                    (_, None) => {
                        return Err(
                            "mail.smtp_url names a user but the key file has no mail.smtp_password"
                                .into(),
                        );
                    }
                };
                Transport::Smtp(
                    builder
                        .timeout(Some(std::time::Duration::from_secs(20)))
                        .build(),
                )
            }
        };
        Ok(Mailer { from, transport })
    }

    pub async fn send(&self, to: &EmailAddress, msg: Rendered) -> Result<(), MailError> {
        let to = Mailbox::from_str(to.expose()).map_err(|e| MailError::Build(e.to_string()))?;
        let body = MultiPart::alternative_plain_html(msg.text, msg.html);
        let body = if msg.attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in msg.attachments {
                let kind = ContentType::parse(a.content_type)
                    .map_err(|e| MailError::Build(e.to_string()))?;
                mixed = mixed.singlepart(LettreAttachment::new(a.filename).body(a.bytes, kind));
            }
            mixed
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject);
        if let Some(url) = msg.unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let message = builder
            .multipart(body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.transport {
            Transport::Outbox(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Delivery(e.to_string())),
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Delivery(e.to_string())),
        }
    }
}
