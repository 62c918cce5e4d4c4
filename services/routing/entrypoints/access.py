"""Who may call routing's HTTP API: officers by bearer token (scoped to their agency),
Open311 clients by the same token as `?api_key=`, and Setwapres administrators. The
dependencies read the pool from `app.state.pool` (set by `create_app`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from services.routing.adapters import repository
from services.routing.adapters.repository import Officer
from services.routing.domain import MANUAL_DISPOSITION
from services.runtime.http_problems import problem

PoolGetter = Callable[[], asyncpg.Pool]
Clock = Callable[[], datetime]

UNAUTHENTICATED = {401: problem("No valid officer token")}
OFFICER_ONLY = {**UNAUTHENTICATED, 404: problem("No such case in your agency")}
ADMIN_ONLY = {**UNAUTHENTICATED, 403: problem("Not a Setwapres administrator")}

officer_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="officerToken",
    description="An officer's token (`lapor routing add-officer`), scoped to one agency",
)
open311_key = APIKeyQuery(
    name="api_key",
    auto_error=False,
    scheme_name="open311ApiKey",
    description="Open311 clients: the officer's token as `api_key`",
)


async def _officer(request: Request, token: str | None) -> Officer:
    found = await repository.officer_by_token(request.app.state.pool(), token) if token else None
    if found is None:
        raise HTTPException(
            401, "a valid officer token is required", {"WWW-Authenticate": "Bearer"}
        )
    return found


async def current_officer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(officer_bearer)],
) -> Officer:
    """The officer behind the bearer token; 401 for anything else."""
    return await _officer(request, credentials.credentials if credentials else None)


async def open311_client(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(officer_bearer)],
    api_key: Annotated[str | None, Depends(open311_key)],
) -> Officer:
    """Open311 clients may put the token in the query (GeoReport v2 convention); nowhere
    else, since URLs end up in proxies' logs."""
    return await _officer(request, credentials.credentials if credentials else api_key)


def is_setwapres_admin(who: Officer) -> bool:
    """One of Setwapres' own administrators (another agency's admin is not)."""
    return who.is_admin and who.agency_code == MANUAL_DISPOSITION


async def setwapres_admin(who: Annotated[Officer, Depends(current_officer)]) -> Officer:
    """Rules, the calendar and manual disposition change every agency's work: only
    Setwapres' own administrators, not another agency's admin."""
    if not is_setwapres_admin(who):
        raise HTTPException(403, "only Setwapres administrators may do this")
    return who


Authenticated = Annotated[Officer, Depends(current_officer)]
Open311Client = Annotated[Officer, Depends(open311_client)]
Admin = Annotated[Officer, Depends(setwapres_admin)]
