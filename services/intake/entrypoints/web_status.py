"""The citizen's status page: look a report up by its tracking code (public: no personal
details, no content; a secret report shows its status and steps only), in the page's
language with times in WIB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.intake.adapters import views
from services.intake.domain.citizen_status import citizen_view, language_of
from services.intake.domain.tracking import InvalidTrackingCode, normalise_tracking_code
from services.intake.entrypoints.pages import TEXTS, language, render


def web_status_router(pool: Callable[[], asyncpg.Pool]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/lapor/status", response_class=HTMLResponse)
    async def status_page(request: Request, kode: str | None = None) -> Any:
        lang = language(request)
        title = TEXTS[lang]["status_title"]
        if not kode:
            return render("status.html", lang, title=title, code=None, view=None, error=None)
        try:
            code = normalise_tracking_code(kode)
        except InvalidTrackingCode as error:
            return render(
                "status.html", lang, 400, title=title, code=kode[:40], view=None, error=str(error)
            )
        async with pool().acquire() as conn:
            view = await views.status_view(conn, code)
        if view is None:
            return render(
                "status.html",
                lang,
                404,
                title=title,
                code=code,
                view=None,
                error=TEXTS[lang]["not_found"],
            )
        shown = citizen_view(view, language_of(lang))
        return render("status.html", lang, title=title, code=code, view=shown, error=None)

    return router
