-- The review queue: complaints triage could not decide, worked by back-office reviewers.
-- No NIK, phone or name here: reviewers judge the text, the reasons and the category.
CREATE TABLE IF NOT EXISTS review_items (
    complaint_id    uuid PRIMARY KEY,
    tracking_code   text NOT NULL,
    needs_review    jsonb NOT NULL,          -- the ComplaintNeedsReview event (decision ids derive from it)
    channel         text NOT NULL,
    category        text NOT NULL,
    priority        text NOT NULL,
    matched_terms   jsonb NOT NULL DEFAULT '[]',
    region_code     text,
    anonymous       boolean NOT NULL DEFAULT false,
    secret          boolean NOT NULL DEFAULT false,
    description     text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'decided')),
    claimed_by      text,
    claimed_at      timestamptz,
    decision        text CHECK (decision IN ('accepted', 'rejected', 'duplicate')),
    decided_by      text,
    decided_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS review_items_status ON review_items (status, created_at);

-- Every reviewer action, with who and why: the audit trail.
CREATE TABLE IF NOT EXISTS review_log (
    id            bigserial PRIMARY KEY,
    complaint_id  uuid NOT NULL REFERENCES review_items (complaint_id),
    reviewer      text NOT NULL,
    action        text NOT NULL CHECK (action IN ('claim', 'accept', 'reject', 'duplicate')),
    reason_code   text,
    note          text NOT NULL DEFAULT '',
    original_complaint_id uuid,
    at            timestamptz NOT NULL DEFAULT now()
);
