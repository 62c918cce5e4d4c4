"""The back office in process against the real PostgreSQL: signing in (wrong password,
attempt limits, one-time codes), CSRF, session expiry, role checks on every page (no page
answers without a session; a wrong role is a 404), the admin's account page, and a page that
calls another service's API with the staff assertion (here a small ASGI app that verifies
the header with `schemas.staff.verify`, as routing will)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pyotp
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts

from schemas import staff
from schemas.staff import Role
from services.backoffice.adapters import accounts as store
from services.backoffice.adapters.accounts import MIGRATIONS, SCHEMA
from services.backoffice.adapters.services import Services
from services.backoffice.bootstrap import create_app
from services.backoffice.handlers.accounts import add_account
from services.backoffice.settings import BackofficeSettings
from services.messaging.database import create_pool, migrate

pytestmark = pytest.mark.integration

SECRET = "test-staff-assertion-secret"
PASSWORD = "kata-sandi-yang-panjang"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
ADMIN_TOTP = pyotp.random_base32()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 2, 2, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def routing_standin() -> FastAPI:
    """What routing's desk answers a verified staff assertion: its agency's cases."""
    app = FastAPI()

    @app.get("/v1/desk/cases")
    async def inbox(request: Request) -> Any:
        try:
            member = staff.verify(request.headers.get(staff.HEADER, ""), SECRET)
        except staff.InvalidAssertion as error:
            return JSONResponse({"detail": str(error)}, status_code=401)
        case = {
            "case_id": "5d1f2a8e-6b1c-4c53-9a51-0d0a8c1f0e11",
            "tracking_code": "LPR-2027-ABCD",
            "status": "awaiting_documents",
            "category": "infrastruktur",
            "region_code": "32.73",
            "summary": f"Jalan rusak ({member.staff_id})",
            "due_at": "2027-02-20T16:59:59+00:00",
        }
        later = {**case, "tracking_code": "LPR-2027-LATE", "due_at": "2027-03-01T00:00:00+00:00"}
        return {"agency_code": member.agency_code, "cases": [later, case]}

    return app


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA, max_size=4)
    await migrate(pool, SCHEMA, MIGRATIONS)
    for fields in (
        ("admin1", "Ani Admin", frozenset({Role.ADMIN}), None),
        ("admin2", "Adi Admin", frozenset({Role.ADMIN}), None),
        ("petugas1", "Budi Petugas", frozenset({Role.AGENCY_OFFICER}), "KEMENPU"),
        ("peninjau1", "Citra Peninjau", frozenset({Role.REVIEWER}), None),
        ("dikunci", "Dedi Dikunci", frozenset({Role.REVIEWER}), None),
    ):
        await add_account(pool, fields, PASSWORD, "test")
    await store.set_totp_secret(pool, "admin1", ADMIN_TOTP)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(pool: asyncpg.Pool, clock: Clock) -> FastAPI:
    settings = BackofficeSettings(signin_max_failures=5, session_idle_minutes=30)
    transport = httpx.ASGITransport(app=routing_standin())
    services = Services(settings, SECRET, transports={"routing": transport})
    return create_app(lambda: pool, settings, services, clock)


def browser(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A browser at `address` (attempt limits count per address)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://backoffice")


def app_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Every (method, path, route) of the app: FastAPI keeps included routers as such in
    `app.routes` (no methods, no path), so they are walked through their contexts."""
    found = [
        (method, context.path, context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path
        for method in sorted(context.methods or ())
        if method != "HEAD"
    ]
    assert len(found) > 10, f"only {len(found)} routes found: the walk would test next to nothing"
    return found


async def token(client: httpx.AsyncClient, page: str = "/staff/masuk") -> str:
    match = CSRF_FIELD.search((await client.get(page)).text)
    assert match, "the page carries no CSRF token"
    return match.group(1)


async def sign_in(
    client: httpx.AsyncClient, staff_id: str, password: str = PASSWORD, code: str = ""
) -> httpx.Response:
    form = {"csrf_token": await token(client), "staff_id": staff_id, "password": password}
    return await client.post("/staff/masuk", data={**form, "code": code, "next": "/staff"})


async def test_a_wrong_password_is_refused_without_saying_what_was_wrong(app: FastAPI) -> None:
    async with browser(app, "10.0.0.1") as client:
        refused = await sign_in(client, "petugas1", "bukan-sandinya-sama-sekali")
        unknown = await sign_in(client, "tidak-ada", PASSWORD)
        assert refused.status_code == unknown.status_code == 401
        assert "ID, kata sandi atau kode salah." in refused.text
        assert PASSWORD not in refused.text and "bukan-sandinya" not in refused.text
        assert "lapor_staff_session" not in client.cookies


async def test_five_failures_lock_the_account_even_for_the_right_password(
    app: FastAPI, clock: Clock
) -> None:
    for attempt in range(5):  # from five places: the account's own limit holds
        async with browser(app, f"10.0.1.{attempt}") as client:
            assert (await sign_in(client, "dikunci", "salah-salah-salah")).status_code == 401
    async with browser(app, "10.0.1.9") as client:
        locked = await sign_in(client, "dikunci", PASSWORD)
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        assert "Terlalu banyak percobaan masuk yang gagal" in locked.text
        clock.now += timedelta(minutes=16)
        assert (await sign_in(client, "dikunci", PASSWORD)).status_code == 303


async def test_five_failures_from_one_address_lock_that_address(app: FastAPI) -> None:
    async with browser(app, "10.0.2.1") as client:
        for n in range(5):
            assert (await sign_in(client, f"tebakan{n}", "salah-salah-salah")).status_code == 401
        assert (await sign_in(client, "peninjau1", PASSWORD)).status_code == 429
    async with browser(app, "10.0.2.2") as elsewhere:
        assert (await sign_in(elsewhere, "peninjau1", PASSWORD)).status_code == 303


async def test_a_form_without_its_csrf_token_is_refused(app: FastAPI) -> None:
    async with browser(app, "10.0.3.1") as client:
        await client.get("/staff/masuk")  # the cookie, but no token in the form
        posted = await client.post(
            "/staff/masuk", data={"staff_id": "petugas1", "password": PASSWORD}
        )
        assert posted.status_code == 403 and "Formulir ditolak" in posted.text
        forged = await client.post(
            "/staff/masuk", data={"staff_id": "petugas1", "password": PASSWORD, "csrf_token": "x"}
        )
        assert forged.status_code == 403


async def test_pages_need_a_session_and_the_right_role(app: FastAPI) -> None:
    async with browser(app, "10.0.4.1") as client:
        away = await client.get("/staff/admin/akun")
        assert away.status_code == 303
        assert away.headers["location"] == "/staff/masuk?next=/staff/admin/akun"
        signed = await sign_in(client, "petugas1")
        assert signed.status_code == 303 and signed.headers["location"] == "/staff"
        cookie = next(c for c in client.cookies.jar if c.name == "lapor_staff_session")
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/staff"
        home = await client.get("/staff")
        assert home.status_code == 200 and 'data-area="agency_inbox"' in home.text
        assert 'data-area="accounts"' not in home.text
        hidden = await client.get("/staff/admin/akun")
        assert hidden.status_code == 404 and "Halaman tidak ditemukan" in hidden.text
        posted = await client.post(
            "/staff/admin/akun/petugas1/status",
            data={"csrf_token": await token(client, "/staff"), "disabled": "1"},
        )
        assert posted.status_code == 404


async def test_every_staff_page_redirects_to_sign_in_without_a_session(app: FastAPI) -> None:
    """The walk over every route: no page answers without a session (sign-in excepted)."""
    public = {("GET", "/staff/masuk"), ("POST", "/staff/masuk"), ("POST", "/staff/keluar")}
    public |= {("GET", "/staff/static/backoffice.css"), ("GET", "/")}
    async with browser(app, "10.0.5.1") as client:
        csrf = await token(client)
        for method, path, _ in app_routes(app):
            if (method, path) in public:
                continue
            url = re.sub(r"\{[a-z_]+\}", "x", path.replace("{staff_id}", "admin1"))
            answer = await client.request(method, url, data={"csrf_token": csrf})
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/staff/masuk?next=")


async def test_an_idle_session_expires_and_sends_the_member_to_sign_in(
    app: FastAPI, clock: Clock
) -> None:
    async with browser(app, "10.0.6.1") as client:
        assert (await sign_in(client, "peninjau1")).status_code == 303
        clock.now += timedelta(minutes=29)
        assert (await client.get("/staff")).status_code == 200  # slides the session on
        clock.now += timedelta(minutes=29)
        assert (await client.get("/staff")).status_code == 200
        clock.now += timedelta(minutes=30)
        expired = await client.get("/staff?lang=en")
        assert expired.status_code == 303
        assert (
            expired.headers["location"] == "/staff/masuk?next=/staff%3Flang%3Den&lang=en&expired=1"
        )
        notice = await client.get(expired.headers["location"])
        assert "Your session ended" in notice.text


async def test_sign_out_ends_the_session(app: FastAPI) -> None:
    async with browser(app, "10.0.7.1") as client:
        assert (await sign_in(client, "peninjau1")).status_code == 303
        out = await client.post("/staff/keluar", data={"csrf_token": await token(client, "/staff")})
        assert out.status_code == 303 and out.headers["location"].startswith("/staff/masuk")
        assert (await client.get("/staff")).status_code == 303


async def test_an_admin_signs_in_with_a_one_time_code_and_manages_accounts(
    app: FastAPI, pool: asyncpg.Pool, clock: Clock
) -> None:
    async with browser(app, "10.0.8.1") as client:
        assert (await sign_in(client, "admin1")).status_code == 401  # no code
        code = pyotp.TOTP(ADMIN_TOTP).at(clock.now)
        assert (await sign_in(client, "admin1", code=code)).status_code == 303
        page = await client.get("/staff/admin/akun")
        assert page.status_code == 200 and 'data-staff-id="petugas1"' in page.text
        csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
        created = await client.post(
            "/staff/admin/akun",
            data={
                "csrf_token": csrf,
                "staff_id": "supervisor1",
                "display_name": "Eka Supervisor",
                "roles": ["agency_supervisor", "agency_officer"],
                "agency_code": "kemenpu",
                "password": PASSWORD,
            },
        )
        assert created.status_code == 303
        account = await store.account(pool, "supervisor1")
        assert account and account.agency_code == "KEMENPU"
        assert account.roles == {Role.AGENCY_SUPERVISOR, Role.AGENCY_OFFICER}
        no_agency = await client.post(
            "/staff/admin/akun/supervisor1/peran",
            data={"csrf_token": csrf, "roles": ["agency_officer"], "agency_code": ""},
        )
        assert no_agency.status_code == 422
        async with browser(app, "10.0.8.2") as other:
            assert (await sign_in(other, "supervisor1")).status_code == 303
            disabled = await client.post(
                "/staff/admin/akun/supervisor1/status", data={"csrf_token": csrf, "disabled": "1"}
            )
            assert disabled.status_code == 303
            assert (await other.get("/staff")).status_code == 303  # its session ended
            assert (await sign_in(other, "supervisor1")).status_code == 401
        audit = await pool.fetch(
            "SELECT action, actor FROM staff_account_events WHERE staff_id = 'supervisor1'"
            " ORDER BY id"
        )
        assert [(r["action"], r["actor"]) for r in audit] == [
            ("created", "admin1"),
            ("disabled", "admin1"),
        ]


async def test_an_admin_without_one_time_codes_must_enrol_first(
    app: FastAPI, pool: asyncpg.Pool, clock: Clock
) -> None:
    async with browser(app, "10.0.9.1") as client:
        assert (await sign_in(client, "admin2")).status_code == 303
        sent = await client.get("/staff/admin/akun")
        assert sent.status_code == 303 and sent.headers["location"] == "/staff/totp"
        page = await client.get("/staff/totp")
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)  # type: ignore[union-attr]
        csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
        wrong = await client.post(
            "/staff/totp", data={"csrf_token": csrf, "secret": secret, "code": "000000"}
        )
        assert wrong.status_code == 422
        code = pyotp.TOTP(secret).at(clock.now)
        enrolled = await client.post(
            "/staff/totp", data={"csrf_token": csrf, "secret": secret, "code": code}
        )
        assert enrolled.status_code == 303
        assert (await client.get("/staff/admin/akun")).status_code == 200
    async with browser(app, "10.0.9.2") as again:
        assert (await sign_in(again, "admin2")).status_code == 401
        code = pyotp.TOTP(secret).at(clock.now)
        assert (await sign_in(again, "admin2", code=code)).status_code == 303


async def test_the_agency_inbox_calls_routing_with_the_staff_assertion(app: FastAPI) -> None:
    async with browser(app, "10.0.10.1") as client:
        assert (await sign_in(client, "petugas1")).status_code == 303
        page = await client.get("/staff/instansi/kasus")
        assert page.status_code == 200, page.text
        assert "Jalan rusak (petugas1)" in page.text  # the stand-in verified who asked
        assert "KEMENPU" in page.text
        assert page.text.index("LPR-2027-ABCD") < page.text.index("LPR-2027-LATE")  # by due
        assert "Menunggu dokumen pelapor" in page.text and "awaiting_documents<" not in page.text
        assert "20 Feb 2027 23.59 WIB" in page.text


async def test_a_service_that_does_not_answer_leaves_the_page_up(pool: asyncpg.Pool) -> None:
    settings = BackofficeSettings(routing_url="http://127.0.0.1:9", service_timeout_seconds=2)
    app = create_app(lambda: pool, settings, Services(settings, SECRET))
    async with browser(app, "10.0.11.1") as client:
        assert (await sign_in(client, "petugas1")).status_code == 303
        page = await client.get("/staff/instansi/kasus")
        assert page.status_code == 503 and "routing" in page.text
