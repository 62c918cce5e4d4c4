"""Intake's event handlers: keep the citizen-facing status read model from downstream events,
and the public view's facts (Open311: category, incident regency, public summary).

Reads: lapor.complaints.triaged.v1, lapor.cases.v1, lapor.notifications.v1.

Co-reporters: a complaint that joined another complaint's case (`CaseReporterJoined`) takes
the case's status, and every later case event (keyed by the original complaint) is applied to
it as well, under its own tracking code.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from schemas.events import Event, EventEnvelope
from schemas.events.routing import CaseReporterJoined
from services.intake.adapters import open311, repository
from services.intake.domain.complaints import (
    FOLLOWED_EVENT_TYPES,
    follower_event_id,
    joined_status,
    status_change,
)
from services.intake.domain.open311 import public_facts


async def update_statuses(events: list[Event], conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    """The consumer loop's batch handler: the whole batch's status changes in two statements
    (and, when the batch holds joins or cases with co-reporters, a few more)."""
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
    await open311.record_public_facts(conn, public_facts(events))
    await repository.follow_cases(conn, case_joins(events))
    await repository.apply_statuses(conn, updates)
    followed = [update for update in updates if update.event_type in FOLLOWED_EVENT_TYPES]
    if followed:
        followers = await repository.followers_of(conn, [u.complaint_id for u in followed])
        await repository.apply_statuses(conn, fan_out(followed, followers))
    return ()


def case_joins(events: Sequence[Event]) -> list[repository.CaseJoin]:
    """The batch's co-reporters joining a case (those routing named the case's complaint of)."""
    joins: list[repository.CaseJoin] = []
    for event in events:
        if isinstance(event, CaseReporterJoined) and event.payload.original_complaint_id:
            joins.append(
                repository.CaseJoin(
                    complaint_id=event.complaint_id,
                    original_complaint_id=event.payload.original_complaint_id,
                    case_id=event.payload.case_id,
                    joined_at=event.occurred_at,
                    status=joined_status(event),
                )
            )
    return joins


def fan_out(
    updates: Sequence[repository.StatusUpdate], followers: dict[uuid.UUID, list[uuid.UUID]]
) -> list[repository.StatusUpdate]:
    """Each case event's update again for every co-reporter's complaint, in the same order,
    with a timeline id of its own per complaint (the same on a replay)."""
    return [
        repository.StatusUpdate(
            event_id=follower_event_id(update.event_id, follower),
            complaint_id=follower,
            event_type=update.event_type,
            occurred_at=update.occurred_at,
            change=update.change,
        )
        for update in updates
        for follower in followers.get(update.complaint_id, ())
    ]


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
    "CaseReporterJoined",
    "CitizenNotified",
    "CasePublicSummaryPublished",  # the public view's summary (Open311)
)
HANDLERS = {event_type: update_status for event_type in STATUS_EVENT_TYPES}
BATCH_HANDLERS = {event_type: update_statuses for event_type in STATUS_EVENT_TYPES}
