-- Walk-in desk: visits booked online, checked in at the desk in queue order, and the daily
-- counters that enforce the quota without counting rows under concurrency.
CREATE TABLE walk_in_days (
    visit_date  date PRIMARY KEY,
    booked      integer NOT NULL DEFAULT 0,
    checked_in  integer NOT NULL DEFAULT 0
);

CREATE TABLE walk_in_bookings (
    booking_code  text PRIMARY KEY,
    visit_date    date NOT NULL REFERENCES walk_in_days (visit_date),
    name          text NOT NULL,             -- personal data: the desk calls the citizen
    phone         text NOT NULL,             -- E.164
    booked_at     timestamptz NOT NULL,
    checked_in_at timestamptz,
    checked_in_by text,
    queue_number  integer,
    complaint_id  uuid REFERENCES complaints (complaint_id),
    UNIQUE (visit_date, queue_number),
    UNIQUE (visit_date, phone)              -- one booking per person per day
);
CREATE INDEX walk_in_bookings_by_day ON walk_in_bookings (visit_date, queue_number);
