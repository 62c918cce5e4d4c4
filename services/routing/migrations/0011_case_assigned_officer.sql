-- The officer of the case's agency who works on it (issue 15, the supervisor's reassignment):
-- set when an officer first acts on the case at the desk, changed by the agency supervisor's
-- reassignment (recorded in case_history), cleared when the case goes to another agency.
-- An officer id or a back-office staff id; null: nobody yet.
ALTER TABLE cases ADD COLUMN assigned_officer text;
CREATE INDEX cases_by_assigned_officer ON cases (agency_code, assigned_officer)
    WHERE assigned_officer IS NOT NULL;
