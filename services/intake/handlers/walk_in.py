"""The walk-in desk's use cases: the citizen books a visit online; on the day a desk officer
checks the booking in (queue number) and takes the complaint, which is filed with the
officer's id through the one filing path and comes back as a printable receipt.

Opening hours and the daily quota are enforced here, against the desk's own time zone and
its injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
import holidays

from schemas.events import Attachment, Channel
from schemas.personal_data import ERASED
from services.intake.adapters import views, walk_in
from services.intake.domain import desk
from services.intake.domain.complaints import Submission
from services.intake.domain.desk import (
    Booking,
    CheckedIn,
    Clock,
    DeskRefusal,
    QueueEntry,
    WalkInReceipt,
)
from services.intake.domain.tracking import (
    InvalidTrackingCode,
    new_booking_code,
    normalise_booking_code,
)
from services.intake.handlers.filing import FileComplaint, Filed, file_complaints
from services.intake.settings import IntakeSettings
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore


class WalkInDesk:
    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        settings: IntakeSettings,
        keys: Keystore,
        clock: Clock,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.keys = keys
        self.clock = clock
        self.hours = settings.opening_hours()
        self.holidays = holidays.country_holidays("ID")

    def today(self) -> date:
        return desk.local_now(self.clock(), self.settings.desk_timezone).date()

    def is_open(self) -> bool:
        return desk.is_open(self.clock(), self.hours, self.settings.desk_timezone, self.holidays)

    def require_open(self) -> None:
        if not self.is_open():
            raise DeskRefusal(409, f"the desk is closed now; opening hours: {self.describe()}")

    def describe(self) -> str:
        return desk.describe_hours(self.hours, self.settings.desk_timezone)

    async def book(self, name: str, phone: str, visit_date: date) -> tuple[Booking, bool]:
        """The booking, and whether it is new (the same phone and day keep one booking)."""
        for _ in range(3):
            try:
                return await self._book(name, phone, visit_date)
            except asyncpg.UniqueViolationError:
                continue  # the same person booking twice at once, or a code drawn twice
        raise DeskRefusal(409, "the booking could not be stored; please try again")

    async def _book(self, name: str, phone: str, visit_date: date) -> tuple[Booking, bool]:
        refusal = desk.booking_refusal(
            visit_date,
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
            key = await self.keys.key_for(conn, identity_of(None, phone, None))
            sealed_phone = key.seal(phone)
            existing = await walk_in.booking_code_of(conn, visit_date, sealed_phone)
            if existing:
                return desk.booking(existing, visit_date, self.hours), False
            async with conn.transaction():
                if not await walk_in.take_booking_slot(
                    conn, visit_date, self.settings.desk_daily_quota
                ):
                    raise DeskRefusal(409, "that day is fully booked; choose another date")
                code = new_booking_code()
                await walk_in.insert_booking(
                    conn,
                    booking_code=code,
                    visit_date=visit_date,
                    sealed_name=key.seal(name),
                    sealed_phone=sealed_phone,
                    booked_at=self.clock(),
                )
        return desk.booking(code, visit_date, self.hours), True

    async def _todays_booking(self, conn: asyncpg.Connection, raw_code: str) -> asyncpg.Record:
        try:
            code = normalise_booking_code(raw_code)
        except InvalidTrackingCode as error:
            raise DeskRefusal(400, str(error)) from None
        row = await walk_in.lock_booking(conn, code)
        if row is None:
            raise DeskRefusal(404, "no booking has this code")
        if row["visit_date"] != self.today():
            raise DeskRefusal(409, f"this booking is for {row['visit_date']:%Y-%m-%d}, not today")
        return row

    async def check_in(self, raw_code: str, officer_id: str) -> CheckedIn:
        self.require_open()
        async with self.pool().acquire() as conn, conn.transaction():
            row = await self._todays_booking(conn, raw_code)
            name = await self._name(conn, row["name"])
            if row["queue_number"] is not None:
                return CheckedIn(
                    booking_code=row["booking_code"], queue_number=row["queue_number"], name=name
                )
            number = await walk_in.take_queue_number(
                conn, row["visit_date"], self.settings.desk_daily_quota
            )
            if number is None:
                raise DeskRefusal(409, "today's quota of walk-in complaints is reached")
            await walk_in.mark_checked_in(
                conn, row["booking_code"], number, self.clock(), officer_id
            )
        return CheckedIn(booking_code=row["booking_code"], queue_number=number, name=name)

    async def _name(self, conn: asyncpg.Connection, stored: str) -> str:
        return await self.keys.reveal(conn, stored) or ERASED

    async def take_complaint(
        self,
        booking_code: str,
        details: dict[str, Any],
        officer_id: str,
        uploads: Sequence[tuple[Attachment, bytes]] = (),
    ) -> WalkInReceipt:
        """File a checked-in citizen's complaint (`details`: the Submission fields the
        officer typed in; `uploads`: the documents handed in, scanned and checked);
        pressing twice gives the same receipt."""
        self.require_open()
        async with self.pool().acquire() as conn, conn.transaction():
            row = await self._todays_booking(conn, booking_code)
            if row["queue_number"] is None:
                raise DeskRefusal(409, "check the booking in first (it issues the queue number)")
            if row["tracking_code"] is None:
                tracking_code = await self._file(conn, row, details, officer_id, uploads)
                received_at = self.clock()
            else:
                tracking_code, received_at = row["tracking_code"], row["received_at"]
            return await self._receipt(conn, row["queue_number"], tracking_code, received_at)

    async def receipt(self, booking_code: str) -> WalkInReceipt:
        """The receipt of the complaint taken today for this booking (to print again)."""
        async with self.pool().acquire() as conn, conn.transaction():
            row = await self._todays_booking(conn, booking_code)
            if row["tracking_code"] is None:
                raise DeskRefusal(404, "no complaint was taken for this booking yet")
            return await self._receipt(
                conn, row["queue_number"], row["tracking_code"], row["received_at"]
            )

    async def _receipt(
        self,
        conn: asyncpg.Connection,
        queue_number: int,
        tracking_code: str,
        received_at: datetime,
    ) -> WalkInReceipt:
        officer_id = await views.officer_of(conn, tracking_code)
        assert officer_id is not None
        return WalkInReceipt(
            tracking_code=tracking_code,
            queue_number=queue_number,
            officer_id=officer_id,
            received_at=received_at,
            receipt=desk.receipt_text(
                tracking_code=tracking_code,
                queue_number=queue_number,
                officer_id=officer_id,
                received_at=received_at,
                timezone=self.settings.desk_timezone,
            ),
        )

    async def _file(
        self,
        conn: asyncpg.Connection,
        booking: asyncpg.Record,
        details: dict[str, Any],
        officer_id: str,
        uploads: Sequence[tuple[Attachment, bytes]],
    ) -> str:
        name = await self.keys.reveal(conn, booking["name"])
        phone = await self.keys.reveal(conn, booking["phone"])
        if name is None or phone is None:
            raise DeskRefusal(409, "this booking's personal data was erased")
        command = FileComplaint(
            Submission(
                channel=Channel.WALK_IN,
                name=name,
                phone=phone,
                attachments=tuple(attachment for attachment, _ in uploads),
                **details,
            ),
            idempotency_key=f"walk-in:{booking['booking_code']}",
            fingerprint=None,
            uploads=uploads,
            officer_id=officer_id,
            reporter_limit=False,  # the desk's daily quota limits walk-ins
        )
        (filed,) = await file_complaints(
            conn, [command], settings=self.settings, keys=self.keys, now=self.clock()
        )
        assert isinstance(filed, Filed) and filed.tracking_code is not None
        await walk_in.link_complaint(conn, booking["booking_code"], filed.complaint_id)
        return filed.tracking_code

    async def queue(self) -> list[QueueEntry]:
        async with self.pool().acquire() as conn:
            rows = await views.desk_queue(conn, self.today())
            return [
                QueueEntry(**{**dict(row), "name": await self._name(conn, row["name"])})
                for row in rows
            ]
