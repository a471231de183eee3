-- cityteller schema 11: indexes for looking things up by payment. The
-- staff payment page reads a payment's journal entries and processor
-- events, and `cityteller ledger check` counts each payment's capture
-- entries; without these each of those read the whole table, so the check
-- grew with the square of the number of payments (25 s for 40,000
-- payments in the benchmark's data).
CREATE INDEX journal_entries_by_payment ON journal_entries (payment_id);
CREATE INDEX processor_events_by_payment ON processor_events (payment_id);
