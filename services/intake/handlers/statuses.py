"""Intake's event handlers: keep the citizen-facing status read model from downstream events.

Reads: lapor.complaints.triaged.v1, lapor.cases.v1, lapor.notifications.v1.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from schemas.events import Event, EventEnvelope
from services.intake.adapters import repository
from services.intake.domain.complaints import status_change


async def update_statuses(events: list[Event], conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    """The consumer loop's batch handler: the whole batch's status changes in two statements."""
    updates: list[repository.StatusUpdate] = []
    for event in events:
        change = status_change(event)
        if change is not None:
            updates.append(
                repository.StatusUpdate(
                    event_id=event.event_id,
                    complaint_id=event.complaint_id,
                    event_type=event.event_type,
                    occurred_at=event.occurred_at,
                    change=change,
                )
            )
    await repository.apply_statuses(conn, updates)
    return ()


async def update_status(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    return await update_statuses([event], conn)


STATUS_EVENT_TYPES = (
    "ComplaintAccepted",
    "ComplaintRejected",
    "ComplaintNeedsReview",
    "ComplaintDuplicateDetected",
    "CaseAssigned",
    "CaseStatusChanged",
    "CaseDeadlineApproaching",
    "CaseOverdue",
    "CitizenNotified",
)
HANDLERS = {event_type: update_status for event_type in STATUS_EVENT_TYPES}
BATCH_HANDLERS = {event_type: update_statuses for event_type in STATUS_EVENT_TYPES}
