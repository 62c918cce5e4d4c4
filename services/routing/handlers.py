"""Routing's handlers: events from triage in, case events out (through the outbox), and the
commands officers and the scheduler give a case.

Reads: lapor.complaints.triaged.v1 (ComplaintAccepted, ComplaintDuplicateDetected).
Writes: lapor.cases.v1 (CaseAssigned, CaseStatusChanged, CaseReporterJoined,
CaseDeadlineApproaching, CaseOverdue).
"""

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
    CaseStatusChanged,
    CaseStatusChangedPayload,
    DeadlineKind,
)
from services.routing import repository
from services.routing.domain import (
    ANALYSIS_WORKING_DAYS,
    MANUAL_DISPOSITION,
    Action,
    Assignment,
    TransitionNotAllowed,
    choose_agency,
    documents_due,
    next_status,
)

PRODUCER = "routing"
MANUAL_RULE = "manual-disposition"


class CaseNotFound(Exception):
    """No such case, or not one the caller may see (the two are indistinguishable)."""


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
            summary=payload.summary,
            secret=payload.secret,
            agency_code=assignment.agency_code,
            rule_id=assignment.rule_id,
            rule_version=assignment.rule_version,
            due_at=calendar.add_working_days(event.occurred_at, ANALYSIS_WORKING_DAYS),
            created_at=event.occurred_at,
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
        history.append(
            (case.case_id, None, CaseStatus.ASSIGNED, case.agency_code, "system", reason, None)
        )
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
    rows = await conn.fetch(
        "UPDATE case_reporters r SET case_id = c.case_id FROM cases c"
        " WHERE r.original_complaint_id = ANY($1::uuid[]) AND r.case_id IS NULL"
        " AND c.complaint_id = r.original_complaint_id"
        " RETURNING r.complaint_id, r.tracking_code, r.correlation_id, r.cause_event_id,"
        " r.original_complaint_id",
        original_complaint_ids,
    )
    joined: dict[uuid.UUID, list[EventEnvelope]] = {}
    for row in rows:  # rare: a duplicate overtook its original
        joined.setdefault(row["original_complaint_id"], []).append(await _joined_event(conn, row))
    return joined


async def _joined_event(conn: asyncpg.Connection, reporter: asyncpg.Record) -> CaseReporterJoined:
    case = await conn.fetchrow(
        "SELECT c.case_id, c.tracking_code, c.agency_code, c.status, a.name AS agency_name"
        " FROM case_reporters r JOIN cases c USING (case_id)"
        " JOIN agencies a ON a.agency_code = c.agency_code WHERE r.complaint_id = $1",
        reporter["complaint_id"],
    )
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
        ),
    )


