"""The agency inbox, /staff/instansi/kasus (agency officers and supervisors): the agency's
cases from routing's `GET /v1/desk/cases`, called on the member's behalf (the staff
assertion carries their agency; routing decides what they see), sorted by due date, in a
table with statuses in words and times in WIB. A first page over `adapters.services`; the
filters, counts and the case page come next."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from schemas.staff import Role
from services.backoffice.adapters.services import Services, ServiceUnavailable
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language
from services.backoffice.handlers.signin import Session

TITLES = {"id": "Kotak masuk instansi", "en": "Agency inbox"}
WORDS = {
    "id": {
        "caption": "{count} kasus, urut batas waktu",
        "code": "Nomor pelacakan",
        "status": "Status",
        "category": "Kategori",
        "region": "Wilayah",
        "summary": "Ringkasan",
        "due": "Batas waktu",
        "empty": "Belum ada kasus untuk instansi Anda.",
        "refused": "Layanan routing menolak permintaan ini untuk akun Anda.",
    },
    "en": {
        "caption": "{count} cases, by due date",
        "code": "Tracking code",
        "status": "Status",
        "category": "Category",
        "region": "Region",
        "summary": "Summary",
        "due": "Due",
        "empty": "No cases for your agency yet.",
        "refused": "The routing service refused this request for your account.",
    },
}


def _due(case: dict[str, Any]) -> datetime:
    due = case.get("due_at")
    return datetime.fromisoformat(due) if isinstance(due, str) else datetime.max.replace(tzinfo=UTC)


def agency_inbox_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    AgencyStaff = Annotated[
        Session, Depends(access.require(Role.AGENCY_OFFICER, Role.AGENCY_SUPERVISOR))
    ]

    @router.get("/staff/instansi/kasus")
    async def inbox(request: Request, session: AgencyStaff) -> Response:
        lang = language(request)
        member = session.account.member()
        try:
            answer = await services.routing.get(member, "/v1/desk/cases", params={"limit": 200})
        except ServiceUnavailable:
            return access.page(
                request,
                "inbox.html",
                session,
                status_code=503,
                title=TITLES[lang],
                unavailable="routing",
                cases=[],
                i=WORDS[lang],
            )
        cases = answer.json().get("cases", []) if answer.status_code == 200 else []
        cases.sort(key=_due)
        return access.page(
            request,
            "inbox.html",
            session,
            title=TITLES[lang],
            cases=cases,
            agency=member.agency_code,
            refused=answer.status_code != 200,
            i=WORDS[lang],
        )

    return router
