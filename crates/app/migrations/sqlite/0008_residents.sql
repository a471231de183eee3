-- cityteller schema 8: resident accounts. A resident signs in with an
-- e-mail address (sealed; found by its keyed blind index) and a password
-- (Argon2id), links the service accounts they proved they hold, and may
-- ask for e-bills. Links sent by e-mail are single-purpose and expiring;
-- only a hash of each is kept. Notices record which e-mails about which
-- bill were queued, so none is sent twice.

CREATE TABLE residents (
    id INTEGER PRIMARY KEY,
    email_index TEXT NOT NULL UNIQUE,
    email_enc TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    locale TEXT NOT NULL CHECK (locale IN ('en', 'es')),
    confirmed_at BIGINT,
    -- Raised by a password reset: sessions from before it end.
    session_epoch BIGINT NOT NULL DEFAULT 0,
    -- Wrong proofs when linking, counted per hour.
    link_failures BIGINT NOT NULL DEFAULT 0,
    link_failures_since BIGINT NOT NULL DEFAULT 0,
    last_sign_in_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE resident_tokens (
    token_hash TEXT PRIMARY KEY,
    resident_id BIGINT NOT NULL REFERENCES residents (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX resident_tokens_by_resident ON resident_tokens (resident_id);

CREATE TABLE resident_links (
    id INTEGER PRIMARY KEY,
    resident_id BIGINT NOT NULL REFERENCES residents (id),
    service_account_id BIGINT NOT NULL REFERENCES service_accounts (id),
    -- When e-bills were asked for (NULL: paper only).
    paperless_since BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (resident_id, service_account_id)
);
CREATE INDEX resident_links_by_account ON resident_links (service_account_id);

CREATE TABLE resident_notices (
    resident_id BIGINT NOT NULL REFERENCES residents (id),
    receivable_id BIGINT NOT NULL REFERENCES receivables (id),
    kind TEXT NOT NULL CHECK (kind IN ('bill_ready', 'due_soon')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (resident_id, receivable_id, kind)
);
