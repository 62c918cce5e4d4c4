"""The disposition officer's and the admin's back-office pages (issue 15) in process against
the real PostgreSQL and Kafka: routing's app in process (through an httpx transport, with
the same staff-assertion secret) behind /staff/disposisi, /staff/admin/aturan and
/staff/admin/kalender; a service's dead-letter API (services.runtime.dead_letters, on a topic
of its own on the real broker) behind /staff/admin/pesan-gagal."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pyotp
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from schemas import staff
from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    Priority,
    serialize_event,
)
from schemas.staff import Role, StaffMember
from schemas.topics import dead_letter_topic
from services.backoffice.adapters import accounts as store
from services.backoffice.adapters.accounts import MIGRATIONS, SCHEMA
from services.backoffice.adapters.services import Services
from services.backoffice.bootstrap import create_app
from services.backoffice.handlers.accounts import add_account
from services.backoffice.settings import BackofficeSettings
from services.intake.adapters import open311
from services.intake.entrypoints.open311_clients_api import open311_clients_router
from services.messaging import outbox
from services.messaging.database import create_pool, migrate
from services.messaging.deadletter import DeadLetter, DeadLetterPublisher
from services.messaging.kafka import ensure_topics, make_producer
from services.personal_data.keystore import default_keystore
from services.routing.entrypoints.app import create_app as routing_app
from services.routing.handlers.opening import open_case
from services.runtime.dead_letters import dead_letter_router
from tests.support import eventually

pytestmark = pytest.mark.integration
SECRET = "backoffice-admin-staff-secret"
PASSWORD = "kata-sandi-yang-panjang"
TOTP = pyotp.random_base32()
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
ROUTING_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "routing" / "migrations"
INTAKE_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "intake" / "migrations"
DLQ_SERVICE = f"boadmin{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA, max_size=4)
    await migrate(pool, SCHEMA, MIGRATIONS)
    for fields in (
        ("admin", "Ani Admin", frozenset({Role.ADMIN}), None),
        ("disposisi", "Dina Disposisi", frozenset({Role.DISPOSITION}), None),
        ("petugas", "Budi Petugas", frozenset({Role.AGENCY_OFFICER}), "KEMENKES"),
    ):
        await add_account(pool, fields, PASSWORD, "test")
    await store.set_totp_secret(pool, "admin", TOTP)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def routing_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "routing_bo_admin", max_size=4)
    await migrate(pool, "routing_bo_admin", ROUTING_MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def intake_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "intake_bo_admin", max_size=2)
    await migrate(pool, "intake_bo_admin", INTAKE_MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def producer(stack) -> AsyncIterator[AIOKafkaProducer]:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "backoffice-admin-test")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture(scope="module")
def app(
    stack,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    routing_pool: asyncpg.Pool,
    intake_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
) -> FastAPI:
    routing = routing_app(lambda: routing_pool, keys=default_keystore(), staff_secret=SECRET)
    dead_letters = FastAPI()  # a service's dead-letter API (as mount_dead_letters, connected)
    dead_letters.include_router(
        dead_letter_router(
            DLQ_SERVICE, stack.kafka_bootstrap, lambda: producer, staff_secret=SECRET
        )
    )
    intake = FastAPI()  # intake's client keys' API, with the test's staff secret
    intake.include_router(open311_clients_router(lambda: intake_pool, staff_secret=SECRET))
    transports = {
        "intake": httpx.ASGITransport(app=intake),
        "routing": httpx.ASGITransport(app=routing),
        "notifier": httpx.ASGITransport(app=dead_letters),
    }
    settings = BackofficeSettings(triage_url="http://127.0.0.1:9")  # nobody listens: "down"
    return create_app(lambda: pool, settings, Services(settings, SECRET, transports=transports))


@asynccontextmanager
async def signed_in(app: FastAPI, staff_id: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(f"10.1.0.{len(staff_id)}", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://backoffice") as client:
        csrf = await token(client, "/staff/masuk")
        code = pyotp.TOTP(TOTP).now() if staff_id == "admin" else ""
        form = {"csrf_token": csrf, "staff_id": staff_id, "password": PASSWORD, "code": code}
        assert (await client.post("/staff/masuk", data=form)).status_code == 303
        yield client


async def token(client: httpx.AsyncClient, page: str) -> str:
    match = CSRF_FIELD.search((await client.get(page)).text)
    assert match, f"{page} carries no CSRF token"
    return match.group(1)


async def unmatched_case(pool: asyncpg.Pool) -> tuple[str, str]:
    """A complaint no rule routes (no region, category 'other'): the manual queue's."""
    complaint_id = uuid.uuid4()
    tracking = f"LPR-{complaint_id.hex[:4].upper()}-DISP-OSI"
    event = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintAcceptedPayload(
            tracking_code=tracking,
            channel=Channel.WEB,
            category=Category.OTHER,
            priority=Priority.NORMAL,
            region_code=None,
            summary="Pungutan liar di kantor kelurahan",
        ),
    )
    async with pool.acquire() as conn, conn.transaction():
        events = await open_case(event, conn)
        await outbox.enqueue(conn, events)
    assert events[0].payload.agency_code == "SETWAPRES"
    return str(events[0].payload.case_id), tracking


