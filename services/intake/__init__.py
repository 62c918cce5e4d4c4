"""Intake: the edge where citizens hand in complaints, by WhatsApp, on the web, at the desk and
from Open311 client applications.

Topics
- Writes: lapor.complaints.intake.v1 (ComplaintReceived, ComplaintUpdated,
  CitizenReplyRequested, CitizenOptOutRequested: a WhatsApp BERHENTI / MULAI,
  SatisfactionRated: PUAS / TIDAK PUAS after a closing) and
  lapor.channels.whatsapp.statuses.v1 (WhatsAppStatusReported),
  always through its outbox, in the same transaction as the state that caused them.
- Reads: lapor.complaints.triaged.v1, lapor.cases.v1, lapor.notifications.v1, to keep the
  status read model the citizen sees and the public facts Open311 shows (category and
  incident regency from ComplaintAccepted, CasePublicSummaryPublished's summary).

Tables (schema `intake`): complaints, complaint_timeline, complaint_attachments,
complaint_updates, ownership_codes, limit_events, satisfaction_answers, whatsapp_inbox,
whatsapp_conversations, whatsapp_media (documents staged for a conversation),
walk_in_days, walk_in_bookings, open311_clients (client keys as SHA-256 digests), plus the
plumbing's outbox and processed_events. The WhatsApp
tables name a sender by a keyed hash, never by number; drafts are sealed
(docs/personal-data.md).

Documents are kept sealed with the reporter's data key (`handlers.documents`); staff open
them through signed links (`schemas.document_links`, `GET /v1/documents/...`), owners after
ownership proof. WhatsApp media are downloaded from the Graph API by the inbox worker.

HTTP: the JSON API under /v1 (OpenAPI at /docs), Open311 GeoReport v2 under /open311/v2
(public reading; filing with a client key; docs/open311.md), the WhatsApp webhook at
/webhooks/whatsapp, the citizen's pages under /lapor (the rating page /lapor/puas); the
walk-in desk's API under /v1/walk-in (desk officers work it from the back office's
/staff/meja, which calls with its staff assertion X-Lapor-Staff, role desk_officer);
/v1/open311/clients (Open311 client keys) and /v1/dead-letters (admin staff); /healthz,
/readyz, /metrics.

Layout (each layer imports only the ones below it; `settings` is a leaf any layer may use):
- `bootstrap`: reads the settings (`check_deployment`), builds the key store, the desk's
  clock, the workers and the app (`create_app`), and the `ServiceRuntime`; `__main__` runs it.
- `entrypoints/`: one HTTP router per concern (`complaints_api`, `status_api`, `owner_api`,
  `web_form`, `web_updates`, `web_status`, `rating` (the satisfaction page and API),
  `desk_api`, `whatsapp_webhook`, `documents_api`, `open311_api` with its input checks
  `open311_input`, its client keys' admin API `open311_clients_api` and the `lapor open311`
  commands `open311_cli`), the
  shared page rendering (`pages`) and API models (`api_models`), the HTTP guards (`guards`;
  the forms' CSRF guard is shared: `services.runtime.forms`), and the background workers
  (`group_commit`: the one group-commit loop, behind `group_filing` (the web API's filings)
  and the webhook's `NotificationStore`;
  `inbox_worker`: the WhatsApp inbox on the shared worker loop, sharded by sender).
- `handlers/`: the use cases. `filing.file_complaints` is the one way every channel files
  (replays, per-reporter limit, sealing, storage, outbox); `follow_ups` (ownership proof,
  one-time codes, additions), `whatsapp` (webhook intake, the inbox's messages), `walk_in`
  (the desk), `statuses` (the consumer's handlers for the status read model),
  `satisfaction` (the answer to the closing message, every channel).
- `adapters/`: all SQL. `repository` (complaint writes and the state use cases decide on),
  `views` (read queries for pages and APIs), `open311` (public requests, client keys, the
  public facts), `satisfaction`, `reporter_limits`,
  `whatsapp_inbox`, `walk_in`.
- `domain/`: pure, no I/O. `complaints` (submission to event, status meanings), `whatsapp`
  (Cloud API wire format), `conversation` (the guided chat), `satisfaction` (reading
  PUAS / TIDAK PUAS), `desk` (opening hours, quota,
  receipts), `limits` (rate arithmetic), `tracking` (codes), `ownership`, `fields`, `open311`
  (the catalogue, what is public, the wire formats).
See docs/intake.md.
"""
