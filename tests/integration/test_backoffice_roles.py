"""Every back-office page with every role, in process against the real PostgreSQL: one
account per role (the agency roles bound to an agency) walks every route of the app.
Which roles may use a page is read from the code: its area in `domain.areas` (by path
prefix) and the roles its `access.require(...)` dependency names. A page outside a member's
areas answers 404 (never 200), a page inside answers neither 404 nor 403, and without a
session every page sends the browser to sign in. A page added without a role check, or
outside every area, makes this test fail. The other services answer 503 here (an in-process
app): the point is access, not content."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from schemas.staff import Role
from services.backoffice.adapters import accounts as store
from services.backoffice.adapters.accounts import MIGRATIONS, SCHEMA
from services.backoffice.adapters.services import Services
from services.backoffice.bootstrap import create_app
from services.backoffice.domain.areas import AREAS, Area
from services.backoffice.handlers.accounts import add_account
from services.backoffice.settings import BackofficeSettings
from services.messaging.database import create_pool, migrate
from tests.integration.test_backoffice import (
    PASSWORD,
    SECRET,
    Clock,
    app_routes,
    browser,
    sign_in,
    token,
)

pytestmark = pytest.mark.integration

PUBLIC = {"/", "/staff/masuk", "/staff/static/backoffice.css"}  # no session needed
EVERY_MEMBER = {"/staff", "/staff/totp", "/staff/keluar"}  # any signed-in member
PUBLIC_POSTS = {"/staff/masuk", "/staff/keluar"}
DUMMY = {  # a well-formed value for each path parameter, so that only the role decides
    "case_id": str(uuid.UUID(int=1)),
    "complaint_id": str(uuid.UUID(int=2)),
    "service": "routing",
    "offset": "1",
    "rule_id": "aturan-contoh",
    "staff_id": "peninjau",
    "day": "2027-02-17",
    "action": "respond",
    "booking_code": "KUN-0000-00A",
    "agency_code": "KEMENPU",
    "client_id": "app-3f9c2a1b",
}
ADMIN_TOTP = pyotp.random_base32()
MEMBERS = {  # staff id, its one role, its agency
    Role.REVIEWER: ("peninjau", None),
    Role.DISPOSITION: ("disposisi", None),
    Role.ADMIN: ("admin", None),
    Role.AGENCY_OFFICER: ("petugas", "KEMENPU"),
    Role.AGENCY_SUPERVISOR: ("pengawas", "KEMENPU"),
    Role.DESK_OFFICER: ("meja", None),
}


def down_service() -> FastAPI:
    """Every other service, answering 503 to whatever the back office asks."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def down(path: str) -> Any:
        return JSONResponse({"detail": "down for the test"}, status_code=503)

    return app


def area_of(path: str) -> Area | None:
    """The area a path belongs to: the longest area path it is, or lies under."""
    inside = [a for a in AREAS if path == a.path or path.startswith(a.path + "/")]
    return max(inside, key=lambda a: len(a.path), default=None)


def declared_roles(route: APIRoute) -> frozenset[Role] | None:
    """The roles the route's `access.require(...)` dependency names; None without one."""
    for dependency in route.dependant.dependencies:
        call = dependency.call
        if getattr(call, "__qualname__", "").startswith("Access.require."):
            return frozenset(inspect.getclosurevars(call).nonlocals["roles"])
    return None


def filled(path: str) -> str:
    for name in path.split("{")[1:]:
        name = name.split("}")[0].split(":")[0]
        assert name in DUMMY, f"{path}: add a dummy value for {{{name}}} to DUMMY"
        path = path.replace(f"{{{name}}}", DUMMY[name])
    return path


def routes(app: FastAPI, method: str) -> list[tuple[str, APIRoute]]:
    return [(path, route) for verb, path, route in app_routes(app) if verb == method]


def may(role: Role, path: str, route: APIRoute) -> bool:
    """Whether a member holding only `role` may use the page (the area's and the route's
    roles, both)."""
    if path in EVERY_MEMBER:
        return True
    area = area_of(path)
    declared = declared_roles(route) or frozenset()
    return area is not None and role in area.roles and role in declared


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA, max_size=4)
    await migrate(pool, SCHEMA, MIGRATIONS)
    for role, (staff_id, agency) in MEMBERS.items():
        await add_account(
            pool, (staff_id, staff_id.title(), frozenset({role}), agency), PASSWORD, "test"
        )
    await store.set_totp_secret(pool, "admin", ADMIN_TOTP)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(pool: asyncpg.Pool, clock: Clock) -> FastAPI:
    settings = BackofficeSettings(signin_max_failures=5, session_idle_minutes=30)
    names = ("triage", "routing", "intake", "notifier")
    transports = {name: httpx.ASGITransport(app=down_service()) for name in names}
    services = Services(settings, SECRET, transports=transports)  # type: ignore[arg-type]
    return create_app(lambda: pool, settings, services, clock)


def test_every_page_is_public_for_every_member_or_in_an_area_with_its_role_check(
    app: FastAPI,
) -> None:
    for method in ("GET", "POST"):
        for path, route in routes(app, method):
            declared = declared_roles(route)
            if path in PUBLIC or (method, path) == ("POST", "/staff/keluar"):
                continue
            assert declared is not None, f"{method} {path} has no access.require(...)"
            if path in EVERY_MEMBER:
                continue
            area = area_of(path)
            assert area is not None, f"{method} {path} lies in no area of domain/areas.py"
            assert declared, f"{method} {path} names no role: every member could use it"
            assert declared <= area.roles, (method, path, declared, area.roles)


async def test_every_page_answers_each_role_by_its_areas(app: FastAPI, clock: Clock) -> None:
    for number, (role, (staff_id, _)) in enumerate(MEMBERS.items()):
        async with browser(app, f"10.1.0.{number}") as client:
            code = pyotp.TOTP(ADMIN_TOTP).at(clock.now) if role == Role.ADMIN else ""
            assert (await sign_in(client, staff_id, code=code)).status_code == 303, role
            csrf = await token(client, "/staff")
            for path, route in routes(app, "GET"):
                if path in PUBLIC:
                    continue
                answer = await client.get(filled(path))
                seen = (role.value, path, answer.status_code)
                if may(role, path, route):
                    assert answer.status_code not in (303, 403, 404), seen
                    assert answer.status_code in (200, 503), seen  # 503: the stub is down
                else:
                    assert answer.status_code == 404, seen
            for path, route in routes(app, "POST"):  # an action outside the areas: 404 too
                if path in PUBLIC_POSTS or may(role, path, route):
                    continue
                answer = await client.post(filled(path), data={"csrf_token": csrf})
                assert answer.status_code == 404, (role.value, "POST", path)


async def test_every_page_sends_a_browser_without_a_session_to_sign_in(app: FastAPI) -> None:
    async with browser(app, "10.1.1.1") as client:
        for path, _ in routes(app, "GET"):
            if path in PUBLIC:
                continue
            url = filled(path)
            answer = await client.get(url)
            assert answer.status_code == 303, (path, answer.status_code)
            assert answer.headers["location"].startswith(f"/staff/masuk?next={url}")
