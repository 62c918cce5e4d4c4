"""Intake's pure domain: turning a submission into a `ComplaintReceived` event, and the
citizen-facing status that each downstream event means. No I/O here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from schemas.events import (
    Attachment,
    Channel,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Eligibility,
    Event,
    Language,
    Location,
    Reporter,
)
from schemas.regions import incident_regency
from services.personal_data.field_crypto import identity_of

T = TypeVar("T")

PRODUCER = "intake"


@dataclass(frozen=True)
class Submission:
    """A complaint as the citizen handed it in, already validated at the edge."""

    channel: Channel
    name: str
    nik: str | None
    phone: str | None
    email: str | None
    description: str
    region_code: str | None = None
    city: str | None = None
    address: str | None = None
    latitude: float | None = None  # where the problem is, when the citizen pinned it
    longitude: float | None = None
    language: Language = Language.INDONESIAN
    anonymous: bool = False
    secret: bool = False
    in_court: bool = False
    filed_before: bool = False
    attachments: tuple[Attachment, ...] = ()


def reporter_identity(submission: Submission) -> str | None:
    """Whose data key seals the complaint: NIK, else phone, else email."""
    return identity_of(submission.nik, submission.phone, submission.email)


def complaint_received(
    submission: Submission, complaint_id: uuid.UUID, tracking_code: str, now: datetime
) -> ComplaintReceived:
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer=PRODUCER,
        occurred_at=now,
        payload=ComplaintReceivedPayload(
            tracking_code=tracking_code,
            channel=submission.channel,
            reporter=Reporter(
                name=submission.name,
                nik=submission.nik,
                phone=submission.phone,
                email=submission.email,
                language=submission.language,
            ),
            description=submission.description,
            location=incident_location(submission),
            attachments=submission.attachments,
            eligibility=Eligibility(
                in_court=submission.in_court, filed_before=submission.filed_before
            ),
            anonymous=submission.anonymous,
            secret=submission.secret,
            received_at=now,
        ),
    )


def incident_location(submission: Submission) -> Location:
    """Where the problem is, as the event carries it. A chosen regency also names its place
    (`city`), so the people reading the complaint see "Kota Bandung", not "32.73"."""
    regency = incident_regency(submission.region_code) if submission.region_code else None
    return Location(
        region_code=submission.region_code,
        city=submission.city or (regency.name if regency else None),
        address=submission.address,
        latitude=submission.latitude,
        longitude=submission.longitude,
    )


@dataclass(frozen=True)
class StatusChange:
    status: str
    rank: int
    detail: str | None = None
    agency_name: str | None = None
    response_due_at: datetime | None = None  # the agency's deadline, from CaseAssigned
    documents_due_at: datetime | None = None  # the documents window, from CaseStatusChanged
    # The rank stored once applied, when lower than the rank it takes to apply: a re-opened
    # case must beat "closed" (50), then let the case's next events (20) apply again.
    settles_at: int | None = None


def status_change(event: Event) -> StatusChange | None:
    """What a downstream event means for the citizen's status page; None if nothing.

    Events from different topics can arrive in any order, so each status has a rank and the
    read model keeps the highest one reached.
    """
    match event.event_type:
        case "ComplaintAccepted":
            return StatusChange("verified", 10, f"category: {event.payload.category}")
        case "ComplaintNeedsReview":
            return StatusChange("under_review", 5, "being checked by the back office")
        case "ComplaintRejected":
            codes = ", ".join(reason.code for reason in event.payload.reasons)
            return StatusChange("rejected", 10, codes)
        case "ComplaintDuplicateDetected":
            return StatusChange(
                "duplicate", 10, f"joined report {event.payload.original_tracking_code}"
            )
        case "CaseAssigned":
            payload = event.payload
            return StatusChange(
                "forwarded_to_agency",
                20,
                payload.agency_name,
                payload.agency_name,
                payload.response_due_at,
            )
        case "CaseStatusChanged":
            status, rank = CASE_STATUSES[event.payload.status]
            detail = event.payload.note or event.payload.agency_name
            return StatusChange(
                status,
                rank,
                detail,
                event.payload.agency_name,
                documents_due_at=event.payload.documents_due_at,
                settles_at=SETTLED_RANKS.get(status),
            )
        case "CaseDeadlineApproaching":
            return StatusChange("deadline_approaching", -1, f"{event.payload.deadline_kind} due")
        case "CaseOverdue":
            return StatusChange("overdue", -1, f"escalated to {event.payload.escalated_to}")
        case "CitizenNotified":
            return StatusChange("notified", -1, event.payload.template)
        case "CaseReporterJoined":
            # A timeline entry only: the status itself is copied from the case's own
            # complaint (see `joined_status`), which may already be further on than this.
            return StatusChange(
                CASE_STATUSES[event.payload.status][0],
                -1,
                f"joined report {event.payload.original_tracking_code}",
                event.payload.agency_name,
            )
    return None


# The case's events that every co-reporter's complaint follows (keyed by the original's id).
@dataclass(frozen=True)
class StatusReached:
    """Where a complaint's status ends after a run of changes: the columns to store, with
    None for the agency name and deadlines meaning "keep the stored one"."""

    status: str
    rank: int
    detail: str | None
    agency_name: str | None
    response_due_at: datetime | None
    documents_due_at: datetime | None


def fold_status_changes(stored_rank: int, changes: Iterable[StatusChange]) -> StatusReached | None:
    """Apply `changes` in order to a status of `stored_rank`, as one conditional update each
    would (a change applies when the rank so far is at most its own; its agency name and
    deadlines replace the earlier ones only when it has them): where the status ends, or
    None when no change applied."""
    reached: StatusReached | None = None
    rank = stored_rank
    for change in changes:
        if rank > change.rank:
            continue
        rank = change.rank if change.settles_at is None else change.settles_at
        before = reached
        reached = StatusReached(
            status=change.status,
            rank=rank,
            detail=change.detail,
            agency_name=_given(change.agency_name, before.agency_name if before else None),
            response_due_at=_given(
                change.response_due_at, before.response_due_at if before else None
            ),
            documents_due_at=_given(
                change.documents_due_at, before.documents_due_at if before else None
            ),
        )
    return reached


def _given(new: T | None, earlier: T | None) -> T | None:
    """SQL's coalesce(new, earlier)."""
    return earlier if new is None else new


