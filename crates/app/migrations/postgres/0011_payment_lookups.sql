-- cityteller schema 11: indexes for finding payments and what belongs to
-- them. The staff payment page reads a payment's journal entries and
-- processor events, and `cityteller ledger check` counts each payment's
-- capture entries; without the first two indexes each of those read the
-- whole table, so the check grew with the square of the number of
-- payments (25 s for 40,000 payments in the benchmark's data). The staff
-- payment list and its CSV export go by creation time, which meant sorting
-- every payment ever taken for each page.
CREATE INDEX journal_entries_by_payment ON journal_entries (payment_id);
CREATE INDEX processor_events_by_payment ON processor_events (payment_id);
CREATE INDEX payments_by_created ON payments (created_at, id);
