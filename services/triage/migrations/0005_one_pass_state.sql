-- Triage in one pass (issue 16): the state the faust tables kept on changelog topics, keyed
-- by reporter, area and complaint, now here, read and written with one statement per table
-- per batch in the batch's transaction (services/triage/adapters/state.py). Reporters are
-- keyed hashes (never a NIK or phone); the citizen's words only appear sealed.

-- The first complaint of each (reporter, text fingerprint) still remembered: exact repeats.
CREATE TABLE IF NOT EXISTS reporter_repeats (
    reporter      text NOT NULL,
    fingerprint   text NOT NULL,       -- hash of the sealed chronology
    complaint_id  uuid NOT NULL,
    tracking_code text NOT NULL,
    received_day  integer NOT NULL,    -- days since 1970-01-01 (UTC)
    PRIMARY KEY (reporter, fingerprint)
);

-- Each reporter's complaints of a day, in order (`ordinal` 1 = the first): the daily limit.
CREATE TABLE IF NOT EXISTS reporter_days (
    reporter     text NOT NULL,
    day          integer NOT NULL,
    complaint_id uuid NOT NULL,
    ordinal      integer NOT NULL,
    PRIMARY KEY (reporter, day, complaint_id)
);

-- Banned reporters, written by the review API in the reviewer's transaction.
CREATE TABLE IF NOT EXISTS reporter_bans (
    reporter  text PRIMARY KEY,
    banned_by text NOT NULL,
    note      text NOT NULL,
    banned_at timestamptz NOT NULL DEFAULT now()
);

-- Accepted complaints a later one of the same area (regency|category) and 30-day bucket may
-- duplicate; a batch reads the latest 64 per bucket (highest seq first).
CREATE TABLE IF NOT EXISTS area_candidates (
    area          text NOT NULL,
    bucket        integer NOT NULL,
    seq           bigserial,
    complaint_id  uuid NOT NULL,
    tracking_code text NOT NULL,
    received_day  integer NOT NULL,
    signature     text NOT NULL,       -- content stems, sealed with the reporter's key
    PRIMARY KEY (area, bucket, complaint_id)
);
CREATE INDEX IF NOT EXISTS area_candidates_latest ON area_candidates (area, bucket, seq DESC);

-- Every decision taken, by complaint, with the id of the ComplaintReceived it answered: a
-- redelivered complaint re-emits this event (same id) instead of being decided again.
CREATE TABLE IF NOT EXISTS decisions (
    complaint_id      uuid PRIMARY KEY,
    received_event_id uuid NOT NULL,
    decision          bytea NOT NULL   -- the event as published
);
