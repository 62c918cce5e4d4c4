-- Flood limits. Per-reporter counters (complaints per phone / NIK, one-time codes per
-- contact) keep a keyed hash of the phone, NIK or email, never the value; rows older than the
-- longest window are swept by the inbox worker.
CREATE TABLE limit_events (
    subject text NOT NULL,
    action  text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX limit_events_by_subject ON limit_events (action, subject, at);
CREATE INDEX limit_events_by_age ON limit_events (at);

-- The inbox worker counts one sender's messages of the last hour before answering.
CREATE INDEX whatsapp_inbox_by_sender ON whatsapp_inbox (wa_id, seq);
