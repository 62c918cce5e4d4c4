"""The walk-in desk's back-office pages (/staff/meja) in process against the real
PostgreSQL: intake's app in process (through an httpx transport, the same staff-assertion
secret, the desk's clock set by the test) behind the back office. A desk officer checks a
booking in, files a complaint with a scanned document and the place of the problem, and gets
the receipt; intake's refusals (an unknown region, a document that is no PDF) show on the
page with what was typed; a form without its CSRF token is refused."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import holidays
import httpx
import pytest
from fastapi import FastAPI

from schemas.events import parse_event
from schemas.personal_data import is_sealed
from schemas.staff import Role
from services.backoffice.adapters.accounts import MIGRATIONS, SCHEMA
from services.backoffice.adapters.services import Services
from services.backoffice.bootstrap import create_app
from services.backoffice.handlers.accounts import add_account
from services.backoffice.settings import BackofficeSettings
from services.intake.bootstrap import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import default_keystore
from services.runtime.staff import assertion_secret
from tests.integration.test_backoffice import PASSWORD, browser, sign_in, token

pytestmark = pytest.mark.integration

WIB = timedelta(hours=7)
_phones = itertools.count(int(datetime.now(UTC).timestamp()) % 10_000_000)


class DeskClock:
    def __init__(self) -> None:
        self.now = datetime(2027, 7, 6, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA, max_size=4)
    await migrate(pool, SCHEMA, MIGRATIONS)
    for staff_id, role in (("meja1", Role.DESK_OFFICER), ("peninjau9", Role.REVIEWER)):
        await add_account(pool, (staff_id, staff_id, frozenset({role}), None), PASSWORD, "test")
    yield pool
    await pool.close()


async def a_quiet_weekday(pool: asyncpg.Pool) -> date:
    """An open weekday (no public holiday) that this database has booked little of."""
    days_off = holidays.country_holidays("ID", years=2027)
    start = date(2027, 7, 5)
    for offset in range(120):
        day = start + timedelta(days=offset)
        if day.weekday() > 3 or day in days_off:
            continue
        booked = await pool.fetchval(
            "SELECT booked FROM intake.walk_in_days WHERE visit_date = $1", day
        )
        if (booked or 0) < 40:
            return day
    pytest.fail("no quiet weekday left in this database")


class Desk:
    def __init__(self, app: FastAPI, citizen: httpx.AsyncClient, day: date) -> None:
        self.app, self.citizen, self.day = app, citizen, day

    async def booking(self, name: str) -> str:
        """A citizen's booking for the desk's today (citizens book online first)."""
        answer = await self.citizen.post(
            "/v1/walk-in/bookings",
            json={"name": name, "phone": f"0815{next(_phones):08d}", "visit_date": str(self.day)},
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["booking_code"])


@pytest.fixture(scope="module")
async def desk(pool: asyncpg.Pool, intake_pool: asyncpg.Pool) -> AsyncIterator[Desk]:
    day = await a_quiet_weekday(intake_pool)
    clock = DeskClock()
    clock.now = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC) - WIB
    intake = intake_app(lambda: intake_pool, IntakeSettings(), default_keystore(), clock=clock)
    settings = BackofficeSettings()
    services = Services(
        settings, assertion_secret(), transports={"intake": httpx.ASGITransport(app=intake)}
    )
    app = create_app(lambda: pool, settings, services)
    transport = httpx.ASGITransport(app=intake)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as citizen:
        yield Desk(app, citizen, day)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def complaint(code: str, **fields: str) -> dict[str, str]:
    return {
        "booking_code": code,
        "nik": "3171015501900001",  # a Jakarta Pusat resident, a problem in Kota Bandung
        "description": "Jembatan desa di Cibiru retak parah dan bergoyang kalau dilewati mobil.",
        "region_code": "32.73",
        "address": "Jl. Cibiru Hilir",
        "anonymous": "1",
        **fields,
    }


async def test_a_desk_officer_checks_in_and_files_a_complaint_with_its_document(
    desk: Desk, intake_pool: asyncpg.Pool
) -> None:
    async with browser(desk.app, "10.7.0.1") as client:
        assert (await sign_in(client, "meja1")).status_code == 303
        page = await client.get("/staff/meja")
        assert page.status_code == 200, page.text
        assert '<option value="32.73">Kota Bandung</option>' in page.text
        assert 'enctype="multipart/form-data"' in page.text and 'name="attachments"' in page.text
        assert "Senin 08:00-14:00" in page.text and "(WIB)" in page.text
        assert "Saat ini: <strong>buka</strong>" in page.text
        csrf = csrf_of(page)
        code = await desk.booking("Dewi Lestari")

        forged = await client.post("/staff/meja/check-in", data={"booking_code": code})
        assert forged.status_code == 403  # no CSRF token: refused before intake is asked
        checked = await client.post(
            "/staff/meja/check-in", data={"booking_code": code, "csrf_token": csrf}
        )
        assert checked.status_code == 303, checked.text
        assert checked.headers["location"] == f"/staff/meja?antrean={code}"
        shown = await client.get(checked.headers["location"])
        assert re.search(rf"Nomor antrean \d{{3}} untuk Dewi Lestari \({code}\)", shown.text)
        unknown = await client.post(
            "/staff/meja/check-in", data={"booking_code": "KUN-0000-00A", "csrf_token": csrf}
        )
        assert unknown.status_code in (400, 404) and "Intake menolak" in unknown.text

        nowhere = await client.post(
            "/staff/meja/pengaduan",
            data={**complaint(code, region_code="32.99"), "csrf_token": csrf},
        )
        assert nowhere.status_code == 422 and "region_code" in nowhere.text
        assert "Jembatan desa di Cibiru" in nowhere.text  # what was typed stays
        not_a_pdf = {"attachments": ("ktp.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")}
        refused = await client.post(
            "/staff/meja/pengaduan",
            data={**complaint(code), "csrf_token": csrf},
            files=not_a_pdf,
        )
        assert refused.status_code == 422 and "ktp.pdf: hanya PDF, JPG atau PNG" in refused.text

        scan = b"%PDF-1.7\n" + os.urandom(600)
        taken = await client.post(
            "/staff/meja/pengaduan",
            data={**complaint(code), "csrf_token": csrf},
            files={"attachments": ("surat.pdf", scan, "application/pdf")},
        )
        assert taken.status_code == 303, taken.text
        assert taken.headers["location"] == f"/staff/meja/tanda-terima/{code}"
        receipt = await client.get(taken.headers["location"])
        tracking = re.search(r'id="tracking-code">(LPR-[A-Z0-9-]+)<', receipt.text)
        assert receipt.status_code == 200 and tracking, receipt.text
        assert tracking.group(1) in receipt.text.split('id="receipt"')[1]
        queue = await client.get("/staff/meja")
        assert tracking.group(1) in queue.text  # today's queue links the receipt

    row = await intake_pool.fetchrow(
        "SELECT c.complaint_id, c.officer_id, a.media_type, a.sha256, a.content"
        " FROM intake.complaints c JOIN intake.complaint_attachments a USING (complaint_id)"
        " WHERE c.tracking_code = $1",
        tracking.group(1),
    )
    assert row is not None, "the desk's document was not kept"
    assert row["officer_id"] == "meja1"  # the staff id is the officer id
    assert (row["media_type"], row["sha256"]) == (
        "application/pdf",
        hashlib.sha256(scan).hexdigest(),
    )
    assert scan not in row["content"]
    events = [
        parse_event(r["payload"])
        for r in await intake_pool.fetch("SELECT payload FROM intake.outbox")
    ]
    (received,) = [e for e in events if e.complaint_id == row["complaint_id"]]
    assert received.payload.channel == "walk_in" and received.payload.anonymous is True
    place = received.payload.location
    assert (place.region_code, place.city) == ("32.73", "Kota Bandung") and is_sealed(place.address)
    async with intake_pool.acquire() as conn:  # the file's name travels sealed too
        opened = await default_keystore().open(conn, received)
    assert [a.filename for a in opened.payload.attachments] == ["surat.pdf"]


async def test_only_desk_officers_see_the_desk_and_receipts_of_nothing_are_not_found(
    desk: Desk,
) -> None:
    async with browser(desk.app, "10.7.0.2") as client:
        assert (await sign_in(client, "peninjau9")).status_code == 303
        assert (await client.get("/staff/meja")).status_code == 404
    async with browser(desk.app, "10.7.0.3") as client:
        assert (await sign_in(client, "meja1")).status_code == 303
        code = await desk.booking("Rina")  # booked, never filed
        assert (await client.get(f"/staff/meja/tanda-terima/{code}")).status_code == 404
        assert (await client.get("/staff/meja/tanda-terima/bukan-kode")).status_code == 404
        assert await token(client, "/staff/meja")
