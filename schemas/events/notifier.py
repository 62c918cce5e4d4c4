"""Events the notifier publishes on lapor.notifications.v1."""

from __future__ import annotations

import uuid
from typing import Literal

from schemas.events.base import ComplaintEvent, Language, StrictModel


class CitizenNotifiedPayload(StrictModel):
    notification_id: uuid.UUID
    tracking_code: str
    trigger_event_id: uuid.UUID
    trigger_event_type: str
    channel: str
    template: str
    language: Language


class CitizenNotified(ComplaintEvent):
    event_type: Literal["CitizenNotified"] = "CitizenNotified"
    payload: CitizenNotifiedPayload


EVENTS = (CitizenNotified,)