FOLLOWED_EVENT_TYPES = frozenset(
    {"CaseAssigned", "CaseStatusChanged", "CaseDeadlineApproaching", "CaseOverdue"}
)


def joined_status(event: Event) -> StatusChange:
    """The status a joining co-reporter's complaint takes when the case's own complaint is not
    (yet) known to have a case: the case's status at the join, as routing saw it."""
    status, rank = CASE_STATUSES[event.payload.status]
    return StatusChange(status, rank, event.payload.agency_name, event.payload.agency_name)


def follower_event_id(event_id: uuid.UUID, complaint_id: uuid.UUID) -> uuid.UUID:
    """The timeline entry's id for a case event applied to a co-reporter's complaint: one per
    event and complaint, the same on a replay."""
    return uuid.uuid5(event_id, f"co-reporter:{complaint_id}")


# A case's own events arrive in order (one partition per complaint), so they share a rank and
# the latest wins; only closing is final against any late event from another topic.
CASE_STATUSES: dict[str, tuple[str, int]] = {
    "assigned": ("forwarded_to_agency", 20),
    "in_progress": ("in_progress", 20),
    "awaiting_documents": ("awaiting_documents", 20),
    "responded": ("first_response_received", 20),
    "not_in_remit": ("being_rerouted", 20),
    "closed": ("closed", 50),
    # The citizen refused the response: the case is open again, in Setwapres' hands.
    "reopened": ("reopened", 50),
}
# Re-opening outranks closing, then settles among the case's own events (see StatusChange).
SETTLED_RANKS: dict[str, int] = {"reopened": 20}
