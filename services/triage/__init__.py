"""Triage: validation, prank filtering, duplicate detection and classification, as a faust app.

- Reads: lapor.complaints.intake.v1 (ComplaintReceived; other types are ignored).
- Writes: lapor.complaints.triaged.v1 (ComplaintAccepted, ComplaintRejected,
  ComplaintNeedsReview, ComplaintDuplicateDetected), lapor.deadletter.triage.v1.
- Internal topics: lapor-triage-by-reporter, lapor-triage-by-area (re-keyed streams).
- State: faust tables on changelog topics (reporter-repeats, reporter-daily, reporter-banned,
  area-candidates, decisions); PostgreSQL schema `triage` for the review queue and its outbox.
- HTTP (faust web): /healthz, /readyz, /metrics, /v1/review, /v1/review/{id}/{action}.
See `docs/triage.md`; `domain` and `duplicates` hold the rules and every threshold.
"""
