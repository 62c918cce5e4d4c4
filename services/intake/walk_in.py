"""The walk-in desk: the citizen books a visit online; on the day a desk officer checks the
booking in (queue number) and takes the complaint, which is filed with the officer's id and
a printable receipt. Officers authenticate one by one (HTTP Basic: officer id and token).

Opening hours and the daily quota are enforced here, against the desk's own time zone.
"""

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

import asyncpg
import holidays
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.events import Channel
from services.intake import filing
from services.intake.domain import desk
from services.intake.domain.complaints import Submission
from services.intake.domain.fields import Nik, OptionalEmail, Phone
from services.intake.domain.tracking import (
    InvalidTrackingCode,
    new_booking_code,
    normalise_booking_code,
)
from services.intake.entrypoints import csrf
from services.intake.entrypoints.guards import FormGuard
from services.intake.settings import IntakeSettings
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore, default_keystore

Clock = Callable[[], datetime]
ERASED = "(data erased)"  # shown to the desk for a booking whose reporter was erased


class BookingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=200)
    phone: Phone = Field(max_length=32, description="Indonesian mobile number")
    visit_date: date


class Booking(BaseModel):
    booking_code: str
    visit_date: date
    opens: str
    closes: str


class CheckInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booking_code: str = Field(max_length=20)


class CheckedIn(BaseModel):
    booking_code: str
    queue_number: int
    name: str


class WalkInComplaintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    booking_code: str = Field(max_length=20)
    nik: Nik
    description: str = Field(min_length=20, max_length=20_000)
    email: OptionalEmail = Field(default=None, max_length=254)
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{2}(\.[0-9]{2}){0,2}$")
    city: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=500)
    anonymous: bool = False
    secret: bool = False
    in_court: bool = False
    filed_before: bool = False


class WalkInReceipt(BaseModel):
    tracking_code: str
    queue_number: int
    officer_id: str
    received_at: datetime
    receipt: str


class QueueEntry(BaseModel):
    booking_code: str
    queue_number: int | None
    name: str
    tracking_code: str | None


