-- The complaint record intake keeps (the citizen's own view after ownership proof), the
-- attachments, and the WhatsApp inbox and conversations.
ALTER TABLE complaints
    ADD COLUMN details      jsonb,           -- the ComplaintReceived payload (personal data)
    ADD COLUMN contact_phone text,           -- E.164, for ownership proof and one-time codes
    ADD COLUMN contact_email text,
    ADD COLUMN officer_id   text;            -- the desk officer who took a walk-in complaint

CREATE TABLE complaint_attachments (
    complaint_id  uuid NOT NULL REFERENCES complaints (complaint_id),
    attachment_id text NOT NULL,
    media_type    text NOT NULL,
    filename      text,
    size_bytes    integer,
    content       bytea,                     -- uploads; WhatsApp media stay at Meta by id
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (complaint_id, attachment_id)
);

-- Persist-then-200: the webhook only inserts here; a worker processes in order. The message id
-- is the primary key, so Meta's retries are absorbed. The body is cleared once processed.
CREATE TABLE whatsapp_inbox (
    message_id   text PRIMARY KEY,
    seq          bigserial NOT NULL UNIQUE,
    wa_id        text NOT NULL,
    message      jsonb,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    outcome      text
);
CREATE INDEX whatsapp_inbox_pending ON whatsapp_inbox (seq) WHERE processed_at IS NULL;

-- One open conversation per WhatsApp user; dropped when filed, cancelled or expired (24 h).
CREATE TABLE whatsapp_conversations (
    wa_id      text PRIMARY KEY,
    draft      jsonb NOT NULL,
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_conversations_expiry ON whatsapp_conversations (expires_at);
