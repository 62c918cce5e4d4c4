"""The citizen's follow-up page (`/lapor/tambah`): add text or documents to an open report,
after proving it is theirs with the phone on file or a one-time code."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from schemas.events import Attachment
from services.intake.adapters import repository
from services.intake.domain.tracking import InvalidTrackingCode, normalise_tracking_code
from services.intake.entrypoints.guards import FormGuard
from services.intake.entrypoints.pages import (
    TEXTS,
    language,
    read_uploads,
    refused_page,
    render,
    uploaded_files,
    uploads_fingerprint,
)
from services.intake.handlers import follow_ups
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import Keystore
from services.runtime import csrf

UPDATE_FIELDS = ("kode", "phone", "one_time_code", "additional_text", "form_token")


def web_updates_router(
    pool: Callable[[], asyncpg.Pool], settings: IntakeSettings, keys: Keystore
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    forms = FormGuard(settings)

    def page(
        request: Request,
        lang: str,
        values: dict[str, str],
        errors: dict[str, str],
        status: int = 200,
        done: bool = False,
    ) -> Response:
        return forms.page(
            request,
            lambda csrf_token: render(
                "update.html",
                lang,
                status_code=status,
                title=TEXTS[lang]["update_title"],
                values=values,
                errors=errors,
                form_token=values.get("form_token") or str(uuid.uuid4()),
                csrf_token=csrf_token,
                done=done,
            ),
        )

    @router.get("/lapor/tambah", response_class=HTMLResponse)
    async def update_form(request: Request, kode: str = "") -> Any:
        return page(request, language(request), {"kode": kode[:40]}, {})

    @router.post("/lapor/tambah", response_class=HTMLResponse)
    async def submit_update(request: Request) -> Any:
        form = await request.form(
            max_files=settings.max_attachments + 5, max_fields=20, max_part_size=64 * 1024
        )
        lang = language(request)
        if not forms.passes(request, form.get(csrf.FIELD)):
            return refused_page(lang, f"/lapor/tambah?lang={lang}")
        values = {name: str(form.get(name) or "").strip()[:20_000] for name in UPDATE_FIELDS}
        errors: dict[str, str] = {}
        uploads = await _uploads(form, settings, lang, values, errors)
        record = await record_named(pool, keys, values["kode"], lang, errors)
        if errors or record is None:
            return page(request, lang, values, errors, 422)
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
                errors["phone"] = str(error)
                return page(request, lang, values, errors, 403)
            try:
                await follow_ups.add_update(
                    conn,
                    record,
                    settings,
                    keys=keys,
                    text=values["additional_text"],
                    attachments=uploads,
                    idempotency_key=f"form-update:{values['form_token']}"
                    if values["form_token"]
                    else None,
                    fingerprint=uploads_fingerprint(values["additional_text"], uploads),
                )
            except follow_ups.UpdateRefused as error:
                errors["additional_text"] = str(error)
                return page(request, lang, values, errors, 409)
        values["kode"] = record.tracking_code
        return page(request, lang, values, errors, 200, done=True)

    return router


async def _uploads(
    form: FormData,
    settings: IntakeSettings,
    lang: str,
    values: dict[str, str],
    errors: dict[str, str],
) -> list[tuple[Attachment, bytes]]:
    """The attached files; notes what is missing or refused in `errors`."""
    texts = TEXTS[lang]
    files = uploaded_files(form)
    uploads, upload_error = await read_uploads(files, settings, lang)
    if upload_error:
        errors["attachments"] = upload_error
    if not values["additional_text"] and not uploads and not upload_error:
        errors["additional_text"] = texts["update_empty"]
    if not values["phone"] and not values["one_time_code"]:
        errors["phone"] = texts["proof_missing"]
    return uploads


async def record_named(
    pool: Callable[[], asyncpg.Pool],
    keys: Keystore,
    raw_code: str,
    lang: str,
    errors: dict[str, str],
) -> repository.ComplaintRecord | None:
    """The report the code names; notes a bad or unknown code in `errors`."""
    try:
        code = normalise_tracking_code(raw_code)
    except InvalidTrackingCode as error:
        errors["kode"] = str(error)
        return None
    async with pool().acquire() as conn:
        record = await repository.complaint_record(conn, code, keys)
    if record is None:
        errors["kode"] = TEXTS[lang]["not_found"]
    return record
