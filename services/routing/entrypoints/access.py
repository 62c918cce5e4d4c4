"""Who may call routing's HTTP API: officers by bearer token (scoped to their agency),
Setwapres administrators, and staff
members the back office vouches for with `X-Lapor-Staff` (`schemas.staff`), an alternative
to the token: `domain.staff_access` maps their roles to what tokens may do (`domain.Grant`).
The dependencies read the pool from `app.state.pool` and the assertions' secret from
`app.state.staff_secret` (set by `create_app`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.routing.adapters import repository
from services.routing.adapters.repository import Officer
from services.routing.domain import Grant
from services.runtime.http_problems import problem
from services.runtime.staff import staff_header, vouched

PoolGetter = Callable[[], asyncpg.Pool]
Clock = Callable[[], datetime]

UNAUTHENTICATED = {
    401: problem("No valid officer token or staff assertion"),
    403: problem("A staff member without an agency desk role"),
}
OFFICER_ONLY = {**UNAUTHENTICATED, 404: problem("No such case in your agency")}
ADMIN_ONLY = {**UNAUTHENTICATED, 403: problem("Not a Setwapres administrator (or staff admin)")}
DISPOSITION_ONLY = {
    **UNAUTHENTICATED,
    403: problem("Not a Setwapres administrator (or disposition staff)"),
}
SUPERVISOR_ONLY = {**OFFICER_ONLY, 403: problem("Not the agency's supervisor")}

officer_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="officerToken",
    description="An officer's token (`lapor routing add-officer`), scoped to one agency",
)


async def _officer(request: Request, token: str | None) -> Officer:
    found = await repository.officer_by_token(request.app.state.pool(), token) if token else None
    if found is None:
        raise HTTPException(
            401, "a valid officer token is required", {"WWW-Authenticate": "Bearer"}
        )
    return found


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(officer_bearer)],
    assertion: Annotated[str | None, Depends(staff_header)],
) -> Officer:
    """The officer behind the bearer token, or the staff member behind a valid assertion
    (which then wins over a token); 401 for anything else."""
    member = vouched(assertion, request.app.state.staff_secret)
    if member is not None:
        return Officer.staff(member)
    return await _officer(request, credentials.credentials if credentials else None)


def requiring(grant: Grant, refusal: str) -> Callable[..., object]:
    """A dependency: the caller, if it holds `grant`; 403 `refusal` otherwise."""

    async def dependency(who: Annotated[Officer, Depends(current_caller)]) -> Officer:
        if not who.may(grant):
            raise HTTPException(403, refusal)
        return who

    return dependency


current_officer = requiring(Grant.DESK, "only an agency's officers may do this")


def is_setwapres_admin(who: Officer) -> bool:
    """May read any agency's case and dispose: Setwapres' own administrators (another
    agency's admin is not) and disposition staff."""
    return who.may(Grant.DISPOSE)


setwapres_admin = requiring(Grant.ADMINISTER, "only Setwapres administrators may do this")
disposer = requiring(Grant.DISPOSE, "only Setwapres' disposition may do this")
supervisor = requiring(Grant.SUPERVISE, "only the agency's supervisor may do this")

# Any caller with a valid token or assertion; the route checks the grants.
Caller = Annotated[Officer, Depends(current_caller)]
Authenticated = Annotated[Officer, Depends(current_officer)]
# Rules, the calendar and the agencies change every agency's work.
Admin = Annotated[Officer, Depends(setwapres_admin)]
Disposer = Annotated[Officer, Depends(disposer)]
Supervisor = Annotated[Officer, Depends(supervisor)]
