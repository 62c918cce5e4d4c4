-- Pruning triage's one-pass state (entrypoints/pruning.py): when each decision was taken, and
-- the indexes the periodic cleanup's bounded deletes scan by age. Existing decisions count as
-- taken now (kept one retention period from this migration on).
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS decided_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS decisions_decided_at ON decisions (decided_at);
CREATE INDEX IF NOT EXISTS reporter_repeats_received_day ON reporter_repeats (received_day);
CREATE INDEX IF NOT EXISTS reporter_days_day ON reporter_days (day);
CREATE INDEX IF NOT EXISTS area_candidates_received_day ON area_candidates (received_day);
