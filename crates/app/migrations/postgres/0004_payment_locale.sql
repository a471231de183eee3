-- cityteller schema 4 (PostgreSQL): the language the resident paid in, so
-- that the receipt page and the receipt e-mail (also when a webhook
-- completes the payment later) are in that language. Earlier payments were made on
-- English-only pages.

ALTER TABLE payments ADD COLUMN locale TEXT NOT NULL DEFAULT 'en'
    CHECK (locale IN ('en', 'es'));
