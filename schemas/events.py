"""Every event that crosses a Kafka topic, as one pydantic v2 discriminated union.

An event is an envelope (ids, type, version, time, causality) around a typed payload. Models
are strict and forbid extra fields, so a producer's typo fails loudly at the edge instead of
travelling. Parse raw bytes with `parse_event`, write them with `serialize_event`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from schemas.personal_data import PersonalStr

CURRENT_SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# --------------------------------------------------------------------------- value types


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    WEB = "web"
    WALK_IN = "walk_in"


class Language(StrEnum):
    INDONESIAN = "id"
    ENGLISH = "en"


class Category(StrEnum):
    LAND = "land"
    EDUCATION = "education"
    HEALTH = "health"
    SOCIAL_ASSISTANCE = "social_assistance"
    INFRASTRUCTURE = "infrastructure"
    POPULATION_ADMINISTRATION = "population_administration"
    EMPLOYMENT = "employment"
    CORRUPTION = "corruption"
    PUBLIC_ORDER = "public_order"
    ENVIRONMENT = "environment"
    UTILITIES = "utilities"
    OTHER = "other"


class Priority(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Reporter(_Strict):
    """Who filed the complaint. Every identifying field is personal data."""

    name: PersonalStr
    nik: PersonalStr | None = None
    phone: PersonalStr | None = Field(default=None, description="E.164, e.g. +62811...")
    email: PersonalStr | None = None
    language: Language = Language.INDONESIAN


class Location(_Strict):
    region_code: str | None = Field(
        default=None, pattern=r"^\d{2}(\.\d{2}){0,2}$", description="Kemendagri code: 31.71"
    )
    city: str | None = None
    address: PersonalStr | None = None


class Attachment(_Strict):
    attachment_id: str
    media_type: str
    filename: str | None = None
    size_bytes: int | None = Field(default=None, ge=0)


class Eligibility(_Strict):
    """Self-declared eligibility, as the real desk asks it."""

    experienced_directly: bool = True
    has_power_of_attorney: bool = False
    in_court: bool = False
    filed_before: bool = False


class ReasonCode(_Strict):
    code: str
    detail: str
    score: float = 0.0


# --------------------------------------------------------------------------- payloads


class ComplaintReceivedPayload(_Strict):
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


class ComplaintUpdatedPayload(_Strict):
    tracking_code: str
    additional_text: str = Field(default="", max_length=20_000)
    attachments: tuple[Attachment, ...] = ()


class ComplaintAcceptedPayload(_Strict):
    tracking_code: str
    channel: Channel
    category: Category
    priority: Priority
    matched_terms: tuple[str, ...] = ()
    region_code: str | None = None
    anonymous: bool = False
    secret: bool = False
    summary: str = Field(max_length=500, description="Start of the description, for agencies")


class ComplaintRejectedPayload(_Strict):
    tracking_code: str
    reasons: tuple[ReasonCode, ...] = Field(min_length=1)


class ComplaintNeedsReviewPayload(_Strict):
    tracking_code: str
    reasons: tuple[ReasonCode, ...] = Field(min_length=1)


class ComplaintDuplicateDetectedPayload(_Strict):
    tracking_code: str
    original_complaint_id: uuid.UUID
    original_tracking_code: str
    similarity: float = Field(ge=0.0, le=1.0)


class CaseAssignedPayload(_Strict):
    case_id: uuid.UUID
    tracking_code: str
    agency_code: str
    agency_name: str
    rule_id: str
    due_at: AwareDatetime


class CitizenNotifiedPayload(_Strict):
    notification_id: uuid.UUID
    tracking_code: str
    trigger_event_id: uuid.UUID
    trigger_event_type: str
    channel: str
    template: str
    language: Language


# --------------------------------------------------------------------------- envelopes


class EventEnvelope(_Strict):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    schema_version: Literal[1] = CURRENT_SCHEMA_VERSION
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    complaint_id: uuid.UUID
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    producer: str


class ComplaintReceived(EventEnvelope):
    event_type: Literal["ComplaintReceived"] = "ComplaintReceived"
    payload: ComplaintReceivedPayload


class ComplaintUpdated(EventEnvelope):
    event_type: Literal["ComplaintUpdated"] = "ComplaintUpdated"
    payload: ComplaintUpdatedPayload


class ComplaintAccepted(EventEnvelope):
    event_type: Literal["ComplaintAccepted"] = "ComplaintAccepted"
    payload: ComplaintAcceptedPayload


class ComplaintRejected(EventEnvelope):
    event_type: Literal["ComplaintRejected"] = "ComplaintRejected"
    payload: ComplaintRejectedPayload


class ComplaintNeedsReview(EventEnvelope):
    event_type: Literal["ComplaintNeedsReview"] = "ComplaintNeedsReview"
    payload: ComplaintNeedsReviewPayload


class ComplaintDuplicateDetected(EventEnvelope):
    event_type: Literal["ComplaintDuplicateDetected"] = "ComplaintDuplicateDetected"
    payload: ComplaintDuplicateDetectedPayload


class CaseAssigned(EventEnvelope):
    event_type: Literal["CaseAssigned"] = "CaseAssigned"
    payload: CaseAssignedPayload


class CitizenNotified(EventEnvelope):
    event_type: Literal["CitizenNotified"] = "CitizenNotified"
    payload: CitizenNotifiedPayload


Event = Annotated[
    ComplaintReceived
    | ComplaintUpdated
    | ComplaintAccepted
    | ComplaintRejected
    | ComplaintNeedsReview
    | ComplaintDuplicateDetected
    | CaseAssigned
    | CitizenNotified,
    Field(discriminator="event_type"),
]

EVENT_TYPES: dict[str, type[EventEnvelope]] = {
    model.model_fields["event_type"].default: model
    for model in (
        ComplaintReceived,
        ComplaintUpdated,
        ComplaintAccepted,
        ComplaintRejected,
        ComplaintNeedsReview,
        ComplaintDuplicateDetected,
        CaseAssigned,
        CitizenNotified,
    )
}

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: bytes | str) -> Event:
    """Validate raw JSON into its event type; raises pydantic.ValidationError if malformed."""
    return _EVENT_ADAPTER.validate_json(raw)


def serialize_event(event: EventEnvelope) -> bytes:
    return event.model_dump_json().encode()


def event_json_schema() -> dict[str, object]:
    return _EVENT_ADAPTER.json_schema()


def follow_up_ids(cause: EventEnvelope, producer: str, name: str) -> dict[str, object]:
    """Envelope fields for an event caused by `cause`.

    The new event id is derived from the cause's id and a name, so reprocessing the same cause
    yields the same id and downstream idempotency tables absorb the repeat.
    """
    return {
        "event_id": uuid.uuid5(cause.event_id, name),
        "complaint_id": cause.complaint_id,
        "correlation_id": cause.correlation_id,
        "causation_id": cause.event_id,
        "producer": producer,
    }