async def test_a_disposition_officer_routes_an_unmatched_complaint(
    app: FastAPI, routing_pool: asyncpg.Pool
) -> None:
    case_id, tracking = await unmatched_case(routing_pool)
    async with signed_in(app, "disposisi") as client:
        page = await client.get("/staff/disposisi")
        assert page.status_code == 200
        assert f'data-tracking-code="{tracking}"' in page.text
        assert 'value="KEMENKES">Kementerian Kesehatan (KEMENKES)</option>' in page.text
        assert 'id="overdue' in page.text and 'id="sp4n' in page.text
        csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
        unknown = await client.post(
            f"/staff/disposisi/{case_id}", data={"csrf_token": csrf, "agency_code": "NOPE"}
        )
        assert unknown.status_code == 422 and "Routing menolak" in unknown.text
        disposed = await client.post(
            f"/staff/disposisi/{case_id}",
            data={"csrf_token": csrf, "agency_code": "KEMENKES", "tracking_code": tracking},
        )
        assert disposed.status_code == 303
        after = await client.get(disposed.headers["location"])
        assert f"{tracking} didisposisikan ke Kementerian Kesehatan" in after.text
        assert f'data-tracking-code="{tracking}"' not in after.text
        again = await client.post(
            f"/staff/disposisi/{case_id}", data={"csrf_token": csrf, "agency_code": "KEMENKES"}
        )
        assert again.status_code == 422  # no longer in the manual queue
        assert (await client.get("/staff/admin/aturan")).status_code == 404
    row = await routing_pool.fetchrow(
        "SELECT agency_code, status FROM cases WHERE case_id = $1", uuid.UUID(case_id)
    )
    assert row["agency_code"] == "KEMENKES"
    history = await routing_pool.fetchval(
        "SELECT actor FROM case_history WHERE case_id = $1 ORDER BY id DESC LIMIT 1",
        uuid.UUID(case_id),
    )
    assert history == "disposisi"


async def test_routings_agency_list_is_for_disposition_and_admins_only(
    routing_pool: asyncpg.Pool,
) -> None:
    routing = routing_app(lambda: routing_pool, keys=default_keystore(), staff_secret=SECRET)
    transport = httpx.ASGITransport(app=routing)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as api:
        assert (await api.get("/v1/agencies")).status_code == 401
        for roles, agency, status in (
            ({Role.AGENCY_OFFICER}, "KEMENKES", 403),
            ({Role.REVIEWER}, None, 403),
            ({Role.DISPOSITION}, None, 200),
            ({Role.ADMIN}, None, 200),
        ):
            member = StaffMember("x", frozenset(roles), agency)
            headers = {staff.HEADER: staff.sign(member, SECRET)}
            answer = await api.get("/v1/agencies", headers=headers)
            assert answer.status_code == status, roles
        listed = answer.json()
        assert listed[0]["agency_code"] == "SETWAPRES"
        assert {"agency_code", "name", "level", "region_code", "intake_method"} == set(listed[0])


