-- cityteller schema 10: a refund the processor made and then could not
-- complete (the card's account was closed, say) comes back. The refund
-- stays as it was on the day it was made, which is how the processor
-- reports that day; these columns record that it was reversed, when (the
-- business date its reversal entry is posted to) and why.
ALTER TABLE refunds ADD COLUMN reversed_at BIGINT;
ALTER TABLE refunds ADD COLUMN reversal_date TEXT;
ALTER TABLE refunds ADD COLUMN reversal_reason TEXT;
CREATE INDEX refunds_by_processor_ref ON refunds (processor_ref);
CREATE INDEX refunds_by_reversal_date ON refunds (reversal_date);
