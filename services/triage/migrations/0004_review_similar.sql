-- `resembling`: the earlier complaints a queued one resembles (issue 15: the reviewer reads them side by
-- side): [{complaint_id, tracking_code, similarity, signature}], the signature (content
-- stems) sealed with that complaint's reporter's key, as in the `area-candidates` table.
ALTER TABLE review_items ADD COLUMN IF NOT EXISTS resembling jsonb NOT NULL DEFAULT '[]';
-- The audit log is read newest first, filtered by reviewer, action and time.
CREATE INDEX IF NOT EXISTS review_log_at ON review_log (at DESC);
-- The category a reviewer accepted a complaint under (NULL: triage's guess was kept).
ALTER TABLE review_log ADD COLUMN IF NOT EXISTS category text;
