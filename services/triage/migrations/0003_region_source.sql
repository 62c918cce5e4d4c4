-- Where an item's region came from: 'incident' (the location the citizen gave) or
-- 'reporter_nik' (the fallback), so a reviewer's acceptance carries it on ComplaintAccepted.
-- NULL for items queued before this column, and for complaints with no region at all.
ALTER TABLE review_items ADD COLUMN IF NOT EXISTS region_source text
    CHECK (region_source IN ('incident', 'reporter_nik'));
