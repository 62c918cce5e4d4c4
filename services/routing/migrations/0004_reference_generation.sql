-- Routing reads its reference data (rules, agencies, calendar overrides) for every complaint.
-- It caches them in memory and asks this one row whether any of them changed: every write to
-- the three tables bumps `generation` (statement-level triggers, so bulk loads bump once).
-- `token` tells two databases apart (tests run many in one process).
CREATE TABLE reference_generation (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    token       uuid NOT NULL DEFAULT gen_random_uuid(),
    generation  bigint NOT NULL DEFAULT 0
);
INSERT INTO reference_generation DEFAULT VALUES;

-- Pinned search_path: the trigger also fires for sessions outside routing's schema (psql).
CREATE FUNCTION bump_reference_generation() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE reference_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER agencies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agencies
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_generation();
CREATE TRIGGER routing_rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON routing_rules
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_generation();
CREATE TRIGGER calendar_overrides_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_overrides
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_generation();
