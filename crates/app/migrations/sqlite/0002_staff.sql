-- cityteller schema 2 (SQLite): staff console, refunds, notes, daily close.

CREATE TABLE staff_users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'clerk', 'supervisor', 'finance',
        'administrator', 'auditor')),
    status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    password_hash TEXT,
    totp_secret_enc TEXT,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE staff_enrolments (
    token_hash TEXT PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff_users (id),
    pending_totp_enc TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE staff_recovery_codes (
    staff_id BIGINT NOT NULL REFERENCES staff_users (id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (staff_id, code_hash)
);

CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    source_ip TEXT
);
CREATE INDEX staff_sessions_by_user ON staff_sessions (staff_id);

CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE payment_notes (
    id INTEGER PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    staff_id BIGINT NOT NULL REFERENCES staff_users (id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX payment_notes_by_payment ON payment_notes (payment_id);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending_approval', 'approved', 'succeeded',
        'failed', 'rejected')),
    requested_by BIGINT NOT NULL REFERENCES staff_users (id),
    decided_by BIGINT REFERENCES staff_users (id),
    processor_ref TEXT,
    failure TEXT,
    business_date TEXT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    completed_at BIGINT,
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
CREATE INDEX refunds_by_status ON refunds (status);

CREATE TABLE refund_lines (
    refund_id TEXT NOT NULL REFERENCES refunds (id),
    line_no BIGINT NOT NULL,
    receivable_id BIGINT NOT NULL REFERENCES receivables (id),
    department TEXT NOT NULL,
    principal_cents BIGINT NOT NULL CHECK (principal_cents >= 0),
    fee_cents BIGINT NOT NULL CHECK (fee_cents >= 0),
    PRIMARY KEY (refund_id, line_no)
);

CREATE TABLE closed_dates (
    business_date TEXT PRIMARY KEY,
    closed_by BIGINT NOT NULL REFERENCES staff_users (id),
    closed_at BIGINT NOT NULL,
    mismatches BIGINT NOT NULL,
    note TEXT NOT NULL,
    summary TEXT NOT NULL
);

ALTER TABLE payments ADD COLUMN captured_at BIGINT;
CREATE INDEX payments_by_business_date ON payments (business_date);
CREATE INDEX journal_entries_by_date ON journal_entries (business_date);
CREATE INDEX audit_events_by_target ON audit_events (target);
