"""The home page, /staff: the areas the member's roles open (`domain.areas`), and the
stylesheet every page uses (/staff/static/backoffice.css)."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import STYLESHEET, TEXTS, language
from services.backoffice.handlers.signin import Session


def home_router(access: Access) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SignedIn = Annotated[Session, Depends(access.require())]

    @router.get("/staff")
    async def home(request: Request, session: SignedIn) -> Response:
        notice = "totp_done" if request.query_params.get("totp") == "1" else None
        title = TEXTS[language(request)]["home"]
        return access.page(request, "home.html", session, title=title, notice=notice)

    @router.get("/")
    async def root() -> Response:
        return RedirectResponse("/staff", status_code=303)

    @router.get("/staff/static/backoffice.css")
    async def stylesheet() -> Response:
        return Response(
            STYLESHEET,
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    return router
