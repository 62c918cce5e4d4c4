"""The agency supervisor's page, /staff/instansi/pengawasan (agency supervisors): the
agency's overdue cases with how far each was escalated, from routing's
`GET /v1/escalations/overdue` (routing scopes a supervisor to their own agency whatever the
query says), the longest overdue first; each with the form that reassigns it to another of
the agency's enabled officer accounts (`agency_case`'s `POST .../alihkan`, routing's
`/reassign`)."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from schemas.staff import Role
from services.backoffice.adapters import accounts as store
from services.backoffice.adapters.services import Services, ServiceUnavailable
from services.backoffice.domain import wording
from services.backoffice.domain.cases import overdue_by_case
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.agency_words import DEADLINES, ESCALATION, TITLES, words
from services.backoffice.entrypoints.pages import language
from services.backoffice.handlers.signin import Session

PATH = "/staff/instansi/pengawasan"


def supervision_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    Supervisor = Annotated[Session, Depends(access.require(Role.AGENCY_SUPERVISOR))]

    @router.get(PATH)
    async def supervision(request: Request, session: Supervisor) -> Response:
        lang = language(request)
        member = session.account.member()
        done = request.query_params.get("done")
        page = {
            "title": TITLES["supervision"][lang],
            "i": words(lang),
            "agency": member.agency_code,
            "done": done if done == "reassign" else None,
            "deadline_name": lambda kind: wording.words(DEADLINES, kind, lang),
            "escalation_name": lambda level: ESCALATION.get(level, ESCALATION[2])[lang],
            "back": "pengawasan",
        }
        try:
            answer = await services.routing.get(
                member, "/v1/escalations/overdue", params={"limit": 500}
            )
        except ServiceUnavailable:
            return access.page(
                request, "supervision.html", session, status_code=503, unavailable="routing",
                cases=[], officers=[], **page,
            )  # fmt: skip
        rows = answer.json().get("cases", []) if answer.status_code == 200 else []
        cases = overdue_by_case(rows)
        officers = await store.agency_staff(access.pool(), member.agency_code or "")
        return access.page(
            request,
            "supervision.html",
            session,
            cases=cases,
            officers=officers,
            refused=answer.status_code != 200,
            **page,
        )

    return router
