"""The owner's answer to the closing message on the web and the JSON API: PUAS / TIDAK PUAS
(a 1-5 score optional) for a closed report, within 10 days of its closing, after proving it
is theirs with the phone or email on file or a one-time code (as `/lapor/tambah` and the
owner API do). The closing message and the status page of a closed report link here.

- `/lapor/puas`: the page (GET the form, POST the answer);
- `POST /v1/complaints/{tracking_code}/satisfaction`: the same for API clients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from schemas.events import Channel
from services.intake.domain.satisfaction import Answer
from services.intake.entrypoints.api_models import (
    Problem,
    SatisfactionRecorded,
    SatisfactionRequest,
)
from services.intake.entrypoints.guards import FormGuard
from services.intake.entrypoints.owner_api import owned_record, prove_owner
from services.intake.entrypoints.pages import TEXTS, language, refused_page, render
from services.intake.entrypoints.web_updates import record_named
from services.intake.handlers import follow_ups
from services.intake.handlers.satisfaction import NotOpenForAnswers, rate_complaint
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import Keystore
from services.runtime import csrf

RATE_FIELDS = ("kode", "phone", "one_time_code", "answer", "score")
ANSWERS = {"puas": True, "tidak_puas": False}


def rating_router(
    pool: Callable[[], asyncpg.Pool], settings: IntakeSettings, keys: Keystore
) -> APIRouter:
    router = APIRouter()
    _add_page(router, pool, settings, keys)
    _add_api(router, pool, settings, keys)
    return router


def _add_page(
    router: APIRouter, pool: Callable[[], asyncpg.Pool], settings: IntakeSettings, keys: Keystore
) -> None:
    forms = FormGuard(settings)

    def page(
        request: Request, lang: str, values: dict[str, str], errors: dict[str, str], **kw: Any
    ) -> Response:
        status, done = kw.get("status", 200), kw.get("done")
        return forms.page(
            request,
            lambda csrf_token: render(
                "rate.html",
                lang,
                status_code=status,
                title=TEXTS[lang]["rate_title"],
                values=values,
                errors=errors,
                csrf_token=csrf_token,
                done=done,
            ),
        )

    @router.get("/lapor/puas", response_class=HTMLResponse, include_in_schema=False)
    async def rating_form(request: Request, kode: str = "") -> Any:
        return page(request, language(request), {"kode": kode[:40]}, {})

    @router.post("/lapor/puas", response_class=HTMLResponse, include_in_schema=False)
    async def submit_rating(request: Request) -> Any:
        form = await request.form(max_files=0, max_fields=20, max_part_size=16 * 1024)
        lang = language(request)
        if not forms.passes(request, form.get(csrf.FIELD)):
            return refused_page(lang, f"/lapor/puas?lang={lang}")
        values = {name: str(form.get(name) or "").strip()[:64] for name in RATE_FIELDS}
        errors = _form_errors(values, lang)
        record = await record_named(pool, keys, values["kode"], lang, errors)
        if errors or record is None:
            return page(request, lang, values, errors, status=422)
        answer = Answer(ANSWERS[values["answer"]], int(values["score"] or 0) or None)
        texts = TEXTS[lang]
        async with pool().acquire() as conn:
            try:
                await follow_ups.prove_ownership(
                    conn,
                    record,
                    settings,
                    phone=values["phone"] or None,
                    email=None,
                    one_time_code=values["one_time_code"] or None,
                )
            except follow_ups.ProofFailed as error:
                return page(request, lang, values, {"phone": str(error)}, status=403)
            try:
                recorded = await rate_complaint(
                    conn, record.complaint_id, answer, Channel.WEB, datetime.now(UTC)
                )
            except NotOpenForAnswers:
                return page(request, lang, values, {"answer": texts["rate_not_open"]}, status=409)
        values["kode"] = record.tracking_code
        done = texts["rate_done"] if recorded else texts["rate_already"]
        return page(request, lang, values, {}, done=done)


def _form_errors(values: dict[str, str], lang: str) -> dict[str, str]:
    texts = TEXTS[lang]
    errors: dict[str, str] = {}
    if values["answer"] not in ANSWERS:
        errors["answer"] = texts["rate_choose"]
    if values["score"] not in ("", "1", "2", "3", "4", "5"):
        errors["score"] = texts["rate_score"]
    if not values["phone"] and not values["one_time_code"]:
        errors["phone"] = texts["proof_missing"]
    return errors


def _add_api(
    router: APIRouter, pool: Callable[[], asyncpg.Pool], settings: IntakeSettings, keys: Keystore
) -> None:
    @router.post(
        "/v1/complaints/{tracking_code}/satisfaction",
        response_model=SatisfactionRecorded,
        responses={
            400: {"model": Problem},
            403: {"model": Problem},
            404: {"model": Problem},
            409: {"model": Problem},
        },
    )
    async def rate_report(tracking_code: str, body: SatisfactionRequest) -> Any:
        """The owner's answer to the closing message (PUAS: `satisfied` true), within 10 days
        of the closing; the first answer to a closing counts (`already_recorded` after)."""
        async with pool().acquire() as conn:
            record = await owned_record(conn, tracking_code, keys)
            await prove_owner(conn, record, body, settings)
            answer = Answer(body.satisfied, body.score)
            try:
                recorded = await rate_complaint(
                    conn, record.complaint_id, answer, Channel.WEB, datetime.now(UTC)
                )
            except NotOpenForAnswers:
                raise HTTPException(
                    status_code=409,
                    detail="the report is not closed, or its 10 days to answer have passed",
                ) from None
        return {
            "tracking_code": record.tracking_code,
            "satisfied": body.satisfied,
            "score": body.score,
            "already_recorded": not recorded,
        }
