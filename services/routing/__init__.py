"""Routing: turns each accepted complaint into a case owned by an agency, with a clock.

- Reads: lapor.complaints.triaged.v1 (ComplaintAccepted, ComplaintDuplicateDetected) and
  lapor.complaints.intake.v1 (ComplaintReceived: the complaint's content for the case file,
  kept sealed as it came; ComplaintUpdated: the citizen's additions; SatisfactionRated: the
  citizen's answer to the closing, which re-opens a case refused within 10 days).
- Writes: lapor.cases.v1 (CaseAssigned, CaseStatusChanged, CaseReporterJoined,
  CaseDeadlineApproaching, CaseOverdue, CasePublicSummaryPublished), always through its
  outbox.
- Owns tables (schema `routing`): agencies, routing_rules + routing_rule_versions, cases,
  case_history, case_reporters, case_additions, case_files (personal fields sealed with the
  reporter's key), case_file_openings, case_satisfaction, case_deadlines, deadline_alerts,
  calendar_overrides, officers, sp4n_forwardings, plus the plumbing's outbox and
  processed_events.
- HTTP: /v1/rules and /v1/calendar/overrides (Setwapres admins), /v1/desk/cases (officers,
  scoped to their agency; a case's detail is its case file, which Setwapres admins may read
  for any agency; each document with a 15-minute link to intake signed with the shared
  LAPOR_DOCUMENT_LINK_SECRET; each opening of personal data and each link issued recorded),
  /v1/escalations/overdue and /v1/reopened (Setwapres admins), /v1/desk/cases/{id}/reassign
  (agency supervisors; cases.assigned_officer), /v1/disposition/cases (the manual queue) and
  /v1/sp4n/forwardings (disposition), /v1/agencies (the directory: disposition and admins
  read it, admins edit an agency at /v1/agencies/{code}), /v1/desk/cases/{id}/public-summary
  (the public summary intake's Open311 view shows: CasePublicSummaryPublished; Open311
  itself is intake's, docs/open311.md), /v1/stats and /stats (SVG charts, satisfaction
  per agency), /v1/dead-letters (admin staff), /healthz, /readyz, /metrics. Besides
  officers' tokens, the back office's staff assertions (X-Lapor-Staff, schemas.staff):
  `domain.staff_access` maps their roles to the grants tokens have (`domain.Grant`), the
  staff id recorded as the actor.
- Background jobs: the deadline scheduler and, when LAPOR_ROUTING_SP4N_URL is set,
  SP4N-LAPOR! forwarding.

Layout (each layer imports only the ones below it):

- `bootstrap`: builds the settings, the runtime (pool, consumer), the app and the jobs;
  `__main__` calls its `main`.
- `entrypoints/`: `app` (create_app) with one router per concern (`rules_admin`,
  `calendar`, `agency_desk`, `disposition`, `escalations`, `stats` + `stats_page`;
  shared `access` and
  `fields`), `consumer` (event type → handler), `workers` (the background jobs),
  `directory_cli` (the `lapor routing` commands).
- `handlers/`: `opening` (cases from triage's events), `additions`, `case_file` (the
  content kept, the officer's file read and its openings recorded), `satisfaction` (the
  citizen's answer; re-opening), `commands` (desk actions, re-routing, disposition: the one
  place a status changes), `deadlines` (the scheduler's scan), `admin` (rules, calendar),
  `events`.
- `adapters/`: `repository` (writes, the domain's state), `satisfaction` (the answers'
  writes), `views` (read queries for pages and APIs), `sp4n` (the SP4N-LAPOR! client and
  its table), `directory` (the agency CSV).
- `domain`: pure: rule choice, the lifecycle's transitions, working days, alerts, the case
  file's rules (no identity for anonymous reports, whose contact is shown, the chronology).
- `settings` and `observability` (metrics): leaves any layer may import.

See docs/routing.md.
"""
