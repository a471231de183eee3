-- cityteller schema 6: what a bill is for (a permit's "Plan check fee"),
-- and whether it may be paid on its own or only with the account's other
-- open bills (a department's fee lines that go together).

ALTER TABLE receivables ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE receivables ADD COLUMN pay_separately BIGINT NOT NULL DEFAULT 1
    CHECK (pay_separately IN (0, 1));
