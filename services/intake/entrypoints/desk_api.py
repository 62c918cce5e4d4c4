"""The walk-in desk's JSON API: the citizen books a visit; desk officers, signed in to the
back office, which calls with its staff assertion `X-Lapor-Staff` (role desk_officer, the
staff id as officer id), check bookings in, take complaints (JSON, or a multipart form with
the documents the citizen hands in, scanned), print receipts and see today's desk.

No `from __future__ import annotations` here: FastAPI must see the `Officer` dependency
built inside the router factory as a real annotation, not a string it cannot resolve.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.staff import Role, StaffMember
from services.intake.domain.desk import (
    Booking,
    CheckedIn,
    DeskRefusal,
    QueueEntry,
    WalkInReceipt,
)
from services.intake.domain.fields import Nik, OptionalEmail, Phone
from services.intake.entrypoints.api_models import PlaceFields
from services.intake.entrypoints.pages import read_uploads, uploaded_files
from services.intake.handlers.walk_in import WalkInDesk
from services.intake.settings import IntakeSettings
from services.runtime.staff import staff_with_role

COMPLAINT_FORM = "/v1/walk-in/complaints/form"
FLAGS = ("anonymous", "secret", "in_court", "filed_before")
TICKED = frozenset({"1", "true", "on", "yes"})
OFFICER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid staff assertion"},
    403: {"description": "A staff member without the desk_officer role"},
}


class BookingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=200)
    phone: Phone = Field(max_length=32, description="Indonesian mobile number")
    visit_date: date


class CheckInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booking_code: str = Field(max_length=20)


class WalkInComplaintRequest(PlaceFields):
    """The officer takes the complaint and picks where the problem is (`location`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    booking_code: str = Field(max_length=20)
    nik: Nik
    description: str = Field(min_length=20, max_length=20_000)
    email: OptionalEmail = Field(default=None, max_length=254)
    anonymous: bool = False
    secret: bool = False
    in_court: bool = False
    filed_before: bool = False

    def details(self) -> dict[str, Any]:
        """The complaint's fields (the booking supplies name and phone)."""
        return self.submission_fields(exclude=frozenset({"booking_code"}))


class OpeningDay(BaseModel):
    weekday: int = Field(ge=0, le=6, description="Monday = 0")
    opens: str = Field(examples=["08:00"])
    closes: str = Field(examples=["14:00"], description="The first minute it is closed")


class DeskDay(BaseModel):
    """Today at the desk: whether it is open now, its hours and today's queue."""

    day: date
    open: bool
    hours: str = Field(description="Opening hours per weekday, with the desk's time zone")
    opening_days: list[OpeningDay] = Field(description="The same hours, for a page to word")
    timezone: str = Field(examples=["Asia/Jakarta"])
    queue: list[QueueEntry]


# The multipart form of POST /v1/walk-in/complaints/form, as OpenAPI describes it: the JSON
# complaint's fields flat (the place as region_code and address), ticked flags as "1".
_TEXT = {"type": "string"}
COMPLAINT_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["booking_code", "nik", "description"],
    "properties": {
        "booking_code": {**_TEXT, "maxLength": 20},
        "nik": {**_TEXT, "description": "16-digit NIK"},
        "description": {**_TEXT, "minLength": 20, "maxLength": 20_000},
        "region_code": {**_TEXT, "description": "Kemendagri code where the problem is"},
        "address": {**_TEXT, "maxLength": 500},
        "city": {**_TEXT, "maxLength": 120},
        "email": {**_TEXT, "maxLength": 254},
        **{flag: {"type": "string", "enum": ["1", "0"]} for flag in FLAGS},
        "attachments": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "The documents handed in, scanned: PDF, JPEG or PNG",
        },
    },
}


def refused(error: DeskRefusal) -> HTTPException:
    return HTTPException(status_code=error.status_code, detail=error.detail)


def form_complaint(values: dict[str, str]) -> WalkInComplaintRequest:
    """The complaint a multipart form describes: empty fields absent, flags ticked with
    "1" (or "true", "on"); pydantic's ValidationError for what the JSON API refuses too."""
    flags = {name: values.get(name, "").strip().lower() in TICKED for name in FLAGS}
    fields = {k: v for k, v in values.items() if v.strip() and k not in FLAGS}
    return WalkInComplaintRequest(**fields, **flags)


