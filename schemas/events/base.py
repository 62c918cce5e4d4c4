"""The envelope every event shares, the value types payloads are built from, and helpers.

Models are strict and forbid extra fields, so a producer's typo fails loudly at the edge
instead of travelling.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.personal_data import PersonalStr

CURRENT_SCHEMA_VERSION = 1


class StrictModel(BaseModel):
    # allow_inf_nan=False: JSON has no NaN or Infinity; pydantic would write null and every
    # consumer would then reject (dead-letter) the event. Refuse it at the producer instead.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- value types


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    WEB = "web"
    WALK_IN = "walk_in"
    OPEN311 = "open311"  # an Open311 GeoReport v2 client application (intake's /open311/v2)


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


class Reporter(StrictModel):
    """Who filed the complaint. Every identifying field is personal data."""

    name: PersonalStr
    nik: PersonalStr | None = None
    phone: PersonalStr | None = Field(default=None, description="E.164, e.g. +62811...")
    email: PersonalStr | None = None
    language: Language = Language.INDONESIAN


class Location(StrictModel):
    """Where the problem is (the incident), not where the reporter lives: the agency that must
    act is the one of this place. The reporter's NIK region is only the fallback."""

    region_code: str | None = Field(
        # [0-9], not \d: pydantic's \d also matches other scripts' digits ("٣١"), which
        # the JSON Schema (ECMA regex) rejects and no agency's region code matches.
        default=None,
        pattern=r"^[0-9]{2}(\.[0-9]{2}){0,2}$",
        description="Kemendagri code: 31.71",
    )
    city: str | None = None
    address: PersonalStr | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Attachment(StrictModel):
    """A document handed in with a complaint or an addition: a reference, never its bytes.
    Intake keeps the bytes sealed with the reporter's data key; staff open them through a
    signed link (`schemas.document_links`)."""

    attachment_id: str
    media_type: str = Field(description="decided by the content (PDF, JPEG, PNG)")
    filename: PersonalStr | None = None  # the citizen named it: personal, like the text
    size_bytes: int | None = Field(default=None, ge=0)
    # Optional only for events published before documents were kept by intake.
    sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="of the plain content, hex"
    )


class Eligibility(StrictModel):
    """Self-declared eligibility, as the real desk asks it."""

    experienced_directly: bool = True
    has_power_of_attorney: bool = False
    in_court: bool = False
    filed_before: bool = False


class ReasonCode(StrictModel):
    code: str
    detail: str
    score: float = 0.0


# --------------------------------------------------------------------------- envelope


class EventEnvelope(StrictModel):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    schema_version: Literal[1] = CURRENT_SCHEMA_VERSION
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    # Every complaint event carries it; channel events that precede or stand outside a
    # complaint (a WhatsApp delivery status) leave it empty and are keyed by correlation_id.
    complaint_id: uuid.UUID | None
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    producer: str


class ComplaintEvent(EventEnvelope):
    """An event about one complaint: the complaint id is required."""

    complaint_id: uuid.UUID


def partition_key(event: EventEnvelope) -> bytes:
    """The Kafka key: the complaint id, so one complaint's events stay in order."""
    return str(event.complaint_id or event.correlation_id).encode()


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
