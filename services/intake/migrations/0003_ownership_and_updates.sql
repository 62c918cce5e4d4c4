-- One-time codes that prove a citizen owns a report (only a keyed digest is stored).
CREATE TABLE ownership_codes (
    code_id      uuid PRIMARY KEY,
    complaint_id uuid NOT NULL REFERENCES complaints (complaint_id),
    digest       text NOT NULL,
    expires_at   timestamptz NOT NULL,
    failed_tries smallint NOT NULL DEFAULT 0,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ownership_codes_by_complaint ON ownership_codes (complaint_id, created_at);

-- Additions the citizen made to a report (ComplaintUpdated), deduplicated by idempotency key.
CREATE TABLE complaint_updates (
    event_id        uuid PRIMARY KEY,
    complaint_id    uuid NOT NULL REFERENCES complaints (complaint_id),
    idempotency_key text UNIQUE,
    request_fingerprint text,
    additional_text text NOT NULL,
    added_at        timestamptz NOT NULL
);
