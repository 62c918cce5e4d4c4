"""The deadline scan: fires CaseDeadlineApproaching and CaseOverdue, escalates overdue cases
(the agency's supervisor, then Setwapres), and closes cases whose missing documents never
came.

An escalation (CaseOverdue) names who it goes to and carries their address and the case's
link, so the notifier can email them: level 1 the agency's supervisor (the directory's
`supervisor_email`), level 2 Setwapres (`EscalationContacts`, from routing's settings).

Each alert is a row in `deadline_alerts` with a unique key, inserted in the same transaction
as its outbox event, and the event id is derived from that key: a restart, a second instance
or a replayed scan neither misses nor repeats an escalation.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from schemas.events import EventEnvelope
from schemas.events.routing import (
    CaseDeadlineApproaching,
    CaseDeadlineApproachingPayload,
    CaseOverdue,
    CaseOverduePayload,
    CaseStatus,
    DeadlineKind,
)
from services.messaging import outbox
from services.routing.adapters import repository
from services.routing.domain import (
    NO_CONTACTS,
    Action,
    Alert,
    Escalation,
    EscalationContacts,
    OpenDeadline,
    alert_window,
    alerts_due,
    escalation_for,
    next_alert,
)
from services.routing.handlers.commands import Step, change_status
from services.routing.handlers.events import envelope
from services.routing.observability import ALERTS_FIRED

DOCUMENTS_NOT_RECEIVED = "Dokumen pendukung tidak diterima dalam 10 hari; laporan tidak diproses."


async def scan_deadlines(
    pool: asyncpg.Pool, now: datetime, contacts: EscalationContacts = NO_CONTACTS
) -> int:
    """Fire every alert due by `now`; returns how many fired. One transaction per case.

    Only cases with an alert due are visited: each open deadline keeps its next alert
    (migration 0005), and the candidates are an index range per next alert, bounded by the
    due time at which that alert is reached (computed here, so calendar edits count at once).
    """
    async with pool.acquire() as conn:
        reference = await repository.reference_data(conn)
        window = alert_window(now, reference.calendar)
        case_ids = await repository.cases_with_alerts_due(conn, window)
    fired = 0
    for case_id in case_ids:
        async with pool.acquire() as conn, conn.transaction():
            events = await _alert_case(conn, case_id, reference, contacts, now)
            await outbox.enqueue(conn, events)
        fired += len(events)
    return fired


async def _alert_case(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    reference: repository.ReferenceData,
    contacts: EscalationContacts,
    now: datetime,
) -> list[EventEnvelope]:
    """The alerts of one case's open deadlines, each deadline moved on to its next alert."""
    case = await repository.lock_case(conn, case_id, None)
    if case is None:
        return []
    if case["status"] == CaseStatus.CLOSED:  # nothing left to say: out of the window
        await repository.silence_deadlines(conn, case_id)
        return []
    events: list[EventEnvelope] = []
    moved: list[repository.NextAlertRow] = []
    agency = reference.agencies[case["agency_code"]]
    for deadline in await repository.open_deadlines(conn, case_id):
        open_deadline = OpenDeadline(
            DeadlineKind(deadline["kind"]),
            deadline["due_at"],
            frozenset(Alert(alert) for alert in deadline["fired"]),
        )
        due = alerts_due(open_deadline, now, reference.calendar)
        for alert in due:
            event = await _fire(conn, case, agency, deadline, alert, contacts, now)
            if event is not None:
                events.append(event)
        following = next_alert(open_deadline.kind, open_deadline.fired.union(due))
        if following != deadline["next_alert"]:
            moved.append((case_id, deadline["kind"], deadline["round"], following))
    # Out of the scan's window until the next alert's moment comes.
    await repository.set_next_alerts(conn, moved)
    return events


async def _fire(
    conn: asyncpg.Connection,
    case: asyncpg.Record,
    agency: repository.Agency,
    deadline: asyncpg.Record,
    alert: Alert,
    contacts: EscalationContacts,
    now: datetime,
) -> EventEnvelope | None:
    """One alert, once: None when it was fired before."""
    escalation = escalation_for(
        alert,
        agency.name,
        agency.supervisor,
        agency.supervisor_email,
        contacts,
        case["case_id"],
    )
    escalated_to = escalation.to if escalation else None
    if not await repository.record_alert(conn, case["case_id"], deadline, alert, escalated_to, now):
        return None
    ALERTS_FIRED.labels(deadline["kind"], alert.value).inc()
    event_id = uuid.uuid5(case["case_id"], f"{deadline['kind']}:{deadline['round']}:{alert.value}")
    if alert is Alert.DOCUMENTS_EXPIRED:
        step = Step(
            "scheduler", now, reason="documents_not_received", notice=DOCUMENTS_NOT_RECEIVED
        )
        closed = await change_status(conn, case, Action.DOCUMENTS_NOT_RECEIVED, agency.name, step)
        return closed.model_copy(update={"event_id": event_id})
    return alert_event(case, agency, deadline, escalation, event_id, now)


def alert_event(
    case: Mapping[str, Any],
    agency: repository.Agency,
    deadline: Mapping[str, Any],
    escalation: Escalation | None,
    event_id: uuid.UUID,
    now: datetime,
) -> CaseDeadlineApproaching | CaseOverdue:
    """The event of an alert: approaching without an escalation, overdue with one."""
    ids = {**envelope(case), "event_id": event_id, "occurred_at": now}
    kind = DeadlineKind(deadline["kind"])
    if escalation is None:
        return CaseDeadlineApproaching(
            **ids,
            payload=CaseDeadlineApproachingPayload(
                case_id=case["case_id"],
                tracking_code=case["tracking_code"],
                deadline_kind=kind,
                due_at=deadline["due_at"],
                agency_code=agency.agency_code,
                agency_name=agency.name,
            ),
        )
    return CaseOverdue(
        **ids,
        payload=CaseOverduePayload(
            case_id=case["case_id"],
            tracking_code=case["tracking_code"],
            deadline_kind=kind,
            due_at=deadline["due_at"],
            agency_code=agency.agency_code,
            agency_name=agency.name,
            escalation_level=escalation.level,
            escalated_to=escalation.to,
            escalation_email=escalation.email,
            case_url=escalation.case_url,
        ),
    )
