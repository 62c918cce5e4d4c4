"""The agency directory over HTTP:

- `GET /v1/agencies`: every agency, read-only (codes, names, level, region, how each takes
  complaints; no contacts), for the back office's agency pickers: disposition staff choosing
  where an unmatched complaint goes, admins writing a rule. Setwapres administrators and the
  back office's disposition and admin staff; another agency's officer gets 403.
- `GET /v1/agencies/{agency_code}` and `PUT` (administrators): one agency with its contacts,
  and changing what routing keeps for it: name, SP4N-LAPOR! forwarding, intake method,
  contact email and phone, supervisor and their escalation email, response window in working
  days. The code, level and region stay (they are how rules and regions find the agency);
  new cases use the change (the reference cache reloads on the table's trigger), open ones
  keep their deadlines.

The directory file (`lapor routing load-agencies`, entrypoints.directory_cli) sets the same
columns in bulk."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.routing.adapters import views
from services.routing.adapters.directory import EMAIL
from services.routing.domain import Grant
from services.routing.entrypoints.access import (
    ADMIN_ONLY,
    UNAUTHENTICATED,
    Admin,
    Caller,
    PoolGetter,
)
from services.routing.entrypoints.fields import AGENCY_PATTERN, Text
from services.routing.handlers import admin
from services.runtime.http_problems import UNREADABLE_BODY, problem

log = logging.getLogger(__name__)
AgencyPath = Annotated[str, Path(pattern=AGENCY_PATTERN)]
NO_AGENCY = {404: problem("No such agency")}
EMAIL_NEEDS_ADDRESS = "an agency that takes complaints by email needs a contact_email"


class AgencyView(BaseModel):
    agency_code: str
    name: str
    level: str
    region_code: str | None
    intake_method: str


class AgencyEdit(BaseModel):
    """What an administrator may change of an agency (every field: PUT replaces them)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=3, max_length=200)
    via_sp4n: bool = Field(description="Cases are forwarded to SP4N-LAPOR! as well")
    intake_method: Literal["sp4n", "email", "letter", "desk"] = Field(
        description="How the agency takes complaints"
    )
    contact_email: Text | None = Field(default=None, max_length=254, pattern=EMAIL)
    contact_phone: Text | None = Field(default=None, max_length=40)
    supervisor: Text | None = Field(
        default=None,
        min_length=3,
        max_length=200,
        description="Who level-1 escalations go to; None: 'Pimpinan <agency>'",
    )
    supervisor_email: Text | None = Field(
        default=None,
        max_length=254,
        pattern=EMAIL,
        description="Where level-1 escalations are emailed; None: nobody is emailed",
    )
    response_working_days: int = Field(ge=1, le=60, description="The response window")

    @model_validator(mode="after")
    def _email_needs_an_address(self) -> AgencyEdit:
        if self.intake_method == "email" and self.contact_email is None:
            raise ValueError(EMAIL_NEEDS_ADDRESS)
        return self


class AgencyDetails(AgencyEdit):
    agency_code: str
    level: str
    region_code: str | None


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

    @router.get("/v1/agencies/{agency_code}", responses={**ADMIN_ONLY, **NO_AGENCY})
    async def agency(agency_code: AgencyPath, _: Admin) -> AgencyDetails:
        """One agency with its contacts."""
        row = await views.agency_details(pool(), agency_code)
        if row is None:
            raise HTTPException(404, f"no agency {agency_code}")
        return AgencyDetails.model_validate(dict(row))

    @router.put(
        "/v1/agencies/{agency_code}",
        responses={**ADMIN_ONLY, **NO_AGENCY, **UNREADABLE_BODY},
    )
    async def edit_agency(agency_code: AgencyPath, body: AgencyEdit, who: Admin) -> AgencyDetails:
        """Replace what routing keeps for the agency (not its code, level or region)."""
        async with pool().acquire() as conn:
            row = await admin.edit_agency(conn, agency_code, body.model_dump())
        if row is None:
            raise HTTPException(404, f"no agency {agency_code}")
        # who and which agency; never the addresses
        log.info("agency changed", extra={"agency_code": agency_code, "officer_id": who.officer_id})
        return AgencyDetails.model_validate(dict(row))

    return router
