"""Intake: the edge where citizens hand in complaints, by WhatsApp, on the web and at the desk.

- Writes: lapor.complaints.intake.v1 (ComplaintReceived, ComplaintUpdated,
  CitizenReplyRequested) and lapor.channels.whatsapp.statuses.v1 (WhatsAppStatusReported),
  always through its outbox, in the same transaction as the state that caused them.
- Reads: lapor.complaints.triaged.v1, lapor.cases.v1, lapor.notifications.v1, to keep the
  status read model the citizen sees.
- Owns tables (schema `intake`): complaints, complaint_timeline, complaint_attachments,
  complaint_updates, ownership_codes, whatsapp_inbox, whatsapp_conversations, walk_in_days,
  walk_in_bookings, plus the plumbing's outbox and processed_events.
- HTTP: the JSON API under /v1 (OpenAPI at /docs), the WhatsApp webhook at
  /webhooks/whatsapp, the citizen's pages under /lapor, the desk officers' page at /desk;
  /healthz, /readyz, /metrics.

Modules: `whatsapp` (the Cloud API wire format) and `conversation` (the guided chat), `desk`
and `ownership` and `domain` are pure; `filing` is the service layer the channels share;
`webhook`, `inbox`, `api`, `web`, `walk_in` and `repository` are adapters. See docs/intake.md.
"""
