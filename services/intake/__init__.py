"""Intake: takes complaints in from the web (and, next, WhatsApp and the walk-in desk).

- Writes: lapor.complaints.intake.v1 (ComplaintReceived), through its outbox.
- Reads: lapor.complaints.triaged.v1, lapor.cases.v1, lapor.notifications.v1, to keep the
  status read model the citizen sees.
- Owns tables (schema `intake`): complaints, complaint_timeline, plus the plumbing's
  outbox and processed_events.
- HTTP: POST /v1/complaints, GET /v1/complaints/{tracking_code}; /healthz, /readyz, /metrics.
"""
