"""The walk-in desk's JSON API: the citizen books a visit; desk officers (HTTP Basic: officer
id and token, one by one; or the back office's staff assertion `X-Lapor-Staff` with the role
desk_officer, the staff id as officer id) check bookings in, take complaints and see today's
queue.

No `from __future__ import annotations` here: FastAPI must see the `Officer` dependency
built inside the router factories as a real annotation, not a string it cannot resolve.
"""

import hmac
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field

from schemas.staff import Role
from services.intake.domain.desk import (
    Booking,
    CheckedIn,
    DeskRefusal,
    QueueEntry,
    WalkInReceipt,
)
from services.intake.domain.fields import Nik, OptionalEmail, Phone
from services.intake.entrypoints.api_models import PlaceFields
from services.intake.handlers.walk_in import WalkInDesk
from services.intake.settings import IntakeSettings
from services.runtime.staff import assertion_secret, staff_header, vouched


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


def officer_dependency(settings: IntakeSettings, staff_secret: str | None = None) -> Any:
    """`Annotated[str, Depends(...)]`: the signed-in officer's id, or 401: by HTTP Basic
    (officer id and token), or by the back office's staff assertion (`X-Lapor-Staff`) of a
    staff member with the role desk_officer, whose staff id is then the officer id (403
    for another role). `staff_secret`: default LAPOR_STAFF_ASSERTION_SECRET."""
    basic = HTTPBasic(realm="Lapor desk", auto_error=False)
    officers = settings.officers()
    secret = staff_secret if staff_secret is not None else assertion_secret()

    def officer(
        credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)],
        assertion: Annotated[str | None, Depends(staff_header)],
    ) -> str:
        member = vouched(assertion, secret, challenge='Basic realm="Lapor desk"')
        if member is not None:
            if not member.has(Role.DESK_OFFICER):
                raise HTTPException(status_code=403, detail="only desk officers work the desk")
            return member.staff_id
        token = officers.get(credentials.username) if credentials else None
        if (
            credentials is None
            or token is None
            or not hmac.compare_digest(credentials.password.encode(), token.encode())
        ):
            raise HTTPException(
                status_code=401,
                detail="desk officers sign in with their officer id and token",
                headers={"WWW-Authenticate": 'Basic realm="Lapor desk"'},
            )
        return credentials.username

    return Annotated[str, Depends(officer)]


def refused(error: DeskRefusal) -> HTTPException:
    return HTTPException(status_code=error.status_code, detail=error.detail)


def desk_api_router(desk: WalkInDesk, settings: IntakeSettings) -> APIRouter:
    router = APIRouter(tags=["walk-in"])
    Officer = officer_dependency(settings)

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
            401: {},
            403: {"description": "A staff member without the desk_officer role"},
            404: {},
            409: {"description": "Closed, quota reached, other day"},
        },
    )
    async def check_in(body: CheckInRequest, officer_id: Officer) -> Any:
        """Check a booking in on its day during opening hours; issues the queue number."""
        try:
            return await desk.check_in(body.booking_code, officer_id)
        except DeskRefusal as error:
            raise refused(error) from None

    @router.post(
        "/v1/walk-in/complaints",
        status_code=201,
        response_model=WalkInReceipt,
        responses={
            401: {},
            403: {"description": "A staff member without the desk_officer role"},
            404: {},
            409: {"description": "Closed or not checked in"},
        },
    )
    async def take_complaint(body: WalkInComplaintRequest, officer_id: Officer) -> Any:
        """Take a checked-in citizen's complaint; returns the receipt with the tracking code."""
        try:
            return await desk.take_complaint(body.booking_code, body.details(), officer_id)
        except DeskRefusal as error:
            raise refused(error) from None

    @router.get("/v1/walk-in/queue", response_model=list[QueueEntry], responses={401: {}, 403: {}})
    async def today_queue(officer_id: Officer) -> Any:
        return await desk.queue()

    return router