async def test_an_admin_edits_a_rule_and_a_new_version_appears(
    app: FastAPI, routing_pool: asyncpg.Pool
) -> None:
    rule_id = await routing_pool.fetchval("SELECT rule_id FROM routing_rules ORDER BY 1 LIMIT 1")
    before = await routing_pool.fetchval(
        "SELECT version FROM routing_rules WHERE rule_id = $1", rule_id
    )
    async with signed_in(app, "admin") as client:
        listed = await client.get("/staff/admin/aturan")
        assert listed.status_code == 200 and f'data-rule-id="{rule_id}"' in listed.text
        page = await client.get(f"/staff/admin/aturan/{rule_id}")
        assert page.status_code == 200 and f'data-version="{before}"' in page.text
        csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
        form = {
            "csrf_token": csrf,
            "category": "health",
            "region_prefix": "32",
            "priority": "",
            "agency_code": "KEMENKES",
            "precedence": "40",
            "active": "1",
            "description": "Diubah lewat kantor belakang",
        }
        bad = await client.post(
            f"/staff/admin/aturan/{rule_id}", data={**form, "region_prefix": "jawa"}
        )
        assert bad.status_code == 422 and "region_prefix" in bad.text
        saved = await client.post(f"/staff/admin/aturan/{rule_id}", data=form)
        assert saved.status_code == 303
        after = await client.get(saved.headers["location"])
        assert f'data-version="{before + 1}"' in after.text
        assert "Diubah lewat kantor belakang" in after.text and f"versi {before + 1}" in after.text
        assert (await client.get("/staff/admin/aturan/no-such-rule")).status_code == 404
        assert (await client.get("/staff/admin/aturan/..%2Fx")).status_code == 404
    row = await routing_pool.fetchrow(
        "SELECT version, agency_code, updated_by FROM routing_rules WHERE rule_id = $1", rule_id
    )
    assert (row["version"], row["agency_code"], row["updated_by"]) == (
        before + 1,
        "KEMENKES",
        "admin",
    )


async def test_an_admin_creates_a_rule_which_then_appears(
    app: FastAPI, routing_pool: asyncpg.Pool
) -> None:
    rule_id = f"kesehatan-{uuid.uuid4().hex[:8]}"
    async with signed_in(app, "admin") as client:
        page = await client.get("/staff/admin/aturan")
        assert page.status_code == 200 and 'id="new-rule-form"' in page.text
        assert '<option value="KEMENKES">' in page.text  # the agency picker
        form = {
            "csrf_token": CSRF_FIELD.search(page.text).group(1),  # type: ignore[union-attr]
            "rule_id": rule_id,
            "category": "health",
            "region_prefix": "32.73",
            "priority": "",
            "agency_code": "KEMENKES",
            "precedence": "30",
            "active": "1",
            "description": "Kesehatan di Kota Bandung ke Kemenkes",
        }
        bad = await client.post("/staff/admin/aturan", data={**form, "region_prefix": "jawa"})
        assert bad.status_code == 422 and "region_prefix" in bad.text
        assert f'value="{rule_id}"' in bad.text  # what was typed stays
        created = await client.post("/staff/admin/aturan", data=form)
        assert created.status_code == 303, created.text
        assert created.headers["location"] == f"/staff/admin/aturan?dibuat={rule_id}"
        listed = await client.get(created.headers["location"])
        assert f'data-rule-id="{rule_id}"' in listed.text and 'id="done"' in listed.text
        again = await client.post("/staff/admin/aturan", data=form)
        assert again.status_code == 409 and "exists" in again.text
    stored = await routing_pool.fetchrow(
        "SELECT category, region_prefix, agency_code, precedence, version, updated_by"
        " FROM routing_rules WHERE rule_id = $1",
        rule_id,
    )
    assert tuple(stored) == ("health", "32.73", "KEMENKES", 30, 1, "admin")


