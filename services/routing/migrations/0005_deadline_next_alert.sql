-- The deadline scheduler visited every open case due within 21 days on every scan (a lock
-- and a read per case, every 30 s), though almost none had an alert due. Each open deadline
-- now keeps its next alert, and the scheduler asks an index for the deadlines whose next
-- alert's moment has come (a due-time bound per alert, computed with the calendar at scan
-- time). NULL: every alert of the deadline has fired.
ALTER TABLE case_deadlines
    ADD COLUMN next_alert text DEFAULT 'approaching'
        CHECK (next_alert IN ('approaching', 'overdue-1', 'overdue-2', 'expired'));

-- Alerts fire in order (approaching, then overdue-1 or expired, then overdue-2), so what has
-- fired tells what comes next.
UPDATE case_deadlines d SET next_alert = CASE
        WHEN a.fired && ARRAY['overdue-2', 'expired'] THEN NULL
        WHEN 'overdue-1' = ANY (a.fired) THEN 'overdue-2'
        WHEN d.kind = 'documents' THEN 'expired'
        ELSE 'overdue-1'
    END
    FROM (SELECT case_id, kind, round, array_agg(alert) AS fired
          FROM deadline_alerts GROUP BY 1, 2, 3) a
    WHERE a.case_id = d.case_id AND a.kind = d.kind AND a.round = d.round;

CREATE INDEX case_deadlines_next_alert ON case_deadlines (next_alert, due_at)
    WHERE met_at IS NULL AND next_alert IS NOT NULL;
