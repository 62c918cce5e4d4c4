-- Where a case's region came from, as triage decided it (ComplaintAccepted.region_source):
-- 'incident' (the place the citizen named as where the problem is) or 'reporter_nik' (the
-- reporter's NIK region, only a fallback). NULL for cases opened before this column and for
-- complaints with no region at all.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS region_source text
    CHECK (region_source IN ('incident', 'reporter_nik'));
