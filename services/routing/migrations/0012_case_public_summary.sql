-- The case's public summary (issue 17): what back-office staff wrote for the public, shown by
-- intake's Open311 view as the request's description (CasePublicSummaryPublished). Written
-- for the public, never personal data; null: none (the public sees the category's name).
ALTER TABLE cases
    ADD COLUMN public_summary    text,
    ADD COLUMN public_summary_by text;
