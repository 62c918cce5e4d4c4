"""Triage: validation, prank filtering, duplicate detection and classification, as a faust app.

- Reads: lapor.complaints.intake.v1 (ComplaintReceived; other types are ignored).
- Writes: lapor.complaints.triaged.v1 (ComplaintAccepted, ComplaintRejected,
  ComplaintNeedsReview, ComplaintDuplicateDetected), lapor.deadletter.triage.v1.
- Internal topics: lapor-triage-by-reporter, lapor-triage-by-area (re-keyed streams).
- State: faust tables on changelog topics (reporter-repeats, reporter-daily, reporter-banned,
  area-candidates, decisions); PostgreSQL schema `triage`: tables review_items and review_log
  (the review queue) and the plumbing's outbox.
- HTTP (faust web): /healthz, /readyz, /metrics, /v1/review, /v1/review/{id},
  /v1/review/{id}/{action}, /v1/review-log
  (reviewers' tokens, or the back office's staff assertion X-Lapor-Staff with the role
  reviewer or admin), /v1/dead-letters (admin staff); /openapi.json (their document).

Layout (each layer imports only the ones below it):
- `domain/`: pure, no I/O. `rules` (validation, prank filter, classification, scores),
  `duplicates` (repeats, near duplicates, daily limits over key-value stores), `review`
  (reviewer tokens, what a reviewer may do, the event a review decision publishes);
- `adapters/`: `repository` (the review queue's writes and its outbox), `views` (the queue as
  reviewers read it), `personal_data` (opens sealed fields with the key store it is given);
  `domain.sealing` re-seals what quotes the citizen's words (summary, near-duplicate
  signatures) with the reporter's key, and the review queue keeps the chronology sealed;
- `handlers/`: `stages` (a complaint through the reporter and the area stage, against the
  tables), `review` (reviewers' commands: enqueue, claim, ban, decide);
- `entrypoints/`: `stream` (topics, tables, the three agents), `backoffice` (the review
  database's pool and outbox relay), `review_routes`, `dead_letters`, `health`, `metrics`;
- `bootstrap`: `build_app` builds the settings (checked for production), the key store and the
  faust app with all of the above; `__main__` runs it. `settings` is a leaf any layer reads.
See `docs/triage.md`; `domain.rules` and `domain.duplicates` hold every threshold.
"""
