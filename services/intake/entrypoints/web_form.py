"""The citizen's complaint form: a server-rendered page (no JavaScript needed), its receipt,
and the stylesheet.

Errors are shown field by field, both next to the field and in a summary at the top that
links to it. A hidden form token is the idempotency key, so a double submit files once.
Every form POST carries a CSRF token bound to a cookie (`guards.FormGuard`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from schemas.events import Channel
from services.intake.domain.complaints import Submission
from services.intake.domain.limits import retry_after_seconds
from services.intake.domain.tracking import InvalidTrackingCode, normalise_tracking_code
from services.intake.entrypoints.api_models import ComplaintRequest
from services.intake.entrypoints.guards import FormGuard
from services.intake.entrypoints.pages import (
    FLAGS,
    INDONESIAN_ERRORS,
    PLACE_FIELDS,
    STYLESHEET,
    TEXT_FIELDS,
    TEXTS,
    field_errors,
    language,
    read_uploads,
    refused_page,
    region_choices,
    render,
    uploaded_files,
    uploads_fingerprint,
)
from services.intake.handlers.filing import FileComplaint, FilingOutcome, file_complaints
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import Keystore
from services.runtime import csrf


def web_form_router(
    pool: Callable[[], asyncpg.Pool], settings: IntakeSettings, keys: Keystore
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    forms = FormGuard(settings)

    def form_page(
        request: Request,
        lang: str,
        values: dict[str, Any],
        errors: dict[str, str],
        token: str,
        status_code: int | None = None,
    ) -> Response:
        return _form_page(forms, settings, request, lang, values, errors, token, status_code)

    @router.get("/static/lapor.css")
    async def stylesheet() -> Response:
        # A file, not an inline <style>: the CSP allows styles from this origin only.
        return Response(
            STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    @router.get("/", response_class=RedirectResponse)
    async def home() -> RedirectResponse:
        return RedirectResponse("/lapor", status_code=303)

    @router.get("/lapor", response_class=HTMLResponse)
    async def complaint_form(request: Request) -> Any:
        return form_page(request, language(request), {}, {}, str(uuid.uuid4()))

    @router.post("/lapor", response_class=HTMLResponse)
    async def submit_form(request: Request) -> Response:
        form = await request.form(
            max_files=settings.max_attachments + 5, max_fields=50, max_part_size=64 * 1024
        )
        lang = language(request, form.get("language"))
        if not forms.passes(request, form.get(csrf.FIELD)):
            return refused_page(lang, f"/lapor?lang={lang}")
        values, token = _form_values(form)
        body, errors = _validated(values, lang)
        files = uploaded_files(form)
        uploads, upload_error = await read_uploads(files, settings, lang)
        if upload_error:
            errors["attachments"] = upload_error
        if errors or body is None:
            return form_page(request, lang, values, errors, token)
        command = FileComplaint(
            Submission(
                channel=Channel.WEB,
                attachments=tuple(a for a, _ in uploads),
                **body.submission_fields(),
            ),
            idempotency_key=f"form:{token}",
            fingerprint=uploads_fingerprint(body.model_dump_json(), uploads),
            uploads=uploads,
        )
        async with pool().acquire() as conn:
            (filed,) = await file_complaints(conn, [command], settings=settings, keys=keys)
        return _answer(
            filed,
            lang,
            lambda errors, form_token, status=None: form_page(
                request, lang, values, errors, form_token, status
            ),
            token,
        )

    @router.get("/lapor/terima/{tracking_code}", response_class=HTMLResponse)
    async def receipt(request: Request, tracking_code: str) -> Any:
        lang = language(request)
        try:
            code = normalise_tracking_code(tracking_code)
        except InvalidTrackingCode:
            return render("status.html", lang, 400, title="", error=TEXTS[lang]["not_found"])
        return render("receipt.html", lang, code=code, title=TEXTS[lang]["receipt_title"])

    return router


FormPage = Callable[..., Response]  # (errors, token, status_code=None) -> the form again


def _answer(filed: FilingOutcome, lang: str, form_again: FormPage, token: str) -> Response:
    """The receipt's redirect, or the form again saying why it was not filed."""
    if isinstance(filed, float):
        minutes = -(-retry_after_seconds(filed) // 60)
        error = {"nik": TEXTS[lang]["too_many"].format(minutes=minutes)}
        page = form_again(error, token, 429)
        page.headers["Retry-After"] = str(retry_after_seconds(filed))
        return page
    if filed.tracking_code is None:  # the same form token with other content: new token
        return form_again({"description": TEXTS[lang]["form_reused"]}, str(uuid.uuid4()))
    return RedirectResponse(f"/lapor/terima/{filed.tracking_code}?lang={lang}", status_code=303)


def _form_page(
    forms: FormGuard,
    settings: IntakeSettings,
    request: Request,
    lang: str,
    values: dict[str, Any],
    errors: dict[str, str],
    token: str,
    status_code: int | None = None,
) -> Response:
    hints = dict(TEXTS[lang]["hints"])
    hints["attachments"] = hints["attachments"].format(
        count=settings.max_attachments, mb=settings.max_attachment_bytes // (1024 * 1024)
    )
    return forms.page(
        request,
        lambda csrf_token: render(
            "form.html",
            lang,
            status_code=status_code or (422 if errors else 200),
            texts={"hints": hints},
            title=TEXTS[lang]["form_title"],
            values=values,
            errors=errors,
            form_token=token,
            csrf_token=csrf_token,
            regions=region_choices(),
        ),
    )


def _form_values(form: FormData) -> tuple[dict[str, Any], str]:
    """The form's fields as typed, and its token (the idempotency key; a new one if absent)."""
    values: dict[str, Any] = {
        name: str(form.get(name) or "").strip()
        for name in TEXT_FIELDS
        if isinstance(form.get(name) or "", str)
    }
    for name in FLAGS:
        values[name] = form.get(name) is not None
    token = str(form.get("form_token") or "")
    try:
        token = str(uuid.UUID(token))
    except ValueError:
        token = str(uuid.uuid4())
    return values, token


def _validated(values: dict[str, Any], lang: str) -> tuple[ComplaintRequest | None, dict[str, str]]:
    """The JSON API's validation of the same fields, with errors in the page's language."""
    errors: dict[str, str] = {}
    body = None
    given = {k: v for k, v in values.items() if v not in ("", None)}
    place = {k: given.pop(k) for k in PLACE_FIELDS if k in given}
    if set(place) - {"address"}:  # a regency or coordinates: the incident location
        given["location"] = place
    elif place:  # an address alone: the region falls back to the NIK's
        given["address"] = place["address"]
    try:
        body = ComplaintRequest(**given, language=lang)
    except ValidationError as error:
        errors = field_errors(error, lang)
    if not values["phone"] and not values["email"]:  # pydantic skips this once a field fails
        message = "give a phone number or an email address so we can reach you"
        errors.setdefault("phone", INDONESIAN_ERRORS[message] if lang == "id" else message)
    return body, errors
