"""`/v1/agencies`: the agency directory, read-only (codes, names, level, region, how each
takes complaints; no contacts), for the back office's agency pickers: disposition staff
choosing where an unmatched complaint goes, admins writing a rule. Setwapres administrators
and the back office's disposition and admin staff; another agency's officer gets 403. The
directory itself changes through `lapor routing directory` (entrypoints.directory_cli)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from services.routing.adapters import views
from services.routing.domain import Grant
from services.routing.entrypoints.access import UNAUTHENTICATED, Caller, PoolGetter
from services.runtime.http_problems import problem


class AgencyView(BaseModel):
    agency_code: str
    name: str
    level: str
    region_code: str | None
    intake_method: str


def agencies_router(pool: PoolGetter) -> APIRouter:
    router = APIRouter(tags=["agencies"])

    @router.get(
        "/v1/agencies",
        responses={**UNAUTHENTICATED, 403: problem("Neither disposition nor administration")},
    )
    async def agencies(who: Caller) -> list[AgencyView]:
        """Every agency, Setwapres' desk first, then national, provincial, regency."""
        if not (who.may(Grant.DISPOSE) or who.may(Grant.ADMINISTER)):
            raise HTTPException(403, "only Setwapres' disposition or administrators may")
        return [AgencyView.model_validate(dict(row)) for row in await views.agencies(pool())]

    return router