def invalid_fields(invalid: ValidationError) -> HTTPException:
    """A 422 shaped like FastAPI's own (each error's `loc` starting with "body")."""
    errors = [
        {"loc": ["body", *item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in invalid.errors(include_url=False, include_input=False, include_context=False)
    ]
    return HTTPException(status_code=422, detail=errors)


def desk_api_router(desk: WalkInDesk, settings: IntakeSettings) -> APIRouter:
    router = APIRouter(tags=["walk-in"])
    Officer = Annotated[StaffMember, Depends(staff_with_role(Role.DESK_OFFICER))]

    @router.post(
        "/v1/walk-in/bookings",
        status_code=201,
        response_model=Booking,
        responses={409: {"description": "Fully booked"}, 422: {"description": "Bad date"}},
    )
    async def book_visit(body: BookingRequest, response: Response) -> Any:
        """Book a visit to the desk (the citizen does this online first)."""
        try:
            booking, new = await desk.book(body.name, body.phone, body.visit_date)
        except DeskRefusal as error:
            raise refused(error) from None
        if not new:
            response.status_code = 200
        return booking

    @router.post(
        "/v1/walk-in/check-ins",
        response_model=CheckedIn,
        responses={
            **OFFICER_ERRORS,
            400: {"description": "Not a booking code"},
            404: {},
            409: {"description": "Closed, quota reached, other day"},
        },
    )
    async def check_in(body: CheckInRequest, officer: Officer) -> Any:
        """Check a booking in on its day during opening hours; issues the queue number."""
        try:
            return await desk.check_in(body.booking_code, officer.staff_id)
        except DeskRefusal as error:
            raise refused(error) from None

    _add_complaints(router, desk, settings, Officer)

    @router.get("/v1/walk-in/queue", response_model=list[QueueEntry], responses=OFFICER_ERRORS)
    async def today_queue(officer: Officer) -> Any:
        return await desk.queue()

    @router.get("/v1/walk-in/today", response_model=DeskDay, responses=OFFICER_ERRORS)
    async def today(officer: Officer) -> Any:
        """Whether the desk is open now (opening hours and public holidays), its hours and
        today's queue: what the back office's desk page shows."""
        return DeskDay(
            day=desk.today(),
            open=desk.is_open(),
            hours=desk.describe(),
            opening_days=[
                OpeningDay(weekday=day, opens=f"{opens:%H:%M}", closes=f"{closes:%H:%M}")
                for day, (opens, closes) in sorted(desk.hours.items())
            ],
            timezone=settings.desk_timezone,
            queue=await desk.queue(),
        )

    return router


def _add_complaints(
    router: APIRouter, desk: WalkInDesk, settings: IntakeSettings, Officer: Any
) -> None:
    taken = {
        **OFFICER_ERRORS,
        400: {"description": "Not a booking code"},
        404: {"description": "No such booking"},
        409: {"description": "Closed, not checked in, another day's booking"},
    }

    @router.post(
        "/v1/walk-in/complaints", status_code=201, response_model=WalkInReceipt, responses=taken
    )
    async def take_complaint(body: WalkInComplaintRequest, officer: Officer) -> Any:
        """Take a checked-in citizen's complaint; returns the receipt with the tracking code."""
        try:
            return await desk.take_complaint(body.booking_code, body.details(), officer.staff_id)
        except DeskRefusal as error:
            raise refused(error) from None

    @router.post(
        COMPLAINT_FORM,
        status_code=201,
        response_model=WalkInReceipt,
        responses={**taken, 422: {"description": "A field or a document refused"}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": COMPLAINT_FORM_SCHEMA}},
            }
        },
    )
    async def take_complaint_form(request: Request, officer: Officer) -> Any:
        """The same with the documents the citizen hands in (multipart: the fields flat,
        files as `attachments`), each checked by its content like the web form's; `?lang=en`
        for refusals in English. Pressing twice gives the same receipt."""
        form = await request.form(
            max_files=settings.max_attachments + 1, max_fields=30, max_part_size=64 * 1024
        )
        values = {key: value for key, value in form.items() if isinstance(value, str)}
        try:
            body = form_complaint(values)
        except ValidationError as invalid:
            raise invalid_fields(invalid) from None
        lang = "en" if request.query_params.get("lang") == "en" else "id"
        uploads, problem = await read_uploads(uploaded_files(form), settings, lang)
        if problem:
            raise HTTPException(status_code=422, detail=problem)
        try:
            return await desk.take_complaint(
                body.booking_code, body.details(), officer.staff_id, uploads
            )
        except DeskRefusal as error:
            raise refused(error) from None

    @router.get(
        "/v1/walk-in/receipts/{booking_code}",
        response_model=WalkInReceipt,
        responses={**taken, 404: {"description": "No such booking, or no complaint taken yet"}},
    )
    async def receipt(booking_code: str, officer: Officer) -> Any:
        """The receipt of the complaint taken today for this booking, to print again."""
        try:
            return await desk.receipt(booking_code)
        except DeskRefusal as error:
            raise refused(error) from None
