"""Notifier: tells the citizen about each step that matters to them, once per event and channel,
over WhatsApp, SMS or email, in Bahasa Indonesia or English, and tracks delivery.

- Reads: lapor.complaints.intake.v1 (ComplaintReceived, CitizenReplyRequested),
  lapor.complaints.triaged.v1, lapor.cases.v1, lapor.channels.whatsapp.statuses.v1.
- Writes: lapor.notifications.v1 (CitizenNotified, CitizenNotificationStatusChanged) through its
  outbox; undeliverable messages to lapor.deadletter.notifier.v1.
- Owns tables (schema `notifier`): recipients (the only contact data outside intake, sealed),
  notifications (one row per event and channel, also the queue of pending sends),
  whatsapp_windows, opt_outs, held_events, plus the plumbing's outbox and processed_events.
- HTTP (bearer tokens, see `api`): POST /v1/opt-outs, POST /v1/opt-ins, POST /v1/inbound-texts
  ("BERHENTI"), GET /v1/complaints/{id}/notifications; and /healthz, /readyz, /metrics.
- Modules: `domain` (pure rules), `templates` (+ `templates/` files), `handlers` (record what
  to send), `sender` (background job that sends), `channels` (provider adapters), `repository`,
  `api`, `standins` (local servers for the providers), `service` (wiring).

See docs/notifier.md for the design, the guarantees and the remaining crash window.
"""