class DeskRefusal(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass
class Desk:
    pool: Callable[[], asyncpg.Pool]
    settings: IntakeSettings
    clock: Clock
    keys: Keystore = field(default_factory=default_keystore)

    def __post_init__(self) -> None:
        self.hours = self.settings.opening_hours()
        self.holidays = holidays.country_holidays("ID")

    def today(self) -> date:
        return desk.local_now(self.clock(), self.settings.desk_timezone).date()

    def require_open(self) -> None:
        if not desk.is_open(self.clock(), self.hours, self.settings.desk_timezone, self.holidays):
            raise DeskRefusal(409, f"the desk is closed now; opening hours: {self.describe()}")

    def describe(self) -> str:
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        return (
            ", ".join(
                f"{names[day]} {opens:%H:%M}-{closes:%H:%M}"
                for day, (opens, closes) in sorted(self.hours.items())
            )
            + f" ({self.settings.desk_timezone})"
        )

    async def book(self, request: BookingRequest) -> tuple[Booking, bool]:
        for _ in range(3):
            try:
                return await self._book(request)
            except asyncpg.UniqueViolationError:
                continue  # the same person booking twice at once, or a code drawn twice
        raise DeskRefusal(409, "the booking could not be stored; please try again")

    async def _book(self, request: BookingRequest) -> tuple[Booking, bool]:
        refusal = desk.booking_refusal(
            request.visit_date,
            self.today(),
            self.hours,
            self.settings.desk_booking_days_ahead,
            self.holidays,
        )
        if refusal:
            raise DeskRefusal(422, refusal)
        async with self.pool().acquire() as conn:
            # Name and phone are sealed under the key of the phone number. Sealing is
            # deterministic per key, so "one booking per phone and day" still holds.
            key = await self.keys.key_for(conn, identity_of(None, request.phone, None))
            phone = key.seal(request.phone)
            existing = await conn.fetchval(
                "SELECT booking_code FROM walk_in_bookings WHERE visit_date = $1 AND phone = $2",
                request.visit_date,
                phone,
            )
            if existing:
                return self._booking(existing, request.visit_date), False
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO walk_in_days (visit_date) VALUES ($1) ON CONFLICT DO NOTHING",
                    request.visit_date,
                )
                taken = await conn.fetchval(
                    "UPDATE walk_in_days SET booked = booked + 1"
                    " WHERE visit_date = $1 AND booked < $2 RETURNING booked",
                    request.visit_date,
                    self.settings.desk_daily_quota,
                )
                if taken is None:
                    raise DeskRefusal(409, "that day is fully booked; choose another date")
                code = new_booking_code()
                await conn.execute(
                    "INSERT INTO walk_in_bookings (booking_code, visit_date, name, phone,"
                    " booked_at) VALUES ($1, $2, $3, $4, $5)",
                    code,
                    request.visit_date,
                    key.seal(request.name),
                    phone,
                    self.clock(),
                )
        return self._booking(code, request.visit_date), True

    def _booking(self, code: str, visit: date) -> Booking:
        opens, closes = self.hours[visit.weekday()]
        return Booking(
            booking_code=code, visit_date=visit, opens=f"{opens:%H:%M}", closes=f"{closes:%H:%M}"
        )

    async def _booking_row(self, conn: asyncpg.Connection, raw_code: str) -> asyncpg.Record:
        try:
            code = normalise_booking_code(raw_code)
        except InvalidTrackingCode as error:
            raise DeskRefusal(400, str(error)) from None
        row = await conn.fetchrow(
            "SELECT b.*, c.tracking_code, c.received_at FROM walk_in_bookings b"
            " LEFT JOIN complaints c USING (complaint_id) WHERE booking_code = $1 FOR UPDATE OF b",
            code,
        )
        if row is None:
            raise DeskRefusal(404, "no booking has this code")
        if row["visit_date"] != self.today():
            raise DeskRefusal(409, f"this booking is for {row['visit_date']:%Y-%m-%d}, not today")
        return row

    async def check_in(self, raw_code: str, officer_id: str) -> CheckedIn:
        self.require_open()
        async with self.pool().acquire() as conn, conn.transaction():
            row = await self._booking_row(conn, raw_code)
            name = await self._name(conn, row["name"])
            if row["queue_number"] is not None:
                return CheckedIn(
                    booking_code=row["booking_code"], queue_number=row["queue_number"], name=name
                )
            number = await conn.fetchval(
                "UPDATE walk_in_days SET checked_in = checked_in + 1"
                " WHERE visit_date = $1 AND checked_in < $2 RETURNING checked_in",
                row["visit_date"],
                self.settings.desk_daily_quota,
            )
            if number is None:
                raise DeskRefusal(409, "today's quota of walk-in complaints is reached")
            await conn.execute(
                "UPDATE walk_in_bookings SET queue_number = $2, checked_in_at = $3,"
                " checked_in_by = $4 WHERE booking_code = $1",
                row["booking_code"],
                number,
                self.clock(),
                officer_id,
            )
        return CheckedIn(booking_code=row["booking_code"], queue_number=number, name=name)

    async def _name(self, conn: asyncpg.Connection, stored: str) -> str:
        return await self.keys.reveal(conn, stored) or ERASED

    async def take_complaint(self, body: WalkInComplaintRequest, officer_id: str) -> WalkInReceipt:
        self.require_open()
        async with self.pool().acquire() as conn, conn.transaction():
            row = await self._booking_row(conn, body.booking_code)
            if row["queue_number"] is None:
                raise DeskRefusal(409, "check the booking in first (it issues the queue number)")
            if row["tracking_code"] is None:
                name = await self.keys.reveal(conn, row["name"])
                phone = await self.keys.reveal(conn, row["phone"])
                if name is None or phone is None:
                    raise DeskRefusal(409, "this booking's personal data was erased")
                submission = Submission(
                    channel=Channel.WALK_IN,
                    name=name,
                    phone=phone,
                    **body.model_dump(exclude={"booking_code"}),
                )
                filed = await filing.file_complaint(
                    conn,
                    submission,
                    idempotency_key=f"walk-in:{row['booking_code']}",
                    fingerprint=None,
                    officer_id=officer_id,
                    now=self.clock(),
                    keys=self.keys,
                )
                await conn.execute(
                    "UPDATE walk_in_bookings SET complaint_id = $2 WHERE booking_code = $1",
                    row["booking_code"],
                    filed.complaint_id,
                )
                tracking_code, received_at = filed.tracking_code, self.clock()
            else:  # the officer pressed twice: the same receipt
                tracking_code, received_at = row["tracking_code"], row["received_at"]
            stored_officer = await conn.fetchval(
                "SELECT officer_id FROM complaints WHERE tracking_code = $1", tracking_code
            )
        assert tracking_code is not None
        return WalkInReceipt(
            tracking_code=tracking_code,
            queue_number=row["queue_number"],
            officer_id=stored_officer,
            received_at=received_at,
            receipt=desk.receipt_text(
                tracking_code=tracking_code,
                queue_number=row["queue_number"],
                officer_id=stored_officer,
                received_at=received_at,
                timezone=self.settings.desk_timezone,
            ),
        )

    async def queue(self) -> list[QueueEntry]:
        async with self.pool().acquire() as conn:
            rows = await conn.fetch(
                "SELECT b.booking_code, b.queue_number, b.name, c.tracking_code"
                " FROM walk_in_bookings b LEFT JOIN complaints c USING (complaint_id)"
                " WHERE b.visit_date = $1 ORDER BY b.queue_number NULLS LAST, b.booked_at",
                self.today(),
            )
            return [
                QueueEntry(**{**dict(row), "name": await self._name(conn, row["name"])})
                for row in rows
            ]


