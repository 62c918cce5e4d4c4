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
from datetime import UTC, datetime, timedelta

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
from services.routing.domain import Alert, OpenDeadline, alerts_due
from services.routing.handlers import PRODUCER, status_changed

log = logging.getLogger(__name__)
ALERTS_FIRED = Counter(
    "lapor_routing_deadline_alerts_total", "Deadline alerts fired", ["deadline_kind", "alert"]
)

SETWAPRES_NAME = "Sekretariat Wakil Presiden"
HORIZON = timedelta(days=21)  # deadlines further out cannot be approaching yet

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def scan_deadlines(pool: asyncpg.Pool, now: datetime) -> int:
    """Fire every alert due by `now`; returns how many fired. One transaction per case."""
    async with pool.acquire() as conn:
        case_ids = await conn.fetch(
            "SELECT DISTINCT d.case_id FROM case_deadlines d JOIN cases c USING (case_id)"
            " WHERE d.met_at IS NULL AND d.due_at <= $1 AND c.status <> 'closed'"
            # a deadline whose last alert has fired has nothing left to say
            " AND NOT EXISTS (SELECT 1 FROM deadline_alerts a WHERE a.case_id = d.case_id"
            " AND a.kind = d.kind AND a.round = d.round AND a.alert IN ('overdue-2', 'expired'))",
            now + HORIZON,
        )
        calendar = await repository.calendar(conn)
        agencies = await repository.agencies(conn)
    fired = 0
    for row in case_ids:
        async with pool.acquire() as conn, conn.transaction():
            case = await repository.lock_case(conn, row["case_id"], None)
            if case is None or case["status"] == CaseStatus.CLOSED:
                continue
            deadlines = await conn.fetch(
                "SELECT d.kind, d.round, d.due_at,"
                " coalesce(array_agg(a.alert) FILTER (WHERE a.alert IS NOT NULL), '{}') AS fired"
                " FROM case_deadlines d LEFT JOIN deadline_alerts a"
                " USING (case_id, kind, round)"
                " WHERE d.case_id = $1 AND d.met_at IS NULL GROUP BY 1, 2, 3",
                case["case_id"],
            )
            events: list[EventEnvelope] = []
            for deadline in deadlines:
                open_deadline = OpenDeadline(
                    DeadlineKind(deadline["kind"]),
                    deadline["due_at"],
                    frozenset(Alert(alert) for alert in deadline["fired"]),
                )
                for alert in alerts_due(open_deadline, now, calendar):
                    event = await _fire(conn, case, agencies, deadline, alert, now)
                    if event is not None:
                        events.append(event)
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
