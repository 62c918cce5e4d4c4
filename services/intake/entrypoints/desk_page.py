"""The desk officers' page (`/desk`): today's queue, check-in and complaint forms (with the
documents the citizen hands in, scanned). No JavaScript; the browser asks for the officer's
login (HTTP Basic)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from schemas.events import Attachment
from services.intake.domain import desk as desk_rules
from services.intake.domain.desk import DeskRefusal
from services.intake.entrypoints.desk_api import WalkInComplaintRequest, officer_dependency
from services.intake.entrypoints.guards import FormGuard
from services.intake.entrypoints.pages import read_uploads, region_choices, render, uploaded_files
from services.intake.handlers.walk_in import WalkInDesk
from services.intake.settings import IntakeSettings
from services.runtime import csrf

FLAGS = ("anonymous", "secret", "in_court", "filed_before")


def desk_page_router(desk: WalkInDesk, settings: IntakeSettings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    forms = FormGuard(settings)  # the desk's forms ride on the officer's Basic credentials
    Officer = officer_dependency(settings)

    async def page(
        request: Request,
        officer_id: str,
        result: Any = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        queue = await desk.queue()
        return forms.page(
            request,
            lambda csrf_token: render(
                "desk.html",
                "id",
                status_code=status,
                title="Meja pengaduan",
                officer_id=officer_id,
                queue=queue,
                # As before the split: opening hours only, public holidays not shown.
                open=desk_rules.is_open(desk.clock(), desk.hours, settings.desk_timezone),
                hours=desk.describe(),
                result=result,
                error=error,
                csrf_token=csrf_token,
                regions=region_choices(),
            ),
        )

    @router.get("/desk", response_class=HTMLResponse)
    async def desk_page(request: Request, officer_id: Officer) -> Any:
        return await page(request, officer_id)

    @router.post("/desk", response_class=HTMLResponse)
    async def desk_action(request: Request, officer_id: Officer) -> Any:
        form = await request.form(
            max_files=settings.max_attachments + 5, max_fields=30, max_part_size=64 * 1024
        )
        # Browsers resend Basic credentials on their own: a foreign page must not drive the desk.
        if not forms.passes(request, form.get(csrf.FIELD)):
            return render("refused.html", "id", 403, title="Meja pengaduan", back="/desk")
        values = {key: str(value) for key, value in form.items() if isinstance(value, str)}
        values.pop(csrf.FIELD, None)
        action = values.pop("action", "")
        files = uploaded_files(form)
        uploads, refused = await read_uploads(files, settings, "id")
        if refused:
            return await page(request, officer_id, error=refused, status=422)
        try:
            result = await _act(desk, action, values, officer_id, uploads)
        except DeskRefusal as refusal:
            return await page(request, officer_id, error=refusal.detail, status=refusal.status_code)
        except ValidationError as invalid:
            error = "; ".join(
                f"{item['loc'][0] if item['loc'] else 'form'}: {item['msg']}"
                for item in invalid.errors(include_input=False, include_url=False)
            )
            return await page(request, officer_id, error=error, status=422)
        if result is None:
            return await page(request, officer_id, error="unknown action", status=400)
        return await page(request, officer_id, result=result)

    return router


async def _act(
    desk: WalkInDesk,
    action: str,
    values: dict[str, str],
    officer_id: str,
    uploads: list[tuple[Attachment, bytes]],
) -> Any:
    """Do what the desk form asked; None for an unknown action."""
    if action == "check-in":
        return await desk.check_in(values.get("booking_code", ""), officer_id)
    if action == "complaint":
        flags = {name: name in values for name in FLAGS}
        fields = {k: v for k, v in values.items() if v and k not in flags}
        body = WalkInComplaintRequest(**fields, **flags)
        return await desk.take_complaint(body.booking_code, body.details(), officer_id, uploads)
    return None
