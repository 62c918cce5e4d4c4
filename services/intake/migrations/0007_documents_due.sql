-- The end of the citizen's window for the documents an agency asked for
-- (CaseStatusChanged.documents_due_at when a case moves to awaiting_documents: 10 calendar
-- days from the agency's request, set by routing). Additions are accepted until the later of
-- this and 10 days after filing, so intake and routing agree on one window. A later request
-- replaces it.
ALTER TABLE complaints ADD COLUMN documents_due_at timestamptz;
