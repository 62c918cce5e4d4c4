"""Triage's decisions in, cases out: ComplaintAccepted opens a case (CaseAssigned), a
ComplaintDuplicateDetected joins the original's case (CaseReporterJoined), or waits for it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.events import (
    CaseAssigned,
    CaseAssignedPayload,
    ComplaintAccepted,
    ComplaintDuplicateDetected,
    Event,
    EventEnvelope,
    follow_up_ids,
)
from schemas.events.routing import (
    CaseReporterJoined,
    CaseReporterJoinedPayload,
    CaseStatus,
    DeadlineKind,
)
from services.routing.adapters import repository
from services.routing.domain import (
    ANALYSIS_WORKING_DAYS,
    MANUAL_DISPOSITION,
    OPENING_STATUS,
    choose_agency,
)
from services.routing.handlers.events import PRODUCER


@dataclass(frozen=True)
class _Opening:
    """What one ComplaintAccepted decides, before anything is written."""

    event: ComplaintAccepted
    case: repository.NewCase
    agency: repository.Agency
    response_due: datetime


def _plan_case(event: ComplaintAccepted, reference: repository.ReferenceData) -> _Opening:
    payload = event.payload
    calendar = reference.calendar
    assignment = choose_agency(
        reference.rules,
        payload.category.value,
        payload.region_code,
        set(reference.agencies),
        priority=payload.priority.value,
    )
    agency = reference.agencies[assignment.agency_code]
    return _Opening(
        event=event,
        case=repository.NewCase(
            case_id=uuid.uuid5(event.complaint_id, "case"),
            complaint_id=event.complaint_id,
            correlation_id=event.correlation_id,
            tracking_code=payload.tracking_code,
            category=payload.category.value,
            priority=payload.priority.value,
            channel=payload.channel.value,
            region_code=payload.region_code,
            region_source=payload.region_source,
            summary=payload.summary,
            secret=payload.secret,
            agency_code=assignment.agency_code,
            rule_id=assignment.rule_id,
            rule_version=assignment.rule_version,
            due_at=calendar.add_working_days(event.occurred_at, ANALYSIS_WORKING_DAYS),
            created_at=event.occurred_at,
            status=OPENING_STATUS,
        ),
        agency=agency,
        response_due=calendar.add_working_days(event.occurred_at, agency.response_working_days),
    )


async def open_cases(events: list[Event], conn: asyncpg.Connection) -> list[EventEnvelope]:
    """The consumer loop's batch handler for ComplaintAccepted: the batch's cases, history,
    deadlines and forwardings in one statement each, with the same effects and events as
    `open_case` one event at a time."""
    reference = await repository.reference_data(conn)
    openings: list[_Opening] = []
    seen: set[uuid.UUID] = set()
    for event in events:
        assert isinstance(event, ComplaintAccepted)
        # One by one, a second acceptance of a complaint would find its case: no effect.
        if event.complaint_id not in seen:
            seen.add(event.complaint_id)
            openings.append(_plan_case(event, reference))
    created = await repository.insert_cases(conn, [opening.case for opening in openings])
    openings = [opening for opening in openings if opening.case.complaint_id in created]
    if not openings:
        return []
    history: list[repository.HistoryRow] = []
    deadlines: list[repository.DeadlineRow] = []
    forwardings: list[repository.ForwardingRow] = []
    for opening in openings:
        case = opening.case
        reason = f"rule {case.rule_id} v{case.rule_version}"
        history.append((case.case_id, None, case.status, case.agency_code, "system", reason, None))
        deadlines.append((case.case_id, DeadlineKind.ANALYSIS, 1, case.due_at))
        if case.agency_code != MANUAL_DISPOSITION:
            deadlines.append((case.case_id, DeadlineKind.AGENCY_RESPONSE, 1, opening.response_due))
        if opening.agency.via_sp4n:
            forwardings.append((case.case_id, 1, case.agency_code, case.created_at))
    await repository.record_histories(conn, history)
    await repository.add_deadlines(conn, deadlines)
    await repository.schedule_forwardings(conn, forwardings)
    joined = await _attach_waiting_duplicates(
        conn, [opening.case.complaint_id for opening in openings]
    )
    outgoing: list[EventEnvelope] = []
    for opening in openings:
        event, case = opening.event, opening.case
        outgoing.append(
            CaseAssigned(
                **follow_up_ids(event, PRODUCER, "CaseAssigned"),
                payload=CaseAssignedPayload(
                    case_id=case.case_id,
                    tracking_code=case.tracking_code,
                    agency_code=case.agency_code,
                    agency_name=opening.agency.name,
                    rule_id=case.rule_id,
                    due_at=case.due_at,
                    rule_version=case.rule_version,
                    response_due_at=opening.response_due,
                ),
            )
        )
        outgoing.extend(joined.get(case.complaint_id, ()))
    return outgoing


async def open_case(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    return await open_cases([event], conn)


async def _attach_waiting_duplicates(
    conn: asyncpg.Connection, original_complaint_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[EventEnvelope]]:
    """Duplicates that arrived before their original's case now join it, by original."""
    rows = await repository.attach_waiting_reporters(conn, original_complaint_ids)
    joined: dict[uuid.UUID, list[EventEnvelope]] = {}
    for row in rows:  # rare: a duplicate overtook its original
        joined.setdefault(row["original_complaint_id"], []).append(await _joined_event(conn, row))
    return joined


async def _joined_event(conn: asyncpg.Connection, reporter: asyncpg.Record) -> CaseReporterJoined:
    case = await repository.case_of_reporter(conn, reporter["complaint_id"])
    return CaseReporterJoined(
        event_id=uuid.uuid5(reporter["cause_event_id"], "CaseReporterJoined"),
        complaint_id=reporter["complaint_id"],
        correlation_id=reporter["correlation_id"],
        causation_id=reporter["cause_event_id"],
        producer=PRODUCER,
        payload=CaseReporterJoinedPayload(
            case_id=case["case_id"],
            tracking_code=reporter["tracking_code"],
            original_tracking_code=case["tracking_code"],
            agency_code=case["agency_code"],
            agency_name=case["agency_name"],
            status=CaseStatus(case["status"]),
            original_complaint_id=case["complaint_id"],
        ),
    )


async def join_duplicate(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    """A duplicate joins the original's case as an extra reporter (or waits for that case)."""
    assert isinstance(event, ComplaintDuplicateDetected)
    original = await repository.case_for_complaint(conn, event.payload.original_complaint_id)
    inserted = await repository.add_reporter(
        conn,
        complaint_id=event.complaint_id,
        tracking_code=event.payload.tracking_code,
        # Join the case itself, even when the original was a duplicate too.
        original_complaint_id=original["complaint_id"]
        if original
        else event.payload.original_complaint_id,
        correlation_id=event.correlation_id,
        cause_event_id=event.event_id,
        case_id=original["case_id"] if original else None,
    )
    if inserted is None or inserted["case_id"] is None:
        return ()
    return (await _joined_event(conn, inserted),)
