"""Routing: turns each accepted complaint into a case owned by an agency, with a deadline.

- Reads: lapor.complaints.triaged.v1 (ComplaintAccepted).
- Writes: lapor.cases.v1 (CaseAssigned), through its outbox.
- Owns tables (schema `routing`): agencies, routing_rules, cases, plus the plumbing's outbox
  and processed_events.
- HTTP: /healthz, /readyz, /metrics.
"""
