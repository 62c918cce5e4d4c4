-- The complaint's content as the agency needs it (issue 14, "what the agency sees"): intake's
-- ComplaintReceived, kept as it arrives on lapor.complaints.intake.v1. Keyed by the
-- complaint, not the case (like case_additions): the content may come before or after triage
-- accepts the complaint; the case file reads it by the case's complaint and its joined
-- reporters' complaints.
-- `payload` is the event's payload exactly as intake published it: every personal field is
-- still sealed with the reporter's data key (`pd1:...`), so erasing the reporter (`lapor
-- reporter erase`, which destroys the key) leaves this copy unreadable with no work here. An
-- anonymous report keeps no identity at all: the reporter's name, NIK, phone and email are
-- dropped before the row is written.
CREATE TABLE case_files (
    complaint_id  uuid PRIMARY KEY,
    event_id      uuid NOT NULL,
    tracking_code text NOT NULL,
    anonymous     boolean NOT NULL,
    secret        boolean NOT NULL,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

-- Every time a case file showed personal data in the clear (the reporter's contact, the
-- incident's address, any other field the schema marks personal), who saw which fields, for
-- the data protection officer. `fields` names fields, never their values: e.g.
-- 'LPR-XXXX-…:reporter.phone'.
CREATE TABLE case_file_openings (
    id          bigserial PRIMARY KEY,
    case_id     uuid NOT NULL,
    officer_id  text NOT NULL,
    agency_code text NOT NULL,
    opened_at   timestamptz NOT NULL,
    fields      text[] NOT NULL
);
CREATE INDEX case_file_openings_by_case ON case_file_openings (case_id, opened_at);
