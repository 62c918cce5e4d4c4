"""Routing's event handlers.

Reads: lapor.complaints.triaged.v1 (ComplaintAccepted).
Writes: lapor.cases.v1 (CaseAssigned), through the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from schemas.events import (
    CaseAssigned,
    CaseAssignedPayload,
    ComplaintAccepted,
    Event,
    EventEnvelope,
    follow_up_ids,
)
from services.routing import repository
from services.routing.domain import ANALYSIS_WORKING_DAYS, add_working_days, choose_agency

PRODUCER = "routing"


async def open_case(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    assert isinstance(event, ComplaintAccepted)
    payload = event.payload
    rules = await repository.active_rules(conn, payload.category.value)
    agencies = await repository.agency_names(conn)
    assignment = choose_agency(rules, payload.category.value, payload.region_code, set(agencies))
    case_id = uuid.uuid5(event.complaint_id, "case")
    due_at = add_working_days(event.occurred_at, ANALYSIS_WORKING_DAYS)
    created = await repository.insert_case(
        conn,
        case_id=case_id,
        complaint_id=event.complaint_id,
        tracking_code=payload.tracking_code,
        category=payload.category.value,
        priority=payload.priority.value,
        region_code=payload.region_code,
        agency_code=assignment.agency_code,
        rule_id=assignment.rule_id,
        due_at=due_at,
    )
    if not created:
        return ()
    return (
        CaseAssigned(
            **follow_up_ids(event, PRODUCER, "CaseAssigned"),
            payload=CaseAssignedPayload(
                case_id=case_id,
                tracking_code=payload.tracking_code,
                agency_code=assignment.agency_code,
                agency_name=agencies[assignment.agency_code],
                rule_id=assignment.rule_id,
                due_at=due_at,
            ),
        ),
    )


HANDLERS = {"ComplaintAccepted": open_case}
