"""Every event that crosses a Kafka topic, as one pydantic v2 discriminated union.

An event is an envelope (ids, type, version, time, causality; `base.EventEnvelope`) around a
typed payload. Each producing service's events live in their own module (`intake`, `triage`,
`routing`, `notifier`), which lists them in `EVENTS`; the union is assembled here. Parse raw
bytes with `parse_event`, write them with `serialize_event`.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field, TypeAdapter

from schemas.events import intake, notifier, routing, triage
from schemas.events.base import (
    CURRENT_SCHEMA_VERSION,
    Attachment,
    Category,
    Channel,
    Eligibility,
    EventEnvelope,
    Language,
    Location,
    Priority,
    ReasonCode,
    Reporter,
    StrictModel,
    follow_up_ids,
)
from schemas.events.intake import (
    ComplaintReceived,
    ComplaintReceivedPayload,
    ComplaintUpdated,
    ComplaintUpdatedPayload,
)
from schemas.events.notifier import CitizenNotified, CitizenNotifiedPayload
from schemas.events.routing import CaseAssigned, CaseAssignedPayload
from schemas.events.triage import (
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintDuplicateDetected,
    ComplaintDuplicateDetectedPayload,
    ComplaintNeedsReview,
    ComplaintNeedsReviewPayload,
    ComplaintRejected,
    ComplaintRejectedPayload,
)

ALL_EVENTS: tuple[type[EventEnvelope], ...] = (
    *intake.EVENTS,
    *triage.EVENTS,
    *routing.EVENTS,
    *notifier.EVENTS,
)

# The union is built from the modules' lists, so adding an event touches only its module.
Event = Annotated[Union[ALL_EVENTS], Field(discriminator="event_type")]  # type: ignore[valid-type]  # noqa: UP007

EVENT_TYPES: dict[str, type[EventEnvelope]] = {
    model.model_fields["event_type"].default: model for model in ALL_EVENTS
}

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: bytes | str) -> Event:
    """Validate raw JSON into its event type; raises pydantic.ValidationError if malformed."""
    return _EVENT_ADAPTER.validate_json(raw)


def serialize_event(event: EventEnvelope) -> bytes:
    return event.model_dump_json().encode()


def event_json_schema() -> dict[str, object]:
    return _EVENT_ADAPTER.json_schema()


__all__ = [
    "ALL_EVENTS",
    "CURRENT_SCHEMA_VERSION",
    "EVENT_TYPES",
    "Attachment",
    "CaseAssigned",
    "CaseAssignedPayload",
    "Category",
    "Channel",
    "CitizenNotified",
    "CitizenNotifiedPayload",
    "ComplaintAccepted",
    "ComplaintAcceptedPayload",
    "ComplaintDuplicateDetected",
    "ComplaintDuplicateDetectedPayload",
    "ComplaintNeedsReview",
    "ComplaintNeedsReviewPayload",
    "ComplaintReceived",
    "ComplaintReceivedPayload",
    "ComplaintRejected",
    "ComplaintRejectedPayload",
    "ComplaintUpdated",
    "ComplaintUpdatedPayload",
    "Eligibility",
    "Event",
    "EventEnvelope",
    "Language",
    "Location",
    "Priority",
    "ReasonCode",
    "Reporter",
    "StrictModel",
    "event_json_schema",
    "follow_up_ids",
    "parse_event",
    "serialize_event",
]
