"""`/v1/escalations/overdue`: every agency's overdue cases, for Setwapres administrators
(another agency's admin gets 403): which deadline, since when, and how far each has been
escalated (1: the agency's supervisor, 2: Setwapres; 0: not yet, the scan comes within a
minute)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from schemas.events.routing import CaseStatus, DeadlineKind
from services.routing.adapters import views
from services.routing.entrypoints.access import ADMIN_ONLY, Admin, Clock, PoolGetter
from services.routing.entrypoints.fields import AGENCY_PATTERN


class OverdueCase(BaseModel):
    case_id: uuid.UUID
    tracking_code: str
    agency_code: str
    agency_name: str
    status: CaseStatus
    priority: str
    deadline_kind: DeadlineKind
    round: int
    due_at: datetime
    escalation_level: int = Field(description="0: not escalated yet, 1: supervisor, 2: Setwapres")
    escalated_to: str | None = None
    escalated_at: datetime | None = None


class OverdueList(BaseModel):
    generated_at: datetime
    cases: list[OverdueCase]


def escalations_router(pool: PoolGetter, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["escalations"])

    @router.get("/v1/escalations/overdue", responses=ADMIN_ONLY)
    async def overdue_cases(
        _: Admin,
        agency_code: Annotated[str | None, Query(pattern=AGENCY_PATTERN)] = None,
        level: Annotated[int | None, Query(ge=0, le=2)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> OverdueList:
        """Open cases past a deadline across all agencies, the longest overdue first."""
        now = clock()
        wanted = views.OverdueFilter(agency_code, level, limit, offset)
        rows = await views.overdue_cases(pool(), wanted, now)
        return OverdueList(
            generated_at=now, cases=[OverdueCase.model_validate(dict(row)) for row in rows]
        )

    return router
