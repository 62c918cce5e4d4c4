"""The agency inbox, /staff/instansi/kasus (agency officers and supervisors): the agency's
cases from routing's `GET /v1/desk/cases`, called on the member's behalf (the staff
assertion carries their agency; routing decides what they see). A GET form filters by
status, category, region, due date, overdue and "mine" (`domain.cases.inbox_query`); the
counts are routing's under the same filters; the cases come by due date, each linking to its
case page (`agency_case`). Statuses in words, times in WIB."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from schemas.staff import Role
from services.backoffice.adapters.services import Services, ServiceUnavailable
from services.backoffice.domain.cases import (
    CATEGORIES,
    STATUSES,
    by_due_date,
    inbox_query,
    overdue,
)
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.agency_words import TITLES, words
from services.backoffice.entrypoints.pages import language
from services.backoffice.handlers.signin import Session

PATH = "/staff/instansi/kasus"


def agency_inbox_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    AgencyStaff = Annotated[
        Session, Depends(access.require(Role.AGENCY_OFFICER, Role.AGENCY_SUPERVISOR))
    ]

    @router.get(PATH)
    async def inbox(request: Request, session: AgencyStaff) -> Response:
        lang = language(request)
        member = session.account.member()
        query = inbox_query(request.query_params)
        page: dict[str, Any] = {
            "title": TITLES["inbox"][lang],
            "i": words(lang),
            "chosen": query.chosen,
            "invalid": query.invalid,
            "statuses": STATUSES,
            "categories": CATEGORIES,
            "agency": member.agency_code,
            "done": "not-in-remit" if request.query_params.get("done") == "not-in-remit" else None,
        }
        try:
            answer = await services.routing.get(member, "/v1/desk/cases", params=query.params)
        except ServiceUnavailable:
            return access.page(
                request, "inbox.html", session, status_code=503, unavailable="routing", **page
            )
        found = answer.json() if answer.status_code == 200 else {}
        now = access.clock()
        cases = [
            {**case, "late": overdue(case.get("due_at"), now, case.get("status"))}
            for case in by_due_date(found.get("cases", []))
        ]
        return access.page(
            request,
            "inbox.html",
            session,
            cases=cases,
            counts=found.get("counts"),
            refused=answer.status_code != 200,
            **page,
        )

    return router
