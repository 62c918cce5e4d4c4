"""The deadline scheduler: a background job that fires CaseDeadlineApproaching and
CaseOverdue, escalates overdue cases (the agency's supervisor, then Setwapres), and closes
cases whose missing documents never came.

Each alert is a row in `deadline_alerts` with a unique key, inserted in the same transaction
as its outbox event, and the event id is derived from that key: a restart, a second instance
or a replayed scan neither misses nor repeats an escalation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
from prometheus_client import Counter

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
from services.routing import repository
from services.routing.domain import Alert, OpenDeadline, alert_window, alerts_due, next_alert
from services.routing.handlers import PRODUCER, status_changed

log = logging.getLogger(__name__)
ALERTS_FIRED = Counter(
    "lapor_routing_deadline_alerts_total", "Deadline alerts fired", ["deadline_kind", "alert"]
)

SETWAPRES_NAME = "Sekretariat Wakil Presiden"

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def scan_deadlines(pool: asyncpg.Pool, now: datetime) -> int:
    """Fire every alert due by `now`; returns how many fired. One transaction per case.

    Only cases with an alert due are visited: each open deadline keeps its next alert
    (migration 0005), and the candidates are an index range per next alert, bounded by the
    due time at which that alert is reached (computed here, so calendar edits count at once).
    """
    async with pool.acquire() as conn:
        reference = await repository.reference_data(conn)
        window = alert_window(now, reference.calendar)
        case_ids = await conn.fetch(
            # No join with cases: that made the planner read every case; closing a case meets
            # its deadlines, and a closed case found here anyway is dropped below.
            "SELECT DISTINCT case_id FROM case_deadlines"
            " WHERE met_at IS NULL AND next_alert IS NOT NULL"
            " AND ((next_alert = 'approaching' AND due_at < $1)"
            " OR (next_alert IN ('overdue-1', 'expired') AND due_at < $2)"
            " OR (next_alert = 'overdue-2' AND due_at < $3))",
            window.approaching,
            window.overdue,
            window.setwapres,
        )
    calendar, agencies = reference.calendar, reference.agencies
    fired = 0
    for row in case_ids:
        async with pool.acquire() as conn, conn.transaction():
            case = await repository.lock_case(conn, row["case_id"], None)
            if case is None:
                continue
            if case["status"] == CaseStatus.CLOSED:  # nothing left to say: out of the window
                await conn.execute(
                    "UPDATE case_deadlines SET next_alert = NULL"
                    " WHERE case_id = $1 AND met_at IS NULL",
                    case["case_id"],
                )
                continue
            deadlines = await conn.fetch(
                "SELECT d.kind, d.round, d.due_at, d.next_alert,"
                " coalesce(array_agg(a.alert) FILTER (WHERE a.alert IS NOT NULL), '{}') AS fired"
                " FROM case_deadlines d LEFT JOIN deadline_alerts a"
                " USING (case_id, kind, round)"
                " WHERE d.case_id = $1 AND d.met_at IS NULL GROUP BY 1, 2, 3, 4",
                case["case_id"],
            )
            events: list[EventEnvelope] = []
            moved: list[tuple[uuid.UUID, str, int, str | None]] = []
            for deadline in deadlines:
                open_deadline = OpenDeadline(
                    DeadlineKind(deadline["kind"]),
                    deadline["due_at"],
                    frozenset(Alert(alert) for alert in deadline["fired"]),
                )
                due = alerts_due(open_deadline, now, calendar)
                for alert in due:
                    event = await _fire(conn, case, agencies, deadline, alert, now)
                    if event is not None:
                        events.append(event)
                following = next_alert(open_deadline.kind, open_deadline.fired.union(due))
                if following != deadline["next_alert"]:
                    moved.append((case["case_id"], deadline["kind"], deadline["round"], following))
            if moved:
                # Out of the scan's window until the next alert's moment comes.
                await conn.executemany(
                    "UPDATE case_deadlines SET next_alert = $4"
                    " WHERE case_id = $1 AND kind = $2 AND round = $3",
                    moved,
                )
            await outbox.enqueue(conn, events)
            fired += len(events)
    return fired


async def _fire(
    conn: asyncpg.Connection,
    case: asyncpg.Record,
    agencies: dict[str, repository.Agency],
    deadline: asyncpg.Record,
    alert: Alert,
    now: datetime,
) -> EventEnvelope | None:
    agency = agencies[case["agency_code"]]
    escalated_to = {
        Alert.OVERDUE_SUPERVISOR: agency.supervisor or f"Pimpinan {agency.name}",
        Alert.OVERDUE_SETWAPRES: SETWAPRES_NAME,
    }.get(alert)
    inserted = await conn.fetchval(
        "INSERT INTO deadline_alerts (case_id, kind, round, alert, escalated_to, fired_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
        case["case_id"],
        deadline["kind"],
        deadline["round"],
        alert,
        escalated_to,
        now,
    )
    if not inserted:
        return None
    ALERTS_FIRED.labels(deadline["kind"], alert.value).inc()
    key = f"{deadline['kind']}:{deadline['round']}:{alert.value}"
    envelope = {
        "event_id": uuid.uuid5(case["case_id"], key),
        "complaint_id": case["complaint_id"],
        "correlation_id": case["correlation_id"] or case["complaint_id"],
        "producer": PRODUCER,
        "occurred_at": now,
    }
    kind = DeadlineKind(deadline["kind"])
    if alert is Alert.APPROACHING:
        return CaseDeadlineApproaching(
            **envelope,
            payload=CaseDeadlineApproachingPayload(
                case_id=case["case_id"],
                tracking_code=case["tracking_code"],
                deadline_kind=kind,
                due_at=deadline["due_at"],
                agency_code=agency.agency_code,
                agency_name=agency.name,
            ),
        )
    if alert is Alert.DOCUMENTS_EXPIRED:
        await conn.execute(
            "UPDATE cases SET status = 'closed', closed_at = $2, updated_at = $2"
            " WHERE case_id = $1",
            case["case_id"],
            now,
        )
        await conn.execute(
            "UPDATE case_deadlines SET met_at = $2 WHERE case_id = $1 AND met_at IS NULL",
            case["case_id"],
            now,
        )
        reason = "documents_not_received"
        await repository.record_history(
            conn,
            case["case_id"],
            previous_status=case["status"],
            status=CaseStatus.CLOSED,
            agency_code=agency.agency_code,
            actor="scheduler",
            reason=reason,
        )
        changed = status_changed(
            case,
            agency.name,
            previous=case["status"],
            status=CaseStatus.CLOSED,
            actor="scheduler",
            reason=reason,
            note="Dokumen pendukung tidak diterima dalam 10 hari; laporan tidak diproses.",
            at=now,
        )
        return changed.model_copy(update={"event_id": envelope["event_id"]})
    assert escalated_to is not None
    return CaseOverdue(
        **envelope,
        payload=CaseOverduePayload(
            case_id=case["case_id"],
            tracking_code=case["tracking_code"],
            deadline_kind=kind,
            due_at=deadline["due_at"],
            agency_code=agency.agency_code,
            agency_name=agency.name,
            escalation_level=1 if alert is Alert.OVERDUE_SUPERVISOR else 2,
            escalated_to=escalated_to,
        ),
    )


def deadline_job(
    pool: Callable[[], asyncpg.Pool], clock: Clock = system_clock, interval: float = 30.0
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A ServiceRuntime background job scanning deadlines every `interval` seconds."""

    async def deadline_scheduler(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                fired = await scan_deadlines(pool(), clock())
                if fired:
                    log.info("deadline alerts fired", extra={"count": fired})
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("deadline scan failed; retrying", extra={"error": repr(error)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    return deadline_scheduler
