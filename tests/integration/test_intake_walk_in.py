"""The walk-in desk in process against the real PostgreSQL, with the desk's clock set by the
test: officers by the back office's staff assertion (one by one: the staff id is the officer
id), booking quota, opening hours, queue numbers, the receipt, and the multipart complaint
form with the documents handed in."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import pytest

from schemas import staff
from schemas.events import parse_event
from schemas.personal_data import is_sealed
from schemas.staff import Role, StaffMember
from services.intake.bootstrap import create_app
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import default_keystore
from services.runtime.staff import assertion_secret

pytestmark = pytest.mark.integration

SETTINGS = IntakeSettings(
    # Fifty bookings at once from one test client: the per-IP limit has its own tests.
    rate_limit_per_ip_per_minute=100_000,
    rate_limit_per_ip_burst=10_000,
)
WIB = timedelta(hours=7)
FORM = "/v1/walk-in/complaints/form"
NO_FILE = {"attachments": ("", b"", "application/octet-stream")}  # a browser's empty file input
_phones = itertools.count(10_000_000)


def officer(staff_id: str = "petugas-1", *roles: Role, key: str | None = None) -> dict[str, str]:
    """The back office's header for a signed-in desk officer (fresh: it lives a minute)."""
    member = StaffMember(staff_id, frozenset(roles or {Role.DESK_OFFICER}), None)
    return {staff.HEADER: staff.sign(member, key or assertion_secret())}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB

    def set_wib(self, day: date, hh: int, mm: int, ss: int = 0) -> None:
        self.now = datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC) - WIB

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def pool(intake_pool: asyncpg.Pool) -> asyncpg.Pool:
    return intake_pool


