-- Who to tell (contact data lives only here and in intake) and what was sent.
CREATE TABLE recipients (
    complaint_id  uuid PRIMARY KEY,
    tracking_code text NOT NULL,
    channel       text NOT NULL,
    phone         text,
    email         text,
    language      text NOT NULL DEFAULT 'id',
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per (triggering event, channel), written before any send: the exactly-once key.
CREATE TABLE notifications (
    notification_id  uuid PRIMARY KEY,
    complaint_id     uuid NOT NULL,
    trigger_event_id uuid NOT NULL,
    trigger_type     text NOT NULL,
    channel          text NOT NULL,
    template         text NOT NULL,
    language         text NOT NULL,
    status           text NOT NULL DEFAULT 'recorded',
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (trigger_event_id, channel)
);
CREATE INDEX notifications_by_complaint ON notifications (complaint_id, created_at);