def walk_in_router(
    pool: Callable[[], asyncpg.Pool], settings: IntakeSettings, clock: Clock | None = None
) -> APIRouter:
    from services.intake.web import render  # shared page rendering

    router = APIRouter(tags=["walk-in"])
    forms = FormGuard(settings)  # the desk's forms ride on the officer's Basic credentials
    the_desk = Desk(pool, settings, clock or (lambda: datetime.now(UTC)))
    basic = HTTPBasic(realm="Lapor desk", auto_error=False)
    officers = settings.officers()

    def officer(credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]) -> str:
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

    Officer = Annotated[str, Depends(officer)]

    def refused(error: DeskRefusal) -> HTTPException:
        return HTTPException(status_code=error.status_code, detail=error.detail)

    @router.post(
        "/v1/walk-in/bookings",
        status_code=201,
        response_model=Booking,
        responses={409: {"description": "Fully booked"}, 422: {"description": "Bad date"}},
    )
    async def book_visit(body: BookingRequest, response: Response) -> Any:
        """Book a visit to the desk (the citizen does this online first)."""
        try:
            booking, new = await the_desk.book(body)
        except DeskRefusal as error:
            raise refused(error) from None
        if not new:
            response.status_code = 200
        return booking

    @router.post(
        "/v1/walk-in/check-ins",
        response_model=CheckedIn,
        responses={401: {}, 404: {}, 409: {"description": "Closed, quota reached, other day"}},
    )
    async def check_in(body: CheckInRequest, officer_id: Officer) -> Any:
        """Check a booking in on its day during opening hours; issues the queue number."""
        try:
            return await the_desk.check_in(body.booking_code, officer_id)
        except DeskRefusal as error:
            raise refused(error) from None

    @router.post(
        "/v1/walk-in/complaints",
        status_code=201,
        response_model=WalkInReceipt,
        responses={401: {}, 404: {}, 409: {"description": "Closed or not checked in"}},
    )
    async def take_complaint(body: WalkInComplaintRequest, officer_id: Officer) -> Any:
        """Take a checked-in citizen's complaint; returns the receipt with the tracking code."""
        try:
            return await the_desk.take_complaint(body, officer_id)
        except DeskRefusal as error:
            raise refused(error) from None

    @router.get("/v1/walk-in/queue", response_model=list[QueueEntry], responses={401: {}})
    async def today_queue(officer_id: Officer) -> Any:
        return await the_desk.queue()

    # --- the desk officers' page (no JavaScript; the browser asks for the officer's login)

    @router.get("/desk", response_class=HTMLResponse, include_in_schema=False)
    async def desk_page(request: Request, officer_id: Officer) -> Any:
        queue = await the_desk.queue()
        return forms.page(
            request,
            lambda csrf_token: render(
                "desk.html",
                "id",
                title="Meja pengaduan",
                officer_id=officer_id,
                queue=queue,
                open=desk.is_open(the_desk.clock(), the_desk.hours, settings.desk_timezone),
                hours=the_desk.describe(),
                result=None,
                error=None,
                csrf_token=csrf_token,
            ),
        )

    @router.post("/desk", response_class=HTMLResponse, include_in_schema=False)
    async def desk_action(request: Request, officer_id: Officer) -> Any:
        form = await request.form(max_files=0, max_fields=30, max_part_size=64 * 1024)
        # Browsers resend Basic credentials on their own: a foreign page must not drive the desk.
        if not forms.passes(request, form.get(csrf.FIELD)):
            return render("refused.html", "id", 403, title="Meja pengaduan", back="/desk")
        values = {key: str(value) for key, value in form.items() if isinstance(value, str)}
        values.pop(csrf.FIELD, None)
        action = values.pop("action", "")
        result: Any = None
        error: str | None = None
        status = 200
        try:
            if action == "check-in":
                result = await the_desk.check_in(values.get("booking_code", ""), officer_id)
            elif action == "complaint":
                flags = {
                    k: k in values for k in ("anonymous", "secret", "in_court", "filed_before")
                }
                fields = {k: v for k, v in values.items() if v and k not in flags}
                result = await the_desk.take_complaint(
                    WalkInComplaintRequest(**fields, **flags), officer_id
                )
            else:
                error, status = "unknown action", 400
        except DeskRefusal as refusal:
            error, status = refusal.detail, refusal.status_code
        except ValidationError as invalid:
            error = "; ".join(
                f"{item['loc'][0] if item['loc'] else 'form'}: {item['msg']}"
                for item in invalid.errors(include_input=False, include_url=False)
            )
            status = 422
        queue = await the_desk.queue()
        return forms.page(
            request,
            lambda csrf_token: render(
                "desk.html",
                "id",
                status_code=status,
                title="Meja pengaduan",
                officer_id=officer_id,
                queue=queue,
                open=desk.is_open(the_desk.clock(), the_desk.hours, settings.desk_timezone),
                hours=the_desk.describe(),
                result=result,
                error=error,
                csrf_token=csrf_token,
            ),
        )

    return router
