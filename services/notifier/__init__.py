"""Notifier: tells the citizen about each step that matters to them, once per event and channel,
over WhatsApp, SMS or email, in Bahasa Indonesia or English, and tracks delivery.

- Reads: lapor.complaints.intake.v1 (ComplaintReceived, CitizenReplyRequested,
  CitizenOptOutRequested: a WhatsApp citizen's BERHENTI / MULAI),
  lapor.complaints.triaged.v1, lapor.cases.v1, lapor.channels.whatsapp.statuses.v1.
- Writes: lapor.notifications.v1 (CitizenNotified, CitizenNotificationStatusChanged) through its
  outbox; undeliverable messages to lapor.deadletter.notifier.v1.
- Owns tables (schema `notifier`): recipients (the only contact data outside intake, sealed),
  notifications (one row per event and channel, also the queue of pending sends),
  whatsapp_windows, opt_outs, opt_out_requests (keyed by a keyed digest of the address,
  `domain.rules.AddressDigests`), held_events, plus the plumbing's outbox and
  processed_events. A WhatsApp message we sent is named by a keyed hash of its wamid
  (`Keystore.message_ref`), as intake names it in WhatsAppStatusReported.
- HTTP (bearer tokens, see `entrypoints.access`): POST /v1/opt-outs, POST /v1/opt-ins,
  POST /v1/inbound-texts (an SMS "BERHENTI"), GET /v1/complaints/{id}/notifications; and /healthz,
  /readyz, /metrics; /v1/dead-letters (admin staff of the back office; mounted by
  `create_app`, connected to Kafka by the runtime).

Layout (each layer imports only the ones below it):
- `bootstrap`: builds the settings (and checks them for deployment), the key store and the
  `ServiceRuntime`; `__main__` runs it.
- `entrypoints/`: `app` (the FastAPI app) with one router per concern: `opt_outs`,
  `inbound_texts`, `history`, and `access` (tokens and roles); `consumer` (topics read and the
  handler of each event type); `sender` (the sender's background worker loop).
- `handlers/`: `events` (the consumer's handlers: record what to send, status callbacks,
  fallbacks), `sending` (the `Sender`: claim a batch of due sends, send, record the outcomes).
- `adapters/`: `repository` (every write and the reads handlers decide on), `views` (the
  history API's read), `channels` (WhatsApp Cloud API, SMS gateway and SMTP clients).
- `domain/`: pure rules (`rules`: which message, which channel, retries, rate limits, the
  WhatsApp window, opt-out words), `templates` (rendering; the files are in `templates/`),
  `sending` (composing a message, the outcomes of a batch), `events` (the events published).
- Beside the layers: `settings` (LAPOR_NOTIFIER_* variables), `observability` (metrics),
  `migrations/`. The providers' local stand-ins are in `ops/standins.py`.

See docs/notifier.md for the design, the guarantees and the remaining crash window.
"""
