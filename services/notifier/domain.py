"""Notifier's pure domain: which events a citizen hears about, and with which template."""

from __future__ import annotations

from schemas.events import Event

TEMPLATES: dict[str, str] = {
    "ComplaintReceived": "received",
    "ComplaintRejected": "rejected",
    "ComplaintNeedsReview": "under_review",
    "ComplaintDuplicateDetected": "duplicate",
    "CaseAssigned": "assigned",
}

# The outbound channel of this first slice: the notification is recorded and published as
# CitizenNotified; WhatsApp, SMS and email adapters replace it.
LOG_CHANNEL = "log"


def template_for(event: Event) -> str | None:
    return TEMPLATES.get(event.event_type)
