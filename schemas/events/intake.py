"""Events intake publishes on lapor.complaints.intake.v1."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.events.base import (
    Attachment,
    Channel,
    Eligibility,
    EventEnvelope,
    Location,
    Reporter,
    StrictModel,
)


class ComplaintReceivedPayload(StrictModel):
    tracking_code: str
    channel: Channel
    reporter: Reporter
    description: str = Field(min_length=1, max_length=20_000)
    location: Location = Location()
    attachments: tuple[Attachment, ...] = ()
    eligibility: Eligibility = Eligibility()
    anonymous: bool = False
    secret: bool = False
    received_at: AwareDatetime


class ComplaintUpdatedPayload(StrictModel):
    tracking_code: str
    additional_text: str = Field(default="", max_length=20_000)
    attachments: tuple[Attachment, ...] = ()


class ComplaintReceived(EventEnvelope):
    event_type: Literal["ComplaintReceived"] = "ComplaintReceived"
    payload: ComplaintReceivedPayload


class ComplaintUpdated(EventEnvelope):
    event_type: Literal["ComplaintUpdated"] = "ComplaintUpdated"
    payload: ComplaintUpdatedPayload


EVENTS = (
    ComplaintReceived,
    ComplaintUpdated,
)
