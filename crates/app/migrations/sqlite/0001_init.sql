-- cityteller schema 1 (SQLite). Money is BIGINT cents; timestamps are BIGINT
-- microseconds since the Unix epoch (UTC); dates are TEXT YYYY-MM-DD.
-- Columns ending in _enc hold sealed personal data (see crypto/fields.rs);
-- columns ending in _mac hold keyed digests, never the value.

CREATE TABLE service_accounts (
    id INTEGER PRIMARY KEY,
    department TEXT NOT NULL,
    account_number TEXT NOT NULL,
    verifier_mac TEXT NOT NULL,
    holder_name_enc TEXT NOT NULL,
    service_address_enc TEXT NOT NULL,
    content_mac TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (department, account_number)
);

CREATE TABLE import_runs (
    id INTEGER PRIMARY KEY,
    department TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    rows_total BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    actor TEXT NOT NULL,
    finished_at BIGINT NOT NULL
);

CREATE TABLE receivables (
    id INTEGER PRIMARY KEY,
    department TEXT NOT NULL,
    service_account_id BIGINT NOT NULL REFERENCES service_accounts (id),
    reference TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    amount_due_cents BIGINT NOT NULL CHECK (amount_due_cents >= 0),
    due_date TEXT NOT NULL,
    content_mac TEXT NOT NULL,
    import_run_id BIGINT REFERENCES import_runs (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (department, reference)
);
CREATE INDEX receivables_by_account ON receivables (service_account_id);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('created', 'pending', 'succeeded', 'failed',
        'expired', 'partially_refunded', 'refunded', 'disputed')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    fee_cents BIGINT NOT NULL CHECK (fee_cents >= 0),
    total_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    processor TEXT NOT NULL,
    processor_ref TEXT,
    checkout_url TEXT,
    receipt_email_enc TEXT,
    card_brand TEXT,
    card_last4 TEXT CHECK (card_last4 IS NULL OR length(card_last4) = 4),
    failure_code TEXT,
    receipt_number TEXT UNIQUE,
    business_date TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    completed_at BIGINT,
    CHECK (total_cents = amount_cents + fee_cents),
    UNIQUE (processor, processor_ref)
);
CREATE INDEX payments_open ON payments (status, expires_at);

CREATE TABLE payment_items (
    payment_id TEXT NOT NULL REFERENCES payments (id),
    line_no BIGINT NOT NULL,
    receivable_id BIGINT NOT NULL REFERENCES receivables (id),
    department TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    fee_cents BIGINT NOT NULL CHECK (fee_cents >= 0),
    PRIMARY KEY (payment_id, line_no)
);
CREATE INDEX payment_items_by_receivable ON payment_items (receivable_id);

CREATE TABLE processor_events (
    processor TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payment_id TEXT,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (processor, event_id)
);

CREATE TABLE journal_entries (
    id INTEGER PRIMARY KEY,
    source_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payment_id TEXT REFERENCES payments (id),
    business_date TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE journal_lines (
    id INTEGER PRIMARY KEY,
    entry_id BIGINT NOT NULL REFERENCES journal_entries (id),
    account_code TEXT NOT NULL,
    department TEXT NOT NULL,
    receivable_id BIGINT REFERENCES receivables (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents <> 0)
);
CREATE INDEX journal_lines_by_entry ON journal_lines (entry_id);
CREATE INDEX journal_lines_by_receivable ON journal_lines (receivable_id);

CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    source_ip TEXT,
    details TEXT NOT NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_ready ON jobs (status, run_at);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
