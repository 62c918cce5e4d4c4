"""Notifier: tells the citizen about each step that matters to them, once per channel.

- Reads: lapor.complaints.intake.v1, lapor.complaints.triaged.v1, lapor.cases.v1.
- Writes: lapor.notifications.v1 (CitizenNotified), through its outbox.
- Owns tables (schema `notifier`): recipients (the only contact data outside intake),
  notifications, plus the plumbing's outbox and processed_events.
- HTTP: /healthz, /readyz, /metrics.
"""