async def test_an_admin_finds_and_edits_an_agency(app: FastAPI, routing_pool: asyncpg.Pool) -> None:
    async with signed_in(app, "admin") as client:
        found = await client.get("/staff/admin/instansi", params={"q": "kesehatan"})
        assert found.status_code == 200 and 'data-agency-code="KEMENKES"' in found.text
        assert 'data-agency-code="ATR-BPN"' not in found.text  # narrowed by the words
        page = await client.get("/staff/admin/instansi/KEMENKES")
        assert page.status_code == 200 and 'value="Kementerian Kesehatan"' in page.text
        form = {
            "csrf_token": CSRF_FIELD.search(page.text).group(1),  # type: ignore[union-attr]
            "name": "Kementerian Kesehatan",
            "intake_method": "sp4n",
            "via_sp4n": "1",
            "contact_email": "pengaduan@kemkes.go.id",
            "contact_phone": "1500-567",
            "supervisor": "Inspektorat Jenderal Kementerian Kesehatan",
            "supervisor_email": "itjen@kemkes",  # no domain: routing refuses it
            "response_working_days": "8",
        }
        bad = await client.post("/staff/admin/instansi/KEMENKES", data=form)
        assert bad.status_code == 422 and "supervisor_email" in bad.text
        assert 'value="1500-567"' in bad.text  # what was typed stays
        saved = await client.post(
            "/staff/admin/instansi/KEMENKES",
            data={**form, "supervisor_email": "itjen@kemkes.go.id"},
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/staff/admin/instansi/KEMENKES?disimpan=1"
        after = await client.get(saved.headers["location"])
        assert 'id="done"' in after.text and 'value="itjen@kemkes.go.id"' in after.text
        assert (await client.get("/staff/admin/instansi/TIDAK-ADA")).status_code == 404
    stored = await routing_pool.fetchrow(
        "SELECT contact_phone, supervisor_email, response_working_days FROM agencies"
        " WHERE agency_code = 'KEMENKES'"
    )
    assert tuple(stored) == ("1500-567", "itjen@kemkes.go.id", 8)


async def test_an_admin_adds_and_removes_a_calendar_day(
    app: FastAPI, routing_pool: asyncpg.Pool
) -> None:
    async with signed_in(app, "admin") as client:
        csrf = await token(client, "/staff/admin/kalender")
        added = await client.post(
            "/staff/admin/kalender",
            data={"csrf_token": csrf, "day": "2031-12-26", "working": "0", "note": "Cuti bersama"},
        )
        assert added.status_code == 303
        page = await client.get(added.headers["location"])
        assert 'data-day="2031-12-26"' in page.text and "Cuti bersama" in page.text
        unsure = await client.post(
            "/staff/admin/kalender/2031-12-26/hapus", data={"csrf_token": csrf}
        )
        assert unsure.status_code == 422 and "Saya yakin" in unsure.text
        removed = await client.post(
            "/staff/admin/kalender/2031-12-26/hapus", data={"csrf_token": csrf, "sure": "1"}
        )
        assert removed.status_code == 303
        assert 'data-day="2031-12-26"' not in (await client.get("/staff/admin/kalender")).text
    days = await routing_pool.fetchval("SELECT count(*) FROM calendar_overrides")
    assert days == 0


async def test_an_admin_reads_masked_dead_letters_and_replays_one(
    stack,  # type: ignore[no-untyped-def]
    app: FastAPI,
    producer: AIOKafkaProducer,
) -> None:
    source = dead_letter_topic(f"{DLQ_SERVICE}src")
    await ensure_topics(stack.kafka_bootstrap, [dead_letter_topic(DLQ_SERVICE), source])
    complaint_id = uuid.uuid4()
    event = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintAcceptedPayload(
            tracking_code="LPR-DEAD-PAGE-AAA",
            channel=Channel.WEB,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="32.73",
            summary="Rumah Ibu Siti di Jl. Melati digusur",
        ),
    )
    letter = DeadLetter(source.name, 0, 7, b"k", serialize_event(event), "handler error: X")
    await DeadLetterPublisher(producer, DLQ_SERVICE).publish([letter])
    async with signed_in(app, "admin") as client:

        async def listed() -> str:
            page = await client.get("/staff/admin/pesan-gagal/notifier")
            return page.text if "data-offset=" in page.text else ""

        text = await eventually(listed)
        offset = re.search(r'data-offset="(\d+)"', text).group(1)  # type: ignore[union-attr]
        shown = await client.get(f"/staff/admin/pesan-gagal/notifier/{offset}")
        assert shown.status_code == 200 and "LPR-DEAD-PAGE-AAA" in shown.text
        assert "Siti" not in shown.text and "Melati" not in shown.text
        csrf = CSRF_FIELD.search(shown.text).group(1)  # type: ignore[union-attr]
        unsure = await client.post(
            "/staff/admin/pesan-gagal/notifier/ulang", data={"csrf_token": csrf, "offsets": offset}
        )
        assert unsure.status_code == 422
        replayed = await client.post(
            "/staff/admin/pesan-gagal/notifier/ulang",
            data={"csrf_token": csrf, "offsets": offset, "sure": "1"},
        )
        assert replayed.status_code == 303
        done = await client.get(replayed.headers["location"])
        assert f"Dikirim ulang: {offset}." in done.text
        assert (await client.get("/staff/admin/pesan-gagal/kafka")).status_code == 404
        assert (await client.get("/staff/admin/pesan-gagal/triage")).status_code == 503


