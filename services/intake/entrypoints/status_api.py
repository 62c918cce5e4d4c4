"""The JSON API's public status of a report: no personal details, no content."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, HTTPException

from schemas.events import Language
from services.intake.adapters import views
from services.intake.domain.citizen_status import citizen_view, language_of
from services.intake.domain.tracking import InvalidTrackingCode, normalise_tracking_code
from services.intake.entrypoints.api_models import NOT_FOUND, ComplaintStatus, Problem

STATUS_PATH = "/v1/complaints/{tracking_code}"


def status_api_router(pool: Callable[[], asyncpg.Pool]) -> APIRouter:
    router = APIRouter()

    @router.get(
        STATUS_PATH,
        response_model=ComplaintStatus,
        responses={400: {"model": Problem}, 404: {"model": Problem}},
    )
    async def complaint_status(tracking_code: str, lang: Language | None = None) -> Any:
        """The public status: no personal details, no content; display fields in `lang`
        (default: the reporter's language)."""
        code = tracking_code_or_400(tracking_code)
        async with pool().acquire() as conn:
            view = await views.status_view(conn, code)
        if view is None:
            raise HTTPException(status_code=404, detail=NOT_FOUND)
        return citizen_view(view, lang or language_of(view.get("reporter_language")))

    return router


def tracking_code_or_400(tracking_code: str) -> str:
    try:
        return normalise_tracking_code(tracking_code)
    except InvalidTrackingCode as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
