//! Receipts over a real SMTP server: aiosmtpd (PyPI), started here, writing
//! what it receives to a Maildir.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_with};

db_tests!(receipt_is_delivered_over_smtp);

/// aiosmtpd, running until dropped.
pub struct Smtp {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
}

impl Smtp {
    /// Every message delivered so far, as received (headers and body).
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.maildir.join("new"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits until `n` messages have been delivered in all and returns
    /// them with quoted-printable soft line breaks undone.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        let mut messages = Vec::new();
        for _ in 0..150 {
            messages = self.messages();
            if messages.len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(messages.len(), n, "messages delivered: {messages:#?}");
        messages.iter().map(|m| unfold(m)).collect()
    }
}

/// Undoes quoted-printable soft line breaks and `=3D`, enough to read
/// links and sentences.
pub fn unfold(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_smtp(dir: &Path) -> Option<Smtp> {
    let py = crate::harness::python_peer("aiosmtpd")?;
    let port = crate::harness::free_port();
    let maildir = dir.join("maildir");
    let child = Command::new(py)
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let smtp = Smtp {
        child,
        port,
        maildir,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(smtp);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("aiosmtpd did not start");
}

async fn receipt_is_delivered_over_smtp(b: Backend) {
    let scratch =
        crate::harness::artifacts_root().join(format!("smtp-{}", app::crypto::random_token(6)));
    std::fs::create_dir_all(&scratch).unwrap();
    let Some(smtp) = start_smtp(&scratch).await else {
        return;
    };
    let t = spawn_with(
        b,
        Options {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
            ..Options::default()
        },
    )
    .await;
    let mut r = t.resident();
    let (id, _) = r
        .pay_bill(
            "1002-3345",
            "94110",
            "UT-1",
            "4242424242424242",
            "maria.lopez@example.com",
        )
        .await;
    let p = t.settled(&id).await;
    let number = p.receipt_number.unwrap();
    let new = smtp.maildir.join("new");
    let mut messages = Vec::new();
    for _ in 0..100 {
        messages = std::fs::read_dir(&new)
            .map(|d| d.filter_map(Result::ok).collect())
            .unwrap_or_default();
        if !messages.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(messages.len(), 1, "one message delivered");
    let raw = std::fs::read_to_string(messages[0].path()).unwrap();
    assert!(raw.contains("To: maria.lopez@example.com"), "{raw}");
    assert!(
        raw.contains("From: \"City of Springfield Payments\" <payments@springfield.example>"),
        "{raw}"
    );
    assert!(raw.contains(&format!("Subject: Your payment receipt {number}")));
    assert!(raw.contains("multipart/alternative"), "text and HTML parts");
    assert!(raw.contains("text/plain") && raw.contains("text/html"));
    assert!(raw.contains("Visa ending 4242"));
    assert!(!raw.contains("4242424242424242"));
    let sent = t
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'receipt.emailed'")
        .await;
    assert_eq!(sent, 1);
    t.stop().await;
    drop(smtp);
}