async def join_duplicate(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    """A duplicate joins the original's case as an extra reporter (or waits for that case)."""
    assert isinstance(event, ComplaintDuplicateDetected)
    original = await repository.case_for_complaint(conn, event.payload.original_complaint_id)
    inserted = await conn.fetchrow(
        "INSERT INTO case_reporters (complaint_id, tracking_code, original_complaint_id,"
        " correlation_id, cause_event_id, case_id) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (complaint_id) DO NOTHING"
        " RETURNING complaint_id, tracking_code, correlation_id, cause_event_id, case_id",
        event.complaint_id,
        event.payload.tracking_code,
        # Join the case itself, even when the original was a duplicate too.
        original["complaint_id"] if original else event.payload.original_complaint_id,
        event.correlation_id,
        event.event_id,
        original["case_id"] if original else None,
    )
    if inserted is None or inserted["case_id"] is None:
        return ()
    return (await _joined_event(conn, inserted),)


HANDLERS = {"ComplaintAccepted": open_case, "ComplaintDuplicateDetected": join_duplicate}
# Duplicates are few and rarely meet their original in one batch: they stay per event.
BATCH_HANDLERS = {"ComplaintAccepted": open_cases}


# --------------------------------------------------------------------------- commands


def _envelope(case: asyncpg.Record) -> dict[str, object]:
    return {
        "complaint_id": case["complaint_id"],
        "correlation_id": case["correlation_id"] or case["complaint_id"],
        "producer": PRODUCER,
    }


def status_changed(
    case: asyncpg.Record,
    agency_name: str,
    *,
    previous: str | None,
    status: CaseStatus,
    actor: str,
    reason: str | None,
    note: str | None,
    at: datetime,
) -> CaseStatusChanged:
    return CaseStatusChanged(
        **_envelope(case),
        occurred_at=at,
        payload=CaseStatusChangedPayload(
            case_id=case["case_id"],
            tracking_code=case["tracking_code"],
            previous_status=CaseStatus(previous) if previous else None,
            status=status,
            actor=actor,
            reason=reason,
            agency_code=case["agency_code"],
            agency_name=agency_name,
            note=note,
        ),
    )


async def apply_action(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    action: Action,
    *,
    actor: str,
    scope_agency: str | None,
    now: datetime,
    note: str | None = None,
    reason: str | None = None,
) -> list[EventEnvelope]:
    """Move a case one step; returns the events to publish (the caller enqueues them in the
    same transaction). Raises CaseNotFound outside the caller's agency, and
    TransitionNotAllowed for a step the lifecycle forbids."""
    case = await repository.lock_case(conn, case_id, scope_agency)
    if case is None:
        raise CaseNotFound(str(case_id))
    previous = CaseStatus(case["status"])
    target = next_status(previous, action)
    if action is Action.NOT_IN_REMIT and case["agency_code"] == MANUAL_DISPOSITION:
        raise TransitionNotAllowed(action, previous)  # Setwapres disposes instead
    agencies = await repository.agencies(conn)
    await conn.execute(
        "UPDATE cases SET status = $2, updated_at = $3,"
        " closed_at = CASE WHEN $2 = 'closed' THEN $3 ELSE closed_at END WHERE case_id = $1",
        case_id,
        target,
        now,
    )
    await repository.record_history(
        conn,
        case_id,
        previous_status=previous,
        status=target,
        agency_code=case["agency_code"],
        actor=actor,
        reason=reason,
        note=note,
    )
    if action is Action.REQUEST_DOCUMENTS:
        rounds = await conn.fetchval(
            "SELECT count(*) FROM case_deadlines WHERE case_id = $1 AND kind = 'documents'",
            case_id,
        )
        await repository.add_deadline(
            conn, case_id, DeadlineKind.DOCUMENTS, rounds + 1, documents_due(now)
        )
    elif action is Action.ACCEPT:
        await repository.meet_deadlines(conn, case_id, [DeadlineKind.DOCUMENTS], now)
    elif action in (Action.RESPOND, Action.NOT_IN_REMIT):
        await repository.meet_deadlines(conn, case_id, [DeadlineKind.AGENCY_RESPONSE], now)
        if action is Action.RESPOND:
            await repository.meet_deadlines(conn, case_id, [DeadlineKind.ANALYSIS], now)
    elif action is Action.CLOSE:
        await repository.meet_deadlines(conn, case_id, list(DeadlineKind), now)
    events: list[EventEnvelope] = [
        status_changed(
            case,
            agencies[case["agency_code"]].name,
            previous=previous,
            status=target,
            actor=actor,
            reason=reason,
            note=note,
            at=now,
        )
    ]
    if action is Action.NOT_IN_REMIT:
        excluded = await repository.declined_agencies(conn, case_id)
        assignment = choose_agency(
            await repository.active_rules(conn, case["category"]),
            case["category"],
            case["region_code"],
            set(agencies),
            priority=case["priority"],
            excluded=excluded,
        )
        events.append(
            await reassign(conn, case, assignment, actor="system", now=now, agencies=agencies)
        )
    return events


async def reassign(
    conn: asyncpg.Connection,
    case: asyncpg.Record,
    assignment: Assignment,
    *,
    actor: str,
    now: datetime,
    agencies: dict[str, repository.Agency],
) -> CaseAssigned:
    """Hand a case to another agency: a new round with a fresh response window."""
    agency = agencies[assignment.agency_code]
    calendar = await repository.calendar(conn)
    round_ = case["assignment_round"] + 1
    await conn.execute(
        "UPDATE cases SET agency_code = $2, rule_id = $3, rule_version = $4, status = 'assigned',"
        " assignment_round = $5, updated_at = $6 WHERE case_id = $1",
        case["case_id"],
        assignment.agency_code,
        assignment.rule_id,
        assignment.rule_version,
        round_,
        now,
    )
    await repository.record_history(
        conn,
        case["case_id"],
        previous_status=CaseStatus.NOT_IN_REMIT
        if case["agency_code"] != MANUAL_DISPOSITION
        else case["status"],
        status=CaseStatus.ASSIGNED,
        agency_code=assignment.agency_code,
        actor=actor,
        reason=f"rule {assignment.rule_id} v{assignment.rule_version}",
    )
    response_due = calendar.add_working_days(now, agency.response_working_days)
    if assignment.agency_code != MANUAL_DISPOSITION:
        await repository.add_deadline(
            conn, case["case_id"], DeadlineKind.AGENCY_RESPONSE, round_, response_due
        )
    if agency.via_sp4n:
        await repository.schedule_forwarding(conn, case["case_id"], round_, agency.agency_code, now)
    return CaseAssigned(
        **_envelope(case),
        occurred_at=now,
        payload=CaseAssignedPayload(
            case_id=case["case_id"],
            tracking_code=case["tracking_code"],
            agency_code=agency.agency_code,
            agency_name=agency.name,
            rule_id=assignment.rule_id,
            rule_version=assignment.rule_version,
            due_at=case["due_at"],
            response_due_at=response_due,
            previous_agency_code=case["agency_code"],
        ),
    )


async def dispose(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    agency_code: str,
    *,
    actor: str,
    now: datetime,
) -> list[EventEnvelope]:
    """Setwapres' manual disposition: a case in its queue goes to the agency it picks."""
    case = await repository.lock_case(conn, case_id, MANUAL_DISPOSITION)
    if case is None:
        raise CaseNotFound(str(case_id))
    agencies = await repository.agencies(conn)
    if agency_code not in agencies or agency_code == MANUAL_DISPOSITION:
        raise KeyError(agency_code)
    return [
        await reassign(
            conn,
            case,
            Assignment(agency_code, MANUAL_RULE, 1),
            actor=actor,
            now=now,
            agencies=agencies,
        )
    ]
