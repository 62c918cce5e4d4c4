-- Complaints taken in, and the status read model kept from downstream events.
CREATE TABLE complaints (
    complaint_id        uuid PRIMARY KEY,
    tracking_code       text NOT NULL UNIQUE,
    channel             text NOT NULL,
    idempotency_key     text UNIQUE,
    request_fingerprint text,
    status              text NOT NULL DEFAULT 'received',
    status_rank         smallint NOT NULL DEFAULT 0,
    status_detail       text,
    agency_name         text,
    received_at         timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

CREATE TABLE complaint_timeline (
    event_id     uuid PRIMARY KEY,
    complaint_id uuid NOT NULL REFERENCES complaints (complaint_id),
    event_type   text NOT NULL,
    status       text NOT NULL,
    detail       text,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX complaint_timeline_by_complaint ON complaint_timeline (complaint_id, occurred_at);
