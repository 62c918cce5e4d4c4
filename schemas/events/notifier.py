"""Events the notifier publishes on lapor.notifications.v1."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from schemas.events.base import ComplaintEvent, Language, StrictModel


class CitizenNotifiedPayload(StrictModel):
    notification_id: uuid.UUID
    tracking_code: str
    trigger_event_id: uuid.UUID
    trigger_event_type: str
    channel: str
    template: str
    language: Language
    fallback_of: uuid.UUID | None = Field(
        default=None, description="The notification on another channel that this one replaces"
    )


class CitizenNotified(ComplaintEvent):
    """A message left the notifier: the provider accepted it on `channel`."""

    event_type: Literal["CitizenNotified"] = "CitizenNotified"
    payload: CitizenNotifiedPayload


class CitizenNotificationStatusChangedPayload(StrictModel):
    notification_id: uuid.UUID
    tracking_code: str
    channel: str
    status: Literal["delivered", "read", "failed", "undeliverable"]
    fallback_channel: str | None = Field(
        default=None, description="The channel tried next, when this one failed"
    )


class CitizenNotificationStatusChanged(ComplaintEvent):
    """What became of a message after it was sent: delivered, read, failed (the provider said
    so) or undeliverable (permanent error or retries exhausted), for the citizen's timeline."""

    event_type: Literal["CitizenNotificationStatusChanged"] = "CitizenNotificationStatusChanged"
    payload: CitizenNotificationStatusChangedPayload


EVENTS = (CitizenNotified, CitizenNotificationStatusChanged)
