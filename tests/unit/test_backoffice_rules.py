"""The back office's pure rules: passwords, attempt limits, session expiry, role checks,
one-time codes, what each role opens, and WIB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from starlette.datastructures import FormData

from schemas.staff import Role, StaffMember
from services.backoffice.domain.accounts import (
    InvalidAccount,
    checked_account,
    may_use,
    parse_roles,
)
from services.backoffice.domain.areas import areas_for
from services.backoffice.domain.passwords import (
    WeakPassword,
    hash_password,
    needs_rehash,
    verify_password,
)
from services.backoffice.domain.signin import (
    minutes,
    otpauth_uri,
    retry_after,
    session_expired,
    token_hash,
    totp_matches,
)
from services.backoffice.domain.wording import wib
from services.backoffice.entrypoints.agencies_admin import agency_body, narrowed
from services.backoffice.entrypoints.desk_pages import opening_hours

NOW = datetime(2027, 2, 2, 3, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def test_a_password_is_kept_as_an_argon2id_hash_that_verifies_only_itself() -> None:
    stored = hash_password("kata-sandi-panjang-1")
    assert stored.startswith("$argon2id$") and "kata-sandi" not in stored
    assert verify_password(stored, "kata-sandi-panjang-1")
    assert not verify_password(stored, "kata-sandi-panjang-2")
    assert not needs_rehash(stored)


def test_no_account_and_broken_hashes_never_verify() -> None:
    assert not verify_password(None, "lapor-no-such-account-dummy-password")
    assert not verify_password("not-a-hash", "whatever-password")


@pytest.mark.parametrize("password", ["pendek", "x" * 257])
def test_too_short_or_too_long_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        hash_password(password)


def test_five_failures_in_fifteen_minutes_lock_until_the_oldest_leaves_the_window() -> None:
    failures = [NOW - timedelta(minutes=m) for m in (14, 10, 6, 3, 1)]
    assert retry_after(failures[1:], NOW, 5, WINDOW) is None
    wait = retry_after(failures, NOW, 5, WINDOW)
    assert wait == timedelta(minutes=1)
    assert minutes(wait) == 1
    assert retry_after(failures, NOW + timedelta(minutes=1), 5, WINDOW) is None


def test_failures_older_than_the_window_do_not_count() -> None:
    failures = [NOW - timedelta(minutes=16)] * 10
    assert retry_after(failures, NOW, 5, WINDOW) is None


def test_a_session_expires_after_its_idle_time_and_not_before() -> None:
    idle = timedelta(minutes=30)
    assert not session_expired(NOW - timedelta(minutes=29, seconds=59), NOW, idle)
    assert session_expired(NOW - timedelta(minutes=30), NOW, idle)


def test_only_a_hash_of_the_session_token_is_stored() -> None:
    assert token_hash("abc") != "abc" and len(token_hash("abc")) == 64
    assert token_hash("abc") == token_hash("abc") != token_hash("abd")


def test_one_time_codes_pass_within_one_step_either_side() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    assert totp_matches(secret, totp.at(NOW), NOW)
    assert totp_matches(secret, totp.at(NOW - timedelta(seconds=30)), NOW)
    assert totp_matches(secret, totp.at(NOW + timedelta(seconds=30)), NOW)
    assert not totp_matches(secret, totp.at(NOW - timedelta(seconds=90)), NOW)
    assert not totp_matches(secret, "12345", NOW) and not totp_matches(secret, "abcdef", NOW)
    code = totp.at(NOW)
    assert totp_matches(secret, f"{code[:3]} {code[3:]}", NOW)


def test_the_otpauth_uri_names_the_account_and_issuer() -> None:
    secret = pyotp.random_base32()
    uri = otpauth_uri(secret, "dewi", "Lapor Back Office")
    assert uri.startswith("otpauth://totp/") and "dewi" in uri and f"secret={secret}" in uri
    assert not totp_matches("SHORT", "123456", NOW)
    assert not totp_matches("!!not base32!!" * 3, "123456", NOW)


def test_agency_roles_need_an_agency_and_only_they_take_one() -> None:
    officer = frozenset({Role.AGENCY_OFFICER})
    assert checked_account(" Budi ", "Budi  S", officer, "kemenpu") == (
        "budi",
        "Budi S",
        officer,
        "KEMENPU",
    )
    with pytest.raises(InvalidAccount):
        checked_account("budi", "Budi", officer, None)
    with pytest.raises(InvalidAccount):
        checked_account("admin1", "Admin", frozenset({Role.ADMIN}), "KEMENPU")
    with pytest.raises(InvalidAccount):
        checked_account("Bad Id!", "X", frozenset({Role.ADMIN}), None)


def test_roles_are_read_from_their_names() -> None:
    assert parse_roles(["admin", " reviewer "]) == {Role.ADMIN, Role.REVIEWER}
    with pytest.raises(InvalidAccount):
        parse_roles(["superuser"])
    with pytest.raises(InvalidAccount):
        parse_roles([])


def test_a_page_opens_to_members_holding_one_of_its_roles() -> None:
    reviewer = StaffMember("r", frozenset({Role.REVIEWER}))
    assert may_use(reviewer, [Role.REVIEWER, Role.ADMIN])
    assert not may_use(reviewer, [Role.ADMIN])
    assert may_use(reviewer, [])


def test_the_home_page_lists_the_areas_of_the_members_roles() -> None:
    officer = StaffMember("o", frozenset({Role.AGENCY_OFFICER}), "KEMENPU")
    assert [area.key for area in areas_for(officer)] == ["agency_inbox"]
    both = StaffMember("s", frozenset({Role.AGENCY_SUPERVISOR, Role.ADMIN}), "KEMENPU")
    assert [area.key for area in areas_for(both)] == [
        "agency_inbox",
        "supervisor",
        "accounts",
        "rules",
        "agencies",
        "calendar",
        "dead_letters",
        "open311",
    ]
    desk = StaffMember("m", frozenset({Role.DESK_OFFICER}))
    assert [(a.key, a.ready) for a in areas_for(desk)] == [("walk_in", True)]
    disposition = StaffMember("d", frozenset({Role.DISPOSITION}))
    assert [(a.key, a.ready) for a in areas_for(disposition)] == [("disposition", True)]


def test_times_are_shown_in_wib() -> None:
    assert wib(NOW) == "2 Feb 2027 10.00 WIB"
    assert wib("2027-08-17T01:30:00+00:00", "en") == "17 Aug 2027 08:30 WIB"


def test_the_agency_list_narrows_by_every_word_and_level() -> None:
    agencies = [
        {"agency_code": "KEMENKES", "name": "Kementerian Kesehatan", "level": "national"},
        {"agency_code": "BPJS-KES", "name": "BPJS Kesehatan", "level": "national"},
        {"agency_code": "PEMDA-32", "name": "Pemerintah Provinsi Jawa Barat", "level": "province"},
    ]
    codes = lambda found: [a["agency_code"] for a in found]  # noqa: E731
    assert codes(narrowed(agencies, "kesehatan", "")) == ["KEMENKES", "BPJS-KES"]
    assert codes(narrowed(agencies, "KEMENTERIAN kesehatan", "")) == ["KEMENKES"]
    assert codes(narrowed(agencies, "", "province")) == ["PEMDA-32"]
    assert codes(narrowed(agencies, "kesehatan", "province")) == []


def test_the_agency_form_becomes_routings_edit() -> None:
    form = FormData(
        [
            ("name", " Kementerian Kesehatan "),
            ("intake_method", "email"),
            ("contact_email", "pengaduan@kemkes.go.id"),
            ("contact_phone", ""),
            ("response_working_days", "7"),
        ]
    )
    assert agency_body(form) == {
        "name": "Kementerian Kesehatan",
        "contact_email": "pengaduan@kemkes.go.id",
        "contact_phone": None,
        "supervisor": None,
        "supervisor_email": None,
        "via_sp4n": False,
        "intake_method": "email",
        "response_working_days": 7,
    }
    typed = FormData([("response_working_days", "tujuh")])
    assert agency_body(typed)["response_working_days"] == "tujuh"  # for routing to refuse


def test_the_desks_hours_are_worded_in_the_pages_language() -> None:
    today = {
        "opening_days": [
            {"weekday": 0, "opens": "08:00", "closes": "14:00"},
            {"weekday": 4, "opens": "08:00", "closes": "14:30"},
        ],
        "timezone": "Asia/Jakarta",
    }
    assert opening_hours(today, "id") == "Senin 08:00-14:00, Jumat 08:00-14:30 (WIB)"
    assert opening_hours({**today, "timezone": "Asia/Tokyo"}, "en").endswith("(Asia/Tokyo)")
