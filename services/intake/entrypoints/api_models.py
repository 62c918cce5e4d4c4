"""The JSON API's request and response models (the OpenAPI schema), shared by the API
routers and by the web form, which validates its fields with `ComplaintRequest`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from schemas.events import Language
from schemas.regions import incident_regency
from services.intake.domain.fields import Nik, OptionalEmail, OptionalPhone

REGION_CODE = r"^[0-9]{2}(\.[0-9]{2}){0,2}$"
UNKNOWN_REGION = "choose a regency or city from the list (Kemendagri code such as 32.73)"
COORDINATES_PAIR = "give both latitude and longitude, or neither"
FLAT_AND_NESTED = "give the place either in location or in region_code and address, not both"


def known_regency_code(code: str | None) -> str | None:
    """A Kemendagri code of a regency or city ("32.73") or of one of its districts
    ("32.73.01"), as `schemas.regions` knows them; a province alone is not precise enough."""
    if code is not None and incident_regency(code) is None:
        raise ValueError(UNKNOWN_REGION)
    return code


class IncidentLocation(BaseModel):
    """Where the problem is, which decides the regional government that must act; the
    reporter's own address is not asked for here."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    region_code: Annotated[str, AfterValidator(known_regency_code)] = Field(
        pattern=REGION_CODE,
        description="Kemendagri code of the regency or city (32.73) or of a district"
        " (32.73.01) where the problem is",
        examples=["32.73"],
    )
    address: str | None = Field(
        default=None, max_length=500, description="Street, RT/RW, village (optional)"
    )
    latitude: float | None = Field(default=None, ge=-90, le=90, examples=[-6.9147])
    longitude: float | None = Field(default=None, ge=-180, le=180, examples=[107.6098])

    @model_validator(mode="after")
    def _both_coordinates(self) -> IncidentLocation:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError(COORDINATES_PAIR)
        return self


class PlaceFields(BaseModel):
    """The incident location, as `location` or (older clients) the flat fields."""

    location: IncidentLocation | None = Field(
        default=None, description="Where the problem is; without it, the NIK's region is used"
    )
    region_code: Annotated[str | None, AfterValidator(known_regency_code)] = Field(
        default=None,
        pattern=REGION_CODE,
        description="Older form of location.region_code",
    )
    city: str | None = Field(default=None, max_length=120)
    address: str | None = Field(
        default=None, max_length=500, description="Older form of location.address"
    )

    @model_validator(mode="after")
    def _one_form(self) -> PlaceFields:
        if self.location is not None and (self.region_code or self.address):
            raise ValueError(FLAT_AND_NESTED)
        return self

    def place(self) -> dict[str, Any]:
        """The Submission's place fields."""
        if self.location is None:
            return {"region_code": self.region_code, "city": self.city, "address": self.address}
        return {"city": self.city, **self.location.model_dump()}

    def submission_fields(self, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Every field as `Submission` takes it, the place flattened; minus `exclude`."""
        places = {"location", "region_code", "city", "address"}
        return {**self.model_dump(exclude=places | exclude), **self.place()}


class ComplaintRequest(PlaceFields):
    """A complaint submitted on the web channel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="Full name as on the KTP")
    nik: Nik = Field(description="16-digit NIK from the KTP")
    phone: OptionalPhone = Field(
        default=None, max_length=32, description="Indonesian mobile number"
    )
    email: OptionalEmail = Field(default=None, max_length=254)
    description: str = Field(
        min_length=20, max_length=20_000, description="Chronology: what happened, when, where"
    )
    language: Language = Language.INDONESIAN
    anonymous: bool = False
    secret: bool = False
    in_court: bool = Field(default=False, description="The matter is or was before a court")
    filed_before: bool = Field(default=False, description="Already reported to this desk")

    @model_validator(mode="after")
    def _contact(self) -> ComplaintRequest:
        if self.phone is None and self.email is None:
            raise ValueError("give a phone number or an email address so we can reach you")
        return self


class ComplaintAccepted202(BaseModel):
    tracking_code: str
    status: str
    status_url: str


class TimelineEntry(BaseModel):
    event_type: str
    status: str
    detail: str | None = Field(description="None on a secret report's public view")
    occurred_at: datetime
    status_label: str | None = Field(default=None, description="The step in the citizen's words")
    note: str | None = Field(default=None, description="The agency's name or note, if any")
    occurred_at_wib: str | None = Field(default=None, description="e.g. 7 Des 2026 09.30 WIB")


class ComplaintStatus(BaseModel):
    """The status as stored (`status`, `timeline[].status`: stable codes for programs) and the
    same in the citizen's words (`*_label`, `next_step`, `due_by`, `*_wib`) in `language`:
    `?lang=` when given, else the reporter's. A secret report's public view keeps only its
    status and timeline steps (no detail, agency name or notes)."""

    tracking_code: str
    channel: str
    status: str
    status_detail: str | None
    agency_name: str | None
    received_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry]
    language: Language = Field(default=Language.INDONESIAN, description="Of the display fields")
    secret: bool = False
    status_label: str | None = Field(default=None, examples=["Diteruskan ke instansi"])
    next_step: str | None = Field(default=None, description="What happens next")
    due_by: str | None = Field(
        default=None,
        description="By when: a date in WIB, or the service standard in working days",
        examples=["paling lambat 14 Des 2026 09.30 WIB"],
    )
    due_at: datetime | None = Field(default=None, description="The deadline, when one is known")
    received_at_wib: str | None = None
    updated_at_wib: str | None = None


class Problem(BaseModel):
    detail: str


class OwnershipProof(BaseModel):
    """Proof that the caller filed the report: the phone or email on file, or a code sent to
    it (POST .../one-time-code)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    one_time_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")

    @model_validator(mode="after")
    def _some_proof(self) -> OwnershipProof:
        if not (self.phone or self.email or self.one_time_code):
            raise ValueError("give the phone number or email on file, or a one-time code")
        return self


class UpdateRequest(OwnershipProof):
    additional_text: str = Field(min_length=1, max_length=20_000)


class SatisfactionRequest(OwnershipProof):
    """The owner's answer to the closing message: PUAS (true) or TIDAK PUAS (false)."""

    satisfied: bool
    score: int | None = Field(default=None, ge=1, le=5, description="Optional, 1 to 5")


class SatisfactionRecorded(BaseModel):
    tracking_code: str
    satisfied: bool
    score: int | None
    already_recorded: bool = Field(
        description="True: this closing was answered before; the first answer counts"
    )


class UpdateAccepted(BaseModel):
    tracking_code: str
    update_id: uuid.UUID


class CodeSent(BaseModel):
    sent_via: str
    valid_seconds: int


class AttachmentView(BaseModel):
    attachment_id: str
    media_type: str
    filename: str | None
    size_bytes: int | None
    sha256: str | None = None
    added_at: datetime


class UpdateView(BaseModel):
    additional_text: str | None = Field(description="None once the reporter was erased")
    added_at: datetime


class ComplaintDetails(ComplaintStatus):
    name: str | None
    nik: str | None = Field(description="Masked: only the last four digits")
    phone: str | None
    email: str | None
    description: str | None
    city: str | None
    address: str | None
    anonymous: bool
    secret: bool
    attachments: list[AttachmentView]
    updates: list[UpdateView]


IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, pattern=r"^[\x21-\x7e]+$", description="Makes a retry safe"),
]
NOT_FOUND = "no complaint has this tracking code"
REUSED_KEY = "this Idempotency-Key was already used for a different complaint"