@pytest.fixture
async def desk(pool: asyncpg.Pool) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    clock = Clock()
    app = create_app(lambda: pool, SETTINGS, default_keystore(), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client, clock


async def book(client: httpx.AsyncClient, visit: date, name: str = "Siti Aminah") -> httpx.Response:
    phone = f"0812{next(_phones):08d}"
    return await client.post(
        "/v1/walk-in/bookings", json={"name": name, "phone": phone, "visit_date": visit.isoformat()}
    )


async def unbooked_tuesday(pool: asyncpg.Pool) -> date:
    """A Tuesday in the booking window (the clock says Monday 2026-11-23) that nothing in this
    database has booked yet, followed by a Wednesday with room: the quota is this test's own,
    whatever ran before it against the same database."""
    for weeks in range(5):
        tuesday = date(2026, 11, 24) + timedelta(weeks=weeks)
        booked = {
            row["visit_date"]: row["booked"]
            for row in await pool.fetch(
                "SELECT visit_date, booked FROM intake.walk_in_days WHERE visit_date = ANY($1)",
                [tuesday, tuesday + timedelta(days=1)],
            )
        }
        if tuesday not in booked and booked.get(tuesday + timedelta(days=1), 0) < 50:
            return tuesday
    pytest.fail("every Tuesday in the booking window is already booked in this database")


async def test_the_fifty_first_booking_of_a_day_is_refused(desk, pool) -> None:  # type: ignore[no-untyped-def]
    client, _ = desk
    visit = await unbooked_tuesday(pool)
    responses = await asyncio.gather(*(book(client, visit) for _ in range(50)))
    assert [r.status_code for r in responses] == [201] * 50
    assert len({r.json()["booking_code"] for r in responses}) == 50
    full = await book(client, visit)
    assert full.status_code == 409 and "fully booked" in full.json()["detail"]
    next_day = visit + timedelta(days=1)
    assert (await book(client, next_day)).status_code == 201  # the next day has room
    saturday = await book(client, date(2026, 11, 28))
    assert saturday.status_code == 422 and "closed" in saturday.json()["detail"]


async def test_the_same_person_booking_twice_keeps_one_booking(desk) -> None:  # type: ignore[no-untyped-def]
    client, _ = desk
    body = {"name": "Budi", "phone": "081298765432", "visit_date": "2026-12-03"}
    first = await client.post("/v1/walk-in/bookings", json=body)
    again = await client.post("/v1/walk-in/bookings", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


async def test_only_the_back_offices_desk_officers_work_the_desk(desk) -> None:  # type: ignore[no-untyped-def]
    client, _ = desk
    for path in ("/v1/walk-in/queue", "/v1/walk-in/today"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 401, path
        assert anonymous.headers["www-authenticate"] == staff.HEADER
        # the retired officer tokens (HTTP Basic) open nothing
        basic = await client.get(path, auth=("petugas-1", "rahasia-satu"))
        assert basic.status_code == 401, path
        assert (await client.get(path, headers=officer("petugas-2"))).status_code == 200
    today = (await client.get("/v1/walk-in/today", headers=officer())).json()
    assert today["day"] == "2026-11-23" and today["open"] is True  # Monday 09:00 WIB
    assert "08:00-14:30" in today["hours"] and isinstance(today["queue"], list)
    assert today["opening_days"][4] == {"weekday": 4, "opens": "08:00", "closes": "14:30"}
    assert today["timezone"] == "Asia/Jakarta"
    assert (await client.get("/desk", headers=officer())).status_code == 404  # page retired


async def test_the_back_offices_desk_officers_sign_in_with_its_staff_assertion(desk, pool) -> None:  # type: ignore[no-untyped-def]
    client, clock = desk
    secret = assertion_secret()

    def signed(*roles: Role, key: str = secret, now: datetime | None = None) -> dict[str, str]:
        member = StaffMember("dewi.desk", frozenset(roles), None)
        return {staff.HEADER: staff.sign(member, key, now=now)}

    queue = await client.get("/v1/walk-in/queue", headers=signed(Role.DESK_OFFICER))
    assert queue.status_code == 200
    for refused in (
        signed(Role.DESK_OFFICER, key="forged"),
        signed(Role.DESK_OFFICER, now=datetime(2026, 1, 1, tzinfo=UTC)),  # expired
        {staff.HEADER: "garbage"},
    ):
        assert (await client.get("/v1/walk-in/queue", headers=refused)).status_code == 401
    reviewer = await client.get("/v1/walk-in/queue", headers=signed(Role.REVIEWER, Role.ADMIN))
    assert reviewer.status_code == 403
    # the staff id is the officer id: the check-in is theirs
    tuesday = await unbooked_tuesday(pool)  # not a day the other tests count queue numbers of
    code = (await book(client, tuesday)).json()["booking_code"]
    clock.set_wib(tuesday, 9, 0)
    checked = await client.post(
        "/v1/walk-in/check-ins", json={"booking_code": code}, headers=signed(Role.DESK_OFFICER)
    )
    assert checked.status_code == 200, checked.text
    by = await pool.fetchval(
        "SELECT checked_in_by FROM intake.walk_in_bookings WHERE booking_code = $1", code
    )
    assert by == "dewi.desk"


async def test_check_in_respects_opening_hours_and_issues_queue_numbers(desk, pool) -> None:  # type: ignore[no-untyped-def]
    client, clock = desk
    thursday = date(2026, 11, 26)
    clock.set_wib(thursday - timedelta(days=3), 9, 0)
    codes = [(await book(client, thursday)).json()["booking_code"] for _ in range(2)]

    clock.set_wib(thursday, 7, 59, 59)
    early = await client.post(
        "/v1/walk-in/check-ins", json={"booking_code": codes[0]}, headers=officer()
    )
    assert early.status_code == 409 and "closed" in early.json()["detail"]
    clock.set_wib(thursday, 8, 0)
    first = await client.post(
        "/v1/walk-in/check-ins", json={"booking_code": codes[0]}, headers=officer()
    )
    assert first.status_code == 200 and first.json()["queue_number"] == 1
    repeat = await client.post(
        "/v1/walk-in/check-ins", json={"booking_code": codes[0]}, headers=officer()
    )
    assert repeat.json()["queue_number"] == 1
    clock.set_wib(thursday, 13, 59, 59)
    second = await client.post(
        "/v1/walk-in/check-ins",
        json={"booking_code": codes[1].lower()},
        headers=officer("petugas-2"),
    )
    assert second.json()["queue_number"] == 2
    clock.set_wib(thursday, 14, 0)
    late = await client.post("/v1/walk-in/complaints", json=complaint(codes[0]), headers=officer())
    assert late.status_code == 409

    clock.set_wib(thursday + timedelta(days=1), 9, 0)  # a Thursday booking on Friday
    wrong_day = await client.post(
        "/v1/walk-in/check-ins", json={"booking_code": codes[1]}, headers=officer()
    )
    assert wrong_day.status_code == 409 and "2026-11-26" in wrong_day.json()["detail"]


def complaint(code: str) -> dict[str, object]:
    return {
        "booking_code": code,
        "nik": "3171015501900001",
        "city": "Jakarta Pusat",
        "description": "Sertifikat tanah saya tidak terbit sejak 2019 padahal sudah lunas.",
        "secret": True,
    }


async def test_friday_closes_at_half_past_two_and_the_quota_caps_check_ins(desk, pool) -> None:  # type: ignore[no-untyped-def]
    client, clock = desk
    friday = date(2026, 12, 4)
    clock.set_wib(friday - timedelta(days=4), 9, 0)
    codes = [(await book(client, friday)).json()["booking_code"] for _ in range(50)]
    clock.set_wib(friday, 14, 29, 59)
    numbers = []
    for code in codes:
        response = await client.post(
            "/v1/walk-in/check-ins", json={"booking_code": code}, headers=officer()
        )
        numbers.append(response.json()["queue_number"])
    assert numbers == list(range(1, 51))
    # The quota is also held at check-in: a 51st check-in on a full day is refused, even if a
    # booking somehow exists (here inserted behind the desk's back).
    await pool.execute(
        "INSERT INTO intake.walk_in_bookings (booking_code, visit_date, name, phone, booked_at)"
        " VALUES ('KUN-ZZZZ-ZZ' || $1, $2, 'X', '+6281200000000', now())",
        _check("ZZZZZZ"),
        friday,
    )
    extra = await client.post(
        "/v1/walk-in/check-ins",
        json={"booking_code": f"KUN-ZZZZ-ZZ{_check('ZZZZZZ')}"},
        headers=officer(),
    )
    assert extra.status_code == 409 and "quota" in extra.json()["detail"]
    clock.set_wib(friday, 14, 30)
    closed = await client.post(
        "/v1/walk-in/check-ins", json={"booking_code": codes[0]}, headers=officer()
    )
    assert closed.status_code == 409


def _check(body: str) -> str:
    from services.intake.domain.tracking import _check_symbol

    return _check_symbol(body)


async def test_a_walk_in_complaint_gets_a_receipt_and_carries_the_officer(desk, pool) -> None:  # type: ignore[no-untyped-def]
    client, clock = desk
    wednesday = date(2026, 11, 25)
    clock.set_wib(wednesday, 9, 0)
    code = (await book(client, wednesday, name="Dewi Lestari")).json()["booking_code"]
    not_yet = await client.post("/v1/walk-in/complaints", json=complaint(code), headers=officer())
    assert not_yet.status_code == 409 and "check the booking in" in not_yet.json()["detail"]
    await client.post("/v1/walk-in/check-ins", json={"booking_code": code}, headers=officer())

    taken = await client.post(
        "/v1/walk-in/complaints", json=complaint(code), headers=officer("petugas-2")
    )
    assert taken.status_code == 201, taken.text
    receipt = taken.json()
    assert receipt["officer_id"] == "petugas-2" and receipt["queue_number"] == 1
    assert (
        receipt["tracking_code"] in receipt["receipt"]
        and "25-11-2026 09:00 WIB" in receipt["receipt"]
    )
    again = await client.post("/v1/walk-in/complaints", json=complaint(code), headers=officer())
    assert again.json()["tracking_code"] == receipt["tracking_code"]  # pressed twice: one complaint

    row = await pool.fetchrow(
        "SELECT complaint_id, officer_id FROM intake.complaints WHERE tracking_code = $1",
        receipt["tracking_code"],
    )
    assert row["officer_id"] == "petugas-2"
    payloads = await pool.fetch("SELECT payload FROM intake.outbox")
    events = [
        e
        for e in map(parse_event, (p["payload"] for p in payloads))
        if e.complaint_id == row["complaint_id"]
    ]
    (received,) = events
    assert received.payload.channel == "walk_in" and received.payload.secret is True
    assert is_sealed(received.payload.reporter.name)  # sealed in the outbox and on the topic
    async with pool.acquire() as conn:
        opened = await default_keystore().open(conn, received)
    assert opened.payload.reporter.name == "Dewi Lestari"
    # The booking keeps name and phone sealed too; the desk's queue shows the name.
    booking = await pool.fetchrow(
        "SELECT name, phone FROM intake.walk_in_bookings WHERE booking_code = $1", code
    )
    assert is_sealed(booking["name"]) and is_sealed(booking["phone"])
    queue = (await client.get("/v1/walk-in/queue", headers=officer())).json()
    assert queue[0]["name"] == "Dewi Lestari"
    assert queue[0]["tracking_code"] == receipt["tracking_code"]


async def test_a_double_click_on_booking_keeps_one_booking(desk) -> None:  # type: ignore[no-untyped-def]
    client, _ = desk
    body = {"name": "Rina", "phone": "081377778888", "visit_date": "2026-12-08"}
    responses = await asyncio.gather(
        *(client.post("/v1/walk-in/bookings", json=body) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["booking_code"] for r in responses}) == 1


def form_fields(code: str, **fields: str) -> dict[str, str]:
    """The multipart complaint form as the back office's desk page forwards it."""
    return {
        "booking_code": code,
        "nik": "3171015501900001",  # a Jakarta Pusat resident, a problem in Kota Bandung
        "description": "Jembatan desa di Cibiru retak parah dan bergoyang kalau dilewati mobil.",
        "region_code": "32.73",
        **fields,
    }


async def test_the_officer_picks_where_the_problem_is_in_the_form_and_in_the_api(
    desk, pool
) -> None:  # type: ignore[no-untyped-def]
    client, clock = desk
    monday = date(2026, 11, 30)
    clock.set_wib(monday, 9, 0)
    codes = [(await book(client, monday)).json()["booking_code"] for _ in range(2)]
    for code in codes:
        await client.post("/v1/walk-in/check-ins", json={"booking_code": code}, headers=officer())

    fields = form_fields(codes[0], address="Jl. Cibiru Hilir", anonymous="1")
    unknown = await client.post(
        FORM, data={**fields, "region_code": "32.99"}, files=NO_FILE, headers=officer()
    )
    assert unknown.status_code == 422
    assert [e["loc"] for e in unknown.json()["detail"]] == [["body", "region_code"]]
    stranger = await client.post(FORM, data=fields, files=NO_FILE, headers=officer("x", Role.ADMIN))
    assert stranger.status_code == 403
    taken = await client.post(FORM, data=fields, files=NO_FILE, headers=officer())
    assert taken.status_code == 201, taken.text
    again = await client.get(f"/v1/walk-in/receipts/{codes[0]}", headers=officer("petugas-2"))
    assert again.status_code == 200 and again.json() == taken.json()
    not_yet = await client.get(f"/v1/walk-in/receipts/{codes[1]}", headers=officer())
    assert not_yet.status_code == 404

    by_api = await client.post(
        "/v1/walk-in/complaints",
        json={**complaint(codes[1]), "city": None, "location": {"region_code": "35.78"}},
        headers=officer(),
    )
    assert by_api.status_code == 201, by_api.text
    refused = await client.post(
        "/v1/walk-in/complaints",
        json={**complaint(codes[1]), "location": {"region_code": "35"}},
        headers=officer(),
    )
    assert refused.status_code == 422
    places, anonymous = {}, {}
    for row in await pool.fetch("SELECT payload FROM intake.outbox"):
        event = parse_event(row["payload"])
        if event.event_type == "ComplaintReceived" and event.payload.channel == "walk_in":
            places[event.payload.tracking_code] = event.payload.location
            anonymous[event.payload.tracking_code] = event.payload.anonymous
    queue = {
        entry["booking_code"]: entry["tracking_code"]
        for entry in (await client.get("/v1/walk-in/queue", headers=officer())).json()
    }
    first, second = places[queue[codes[0]]], places[queue[codes[1]]]
    assert (first.region_code, first.city) == ("32.73", "Kota Bandung")
    assert is_sealed(first.address) and anonymous[queue[codes[0]]] is True
    assert (second.region_code, second.city) == ("35.78", "Kota Surabaya")


async def test_documents_handed_in_at_the_desk_are_kept_sealed_and_checked_by_content(
    desk, pool
) -> None:  # type: ignore[no-untyped-def]
    client, clock = desk
    tuesday = date(2026, 12, 1)
    clock.set_wib(tuesday, 10, 0)
    codes = [(await book(client, tuesday)).json()["booking_code"] for _ in range(2)]
    for code in codes:
        await client.post("/v1/walk-in/check-ins", json={"booking_code": code}, headers=officer())
    description = "Surat tanah kami ditahan kantor desa tanpa alasan, salinannya terlampir."
    scan = b"%PDF-1.7\n" + os.urandom(600)
    not_a_pdf = {"attachments": ("ktp.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")}
    refused = await client.post(
        FORM,
        data=form_fields(codes[1], description=description),
        files=not_a_pdf,
        headers=officer(),
    )
    assert refused.status_code == 422 and "ktp.pdf: hanya PDF, JPG atau PNG" in refused.text
    in_english = await client.post(
        FORM + "?lang=en",
        data=form_fields(codes[1], description=description),
        files=not_a_pdf,
        headers=officer(),
    )
    assert in_english.status_code == 422 and "ktp.pdf" in in_english.text
    assert in_english.text != refused.text
    taken = await client.post(
        FORM,
        data=form_fields(codes[0], description=description),
        files={"attachments": ("surat.pdf", scan, "application/pdf")},
        headers=officer(),
    )
    assert taken.status_code == 201, taken.text
    assert taken.json()["tracking_code"] in taken.json()["receipt"]
    row = await pool.fetchrow(
        "SELECT a.media_type, a.size_bytes, a.sha256, a.key_id, a.content"
        " FROM intake.complaint_attachments a JOIN intake.walk_in_bookings b"
        " ON b.complaint_id = a.complaint_id WHERE b.booking_code = $1",
        codes[0],
    )
    assert row is not None, "the desk's document was not kept"
    digest = hashlib.sha256(scan).hexdigest()
    kept = (row["media_type"], row["size_bytes"], row["sha256"])
    assert kept == ("application/pdf", len(scan), digest)
    assert row["key_id"] and scan not in row["content"]
    unfiled = await pool.fetchval(
        "SELECT complaint_id FROM intake.walk_in_bookings WHERE booking_code = $1", codes[1]
    )
    assert unfiled is None  # the refused document kept the whole complaint out
