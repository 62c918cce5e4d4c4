-- Staff accounts, their sign-in attempts and sessions, and the audit of account changes.

CREATE TABLE staff_accounts (
    staff_id      text PRIMARY KEY,
    display_name  text NOT NULL,
    password_hash text NOT NULL,            -- Argon2id (argon2-cffi); never the password
    roles         text[] NOT NULL CHECK (cardinality(roles) > 0),
    agency_code   text,                     -- set exactly for the agency roles
    totp_secret   text,                     -- base32; NULL until the member enrols
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,            -- a staff id, or 'cli' for `lapor staff add`
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Who changed which account how (created, roles, disabled, enabled, password, totp).
CREATE TABLE staff_account_events (
    id         bigserial PRIMARY KEY,
    staff_id   text NOT NULL REFERENCES staff_accounts (staff_id),
    action     text NOT NULL,
    detail     text,
    actor      text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_account_events_by_account ON staff_account_events (staff_id, at);

-- Failed sign-in attempts, counted per account and per address over a sliding window. The id
-- tried is kept even when no such account exists (it is what is being guessed).
CREATE TABLE staff_signin_failures (
    id        bigserial PRIMARY KEY,
    staff_id  text NOT NULL,
    address   text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_signin_failures_by_account ON staff_signin_failures (staff_id, at);
CREATE INDEX staff_signin_failures_by_address ON staff_signin_failures (address, at);

-- Sessions: the browser holds a random token, only its SHA-256 is stored here.
CREATE TABLE staff_sessions (
    token_hash  text PRIMARY KEY,
    staff_id    text NOT NULL REFERENCES staff_accounts (staff_id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    address     text
);
CREATE INDEX staff_sessions_by_account ON staff_sessions (staff_id);
