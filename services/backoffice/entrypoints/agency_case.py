"""The case page, /staff/instansi/kasus/{case_id} (agency officers and supervisors): the
whole case file from routing's `GET /v1/desk/cases/{id}` (full text, incident location,
reporters as far as the page may show them, chronology, additions, documents with their
signed links to intake, status history and deadlines in WIB) and the desk's actions as forms,
each with a "Saya yakin" box: start, request documents, respond, close, not in remit
(routing's `POST /v1/desk/cases/{id}/{accept|request-documents|respond|close|not-in-remit}`).
Every officer also writes the case's public summary (`POST .../ringkasan-publik` →
routing's `/public-summary`; intake's Open311 shows it as the description). A supervisor
also gets the reassignment form (`POST .../alihkan` → routing's `/reassign`),
with a picker of the agency's enabled officer accounts (the back office's own
`staff_accounts`). Routing answers 404 for another agency's case: the back office's 404 page.
Routing's refusals (409 a step the status does not allow, 422) show on the page in words."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from schemas.staff import Role
from services.backoffice.adapters import accounts as store
from services.backoffice.adapters.services import Services, ServiceUnavailable
from services.backoffice.domain import wording
from services.backoffice.domain.cases import (
    ACTIONS,
    DESK_ACTIONS,
    ActionRefused,
    action_body,
    file_size,
    overdue,
    refusal,
    reporter_shown,
)
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.agency_words import (
    CHRONOLOGY,
    DEADLINES,
    TITLES,
    words,
)
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.handlers.signin import Session

PATH = "/staff/instansi/kasus"
SUPERVISION = "/staff/instansi/pengawasan"


def _case_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise HTTPException(404) from None


def _readable(case: dict[str, Any], lang: str, now: Any) -> dict[str, Any]:
    """The case file with what the template shows instead of raw values."""
    return {
        **case,
        "late": overdue(case.get("due_at"), now, case.get("status")),
        "reporters": [{**r, "shown": reporter_shown(r, lang)} for r in case.get("reporters") or []],
        "secret": any(r.get("original") and r.get("secret") for r in case.get("reporters") or []),
        "documents": [
            {**d, "size": file_size(d.get("size_bytes"), lang)} for d in case.get("documents") or []
        ],
    }


def _text(form: Any, name: str, limit: int = 500) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


class CasePages:
    """The case page and its forms, on behalf of the signed-in member."""

    def __init__(self, access: Access, services: Services) -> None:
        self.access = access
        self.services = services

    async def officers(self, session: Session) -> list[Any]:
        """Whom a supervisor may hand the agency's cases to (none for an officer)."""
        account = session.account
        if Role.AGENCY_SUPERVISOR not in account.roles or not account.agency_code:
            return []
        return await store.agency_staff(self.access.pool(), account.agency_code)

    async def show(
        self, request: Request, session: Session, case_id: uuid.UUID, status: int = 200, **ctx: Any
    ) -> Response:
        lang = language(request)
        i = words(lang)
        member = session.account.member()
        try:
            answer = await self.services.routing.get(member, f"/v1/desk/cases/{case_id}")
        except ServiceUnavailable:
            return self.access.page(
                request, "case.html", session, status_code=503, title=TITLES["case"][lang],
                case=None, i=i, unavailable="routing",
            )  # fmt: skip
        if answer.status_code != 200:
            raise HTTPException(404)  # another agency's case, or none: the same 404 page
        case = _readable(answer.json(), lang, self.access.clock())
        return self.access.page(
            request,
            "case.html",
            session,
            status_code=status,
            title=f"{TITLES['case'][lang]} {case['tracking_code']}",
            case=case,
            i=i,
            actions=DESK_ACTIONS,
            officers=await self.officers(session),
            supervisor=Role.AGENCY_SUPERVISOR in session.account.roles,
            deadline_name=lambda kind: wording.words(DEADLINES, kind, lang),
            event_name=lambda kind: wording.words(CHRONOLOGY, kind, lang),
            **ctx,
        )

    async def act(
        self, request: Request, session: Session, case_id: uuid.UUID, key: str
    ) -> Response:
        """One desk action: the "Saya yakin" box and the text it needs, then routing."""
        action = ACTIONS.get(key)
        if action is None:
            raise HTTPException(404)
        form = await self.access.form(request)
        try:
            body = action_body(action, form)
        except ActionRefused as refused:
            return await self.show(request, session, case_id, 422, error=str(refused), form=form)
        refused = await self.send(request, session, case_id, form, key, body)
        if refused is not None:
            return refused
        lang = language(request)
        if key == "not-in-remit":  # no longer the agency's case: back to the inbox
            return RedirectResponse(with_lang(f"{PATH}?done={key}", lang), status_code=303)
        return RedirectResponse(with_lang(f"{PATH}/{case_id}?done={key}", lang), status_code=303)

    async def refused(
        self, request: Request, session: Session, case_id: uuid.UUID, answer: Any, form: Any
    ) -> Response:
        try:
            body = answer.json()
        except ValueError:
            body = None
        key, detail = refusal(answer.status_code, body)
        return await self.show(
            request, session, case_id, answer.status_code, error=key, detail=detail, form=form
        )

    async def public_summary(
        self, request: Request, session: Session, case_id: uuid.UUID
    ) -> Response:
        """Write (or, empty, withdraw) the public summary: routing publishes it for Open311."""
        form = await self.access.form(request)
        body = {"summary": _text(form, "summary", 1000) or None}
        refused = await self.send(request, session, case_id, form, "public-summary", body)
        if refused is not None:
            return refused
        return RedirectResponse(
            with_lang(f"{PATH}/{case_id}?done=public-summary", language(request)),
            status_code=303,
        )

    async def send(
        self,
        request: Request,
        session: Session,
        case_id: uuid.UUID,
        form: Any,
        step: str,
        body: dict[str, Any],
    ) -> Response | None:
        """POST routing's `/v1/desk/cases/{id}/{step}`; None when it succeeded, else the page
        that says why (the 404 page for another agency's case)."""
        try:
            answer = await self.services.routing.post(
                session.account.member(), f"/v1/desk/cases/{case_id}/{step}", json=body
            )
        except ServiceUnavailable:
            return await self.show(request, session, case_id, 503, error="failed", form=form)
        if answer.status_code == 404:
            raise HTTPException(404)
        if answer.status_code != 200:
            return await self.refused(request, session, case_id, answer, form)
        return None

    async def reassign(self, request: Request, session: Session, case_id: uuid.UUID) -> Response:
        """The supervisor hands the case to one of the agency's enabled officer accounts."""
        form = await self.access.form(request)
        officer = _text(form, "officer_id", 100)
        allowed = {account.staff_id for account in await self.officers(session)}
        if _text(form, f"confirm-{case_id}") != "yes":  # one name per box (axe)
            return await self.show(request, session, case_id, 422, error="confirm", form=form)
        if officer not in allowed:
            return await self.show(request, session, case_id, 422, error="officer", form=form)
        body = {"officer_id": officer, "note": _text(form, "note") or None}
        refused = await self.send(request, session, case_id, form, "reassign", body)
        if refused is not None:
            return refused
        back = SUPERVISION if _text(form, "back") == "pengawasan" else f"{PATH}/{case_id}"
        return RedirectResponse(
            with_lang(f"{back}?done=reassign", language(request)), status_code=303
        )


def agency_case_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    AgencyStaff = Annotated[
        Session, Depends(access.require(Role.AGENCY_OFFICER, Role.AGENCY_SUPERVISOR))
    ]
    Supervisor = Annotated[Session, Depends(access.require(Role.AGENCY_SUPERVISOR))]
    pages = CasePages(access, services)

    @router.get(PATH + "/{case_id}")
    async def case_page(request: Request, case_id: str, session: AgencyStaff) -> Response:
        done = request.query_params.get("done")
        return await pages.show(
            request, session, _case_id(case_id), done=done if done in words("id")["done"] else None
        )

    @router.post(PATH + "/{case_id}/alihkan")
    async def reassign(request: Request, case_id: str, session: Supervisor) -> Response:
        return await pages.reassign(request, session, _case_id(case_id))

    @router.post(PATH + "/{case_id}/ringkasan-publik")
    async def public_summary(request: Request, case_id: str, session: AgencyStaff) -> Response:
        return await pages.public_summary(request, session, _case_id(case_id))

    @router.post(PATH + "/{case_id}/{action}")
    async def act(request: Request, case_id: str, action: str, session: AgencyStaff) -> Response:
        return await pages.act(request, session, _case_id(case_id), action)

    return router
