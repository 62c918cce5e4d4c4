"""The walk-in desk's rules, pure: opening hours in the desk's time zone, bookable days, and
the daily quota. The real desk opens Mon-Thu 08:00-14:00 and Fri 08:00-14:30 (Asia/Jakarta),
takes about 50 people a day, and closes on public holidays; all of it is configurable."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

OpeningHours = Mapping[int, tuple[time, time]]  # weekday (Mon = 0) -> [opens, closes)
Clock = Callable[[], datetime]  # the desk's "now" (injected: tests and demos fix it)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class DeskRefusal(Exception):
    """The desk cannot do that; `status_code` is the HTTP answer that says so."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class Booking(BaseModel):
    booking_code: str
    visit_date: date
    opens: str
    closes: str


class CheckedIn(BaseModel):
    booking_code: str
    queue_number: int
    name: str


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


def fixed_clock(instant: str) -> Clock:
    """A clock stopped at an ISO 8601 instant (with its UTC offset)."""
    now = datetime.fromisoformat(instant)
    if now.tzinfo is None:
        raise ValueError("the desk clock needs a UTC offset, e.g. 2027-02-02T10:00:00+07:00")
    return lambda: now


def describe_hours(hours: OpeningHours, timezone: str) -> str:
    spans = ", ".join(
        f"{WEEKDAYS[day]} {opens:%H:%M}-{closes:%H:%M}"
        for day, (opens, closes) in sorted(hours.items())
    )
    return f"{spans} ({timezone})"


def booking(code: str, visit: date, hours: OpeningHours) -> Booking:
    opens, closes = hours[visit.weekday()]
    return Booking(
        booking_code=code, visit_date=visit, opens=f"{opens:%H:%M}", closes=f"{closes:%H:%M}"
    )


def local_now(now: datetime, timezone: str) -> datetime:
    return now.astimezone(ZoneInfo(timezone))


def is_open(
    now: datetime, hours: OpeningHours, timezone: str, closed_days: Container[date] = ()
) -> bool:
    """Open from the opening minute up to, not including, the closing minute."""
    local = local_now(now, timezone)
    if local.date() in closed_days or local.weekday() not in hours:
        return False
    opens, closes = hours[local.weekday()]
    return opens <= local.time().replace(tzinfo=None) < closes


def booking_refusal(
    visit: date,
    today: date,
    hours: OpeningHours,
    days_ahead: int,
    closed_days: Container[date] = (),
) -> str | None:
    """Why a visit cannot be booked on that day, or None when it can."""
    if visit < today:
        return "the visit date is in the past"
    if visit > today + timedelta(days=days_ahead):
        return f"visits can be booked at most {days_ahead} days ahead"
    if visit.weekday() not in hours:
        return "the desk is closed on that weekday"
    if visit in closed_days:
        return "the desk is closed on that public holiday"
    return None


def has_room(taken: int, quota: int) -> bool:
    return taken < quota


def receipt_text(
    *, tracking_code: str, queue_number: int, officer_id: str, received_at: datetime, timezone: str
) -> str:
    local = local_now(received_at, timezone)
    return (
        "LAPOR MAS WAPRES - TANDA TERIMA PENGADUAN\n"
        f"Nomor pelacakan : {tracking_code}\n"
        f"Nomor antrean   : {queue_number:03d}\n"
        f"Petugas         : {officer_id}\n"
        f"Waktu           : {local:%d-%m-%Y %H:%M} {local.tzname()}\n"
        "Dokumen pendukung dapat menyusul paling lambat 10 hari.\n"
        "Pantau status di /lapor/status dengan nomor pelacakan di atas."
    )
