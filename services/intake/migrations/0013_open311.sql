-- Open311 GeoReport v2 (docs/open311.md).
-- The public facts of a complaint, from events intake already reads: the category and the
-- incident regency triage accepted it with (ComplaintAccepted; only when the region came from
-- the incident, never the reporter's NIK region), and the public summary staff published
-- (CasePublicSummaryPublished). None of it is personal data.
ALTER TABLE complaints
    ADD COLUMN category        text,
    ADD COLUMN public_region   text,
    ADD COLUMN public_summary  text,
    ADD COLUMN public          boolean NOT NULL DEFAULT false,
    -- The Open311 client application that filed it (channel open311), and the service_code
    -- it chose (triage classifies the text as for every channel).
    ADD COLUMN open311_client  text,
    ADD COLUMN open311_service text;
-- The public list: newest first over the accepted, neither secret nor anonymous.
CREATE INDEX complaints_public_by_time ON complaints (received_at DESC) WHERE public;

-- Client applications that may file through Open311: the key is shown once and stored only
-- as its SHA-256 digest; a revoked key is refused (403).
CREATE TABLE open311_clients (
    client_id  text PRIMARY KEY,
    name       text NOT NULL,
    key_digest text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- Complaints accepted before this migration: their category from the timeline's
-- ComplaintAccepted entry ("category: land"), listable by the same rule. Their region's
-- source is not known here, so they show no place.
UPDATE complaints c
SET category = substring(t.detail FROM '^category: (.+)$'),
    public = NOT coalesce((c.details->>'secret')::boolean, false)
             AND NOT coalesce((c.details->>'anonymous')::boolean, false)
FROM complaint_timeline t
WHERE t.complaint_id = c.complaint_id
  AND t.event_type = 'ComplaintAccepted'
  AND t.detail LIKE 'category: %';