async def test_an_admin_issues_an_open311_key_once_and_revokes_it(
    app: FastAPI, intake_pool: asyncpg.Pool
) -> None:
    async with signed_in(app, "admin") as client:
        page = await client.get("/staff/admin/open311")
        assert page.status_code == 200 and 'id="add-client"' in page.text
        csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
        empty = await client.post("/staff/admin/open311", data={"csrf_token": csrf, "name": " "})
        assert empty.status_code == 422 and "Isi nama aplikasinya." in empty.text
        issued = await client.post(
            "/staff/admin/open311", data={"csrf_token": csrf, "name": "Aplikasi Warga"}
        )
        assert issued.status_code == 201
        key = re.search(r'<code id="api-key">(o311_[^<]+)</code>', issued.text).group(1)  # type: ignore[union-attr]
        client_id = re.search(r'data-client-id="(app-[0-9a-f]{8})"', issued.text).group(1)  # type: ignore[union-attr]
        assert key not in (await client.get("/staff/admin/open311")).text  # shown once
        revoke = f"/staff/admin/open311/{client_id}/cabut"
        unsure = await client.post(revoke, data={"csrf_token": csrf})
        assert unsure.status_code == 422
        revoked = await client.post(revoke, data={"csrf_token": csrf, f"sure-{client_id}": "1"})
        assert revoked.status_code == 303
        done = await client.get(revoked.headers["location"])
        assert f"Kunci {client_id} dicabut." in done.text and "Dicabut" in done.text
    async with intake_pool.acquire() as conn:
        found = await open311.client_by_key(conn, key)
    assert found is not None and found.revoked


async def test_other_roles_get_404_on_the_admin_and_disposition_pages(app: FastAPI) -> None:
    async with signed_in(app, "petugas") as client:
        for page in (
            "/staff/disposisi",
            "/staff/admin/aturan",
            "/staff/admin/kalender",
            "/staff/admin/pesan-gagal",
            "/staff/admin/pesan-gagal/routing",
            "/staff/admin/open311",
        ):
            assert (await client.get(page)).status_code == 404, page
        home = await client.get("/staff")
        assert 'data-area="rules"' not in home.text
