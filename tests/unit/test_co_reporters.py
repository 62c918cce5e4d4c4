"""Co-reporters (issue 14): a reporter whose complaint joined another complaint's case follows
that case. Pure parts: the notifier's fan-out of a case event to the co-reporters, and intake's
mapping of case events onto the co-reporters' complaints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from schemas.events import Event
from schemas.events.routing import (
    CaseDeadlineApproaching,
    CaseDeadlineApproachingPayload,
    CaseReporterJoined,
    CaseReporterJoinedPayload,
    CaseStatus,
    CaseStatusChanged,
    CaseStatusChangedPayload,
    DeadlineKind,
)
from services.intake.adapters.repository import StatusUpdate
from services.intake.domain.complaints import follower_event_id, joined_status, status_change
from services.intake.handlers.statuses import case_joins, fan_out
from services.notifier.domain.co_reporters import (
    CoReporter,
    co_reporter_messages,
    co_reporter_trigger_id,
)
from services.notifier.domain.events import notification_id_for
from services.notifier.domain.rules import OutboundChannel, message_for

CASE_CODE = "LPR-AAAA-AAAA-AAA"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ORIGINAL = uuid.uuid4()
CASE = uuid.uuid4()


def status_changed(status: CaseStatus, at: datetime = T0) -> CaseStatusChanged:
    return CaseStatusChanged(
        complaint_id=ORIGINAL,
        correlation_id=ORIGINAL,
        producer="routing",
        occurred_at=at,
        payload=CaseStatusChangedPayload(
            case_id=CASE,
            tracking_code=CASE_CODE,
            previous_status=CaseStatus.RESPONDED,
            status=status,
            actor="officer-1",
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
            note="Sertifikat sudah terbit.",
        ),
    )


def joined(complaint_id: uuid.UUID, code: str, status: CaseStatus, at: datetime = T0) -> Event:
    return CaseReporterJoined(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="routing",
        occurred_at=at,
        payload=CaseReporterJoinedPayload(
            case_id=CASE,
            tracking_code=code,
            original_tracking_code=CASE_CODE,
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
            status=status,
            original_complaint_id=ORIGINAL,
        ),
    )


# --------------------------------------------------------------------------- notifier


def test_each_co_reporter_gets_the_closing_message_under_their_own_code_once() -> None:
    first = CoReporter(uuid.uuid4(), "LPR-BBBB-BBBB-BBB", T0 - timedelta(days=2))
    second = CoReporter(uuid.uuid4(), "LPR-CCCC-CCCC-CCC", T0 - timedelta(hours=1))
    closing = status_changed(CaseStatus.CLOSED)

    planned = co_reporter_messages(closing, [first, second])

    assert [p.complaint_id for p in planned] == [first.complaint_id, second.complaint_id]
    original_message = message_for(closing)
    assert original_message is not None
    for reporter, p in zip((first, second), planned, strict=True):
        assert p.message.template == "closed"
        assert p.message.context["tracking_code"] == reporter.tracking_code
        assert p.message.context["case_tracking_code"] == CASE_CODE
        assert p.message.context["note"] == original_message.context["note"]
    # One trigger per event and co-reporter, never the original's, and the same on a replay.
    triggers = {p.trigger_event_id for p in planned}
    assert len(triggers) == 2 and closing.event_id not in triggers
    assert [p.trigger_event_id for p in co_reporter_messages(closing, [first, second])] == [
        p.trigger_event_id for p in planned
    ]
    ids = {notification_id_for(t, OutboundChannel.SMS) for t in triggers}
    assert notification_id_for(closing.event_id, OutboundChannel.SMS) not in ids


def test_a_co_reporter_hears_only_what_happened_from_their_join_on() -> None:
    early = CoReporter(uuid.uuid4(), "LPR-BBBB-BBBB-BBB", T0 - timedelta(days=1))
    late = CoReporter(uuid.uuid4(), "LPR-CCCC-CCCC-CCC", T0 + timedelta(minutes=1))
    planned = co_reporter_messages(status_changed(CaseStatus.IN_PROGRESS), [early, late])
    assert [p.complaint_id for p in planned] == [early.complaint_id]


def test_co_reporters_hear_only_what_the_original_reporter_hears() -> None:
    reporter = CoReporter(uuid.uuid4(), "LPR-BBBB-BBBB-BBB", T0 - timedelta(days=1))
    # Re-routing is internal: no message to anyone.
    assert co_reporter_messages(status_changed(CaseStatus.NOT_IN_REMIT), [reporter]) == []
    internal = CaseDeadlineApproaching(
        complaint_id=ORIGINAL,
        correlation_id=ORIGINAL,
        producer="routing",
        occurred_at=T0,
        payload=CaseDeadlineApproachingPayload(
            case_id=CASE,
            tracking_code=CASE_CODE,
            deadline_kind=DeadlineKind.AGENCY_RESPONSE,
            due_at=T0,
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
        ),
    )
    assert co_reporter_messages(internal, [reporter]) == []
    # The join itself is the co-reporter's own event (keyed by their complaint): not fanned.
    assert co_reporter_messages(joined(uuid.uuid4(), "X", CaseStatus.ASSIGNED), [reporter]) == []


def test_the_join_tells_the_co_reporter_the_case_and_its_status() -> None:
    event = joined(uuid.uuid4(), "LPR-BBBB-BBBB-BBB", CaseStatus.AWAITING_DOCUMENTS)
    message = message_for(event)
    assert message is not None and message.template == "joined"
    assert message.context == {
        "tracking_code": "LPR-BBBB-BBBB-BBB",
        "case_tracking_code": CASE_CODE,
        "agency_name": "Kementerian ATR/BPN",
        "status": "awaiting_documents",
    }


def test_co_reporter_trigger_ids_differ_per_reporter() -> None:
    event_id = uuid.uuid4()
    a, b = uuid.uuid4(), uuid.uuid4()
    assert co_reporter_trigger_id(event_id, a) != co_reporter_trigger_id(event_id, b)
    assert co_reporter_trigger_id(event_id, a) == co_reporter_trigger_id(event_id, a)


# --------------------------------------------------------------------------- intake


def update_of(event: Event) -> StatusUpdate:
    change = status_change(event)
    assert change is not None
    return StatusUpdate(
        event.event_id, event.complaint_id, event.event_type, event.occurred_at, change
    )


def test_a_join_is_a_timeline_entry_and_takes_the_case_status_as_fallback() -> None:
    co = uuid.uuid4()
    event = joined(co, "LPR-BBBB-BBBB-BBB", CaseStatus.IN_PROGRESS)
    change = status_change(event)
    assert change is not None and change.rank < 0  # the status is set by the join itself
    assert change.detail == f"joined report {CASE_CODE}"
    (join,) = case_joins([event, status_changed(CaseStatus.CLOSED)])
    assert (join.complaint_id, join.original_complaint_id, join.case_id) == (co, ORIGINAL, CASE)
    assert join.status == joined_status(event)
    assert (join.status.status, join.status.rank) == ("in_progress", 20)
    closed = joined_status(joined(co, "X", CaseStatus.CLOSED))
    assert (closed.status, closed.rank) == ("closed", 50)


def test_a_join_from_an_older_routing_without_the_original_is_only_a_timeline_entry() -> None:
    event = joined(uuid.uuid4(), "LPR-BBBB-BBBB-BBB", CaseStatus.ASSIGNED)
    assert isinstance(event, CaseReporterJoined)
    old = event.model_copy(
        update={"payload": event.payload.model_copy(update={"original_complaint_id": None})}
    )
    assert case_joins([old]) == []


def test_case_events_are_applied_to_every_follower_in_order_with_ids_of_their_own() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    in_progress = update_of(status_changed(CaseStatus.IN_PROGRESS))
    closing = update_of(status_changed(CaseStatus.CLOSED, T0 + timedelta(days=3)))
    other = update_of(
        status_changed(CaseStatus.CLOSED).model_copy(update={"complaint_id": uuid.uuid4()})
    )
    fanned = fan_out([in_progress, closing, other], {ORIGINAL: [a, b]})
    assert [(u.complaint_id, u.change.status) for u in fanned] == [
        (a, "in_progress"),
        (b, "in_progress"),
        (a, "closed"),
        (b, "closed"),
    ]
    assert fanned[2].event_id == follower_event_id(closing.event_id, a)
    assert len({u.event_id for u in fanned}) == 4
    assert not {u.event_id for u in fanned} & {in_progress.event_id, closing.event_id}
    assert fan_out([in_progress], {}) == []
