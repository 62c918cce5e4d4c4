"""The reviewers' pages over triage's review API (`GET /v1/review`, `GET /v1/review/{id}`,
`POST /v1/review/{id}/claim|accept|reject|duplicate|ban`, `GET /v1/review-log`), called on
the member's behalf with the staff assertion (triage records them as the reviewer):

- /staff/tinjau: the waiting and claimed items, the oldest first, with reasons, matched terms
  and who holds a claim until when (WIB);
- /staff/tinjau/{id}: the text side by side with the complaints it resembles; claim, then
  accept (category), reject (a reason the citizen reads), mark as a duplicate, or ban the
  reporter (with "I am sure");
- /staff/tinjau/riwayat: the audit log, filtered by reviewer, action and WIB dates."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from schemas.events import Category
from schemas.staff import Role
from services.backoffice.adapters.services import Services, ServiceUnavailable
from services.backoffice.domain.review import FormError, decision_of, oldest_first, wib_day_range
from services.backoffice.domain.wording import REJECT_REASONS, REVIEW_ACTIONS
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.entrypoints.review_texts import TITLES, WORDS
from services.backoffice.handlers.signin import Session


def _item_path(complaint_id: str) -> str:
    return f"/staff/tinjau/{complaint_id}"


def _detail(answer: Any) -> str:
    try:
        return str(answer.json().get("detail", answer.status_code))
    except ValueError:
        return str(answer.status_code)


class ReviewPages:
    """The pages' work; `review_router` binds it to the routes."""

    def __init__(self, access: Access, services: Services) -> None:
        self.access = access
        self.services = services

    def unavailable(self, request: Request, session: Session, template: str, key: str) -> Response:
        lang = language(request)
        return self.access.page(
            request,
            template,
            session,
            status_code=503,
            title=TITLES[key][lang],
            unavailable="triage",
            i=WORDS[lang],
        )

    async def queue(self, request: Request, session: Session) -> Response:
        lang, member = language(request), session.account.member()
        triage = self.services.triage
        try:
            waiting = await triage.get(member, "/v1/review", params={"status": "open"})
            held = await triage.get(member, "/v1/review", params={"status": "claimed"})
        except ServiceUnavailable:
            return self.unavailable(request, session, "review_queue.html", "queue")
        found = [a.json().get("items", []) for a in (waiting, held) if a.status_code == 200]
        return self.access.page(
            request,
            "review_queue.html",
            session,
            title=TITLES["queue"][lang],
            items=oldest_first(*found),
            i=WORDS[lang],
        )

    async def log(self, request: Request, session: Session) -> Response:
        lang, member = language(request), session.account.member()
        chosen = {k: request.query_params.get(k, "").strip() for k in ("reviewer", "action")}
        days = {k: request.query_params.get(k, "").strip() for k in ("dari", "sampai")}
        context: dict[str, Any] = {"chosen": chosen, "days": days, "actions": REVIEW_ACTIONS}
        try:
            query = {**{k: v for k, v in chosen.items() if v}, **wib_day_range(*days.values())}
        except ValueError:
            query, context["error"] = {}, WORDS[lang]["bad_date"]
        try:
            answer = await self.services.triage.get(member, "/v1/review-log", params=query)
        except ServiceUnavailable:
            return self.unavailable(request, session, "review_log.html", "log")
        if answer.status_code != 200 and "error" not in context:
            context["error"] = WORDS[lang]["errors"]["refused"].format(detail=_detail(answer))
        entries = answer.json().get("entries", []) if answer.status_code == 200 else []
        return self.access.page(
            request,
            "review_log.html",
            session,
            title=TITLES["log"][lang],
            entries=entries,
            i=WORDS[lang],
            **context,
        )

    async def item(
        self, request: Request, session: Session, complaint_id: str, **context: Any
    ) -> Response:
        lang, member = language(request), session.account.member()
        try:
            uuid.UUID(complaint_id)
            answer = await self.services.triage.get(member, f"/v1/review/{complaint_id}")
        except ValueError:
            raise HTTPException(404) from None
        except ServiceUnavailable:
            return self.unavailable(request, session, "review_item.html", "item")
        if answer.status_code == 404:
            raise HTTPException(404)
        return self.access.page(
            request,
            "review_item.html",
            session,
            title=TITLES["item"][lang],
            item=answer.json() if answer.status_code == 200 else None,
            me=member.staff_id,
            categories=[category.value for category in Category],
            reject_reasons=REJECT_REASONS,
            done=request.query_params.get("selesai"),
            i=WORDS[lang],
            **context,
        )

    async def refuse(
        self, request: Request, session: Session, complaint_id: str, key: str, status: int = 422
    ) -> Response:
        """The item page again, saying what the reviewer must complete."""
        text = WORDS[language(request)]["errors"][key]
        page = await self.item(request, session, complaint_id, error=text)
        page.status_code = status
        return page

    async def act(
        self,
        request: Request,
        session: Session,
        complaint_id: str,
        action: str,
        body: dict[str, str],
    ) -> Response:
        """Send the action to triage: 303 back to the item when done, else the item page with
        triage's answer."""
        lang, member = language(request), session.account.member()
        try:
            uuid.UUID(complaint_id)
            path = f"/v1/review/{complaint_id}/{action}"
            answer = await self.services.triage.post(member, path, json=body)
        except ValueError:
            raise HTTPException(404) from None
        except ServiceUnavailable:
            return self.unavailable(request, session, "review_item.html", "item")
        if answer.status_code == 200:
            target = with_lang(f"{_item_path(complaint_id)}?selesai={action}", lang)
            return RedirectResponse(target, status_code=303)
        if answer.status_code == 404:
            raise HTTPException(404)
        error = WORDS[lang]["errors"]["refused"].format(detail=_detail(answer))
        page = await self.item(request, session, complaint_id, error=error)
        page.status_code = answer.status_code
        return page

    async def decide(self, request: Request, session: Session, complaint_id: str) -> Response:
        form = await self.access.form(request)
        try:
            decision = decision_of({k: str(v) for k, v in form.items()})
        except FormError as error:
            return await self.refuse(request, session, complaint_id, error.key)
        return await self.act(request, session, complaint_id, decision.action, decision.body)

    async def ban(self, request: Request, session: Session, complaint_id: str) -> Response:
        form = await self.access.form(request)
        note = str(form.get("note", "")).strip()
        if form.get("confirm") != "yes" or not note:
            return await self.refuse(request, session, complaint_id, "ban_needs_confirmation")
        return await self.act(request, session, complaint_id, "ban", {"note": note})


