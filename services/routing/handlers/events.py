"""What routing's outgoing case events share: the producer, the envelope taken from the
case, and CaseStatusChanged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from schemas.events.routing import CaseStatus, CaseStatusChanged, CaseStatusChangedPayload
from services.routing.settings import SERVICE

PRODUCER = SERVICE


def envelope(case: asyncpg.Record) -> dict[str, Any]:
    """The ids an event about this case carries."""
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
        **envelope(case),
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
