-- A WhatsApp citizen's BERHENTI / MULAI reaches the notifier as an event (intake's
-- CitizenOptOutRequested), and two of them may overtake each other on the topic: the time of
-- the latest request applied per address, so an older one is ignored. A digest, no number.
CREATE TABLE opt_out_requests (
    address_digest text PRIMARY KEY,
    requested_at   timestamptz NOT NULL
);
