-- cityteller schema 9: the resident's wallet and charges planned on it.
-- A saved card is the processor's token, its brand and last four digits
-- (the number stays with the processor). Autopay is set per linked
-- account; each bill it pays, and each payment a resident schedules, is a
-- planned charge, run once by a job on its date (a crash runs it again
-- with the same idempotency key, so the card is charged once).

ALTER TABLE residents ADD COLUMN processor_customer TEXT;
-- An optional second factor: the authenticator secret (sealed), one being
-- set up, and the last time step used (each code works once).
ALTER TABLE residents ADD COLUMN totp_secret_enc TEXT;
ALTER TABLE residents ADD COLUMN totp_pending_enc TEXT;
ALTER TABLE residents ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

CREATE TABLE wallet_methods (
    id INTEGER PRIMARY KEY,
    resident_id BIGINT NOT NULL REFERENCES residents (id),
    processor TEXT NOT NULL,
    method_ref TEXT NOT NULL,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL CHECK (length(last4) = 4),
    created_at BIGINT NOT NULL,
    removed_at BIGINT,
    UNIQUE (processor, method_ref)
);
CREATE INDEX wallet_methods_by_resident ON wallet_methods (resident_id);

-- A visit to the processor's page for saving a card: `token` is ours (in
-- the return link), `processor_ref` the processor's.
CREATE TABLE wallet_setups (
    token TEXT PRIMARY KEY,
    resident_id BIGINT NOT NULL REFERENCES residents (id),
    processor_ref TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'saved', 'closed')),
    created_at BIGINT NOT NULL
);

ALTER TABLE resident_links ADD COLUMN autopay_method_id BIGINT REFERENCES wallet_methods (id);
ALTER TABLE resident_links ADD COLUMN autopay_days BIGINT;
ALTER TABLE resident_links ADD COLUMN autopay_max_cents BIGINT;

CREATE TABLE planned_charges (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('autopay', 'scheduled')),
    resident_id BIGINT NOT NULL REFERENCES residents (id),
    receivable_id BIGINT NOT NULL REFERENCES receivables (id),
    -- The card for a scheduled payment; autopay uses the account's
    -- autopay card at the time of the charge.
    method_id BIGINT REFERENCES wallet_methods (id),
    -- A scheduled payment's amount; autopay pays what is owed then.
    amount_cents BIGINT CHECK (amount_cents IS NULL OR amount_cents > 0),
    charge_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'paid', 'declined', 'needs_action',
        'skipped', 'cancelled')),
    attempts BIGINT NOT NULL DEFAULT 0,
    payment_id TEXT REFERENCES payments (id),
    note TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Autopay plans a bill once; a plan cancelled (autopay turned off) lets
-- it be planned again when autopay comes back on.
CREATE UNIQUE INDEX planned_autopay_once ON planned_charges (resident_id, receivable_id)
    WHERE kind = 'autopay' AND status <> 'cancelled';
CREATE INDEX planned_by_resident ON planned_charges (resident_id);
