-- The citizen's answer to the closing message (PUAS / TIDAK PUAS, a 1-5 score).
-- `contact_subject`: a keyed hash of the phone on file (`limits.subject`, the key of the
-- per-reporter limits), never the number: a WhatsApp answer finds the sender's most recently
-- closed complaint by it. Complaints filed before this migration have none (the web page
-- and the API still take their answers).
ALTER TABLE complaints ADD COLUMN contact_subject text;
CREATE INDEX complaints_by_contact_subject ON complaints (contact_subject, status)
    WHERE contact_subject IS NOT NULL;

-- One answer per complaint and closing: the first counts (a second one is told "already
-- recorded"); a case closed again after a second look may be answered again.
CREATE TABLE satisfaction_answers (
    complaint_id uuid NOT NULL REFERENCES complaints (complaint_id),
    closed_at    timestamptz NOT NULL,
    event_id     uuid NOT NULL UNIQUE,
    satisfied    boolean NOT NULL,
    score        smallint CHECK (score BETWEEN 1 AND 5),
    channel      text NOT NULL,
    rated_at     timestamptz NOT NULL,
    PRIMARY KEY (complaint_id, closed_at)
);
