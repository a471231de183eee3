-- cityteller schema 5 (PostgreSQL): retention may remove audit events older
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

CREATE OR REPLACE FUNCTION cityteller_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.hash IS NULL THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.seq <= COALESCE((SELECT seq FROM audit_pruned WHERE id = 1), 0) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit events are append-only';
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION cityteller_audit_pruned_forward() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.seq >= OLD.seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the record of pruned audit events only moves forward';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_pruned_forward BEFORE UPDATE OR DELETE ON audit_pruned
    FOR EACH ROW EXECUTE FUNCTION cityteller_audit_pruned_forward();

CREATE TRIGGER audit_pruned_no_truncate BEFORE TRUNCATE ON audit_pruned
    FOR EACH STATEMENT EXECUTE FUNCTION cityteller_audit_pruned_forward();
