"""Escalations, for Setwapres administrators (another agency's admin gets 403) and the
back office's staff (disposition: the lists; admin: the contacts; an agency supervisor: their
own agency's overdue cases):

- `/v1/escalations/overdue`: every agency's overdue cases: which deadline, since when, and how
  far each has been escalated (1: the agency's supervisor, 2: Setwapres; 0: not yet, the scan
  comes within a minute);
- `/v1/agencies/{agency_code}/escalation`: who an agency's overdue cases escalate to first,
  and the address they are emailed at (the directory file sets the same columns);
- `/v1/reopened`: cases a citizen refused (TIDAK PUAS within 10 days of closing), back in
  Setwapres' queue for a second look: dispose them again (`/v1/desk/cases/{id}/dispose`) or
  close them with a note (`/v1/desk/cases/{id}/close`)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from schemas.events.routing import CaseStatus, DeadlineKind
from services.routing.adapters import views
from services.routing.adapters.directory import EMAIL
from services.routing.domain import Grant
from services.routing.entrypoints.access import (
    ADMIN_ONLY,
    DISPOSITION_ONLY,
    Admin,
    Caller,
    Clock,
    Disposer,
    PoolGetter,
)
from services.routing.entrypoints.agencies import NO_AGENCY, AgencyPath
from services.routing.entrypoints.fields import AGENCY_PATTERN, Text
from services.routing.handlers import admin
from services.runtime.http_problems import UNREADABLE_BODY

log = logging.getLogger(__name__)


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


class ReopenedCase(BaseModel):
    case_id: uuid.UUID
    tracking_code: str
    category: str
    priority: str
    status: str
    reopened_at: datetime
    refused_agency_code: str = Field(description="The agency whose response was refused")
    refused_agency_name: str
    closed_at: datetime = Field(description="The closing the citizen refused")
    score: int | None
    channel: str = Field(description="Where the citizen answered: whatsapp or web")


class ReopenedList(BaseModel):
    generated_at: datetime
    cases: list[ReopenedCase]


class EscalationContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supervisor: Text | None = Field(
        default=None,
        min_length=3,
        max_length=200,
        description="Who level 1 escalates to; None: 'Pimpinan <agency>'",
        examples=["Inspektorat Jenderal Kementerian ATR/BPN"],
    )
    supervisor_email: str | None = Field(
        default=None,
        max_length=254,
        pattern=EMAIL,  # as the directory file accepts them
        description="Where level-1 escalations are emailed; None: nobody is emailed",
    )


class EscalationContact(EscalationContactIn):
    agency_code: str
    name: str


def escalations_router(pool: PoolGetter, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["escalations"])
    _add_overdue_list(router, pool, clock)
    _add_reopened_list(router, pool, clock)
    _add_contacts(router, pool)
    return router


def _add_reopened_list(router: APIRouter, pool: PoolGetter, clock: Clock) -> None:
    @router.get("/v1/reopened", responses=DISPOSITION_ONLY)
    async def reopened_cases(
        _: Disposer,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> ReopenedList:
        """Cases re-opened by the citizen's refusal, the longest waiting first."""
        rows = await views.reopened_cases(pool(), limit, offset)
        return ReopenedList(
            generated_at=clock(), cases=[ReopenedCase.model_validate(dict(r)) for r in rows]
        )


def _add_overdue_list(router: APIRouter, pool: PoolGetter, clock: Clock) -> None:
    @router.get("/v1/escalations/overdue", responses=DISPOSITION_ONLY)
    async def overdue_cases(
        who: Caller,
        agency_code: Annotated[str | None, Query(pattern=AGENCY_PATTERN)] = None,
        level: Annotated[int | None, Query(ge=0, le=2)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> OverdueList:
        """Open cases past a deadline across all agencies, the longest overdue first. An
        agency's supervisor sees their own agency's only (whatever `agency_code` says)."""
        if not who.may(Grant.DISPOSE):
            if not who.may(Grant.SUPERVISE):
                raise HTTPException(403, "only Setwapres' disposition or a supervisor may")
            agency_code = who.agency_code
        now = clock()
        wanted = views.OverdueFilter(agency_code, level, limit, offset)
        rows = await views.overdue_cases(pool(), wanted, now)
        return OverdueList(
            generated_at=now, cases=[OverdueCase.model_validate(dict(row)) for row in rows]
        )


def _add_contacts(router: APIRouter, pool: PoolGetter) -> None:
    @router.get("/v1/agencies/{agency_code}/escalation", responses={**ADMIN_ONLY, **NO_AGENCY})
    async def escalation_contact(agency_code: AgencyPath, _: Admin) -> EscalationContact:
        row = await views.escalation_contact(pool(), agency_code)
        if row is None:
            raise HTTPException(404, f"no agency {agency_code}")
        return EscalationContact.model_validate(dict(row))

    @router.put(
        "/v1/agencies/{agency_code}/escalation",
        responses={**ADMIN_ONLY, **NO_AGENCY, **UNREADABLE_BODY},
    )
    async def set_escalation_contact(
        agency_code: AgencyPath, body: EscalationContactIn, who: Admin
    ) -> EscalationContact:
        """From the next escalation on; alerts already fired keep whom they named."""
        async with pool().acquire() as conn:
            row = await admin.set_escalation_contact(
                conn, agency_code, body.supervisor, body.supervisor_email
            )
        if row is None:
            raise HTTPException(404, f"no agency {agency_code}")
        # who and which agency; never the address
        log.info(
            "escalation contact changed",
            extra={"agency_code": agency_code, "officer_id": who.officer_id},
        )
        return EscalationContact.model_validate(dict(row))
