"""Events routing publishes on lapor.cases.v1."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.events.base import ComplaintEvent, StrictModel


class CaseStatus(StrEnum):
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_DOCUMENTS = "awaiting_documents"
    RESPONDED = "responded"
    NOT_IN_REMIT = "not_in_remit"  # bukan wewenang: back to routing for another agency
    CLOSED = "closed"
    # The citizen refused the response (TIDAK PUAS within 10 days of closing): back in
    # Setwapres' queue for a second look, which disposes it again or closes it with a note.
    REOPENED = "reopened"


class DeadlineKind(StrEnum):
    ANALYSIS = "analysis"  # Setwapres: 14 working days to analyse and forward
    AGENCY_RESPONSE = "agency_response"  # the agency's window to respond
    DOCUMENTS = "documents"  # the citizen's 10 days to send missing documents


class CaseAssignedPayload(StrictModel):
    case_id: uuid.UUID
    tracking_code: str
    agency_code: str
    agency_name: str
    rule_id: str
    due_at: AwareDatetime
    rule_version: int | None = Field(default=None, description="Version of the rule that chose")
    response_due_at: AwareDatetime | None = Field(
        default=None, description="End of the agency's response window (working days)"
    )
    previous_agency_code: str | None = Field(
        default=None, description="Set when a case is re-routed after 'not in remit'"
    )


class CaseAssigned(ComplaintEvent):
    event_type: Literal["CaseAssigned"] = "CaseAssigned"
    payload: CaseAssignedPayload


class CaseStatusChangedPayload(StrictModel):
    case_id: uuid.UUID
    tracking_code: str
    previous_status: CaseStatus | None
    status: CaseStatus
    actor: str = Field(description="Who changed it: an officer id, 'system' or 'scheduler'")
    reason: str | None = None
    agency_code: str
    agency_name: str
    note: str | None = Field(default=None, max_length=4000, description="Text for the citizen")
    documents_due_at: AwareDatetime | None = Field(
        default=None,
        description="Set when the case moves to awaiting_documents: the end of the citizen's"
        " window for the documents the agency asked for (10 calendar days from the request,"
        " Asia/Jakarta). Intake accepts additions until then; routing closes the case after.",
    )


class CaseStatusChanged(ComplaintEvent):
    event_type: Literal["CaseStatusChanged"] = "CaseStatusChanged"
    payload: CaseStatusChangedPayload


class CaseDeadlineApproachingPayload(StrictModel):
    case_id: uuid.UUID
    tracking_code: str
    deadline_kind: DeadlineKind
    due_at: AwareDatetime
    agency_code: str
    agency_name: str


class CaseDeadlineApproaching(ComplaintEvent):
    event_type: Literal["CaseDeadlineApproaching"] = "CaseDeadlineApproaching"
    payload: CaseDeadlineApproachingPayload


class CaseOverduePayload(StrictModel):
    case_id: uuid.UUID
    tracking_code: str
    deadline_kind: DeadlineKind
    due_at: AwareDatetime
    agency_code: str
    agency_name: str
    escalation_level: int = Field(ge=1, description="1: the agency's supervisor, 2: Setwapres")
    escalated_to: str
    escalation_email: str | None = Field(
        default=None,
        max_length=254,
        description="Where the notifier emails the escalation: level 1 the agency's supervisor"
        " (agency directory), level 2 Setwapres (a routing setting); None: nobody to email."
        " A staff address, not a citizen's, but kept out of logs all the same",
    )
    case_url: str | None = Field(
        default=None, max_length=2000, description="The case on routing's agency desk"
    )


class CaseOverdue(ComplaintEvent):
    event_type: Literal["CaseOverdue"] = "CaseOverdue"
    payload: CaseOverduePayload


class CaseReporterJoinedPayload(StrictModel):
    """A duplicate complaint joined an existing case: its reporter follows that case."""

    case_id: uuid.UUID
    tracking_code: str = Field(description="The duplicate complaint's own tracking code")
    original_tracking_code: str
    agency_code: str
    agency_name: str
    status: CaseStatus
    original_complaint_id: uuid.UUID | None = Field(
        default=None,
        description="The complaint the case was opened for: the case's later events are keyed"
        " by it, so intake and the notifier follow them for this reporter too",
    )


class CaseReporterJoined(ComplaintEvent):
    """Keyed by the duplicate complaint's id, so its reporter's stream stays in order."""

    event_type: Literal["CaseReporterJoined"] = "CaseReporterJoined"
    payload: CaseReporterJoinedPayload


class CasePublicSummaryPublishedPayload(StrictModel):
    """The case's public summary as back-office staff wrote it for the public (intake's
    Open311 view shows it as the request's description). Written for the public, so it is
    not personal data: staff are asked to leave out names, NIK, phone numbers and addresses."""

    case_id: uuid.UUID
    tracking_code: str
    agency_code: str
    summary: str | None = Field(
        max_length=1000,
        description="None: withdrawn (the public view shows the category's name again)",
    )
    published_by: str = Field(description="The officer or staff id who wrote it")


class CasePublicSummaryPublished(ComplaintEvent):
    event_type: Literal["CasePublicSummaryPublished"] = "CasePublicSummaryPublished"
    payload: CasePublicSummaryPublishedPayload


EVENTS = (
    CaseAssigned,
    CaseStatusChanged,
    CaseDeadlineApproaching,
    CaseOverdue,
    CaseReporterJoined,
    CasePublicSummaryPublished,
)
