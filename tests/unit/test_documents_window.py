"""The citizen's window for documents, pure: it counts from the agency's request, routing
and intake agree on its end, and an addition ends a wait for documents (issue 14)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import Language
from schemas.events.routing import (
    CaseStatus,
    CaseStatusChanged,
    CaseStatusChangedPayload,
    DeadlineKind,
)
from services.intake.domain import ownership
from services.intake.domain.complaints import status_change
from services.intake.handlers.follow_ups import window_closed_message
from services.routing.domain import (
    DEADLINES_MET,
    JAKARTA,
    Action,
    Alert,
    OpenDeadline,
    TransitionNotAllowed,
    alerts_due,
    documents_due,
    next_status,
    resumes_on_addition,
)

FILED = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 08:00 WIB
ASKED = FILED + timedelta(days=5)  # the agency asks for documents on day 5


def test_an_addition_ends_a_wait_for_documents_and_nothing_else() -> None:
    assert next_status(CaseStatus.AWAITING_DOCUMENTS, Action.DOCUMENTS_RECEIVED) is (
        CaseStatus.IN_PROGRESS
    )
    assert DEADLINES_MET[Action.DOCUMENTS_RECEIVED] == (DeadlineKind.DOCUMENTS,)
    for status in CaseStatus:
        resumes = resumes_on_addition(status)
        assert resumes is (status is CaseStatus.AWAITING_DOCUMENTS)
        if not resumes:
            with pytest.raises(TransitionNotAllowed):
                next_status(status, Action.DOCUMENTS_RECEIVED)


def test_the_window_counts_from_the_agencys_request_not_from_filing() -> None:
    due = documents_due(ASKED)
    assert due == datetime(2026, 11, 17, 23, 59, 59, tzinfo=JAKARTA)  # day 15 after filing
    day_12 = FILED + timedelta(days=12)
    # Without a request, day 12 is past the 10 days after filing.
    assert not ownership.update_window_open(FILED, day_12, 10)
    assert ownership.update_window_open(FILED, day_12, 10, due)
    assert ownership.update_window_open(FILED, due, 10, due)  # its last second included
    assert not ownership.update_window_open(FILED, due + timedelta(seconds=1), 10, due)
    assert ownership.update_window_closes(FILED, 10, due) == due
    # An early request never shortens the 10 days after filing.
    early = documents_due(FILED - timedelta(days=3))
    assert ownership.update_window_closes(FILED, 10, early) == FILED + timedelta(days=10)
    assert ownership.update_window_open(FILED, FILED + timedelta(days=9), 10, early)


def test_intake_closes_the_window_exactly_when_routing_expires_the_documents() -> None:
    due = documents_due(ASKED)
    deadline = OpenDeadline(DeadlineKind.DOCUMENTS, due)
    for moment in (due - timedelta(seconds=1), due, due + timedelta(seconds=1)):
        expired = Alert.DOCUMENTS_EXPIRED in alerts_due(deadline, moment)
        assert expired is not ownership.update_window_open(FILED, moment, 10, due), moment


def test_intake_learns_the_window_from_the_status_change() -> None:
    complaint_id = uuid.uuid4()
    due = documents_due(ASKED)
    event = CaseStatusChanged(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="routing",
        payload=CaseStatusChangedPayload(
            case_id=complaint_id,
            tracking_code="LPR-AAAA-BBBB-CCC",
            previous_status=CaseStatus.IN_PROGRESS,
            status=CaseStatus.AWAITING_DOCUMENTS,
            actor="officer-1",
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
            documents_due_at=due,
        ),
    )
    change = status_change(event)
    assert change is not None and change.documents_due_at == due


def test_the_refusal_states_the_date_in_wib() -> None:
    due = documents_due(ASKED)
    assert window_closed_message(due, Language.INDONESIAN) == (
        "tambahan untuk laporan ini hanya diterima sampai 17 Nov 2026 23.59 WIB"
    )
    assert window_closed_message(due, Language.ENGLISH).endswith("until 17 Nov 2026 23:59 WIB")
