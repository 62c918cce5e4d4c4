"""The back office's staff assertions (schemas/staff.py): signed, bound to their claims, short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas import staff
from schemas.staff import InvalidAssertion, Role, StaffMember

SECRET = "test-staff-secret"
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
OFFICER = StaffMember("siti", frozenset({Role.AGENCY_OFFICER}), "ATR-BPN")


def test_an_assertion_round_trips_its_member() -> None:
    token = staff.sign(OFFICER, SECRET, now=NOW)
    assert staff.verify(token, SECRET, now=NOW + timedelta(seconds=59)) == OFFICER
    assert OFFICER.has(Role.AGENCY_OFFICER, Role.ADMIN) and not OFFICER.has(Role.ADMIN)


def test_an_expired_assertion_is_refused() -> None:
    token = staff.sign(OFFICER, SECRET, now=NOW)
    with pytest.raises(InvalidAssertion, match="expired"):
        staff.verify(token, SECRET, now=NOW + timedelta(seconds=60))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace(".", "x.", 1),  # body changed
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # signature changed
        lambda t: t.split(".")[0],  # no signature
        lambda t: "",
    ],
)
def test_an_altered_assertion_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidAssertion):
        staff.verify(tamper(staff.sign(OFFICER, SECRET, now=NOW)), SECRET, now=NOW)


def test_another_secret_or_a_raised_role_does_not_verify() -> None:
    token = staff.sign(OFFICER, SECRET, now=NOW)
    with pytest.raises(InvalidAssertion):
        staff.verify(token, "another-secret", now=NOW)
    admin = StaffMember("siti", frozenset({Role.ADMIN}), None)
    forged = staff.sign(admin, "another-secret", now=NOW).split(".")[0]
    with pytest.raises(InvalidAssertion):
        staff.verify(f"{forged}.{token.split('.')[1]}", SECRET, now=NOW)


def test_no_secret_signs_nothing() -> None:
    with pytest.raises(ValueError):
        staff.sign(OFFICER, "", now=NOW)
