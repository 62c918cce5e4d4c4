-- The citizens' answers to the closing message (SatisfactionRated from intake: PUAS / TIDAK
-- PUAS, a 1-5 score), one row per answering complaint and closing: a co-reporter's complaint
-- answers for itself, and a case closed again after a second look may be answered again.
-- `agency_code` is the agency whose closing was rated (the statistics count it there, even
-- after a refusal moved the case to Setwapres' queue); `reopened` marks the answer that
-- re-opened the case. No personal data: the answer and the channel only.
CREATE TABLE case_satisfaction (
    complaint_id uuid NOT NULL,
    closed_at    timestamptz NOT NULL,
    event_id     uuid NOT NULL UNIQUE,
    case_id      uuid NOT NULL REFERENCES cases (case_id),
    agency_code  text NOT NULL,
    satisfied    boolean NOT NULL,
    score        smallint CHECK (score BETWEEN 1 AND 5),
    channel      text NOT NULL,
    rated_at     timestamptz NOT NULL,
    reopened     boolean NOT NULL DEFAULT false,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (complaint_id, closed_at)
);
CREATE INDEX case_satisfaction_by_agency ON case_satisfaction (agency_code);
CREATE INDEX case_satisfaction_by_case ON case_satisfaction (case_id);
CREATE INDEX cases_reopened ON cases (updated_at) WHERE status = 'reopened';
