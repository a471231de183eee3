//! Logs and metrics. Logs are structured (JSON by default) and carry ids,
//! amounts and outcomes; request bodies, query strings, cookies and
//! personal data are never logged. Metrics are a fixed set of counters in
//! Prometheus text format, served on the staff listener.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::LogFormat;

/// Installs the global log subscriber. `CITYTELLER_LOG` sets the filter
/// (default `info`). Safe to call more than once (later calls are ignored).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CITYTELLER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Request latency buckets, in milliseconds.
const BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000];

#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: std::time::Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        for (i, limit) in BUCKETS_MS.iter().enumerate() {
            if us <= limit * 1000 {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }
}

#[derive(Default)]
pub struct Metrics {
    pub http_2xx: Counter,
    pub http_3xx: Counter,
    pub http_4xx: Counter,
    pub http_5xx: Counter,
    pub http_latency: Histogram,
    pub payments_created: Counter,
    pub payments_succeeded: Counter,
    pub payments_failed: Counter,
    pub payments_expired: Counter,
    pub webhooks_accepted: Counter,
    pub webhooks_duplicate: Counter,
    pub webhooks_ignored: Counter,
    pub webhooks_rejected: Counter,
    pub ledger_entries: Counter,
    pub lookups_failed: Counter,
    pub rate_limited: Counter,
    pub emails_sent: Counter,
    pub emails_failed: Counter,
    pub jobs_done: Counter,
    pub jobs_retried: Counter,
    pub jobs_dead: Counter,
}

impl Metrics {
    pub fn record_status(&self, status: u16) {
        match status {
            200..=299 => self.http_2xx.inc(),
            300..=399 => self.http_3xx.inc(),
            400..=499 => self.http_4xx.inc(),
            _ => self.http_5xx.inc(),
        }
    }

    /// Prometheus text exposition format, with `extra` gauges appended.
    pub fn render(&self, extra: &[(&str, &str, i64)]) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, series: &[(&str, &Counter)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, c) in series {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {}", c.get());
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {}", c.get());
                }
            }
        };
        counter(
            "cityteller_http_responses_total",
            "HTTP responses by status class.",
            &[
                ("class=\"2xx\"", &self.http_2xx),
                ("class=\"3xx\"", &self.http_3xx),
                ("class=\"4xx\"", &self.http_4xx),
                ("class=\"5xx\"", &self.http_5xx),
            ],
        );
        counter(
            "cityteller_payments_total",
            "Payment state changes.",
            &[
                ("event=\"created\"", &self.payments_created),
                ("event=\"succeeded\"", &self.payments_succeeded),
                ("event=\"failed\"", &self.payments_failed),
                ("event=\"expired\"", &self.payments_expired),
            ],
        );
        counter(
            "cityteller_webhooks_total",
            "Processor webhooks by result.",
            &[
                ("result=\"accepted\"", &self.webhooks_accepted),
                ("result=\"duplicate\"", &self.webhooks_duplicate),
                ("result=\"ignored\"", &self.webhooks_ignored),
                ("result=\"rejected\"", &self.webhooks_rejected),
            ],
        );
        counter(
            "cityteller_ledger_entries_total",
            "Journal entries posted.",
            &[("", &self.ledger_entries)],
        );
        counter(
            "cityteller_lookups_failed_total",
            "Bill look-ups that matched nothing.",
            &[("", &self.lookups_failed)],
        );
        counter(
            "cityteller_rate_limited_total",
            "Requests refused by a rate limit.",
            &[("", &self.rate_limited)],
        );
        counter(
            "cityteller_emails_total",
            "E-mail delivery attempts.",
            &[
                ("result=\"sent\"", &self.emails_sent),
                ("result=\"failed\"", &self.emails_failed),
            ],
        );
        counter(
            "cityteller_jobs_total",
            "Background jobs by result.",
            &[
                ("result=\"done\"", &self.jobs_done),
                ("result=\"retried\"", &self.jobs_retried),
                ("result=\"dead\"", &self.jobs_dead),
            ],
        );
        let h = &self.http_latency;
        let _ = writeln!(
            out,
            "# HELP cityteller_http_request_duration_seconds Time to answer HTTP requests.\n# TYPE cityteller_http_request_duration_seconds histogram"
        );
        for (i, limit) in BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(
                out,
                "cityteller_http_request_duration_seconds_bucket{{le=\"{}\"}} {}",
                *limit as f64 / 1000.0,
                h.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = h.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "cityteller_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "cityteller_http_request_duration_seconds_sum {}",
            h.sum_us.load(Ordering::Relaxed) as f64 / 1_000_000.0
        );
        let _ = writeln!(
            out,
            "cityteller_http_request_duration_seconds_count {count}"
        );
        for (name, labels, value) in extra {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.payments_succeeded.inc();
        m.record_status(404);
        m.http_latency.observe(std::time::Duration::from_millis(3));
        let text = m.render(&[("cityteller_jobs", "status=\"queued\"", 2)]);
        assert!(text.contains("cityteller_payments_total{event=\"succeeded\"} 1"));
        assert!(text.contains("cityteller_http_responses_total{class=\"4xx\"} 1"));
        assert!(text.contains("cityteller_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("cityteller_http_request_duration_seconds_bucket{le=\"0.002\"} 0"));
        assert!(text.contains("cityteller_jobs{status=\"queued\"} 2"));
    }
}
