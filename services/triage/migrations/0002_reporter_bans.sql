-- Bans from the review queue: the item keeps its reporter's state key (a keyed hash, not the
-- identity), so a reviewer can ban "the reporter of this report" without seeing who it is.
ALTER TABLE review_items ADD COLUMN IF NOT EXISTS reporter_key text;
ALTER TABLE review_log DROP CONSTRAINT IF EXISTS review_log_action_check;
ALTER TABLE review_log ADD CONSTRAINT review_log_action_check
    CHECK (action IN ('claim', 'accept', 'reject', 'duplicate', 'ban', 'unban'));
