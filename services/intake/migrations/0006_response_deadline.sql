-- The agency's response deadline (CaseAssigned.response_due_at, working days counted by
-- routing), kept in the status read model so the citizen reads "by when" on the status page,
-- the JSON API and STATUS#. A re-routed case's new CaseAssigned replaces it.
ALTER TABLE complaints ADD COLUMN response_due_at timestamptz;
