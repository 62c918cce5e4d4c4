"""Events triage publishes on lapor.complaints.triaged.v1."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from schemas.events.base import (
    Category,
    Channel,
    ComplaintEvent,
    Priority,
    ReasonCode,
    StrictModel,
)
from schemas.personal_data import personal_text

# The start of the citizen's chronology: personal data, sealed like the chronology itself.
Summary = personal_text(500)


class ComplaintAcceptedPayload(StrictModel):
    tracking_code: str
    channel: Channel
    category: Category
    priority: Priority
    matched_terms: tuple[str, ...] = ()
    region_code: str | None = None
    region_source: Literal["incident", "reporter_nik"] | None = Field(
        default=None,
        description="Where region_code came from: the incident location the citizen gave, or"
        " (only as a fallback) the region of the reporter's NIK",
    )
    anonymous: bool = False
    secret: bool = False
    summary: Summary = Field(
        description="Start of the description, for agencies: the citizen's words, sealed with"
        " the reporter's data key (as the description is); empty when the key was erased"
    )
    warnings: tuple[str, ...] = Field(
        default=(), description="Checks that did not block, e.g. nik_region_unknown"
    )
    reviewed_by: str | None = Field(
        default=None, description="The back-office reviewer who decided, when a human did"
    )


class ComplaintRejectedPayload(StrictModel):
    tracking_code: str
    reasons: tuple[ReasonCode, ...] = Field(min_length=1)
    reviewed_by: str | None = Field(
        default=None, description="The back-office reviewer who decided, when a human did"
    )


class ComplaintNeedsReviewPayload(StrictModel):
    tracking_code: str
    reasons: tuple[ReasonCode, ...] = Field(min_length=1)
    category: Category | None = Field(default=None, description="Triage's guess, for reviewers")
    matched_terms: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class ComplaintDuplicateDetectedPayload(StrictModel):
    tracking_code: str
    original_complaint_id: uuid.UUID
    original_tracking_code: str
    similarity: float = Field(ge=0.0, le=1.0)
    match: Literal["exact", "near", "manual"] = Field(
        default="near",
        description="exact: same reporter and text again; near: similar text, same area;"
        " manual: marked by a reviewer",
    )
    category: Category | None = None
    reviewed_by: str | None = Field(
        default=None, description="The back-office reviewer who decided, when a human did"
    )


class ComplaintAccepted(ComplaintEvent):
    event_type: Literal["ComplaintAccepted"] = "ComplaintAccepted"
    payload: ComplaintAcceptedPayload


class ComplaintRejected(ComplaintEvent):
    event_type: Literal["ComplaintRejected"] = "ComplaintRejected"
    payload: ComplaintRejectedPayload


class ComplaintNeedsReview(ComplaintEvent):
    event_type: Literal["ComplaintNeedsReview"] = "ComplaintNeedsReview"
    payload: ComplaintNeedsReviewPayload


class ComplaintDuplicateDetected(ComplaintEvent):
    event_type: Literal["ComplaintDuplicateDetected"] = "ComplaintDuplicateDetected"
    payload: ComplaintDuplicateDetectedPayload


EVENTS = (
    ComplaintAccepted,
    ComplaintRejected,
    ComplaintNeedsReview,
    ComplaintDuplicateDetected,
)
