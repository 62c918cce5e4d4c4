-- Co-reporters: a reporter whose complaint joined another complaint's case (CaseReporterJoined)
-- hears every later update of that case, whose events are keyed by the ORIGINAL complaint id.
-- Their contact stays in `recipients`, under their own complaint. No personal data here.
CREATE TABLE co_reporters (
    complaint_id          uuid PRIMARY KEY,  -- the co-reporter's own complaint
    original_complaint_id uuid NOT NULL,     -- the complaint the case was opened for
    case_id               uuid NOT NULL,
    joined_at             timestamptz NOT NULL
);
CREATE INDEX co_reporters_by_original ON co_reporters (original_complaint_id);
