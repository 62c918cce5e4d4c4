"""Routing: turns each accepted complaint into a case owned by an agency, with a clock.

- Reads: lapor.complaints.triaged.v1 (ComplaintAccepted, ComplaintDuplicateDetected).
- Writes: lapor.cases.v1 (CaseAssigned, CaseStatusChanged, CaseReporterJoined,
  CaseDeadlineApproaching, CaseOverdue), always through its outbox.
- Owns tables (schema `routing`): agencies, routing_rules + routing_rule_versions, cases,
  case_history, case_reporters, case_deadlines, deadline_alerts, calendar_overrides,
  officers, sp4n_forwardings, plus the plumbing's outbox and processed_events.
- HTTP: /v1/rules (admins), /v1/desk/cases (officers, scoped to their agency),
  /open311/v2/ (GeoReport v2 read view), /v1/stats and /stats (SVG charts), /healthz,
  /readyz, /metrics.
- Background jobs: the deadline scheduler (`scheduler`) and, when LAPOR_ROUTING_SP4N_URL
  is set, SP4N-LAPOR! forwarding (`sp4n`).

Modules: `domain` (pure: rule choice, lifecycle, working days, alerts), `handlers` (events
and commands → events), `repository` (PostgreSQL), `api` (HTTP), `scheduler`, `sp4n`,
`stats`, `directory` (CSV loader), `service` (wiring). See docs/routing.md.
"""
