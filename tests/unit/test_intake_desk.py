"""Walk-in desk rules at their boundaries, and the other pure intake rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest

from schemas.events.routing import CaseStatus, CaseStatusChanged, CaseStatusChangedPayload
from services.intake.domain import desk, ownership
from services.intake.domain.complaints import status_change
from services.intake.domain.tracking import (
    InvalidTrackingCode,
    new_booking_code,
    normalise_booking_code,
)
from services.intake.entrypoints.desk_api import form_complaint
from services.intake.settings import IntakeSettings

HOURS = IntakeSettings().opening_hours()
TZ = "Asia/Jakarta"
WIB = timedelta(hours=7)
CLOSED = holidays.country_holidays("ID")


def wib(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC) - WIB


MONDAY, FRIDAY, SATURDAY = date(2026, 11, 23), date(2026, 11, 27), date(2026, 11, 28)


def test_default_hours_are_the_real_desks() -> None:
    assert HOURS == {
        0: (time(8), time(14)),
        1: (time(8), time(14)),
        2: (time(8), time(14)),
        3: (time(8), time(14)),
        4: (time(8), time(14, 30)),
    }


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (wib(MONDAY, 7, 59, 59), False),
        (wib(MONDAY, 8, 0), True),
        (wib(MONDAY, 13, 59, 59), True),
        (wib(MONDAY, 14, 0), False),
        (wib(FRIDAY, 14, 0), True),
        (wib(FRIDAY, 14, 29, 59), True),
        (wib(FRIDAY, 14, 30), False),
        (wib(SATURDAY, 10, 0), False),
        (wib(date(2026, 12, 25), 10, 0), False),  # Christmas, a national holiday (a Friday)
    ],
)
def test_opening_hours_boundaries_in_jakarta_time(moment: datetime, expected: bool) -> None:
    assert desk.is_open(moment, HOURS, TZ, CLOSED) is expected


def test_the_desk_day_is_jakartas_not_utcs() -> None:
    # 01:30 UTC on Monday is 08:30 in Jakarta: open, though it is still early in UTC.
    assert desk.is_open(datetime(2026, 11, 23, 1, 30, tzinfo=UTC), HOURS, TZ)
    # 23:30 UTC on Sunday is already Monday 06:30 in Jakarta: closed (too early).
    assert not desk.is_open(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), HOURS, TZ)


def test_bookable_days() -> None:
    refuse = lambda visit: desk.booking_refusal(visit, MONDAY, HOURS, 45, CLOSED)  # noqa: E731
    assert refuse(MONDAY) is None and refuse(FRIDAY) is None
    assert refuse(MONDAY - timedelta(days=1)) == "the visit date is in the past"
    assert refuse(SATURDAY) == "the desk is closed on that weekday"
    assert refuse(date(2026, 12, 25)) == "the desk is closed on that public holiday"
    assert refuse(MONDAY + timedelta(days=45)) is None
    assert "at most 45 days" in str(refuse(MONDAY + timedelta(days=46)))


def test_quota_boundary() -> None:
    assert desk.has_room(49, 50) and not desk.has_room(50, 50)


def test_receipt_carries_code_queue_officer_and_local_time() -> None:
    text = desk.receipt_text(
        tracking_code="LPR-AAAA-BBBB-CCC",
        queue_number=7,
        officer_id="petugas-3",
        received_at=wib(MONDAY, 9, 15),
        timezone=TZ,
    )
    assert "LPR-AAAA-BBBB-CCC" in text and "007" in text and "petugas-3" in text
    assert "23-11-2026 09:15 WIB" in text


def test_booking_codes_catch_typos() -> None:
    code = new_booking_code()
    assert normalise_booking_code(code.lower().replace("-", " ")) == code
    body = code.replace("-", "")[3:]
    wrong = ("1" if body[0] != "1" else "2") + body[1:]
    with pytest.raises(InvalidTrackingCode):
        normalise_booking_code(wrong)


def test_ownership_checks() -> None:
    assert ownership.phone_matches("+6281234567890", "0812-3456-7890")
    assert not ownership.phone_matches("+6281234567890", "0812-3456-7891")
    assert not ownership.phone_matches(None, "0812-3456-7890")
    assert ownership.email_matches("a@b.id", " A@B.id ")
    received = datetime(2026, 11, 1, tzinfo=UTC)
    assert ownership.update_window_open(received, received + timedelta(days=9, hours=23), 10)
    assert not ownership.update_window_open(received, received + timedelta(days=10), 10)
    assert ownership.mask_nik("3171015501900001") == "************0001"
    assert len(ownership.new_one_time_code()) == 6


def test_case_status_changes_map_to_citizen_statuses() -> None:
    complaint_id = uuid.uuid4()

    def changed(status: CaseStatus) -> CaseStatusChanged:
        return CaseStatusChanged(
            complaint_id=complaint_id,
            correlation_id=complaint_id,
            producer="routing",
            payload=CaseStatusChangedPayload(
                case_id=complaint_id,
                tracking_code="LPR-AAAA-BBBB-CCC",
                previous_status=None,
                status=status,
                actor="system",
                agency_code="ATR-BPN",
                agency_name="Kementerian ATR/BPN",
            ),
        )

    responded = status_change(changed(CaseStatus.RESPONDED))
    closed = status_change(changed(CaseStatus.CLOSED))
    assert responded is not None and responded.status == "first_response_received"
    assert closed is not None and closed.rank > responded.rank
    for status in CaseStatus:
        assert status_change(changed(status)) is not None


def test_the_desk_clock_is_real_unless_a_fixed_instant_is_configured(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from services.intake.bootstrap import desk_clock
    from services.runtime.settings import UnsafeConfiguration, check_deployment

    before = datetime.now(UTC)
    assert before <= desk_clock(IntakeSettings())() <= datetime.now(UTC)
    fixed = IntakeSettings(desk_clock="2027-02-02T10:00:00+07:00")
    assert desk_clock(fixed)() == datetime(2027, 2, 2, 3, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="UTC offset"):
        desk.fixed_clock("2027-02-02T10:00:00")
    # A stopped desk clock is for tests and demos: production refuses to start with one.
    monkeypatch.setenv("LAPOR_ENV", "production")
    with pytest.raises(UnsafeConfiguration, match="LAPOR_INTAKE_DESK_CLOCK"):
        check_deployment(fixed)


def test_the_desk_form_reads_ticked_flags_and_drops_empty_fields() -> None:
    body = form_complaint(
        {
            "booking_code": "KUN-0000-00A",
            "nik": "3171015501900001",
            "description": "Jalan di depan sekolah dasar rusak parah dan membahayakan.",
            "region_code": "32.73",
            "email": "  ",
            "anonymous": "1",
            "secret": "0",
            "in_court": "on",
        }
    )
    assert (body.anonymous, body.secret, body.in_court, body.filed_before) == (
        True,
        False,
        True,
        False,
    )
    assert body.email is None and body.details()["region_code"] == "32.73"
