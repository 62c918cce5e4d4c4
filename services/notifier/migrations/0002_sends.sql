-- The notifications table becomes the "pending sends" queue the sender works through. A row is
-- written (unique per trigger event and channel) before any attempt to send it.
ALTER TABLE recipients ADD COLUMN correlation_id uuid;

ALTER TABLE notifications
    ADD COLUMN correlation_id      uuid,
    ADD COLUMN tracking_code       text,
    ADD COLUMN destination         text,          -- phone (E.164) or email: needed to send
    ADD COLUMN context             jsonb NOT NULL DEFAULT '{}',  -- template facts, no personal data
    ADD COLUMN reply_text          text,          -- a conversational reply's text, cleared once sent
    ADD COLUMN exempt_from_limits  boolean NOT NULL DEFAULT false,  -- citizen-initiated replies
    ADD COLUMN fallback_of         uuid,
    ADD COLUMN attempts            integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN claimed_until       timestamptz,
    ADD COLUMN wa_mode             text,          -- 'text' or 'template' (the 24-hour rule)
    ADD COLUMN provider_message_id text,
    ADD COLUMN delivery_status     text,          -- highest of sent < delivered < read, or failed
    ADD COLUMN last_error          text,          -- status and provider code, never content
    ADD COLUMN sent_at             timestamptz;
-- status: pending → sending → sent | undeliverable | suppressed (opt-out)
ALTER TABLE notifications ALTER COLUMN status SET DEFAULT 'pending';
UPDATE notifications SET status = 'sent' WHERE status = 'recorded';

CREATE INDEX notifications_due ON notifications (next_attempt_at)
    WHERE status IN ('pending', 'sending');
CREATE UNIQUE INDEX notifications_by_provider_id ON notifications (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX notifications_sent_to ON notifications (destination, sent_at)
    WHERE sent_at IS NOT NULL;

-- The citizen's last inbound WhatsApp message opens the 24-hour free-text window.
CREATE TABLE whatsapp_windows (
    address_digest  text PRIMARY KEY,  -- of the wa_id, see domain.address_digest
    last_inbound_at timestamptz NOT NULL
);

-- Opted-out addresses, stored as a digest: the opt-out must outlive the complaint's data.
CREATE TABLE opt_outs (
    address_digest text PRIMARY KEY,
    opted_out_at   timestamptz NOT NULL DEFAULT now()
);

-- Events that reached the notifier before the complaint's ComplaintReceived (topics are not
-- ordered with each other): held until the recipient is known, then queued. No personal data.
CREATE TABLE held_events (
    event_id     uuid PRIMARY KEY,
    complaint_id uuid NOT NULL,
    event        jsonb NOT NULL,
    held_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX held_events_by_complaint ON held_events (complaint_id);
