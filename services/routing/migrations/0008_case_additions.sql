-- The citizen's additions to a report (ComplaintUpdated from intake: TAMBAH#, the web "add
-- information" page, the owner API), one row per event. Keyed by the complaint, not the case:
-- an addition that arrives while the complaint is still in triage or review is kept here and
-- is in the case file the moment the case opens (the file reads additions by the case's
-- complaint and its joined reporters), with no attach step that a race could miss.
-- `additional_text` is the citizen's own words, stored like the case's summary: shown to the
-- case's agency only, never logged. `attachments` is metadata only (id, media type, filename,
-- size); document bytes never travel on Kafka and stay with intake.
CREATE TABLE case_additions (
    event_id        uuid PRIMARY KEY,
    complaint_id    uuid NOT NULL,
    tracking_code   text NOT NULL,
    additional_text text NOT NULL DEFAULT '',
    attachments     jsonb NOT NULL DEFAULT '[]',
    received_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_additions_by_complaint ON case_additions (complaint_id, received_at);
