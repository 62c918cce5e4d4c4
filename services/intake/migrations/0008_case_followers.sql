-- Co-reporters: a complaint that joined another complaint's case (CaseReporterJoined) follows
-- that case. The case's later events are keyed by the ORIGINAL complaint id, so each is applied
-- to every complaint listed here for it as well (its own timeline entry, the same status).
CREATE TABLE case_followers (
    complaint_id          uuid PRIMARY KEY,  -- the co-reporter's own complaint
    original_complaint_id uuid NOT NULL,     -- the complaint the case was opened for
    case_id               uuid NOT NULL,
    joined_at             timestamptz NOT NULL
);
CREATE INDEX case_followers_by_original ON case_followers (original_complaint_id);
