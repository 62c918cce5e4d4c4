-- Escalation reaches people: a level-1 overdue case is emailed to the agency's supervisor
-- (the notifier sends it). The address comes from the agency directory (`lapor routing
-- load-agencies`, column `supervisor_email`); no address, no email. No seed values: a
-- guessed address would send case details to whoever owns it.
ALTER TABLE agencies
    ADD COLUMN supervisor_email text CHECK (supervisor_email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$');
