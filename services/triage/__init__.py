"""Triage: validation, prank filtering, duplicate detection and classification, in one pass.

- Reads: lapor.complaints.intake.v1 (ComplaintReceived; other types are ignored), with one
  faust agent (concurrency=1) in batches; no internal topics, no faust tables, no changelogs.
- Writes: lapor.complaints.triaged.v1 (ComplaintAccepted, ComplaintRejected,
  ComplaintNeedsReview, ComplaintDuplicateDetected) through the outbox, with event ids derived
  from the complaint's event; lapor.deadletter.triage.v1.
- State: PostgreSQL schema `triage`: reporter_repeats, reporter_days, reporter_bans,
  area_candidates and decisions (read and written once per batch, under advisory locks per
  area and reporter, and pruned of what no rule reads any more by a periodic worker),
  review_items and review_log (the review queue), and the plumbing's outbox.
- HTTP (faust web): /healthz, /readyz, /metrics, /v1/review, /v1/review/{id},
  /v1/review/{id}/{action}, /v1/review-log
  (reviewers' tokens, or the back office's staff assertion X-Lapor-Staff with the role
  reviewer or admin), /v1/dead-letters (admin staff); /openapi.json (their document).

Layout (each layer imports only the ones below it):
- `domain/`: pure, no I/O. `rules` (validation, prank filter, classification, scores),
  `duplicates` (repeats, near duplicates, daily limits over a batch's `History`), `review`
  (reviewer tokens, what a reviewer may do, the event a review decision publishes);
- `adapters/`: `state` (the batch's locks, reads and writes of the state tables),
  `repository` (the review queue's writes, bans and its outbox), `views` (the queue as
  reviewers read it), `personal_data` (opens sealed fields with the key store it is given);
  `domain.sealing` re-seals what quotes the citizen's words (summary, near-duplicate
  signatures) with the reporter's key, and the review queue keeps the chronology sealed;
- `handlers/`: `stages` (a complaint through the reporter's and the area's checks, against
  the batch's state), `batch` (a batch in one transaction), `review` (reviewers' commands:
  enqueue, claim, ban, decide);
- `entrypoints/`: `stream` (the topics and the one agent), `backoffice` (the database pool,
  the outbox relay and the other workers on the pool), `pruning` (the state's periodic
  cleanup on the shared worker loop), `review_routes`, `dead_letters`, `health`, `metrics`;
- `bootstrap`: `build_app` builds the settings (checked for production), the key store and the
  faust app with all of the above; `__main__` runs it. `settings` is a leaf any layer reads.
See `docs/triage.md`; `domain.rules` and `domain.duplicates` hold every threshold.
"""
