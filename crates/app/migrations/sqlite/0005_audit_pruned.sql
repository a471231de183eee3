-- cityteller schema 5 (SQLite): retention may remove audit events older
-- than the city keeps them, but only up to a signed checkpoint, and the
-- chain then resumes from that checkpoint's hash (kept here). Events at or
-- before that point may be deleted; nothing after it, and the record only
-- moves forward.

CREATE TABLE audit_pruned (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    at BIGINT NOT NULL
);

DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN OLD.seq > COALESCE((SELECT seq FROM audit_pruned WHERE id = 1), 0)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_pruned_forward BEFORE UPDATE ON audit_pruned
WHEN NEW.seq < OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'the record of pruned audit events only moves forward');
END;

CREATE TRIGGER audit_pruned_no_delete BEFORE DELETE ON audit_pruned
BEGIN
    SELECT RAISE(ABORT, 'the record of pruned audit events is kept');
END;
