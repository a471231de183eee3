-- cityteller schema 7: business licences (an account of a licensing
-- department, with its category and expiry) and their online renewals:
-- what the holder declared (and any change to the contact details), the
-- fee worked out, the bill it became, and,
-- once paid, the new expiry and the certificate's verification code.

CREATE TABLE licences (
    id INTEGER PRIMARY KEY,
    service_account_id BIGINT NOT NULL UNIQUE REFERENCES service_accounts (id),
    category TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE licence_renewals (
    id INTEGER PRIMARY KEY,
    licence_id BIGINT NOT NULL REFERENCES licences (id),
    receivable_id BIGINT NOT NULL UNIQUE REFERENCES receivables (id),
    declared_gross_cents BIGINT,
    declared_employees BIGINT,
    fee_lines TEXT NOT NULL,
    from_expires_on TEXT NOT NULL,
    new_expires_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'replaced')),
    certificate_code TEXT,
    audit_flag BIGINT NOT NULL DEFAULT 0 CHECK (audit_flag IN (0, 1)),
    -- The holder confirmed the contact details on file (1), or said what
    -- changed (sealed text for the licensing office).
    contact_confirmed BIGINT NOT NULL DEFAULT 0 CHECK (contact_confirmed IN (0, 1)),
    contact_changes_enc TEXT,
    created_at BIGINT NOT NULL,
    paid_at BIGINT
);
CREATE INDEX licence_renewals_licence ON licence_renewals (licence_id);
