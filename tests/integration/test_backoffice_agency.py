"""The agency officer's and supervisor's pages (issue 15) against the real PostgreSQL: the
back office app in process, calling routing's app (also in process, through an ASGI
transport) with the staff assertion. Cases carry a whole case file (tests/agency_cases.py).
The inbox's filters and counts, the case page (full text, location, the document's signed
link, the reporter as the page may show them), the actions with their confirmation and
routing's refusals in words, another agency's officer getting the 404 page, and the
supervisor's overdue list and reassignment to the agency's own officers."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from schemas.staff import Role
from services.backoffice.adapters.accounts import MIGRATIONS as BACKOFFICE_MIGRATIONS
from services.backoffice.adapters.accounts import SCHEMA as BACKOFFICE_SCHEMA
from services.backoffice.adapters.services import Services
from services.backoffice.bootstrap import create_app
from services.backoffice.handlers.accounts import add_account
from services.backoffice.settings import BackofficeSettings
from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import default_keystore
from services.routing.domain import JAKARTA, DocumentLinks
from services.routing.entrypoints.app import create_app as routing_app
from tests.agency_cases import ADDRESS, DESCRIPTION, NAME, PHONE, Case, a_case_file

pytestmark = pytest.mark.integration

SECRET = "agency-pages-staff-secret"
PASSWORD = "kata-sandi-yang-panjang"
INTAKE = "http://intake.example"
ROUTING_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "routing" / "migrations"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
FILED = datetime(2026, 8, 13, 8, 30, tzinfo=JAKARTA)


class Clock:
    def __init__(self) -> None:
        self.now = FILED + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


class World:
    def __init__(self, clock: Clock, agency: str, cases: dict[str, Case]) -> None:
        self.clock = clock
        self.agency = agency
        self.cases = cases


@pytest.fixture(scope="module")
async def routing_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "routing", max_size=4)
    await migrate(pool, "routing", ROUTING_MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def world(database_url: str, routing_pool: asyncpg.Pool) -> AsyncIterator[World]:
    keys = default_keystore()
    cases = {}
    async with routing_pool.acquire() as conn:
        for name, flags in (
            ("plain", {}),
            ("anonymous", {"anonymous": True}),
            ("secret", {"secret": True}),
            ("steps", {}),
            ("refused", {}),
        ):
            cases[name] = await a_case_file(conn, keys, FILED, **flags)
    agency = cases["plain"].agency_code
    pool = await create_pool(database_url, BACKOFFICE_SCHEMA, max_size=4)
    await migrate(pool, BACKOFFICE_SCHEMA, BACKOFFICE_MIGRATIONS)
    for fields in (
        ("petugas", "Budi Petugas", frozenset({Role.AGENCY_OFFICER}), agency),
        ("rekan", "Rina Rekan", frozenset({Role.AGENCY_OFFICER}), agency),
        ("kepala", "Kiki Kepala", frozenset({Role.AGENCY_SUPERVISOR}), agency),
        ("nonaktif", "Nana Nonaktif", frozenset({Role.AGENCY_OFFICER}), agency),
        ("lain", "Lina Lain", frozenset({Role.AGENCY_OFFICER}), "KEMENKES"),
    ):
        await add_account(pool, fields, PASSWORD, "test")
    await pool.execute("UPDATE staff_accounts SET disabled = true WHERE staff_id = 'nonaktif'")
    world = World(Clock(), agency, cases)
    world.pool = pool  # type: ignore[attr-defined]
    yield world
    await pool.close()


@pytest.fixture(scope="module")
def app(world: World, routing_pool: asyncpg.Pool) -> FastAPI:
    routing = routing_app(
        lambda: routing_pool,
        world.clock,
        keys=default_keystore(),
        links=DocumentLinks(INTAKE, "document-link-secret"),
        staff_secret=SECRET,
    )
    settings = BackofficeSettings()
    services = Services(settings, SECRET, transports={"routing": httpx.ASGITransport(app=routing)})
    return create_app(lambda: world.pool, settings, services, world.clock)  # type: ignore[attr-defined]


@asynccontextmanager
async def signed_in(app: FastAPI, staff_id: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(f"10.1.0.{len(staff_id)}", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://backoffice") as client:
        page = await client.get("/staff/masuk")
        form = {"csrf_token": csrf(page), "staff_id": staff_id, "password": PASSWORD}
        assert (
            await client.post("/staff/masuk", data={**form, "next": "/staff"})
        ).status_code == 303
        yield client


def csrf(page: httpx.Response) -> str:
    return CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]


async def act(client: httpx.AsyncClient, case: Case, action: str, **fields: Any) -> httpx.Response:
    page = await client.get(f"/staff/instansi/kasus/{case.case_id}")
    if "confirm" in fields:
        fields[f"confirm-{action}"] = fields.pop("confirm")
    return await client.post(
        f"/staff/instansi/kasus/{case.case_id}/{action}", data={"csrf_token": csrf(page), **fields}
    )


async def test_the_inbox_filters_counts_and_links_each_case(app: FastAPI, world: World) -> None:
    async with signed_in(app, "petugas") as client:
        page = await client.get("/staff/instansi/kasus")
        assert page.status_code == 200, page.text
        for case in world.cases.values():
            assert f'href="/staff/instansi/kasus/{case.case_id}"' in page.text
        assert 'data-count="total">Semua: <strong>5</strong>' in page.text
        assert 'data-count="assigned">Baru diteruskan: <strong>5</strong>' in page.text
        assert 'id="f-status"' in page.text and 'name="due_before"' in page.text
        assert 'name="mine"' in page.text and 'name="overdue"' in page.text
        none = await client.get("/staff/instansi/kasus?status=closed&category=land&region=31")
        assert 'id="no-cases"' in none.text and '<option value="closed" selected>' in none.text
        assert 'data-count="total">Semua: <strong>5</strong>' in none.text  # counts ignore status
        mine = await client.get("/staff/instansi/kasus?mine=1")
        assert 'id="no-cases"' in mine.text  # nobody has acted yet
        odd = await client.get("/staff/instansi/kasus?region=jakarta&due_before=kemarin")
        assert "diabaikan: region, due before" in odd.text and odd.status_code == 200
        early = await client.get("/staff/instansi/kasus?due_before=2026-08-13")
        assert 'id="no-cases"' in early.text  # every case is due long after the filing day
        english = await client.get("/staff/instansi/kasus?lang=en&overdue=1")
        assert "Overdue only" in english.text and 'id="no-cases"' in english.text


async def test_the_case_page_shows_the_whole_file(app: FastAPI, world: World) -> None:
    async with signed_in(app, "petugas") as client:
        page = await client.get(f"/staff/instansi/kasus/{world.cases['plain'].case_id}")
        assert page.status_code == 200, page.text
        text = page.text
        assert DESCRIPTION in text and ADDRESS in text and "Kota Jakarta Pusat" in text
        assert NAME in text and PHONE in text
        link = re.search(r'<a href="([^"]+)" class="document-link"', text)
        assert link and link.group(1).startswith(f"{INTAKE}/v1/documents/")
        assert "kwitansi.jpg" in text and "image/jpeg" in text and "4,0 KB" in text
        assert "13 Agu 2026 08.30 WIB" in text  # filed, in WIB
        assert "Baru diteruskan" in text and "Tanggapan instansi" in text
        assert 'data-status="assigned"' in text and "assigned<" not in text
        for action in ("accept", "request-documents", "respond", "close", "not-in-remit"):
            assert f'id="action-{action}"' in text
        assert 'id="reassign-' not in text  # an officer does not reassign

        anonymous = await client.get(f"/staff/instansi/kasus/{world.cases['anonymous'].case_id}")
        assert "Anonim" in anonymous.text
        assert NAME not in anonymous.text and PHONE not in anonymous.text
        secret = await client.get(f"/staff/instansi/kasus/{world.cases['secret'].case_id}")
        assert NAME in secret.text and PHONE not in secret.text

        assert (await client.get("/staff/instansi/kasus/bukan-uuid")).status_code == 404


async def test_another_agencys_officer_gets_the_404_page(app: FastAPI, world: World) -> None:
    case = world.cases["plain"]
    async with signed_in(app, "lain") as client:
        page = await client.get(f"/staff/instansi/kasus/{case.case_id}")
        assert page.status_code == 404 and "Halaman tidak ditemukan" in page.text
        assert DESCRIPTION not in page.text
        token = csrf(await client.get("/staff"))
        posted = await client.post(
            f"/staff/instansi/kasus/{case.case_id}/accept",
            data={"csrf_token": token, "confirm-accept": "yes"},
        )
        assert posted.status_code == 404
        inbox = await client.get("/staff/instansi/kasus")
        assert str(case.case_id) not in inbox.text


async def test_an_officer_requests_documents_then_responds_and_closes(
    app: FastAPI, world: World
) -> None:
    case = world.cases["steps"]
    path = f"/staff/instansi/kasus/{case.case_id}"
    async with signed_in(app, "petugas") as client:
        unsure = await act(client, case, "request-documents", note="Kirim fotokopi SHM.")
        assert unsure.status_code == 422 and "Centang \u201cSaya yakin\u201d" in unsure.text
        empty = await act(client, case, "request-documents", note=" ", confirm="yes")
        assert empty.status_code == 422 and "Isi keterangannya dulu." in empty.text
        asked = await act(
            client, case, "request-documents", note="Kirim fotokopi SHM.", confirm="yes"
        )
        assert (
            asked.status_code == 303
            and asked.headers["location"] == f"{path}?done=request-documents"
        )
        page = await client.get(asked.headers["location"])
        assert "Permintaan dokumen dikirim." in page.text
        assert 'id="case-status" data-status="awaiting_documents"' in page.text
        assert "Kirim fotokopi SHM." in page.text and "Dokumen dari pelapor" in page.text

        early = await act(client, case, "respond", note="Sudah terbit.", confirm="yes")
        assert early.status_code == 409
        assert "kasus berstatus \u201cMenunggu dokumen pelapor\u201d" in early.text
        assert "Sudah terbit." in early.text  # what was typed stays in the form

        for action, fields in (
            ("accept", {}),
            ("respond", {"note": "Sertifikat sudah terbit, silakan ambil."}),
            ("close", {}),
        ):
            moved = await act(client, case, action, confirm="yes", **fields)
            assert moved.status_code == 303, (action, moved.text)
        page = await client.get(path)
        assert 'id="case-status" data-status="closed"' in page.text and "Selesai" in page.text
        assert "Sertifikat sudah terbit, silakan ambil." in page.text
        assert "petugas" in page.text  # the actor in the history
        mine = await client.get("/staff/instansi/kasus?mine=1")
        assert str(case.case_id) in mine.text


async def test_not_in_remit_needs_a_reason_and_returns_to_the_inbox(
    app: FastAPI, world: World
) -> None:
    case = world.cases["refused"]
    async with signed_in(app, "petugas") as client:
        bare = await act(client, case, "not-in-remit", confirm="yes")
        assert bare.status_code == 422
        sent = await act(client, case, "not-in-remit", reason="Urusan pemda.", confirm="yes")
        assert sent.status_code == 303
        assert sent.headers["location"] == "/staff/instansi/kasus?done=not-in-remit"
        inbox = await client.get(sent.headers["location"])
        assert "dikembalikan ke Setwapres" in inbox.text


async def test_the_supervisor_sees_overdue_cases_and_reassigns_within_the_agency(
    app: FastAPI, world: World
) -> None:
    case = world.cases["plain"]
    async with signed_in(app, "petugas") as officer:
        assert (await officer.get("/staff/instansi/pengawasan")).status_code == 404
        token = csrf(await officer.get("/staff"))
        refused = await officer.post(
            f"/staff/instansi/kasus/{case.case_id}/alihkan",
            data={"csrf_token": token, "officer_id": "rekan", f"confirm-{case.case_id}": "yes"},
        )
        assert refused.status_code == 404
    async with signed_in(app, "kepala") as chief:
        calm = await chief.get("/staff/instansi/pengawasan")
        assert calm.status_code == 200 and 'id="no-overdue"' in calm.text
    world.clock.now = FILED + timedelta(days=90)  # sessions too: sign in again
    async with signed_in(app, "kepala") as chief:
        page = await chief.get("/staff/instansi/pengawasan")
        assert f'data-case-id="{case.case_id}"' in page.text
        assert "Belum dieskalasi" in page.text or "Ke pimpinan" in page.text
        picker = re.search(rf'id="o-{case.case_id}"[^>]*>(.*?)</select>', page.text)
        assert picker
        assert 'value="rekan"' in picker.group(1) and 'value="kepala"' in picker.group(1)
        assert "nonaktif" not in picker.group(1) and "lain" not in picker.group(1)
        token = csrf(page)
        outsider = await chief.post(
            f"/staff/instansi/kasus/{case.case_id}/alihkan",
            data={"csrf_token": token, "officer_id": "lain", f"confirm-{case.case_id}": "yes"},
        )
        assert outsider.status_code == 422 and "Pilih petugas instansi Anda" in outsider.text
        moved = await chief.post(
            f"/staff/instansi/kasus/{case.case_id}/alihkan",
            data={
                "csrf_token": token, "officer_id": "rekan", "note": "Budi cuti",
                f"confirm-{case.case_id}": "yes", "back": "pengawasan",
            },
        )  # fmt: skip
        assert moved.status_code == 303
        assert moved.headers["location"] == "/staff/instansi/pengawasan?done=reassign"
        assert "Kasus dialihkan." in (await chief.get(moved.headers["location"])).text
        file = await chief.get(f"/staff/instansi/kasus/{case.case_id}")
        assert 'id="assigned-officer">rekan<' in file.text
        assert "reassigned to rekan" in file.text and "Budi cuti" in file.text
        assert f'id="reassign-{case.case_id}"' in file.text  # the supervisor's form here too
    world.clock.now = FILED + timedelta(hours=1)


async def test_an_officer_writes_the_public_summary_never_for_a_secret_report(
    app: FastAPI, world: World, routing_pool: asyncpg.Pool
) -> None:
    case = world.cases["plain"]
    path = f"/staff/instansi/kasus/{case.case_id}"
    written = "Jalan rusak di kelurahan ini sedang diperbaiki dinas terkait."
    async with signed_in(app, "petugas") as client:
        page = await client.get(path)
        assert 'id="public-summary"' in page.text and "Jangan tulis nama" in page.text
        saved = await client.post(
            f"{path}/ringkasan-publik", data={"csrf_token": csrf(page), "summary": written}
        )
        assert saved.status_code == 303 and saved.headers["location"] == (
            f"{path}?done=public-summary"
        )
        shown = await client.get(saved.headers["location"])
        assert "Ringkasan publik disimpan." in shown.text and written in shown.text
        secret = await client.get(f"/staff/instansi/kasus/{world.cases['secret'].case_id}")
        assert 'id="public-summary-secret"' in secret.text
        assert 'id="public-summary"' not in secret.text
        refused = await client.post(
            f"/staff/instansi/kasus/{world.cases['secret'].case_id}/ringkasan-publik",
            data={"csrf_token": csrf(secret), "summary": "Tidak boleh tampil."},
        )
        assert refused.status_code == 409
    published = [
        json.loads(row["payload"]) for row in await routing_pool.fetch("SELECT payload FROM outbox")
    ]
    summaries = [
        event["payload"]["summary"]
        for event in published
        if event["event_type"] == "CasePublicSummaryPublished"
    ]
    assert written in summaries and "Tidak boleh tampil." not in summaries
