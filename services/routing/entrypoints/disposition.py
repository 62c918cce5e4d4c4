"""Setwapres' disposition (Setwapres administrators and the back office's disposition staff):

- `/v1/disposition/cases`: the manual queue, complaints no rule routed (and cases a citizen
  re-opened), with the desk inbox's filters and counts; dispose one with
  `/v1/desk/cases/{id}/dispose`;
- `/v1/sp4n/forwardings`: every case's SP4N-LAPOR! forwarding state (pending ones first)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from services.personal_data.keystore import Keystore
from services.routing.adapters import views
from services.routing.domain import MANUAL_DISPOSITION
from services.routing.entrypoints.access import DISPOSITION_ONLY, Clock, Disposer, PoolGetter
from services.routing.entrypoints.agency_desk import (
    Inbox,
    Sp4nForwardingView,
    agency_inbox,
    inbox_filter,
)


class Sp4nForwardingItem(Sp4nForwardingView):
    case_id: uuid.UUID
    tracking_code: str
    status: str


class Sp4nForwardingList(BaseModel):
    generated_at: datetime
    forwardings: list[Sp4nForwardingItem]


def disposition_router(pool: PoolGetter, clock: Clock, keys: Keystore) -> APIRouter:
    router = APIRouter(tags=["disposition"])

    @router.get("/v1/disposition/cases", responses=DISPOSITION_ONLY)
    async def manual_queue(
        _: Disposer, wanted: Annotated[views.InboxFilter, Depends(inbox_filter)]
    ) -> Inbox:
        """The cases waiting for Setwapres to pick their agency, with counts."""
        return await agency_inbox(pool(), keys, MANUAL_DISPOSITION, wanted, clock())

    @router.get("/v1/sp4n/forwardings", responses=DISPOSITION_ONLY)
    async def sp4n_forwardings(
        _: Disposer,
        pending: Annotated[
            bool | None,
            Query(description="true: not yet accepted by SP4N-LAPOR!; false: accepted"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Sp4nForwardingList:
        """Forwardings to SP4N-LAPOR!, the pending ones first (the longest waiting first)."""
        rows = await views.sp4n_forwarding_list(pool(), pending, limit, offset)
        return Sp4nForwardingList(
            generated_at=clock(),
            forwardings=[Sp4nForwardingItem.model_validate(dict(row)) for row in rows],
        )

    return router