def review_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    Reviewer = Annotated[Session, Depends(access.require(Role.REVIEWER))]
    pages = ReviewPages(access, services)

    @router.get("/staff/tinjau")
    async def queue(request: Request, session: Reviewer) -> Response:
        return await pages.queue(request, session)

    # Before /staff/tinjau/{complaint_id}, which would take "riwayat" for an id.
    @router.get("/staff/tinjau/riwayat")
    async def log(request: Request, session: Reviewer) -> Response:
        return await pages.log(request, session)

    @router.get("/staff/tinjau/{complaint_id}")
    async def item(request: Request, session: Reviewer, complaint_id: str) -> Response:
        return await pages.item(request, session, complaint_id)

    @router.post("/staff/tinjau/{complaint_id}/ambil")
    async def claim(request: Request, session: Reviewer, complaint_id: str) -> Response:
        await access.form(request)
        return await pages.act(request, session, complaint_id, "claim", {})

    @router.post("/staff/tinjau/{complaint_id}/putuskan")
    async def decide(request: Request, session: Reviewer, complaint_id: str) -> Response:
        return await pages.decide(request, session, complaint_id)

    @router.post("/staff/tinjau/{complaint_id}/blokir")
    async def ban(request: Request, session: Reviewer, complaint_id: str) -> Response:
        return await pages.ban(request, session, complaint_id)

    return router
