"""Authentication and authorisation of routing's, notifier's and intake's HTTP APIs, route by
route: officers' tokens and the back office's staff assertions (`X-Lapor-Staff`,
schemas.staff), and intake's Open311 (public reading, filing with a live client key). Each
app is the one its `create_app` builds, dead-letter routes included
(`services.runtime.dead_letters.mount_dead_letters`): admin staff only, on every service.

The route lists come from each app's own OpenAPI document, so a route added later without a
token check fails here unless it is added to the short, reviewed list of public routes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from schemas import staff
from schemas.events import Category, Channel, ComplaintAccepted, ComplaintAcceptedPayload, Priority
from schemas.staff import Role, StaffMember
from services.intake.adapters import open311
from services.intake.bootstrap import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.messaging.database import create_pool, migrate
from services.notifier.entrypoints.access import ApiAccess
from services.notifier.entrypoints.app import create_app as notifier_app
from services.personal_data.keystore import Keystore, default_keystore
from services.routing.entrypoints.app import create_app as routing_app
from services.routing.handlers.opening import open_case
from services.runtime.staff import assertion_secret
from tests.agency_cases import routing_database

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

# Reviewed: these hold no personal data and no case (see test_public_statistics_...).
ROUTING_PUBLIC = {
    ("GET", "/v1/stats"),
    ("GET", "/stats"),
}
ROUTING_RULES = {  # Setwapres admin tokens; staff with the role admin
    ("GET", "/v1/rules"),
    ("POST", "/v1/rules"),
    ("GET", "/v1/rules/{rule_id}/versions"),
    ("PUT", "/v1/rules/{rule_id}"),
    ("GET", "/v1/calendar/overrides"),
    ("PUT", "/v1/calendar/overrides/{day}"),
    ("DELETE", "/v1/calendar/overrides/{day}"),
    ("GET", "/v1/agencies/{agency_code}/escalation"),
    ("PUT", "/v1/agencies/{agency_code}/escalation"),
    ("GET", "/v1/agencies/{agency_code}"),
    ("PUT", "/v1/agencies/{agency_code}"),
}
ROUTING_DISPOSITION = {  # Setwapres admin tokens; staff with the role disposition
    ("POST", "/v1/desk/cases/{case_id}/dispose"),
    ("GET", "/v1/escalations/overdue"),  # every agency's overdue cases
    ("GET", "/v1/reopened"),
    ("GET", "/v1/disposition/cases"),
    ("GET", "/v1/sp4n/forwardings"),
}
ROUTING_DIRECTORY = {("GET", "/v1/agencies")}  # the agency pickers: disposition and admins
ROUTING_ADMIN = ROUTING_RULES | ROUTING_DISPOSITION | ROUTING_DIRECTORY
ROUTING_SUPERVISOR = {("POST", "/v1/desk/cases/{case_id}/reassign")}
DEAD_LETTERS = {  # every service's, admin staff only: no officer's or operator's token
    ("GET", "/v1/dead-letters"),
    ("GET", "/v1/dead-letters/{offset}"),
    ("POST", "/v1/dead-letters/replay"),
}
STAFF_SECRET = "access-test-staff-secret"
NOTIFIER_OPERATOR_ONLY = {
    ("POST", "/v1/opt-outs"),
    ("POST", "/v1/opt-ins"),
    ("GET", "/v1/complaints/{complaint_id}/notifications"),
}
PATH_VALUES = {
    "case_id": str(uuid.uuid4()),
    "complaint_id": str(uuid.uuid4()),
    "rule_id": "no-such-rule",  # so an allowed PUT answers 404 and changes nothing
    "agency_code": "NO-SUCH-AGENCY",  # the same
    "day": "2026-12-02",
    "service_request_id": "LPR-0000-0000-000",
    "service_code": "land",
    "format": "json",
    "token": str(uuid.uuid4()),
    "client_id": "app-00000000",
    "offset": "0",
}


def operations(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: PATH_VALUES[match.group(1)], path)


async def call(
    api: httpx.AsyncClient, method: str, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] | None = {} if method in {"POST", "PUT"} else None
    return await api.request(method, concrete(path), json=body, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assertion(*roles: Role, agency: str | None = None, **signing: Any) -> dict[str, str]:
    member = StaffMember("staff-access", frozenset(roles), agency)
    return {staff.HEADER: staff.sign(member, signing.pop("secret", STAFF_SECRET), **signing)}


EVERY_ROLE = tuple(Role)
BAD_ASSERTIONS = (
    assertion(*EVERY_ROLE, agency="ATR-BPN", secret="forged-with-another-secret"),
    assertion(*EVERY_ROLE, agency="ATR-BPN", now=datetime(2026, 1, 1, tzinfo=UTC)),  # expired
    {staff.HEADER: assertion(*EVERY_ROLE, agency="ATR-BPN")[staff.HEADER][:-2]},  # altered
    {staff.HEADER: "not-an-assertion"},
    {staff.HEADER: ""},
)


# --------------------------------------------------------------------------- routing


@pytest.fixture(scope="module")
async def routing_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    officers = (
        ("officer-atr", "ATR-BPN", "officer"),
        ("admin-atr", "ATR-BPN", "admin"),  # an admin, but not Setwapres'
        ("officer-setwapres", "SETWAPRES", "officer"),
        ("admin-setwapres", "SETWAPRES", "admin"),
    )
    pool = await routing_database(database_url, "routing_access", officers)
    yield pool
    await pool.close()


@pytest.fixture
async def routing(routing_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = routing_app(lambda: routing_pool, keys=default_keystore(), staff_secret=STAFF_SECRET)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client


async def test_every_routing_route_but_the_public_ones_needs_an_officer_token(
    routing: httpx.AsyncClient,
) -> None:
    app = routing_app(lambda: None, keys=default_keystore())  # type: ignore[arg-type,return-value]
    found = operations(app)
    assert ROUTING_PUBLIC <= set(found) and ROUTING_ADMIN <= set(found)
    assert DEAD_LETTERS <= set(found)
    document = app.openapi()
    for method, path in found:
        declared = document["paths"][path][method.lower()]
        if (method, path) in ROUTING_PUBLIC:
            assert "security" not in declared, (method, path)
            assert (await call(routing, method, path)).status_code == 200, (method, path)
            continue
        assert declared.get("security") and "401" in declared["responses"], (method, path)
        for headers in (
            None,
            bearer("token-nobody"),
            bearer(""),
            {"Authorization": "Basic b2ZmaWNlci1hdHI6dG9rZW4tb2ZmaWNlci1hdHI="},
            {"Authorization": "token-officer-atr"},  # no scheme
            *BAD_ASSERTIONS,
        ):
            response = await call(routing, method, path, headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            scheme = staff.HEADER if (method, path) in DEAD_LETTERS else "Bearer"
            assert response.headers["www-authenticate"] == scheme
        if (method, path) in DEAD_LETTERS:  # even Setwapres' admin token opens nothing here
            refused = await call(routing, method, path, bearer("token-admin-setwapres"))
            assert refused.status_code == 401, (method, path)


async def test_a_token_in_the_url_is_refused_and_open311_is_intakes(
    routing: httpx.AsyncClient,
) -> None:
    key = "?api_key=token-officer-atr"
    # Open311 moved to intake (docs/open311.md): routing serves none of it.
    assert (await routing.get(f"/open311/v2/requests.json{key}")).status_code == 404
    # A token in the URL is refused: URLs end up in proxies' and browsers' logs.
    assert (await routing.get(f"/v1/desk/cases{key}")).status_code == 401
    assert (await routing.get("/v1/rules?api_key=token-admin-setwapres")).status_code == 401


async def test_rules_calendar_and_disposition_are_for_setwapres_admins_only(
    routing: httpx.AsyncClient,
) -> None:
    for method, path in sorted(ROUTING_ADMIN):
        for refused in ("officer-atr", "admin-atr", "officer-setwapres"):
            response = await call(routing, method, path, bearer(f"token-{refused}"))
            assert response.status_code == 403, (method, path, refused, response.text)
        allowed = await call(routing, method, path, bearer("token-admin-setwapres"))
        assert allowed.status_code not in (401, 403), (method, path, allowed.text)


def staff_allowed(method: str, path: str) -> set[str]:
    """Which of STAFF may call a routing route (any other gets 403)."""
    if (method, path) in ROUTING_RULES | DEAD_LETTERS:
        return {"admin"}
    if (method, path) in ROUTING_DIRECTORY:
        return {"disposition", "admin"}
    if (method, path) == ("GET", "/v1/escalations/overdue"):
        return {"disposition", "supervisor"}  # a supervisor: their own agency's
    if (method, path) in ROUTING_DISPOSITION:
        return {"disposition"}
    if (method, path) in ROUTING_SUPERVISOR:
        return {"supervisor"}
    return {"officer", "supervisor", "disposition"}  # the desk (disposition: Setwapres')


def staff_headers() -> dict[str, dict[str, str]]:
    """Each role's assertion, signed now: an assertion lives a minute, and a module-level one
    signed at collection has expired by the time a slow run reaches the test."""
    return {
        "officer": assertion(Role.AGENCY_OFFICER, agency="ATR-BPN"),
        "supervisor": assertion(Role.AGENCY_SUPERVISOR, agency="ATR-BPN"),
        "disposition": assertion(Role.DISPOSITION),
        "admin": assertion(Role.ADMIN),
        "reviewer": assertion(Role.REVIEWER),
        "desk_officer": assertion(Role.DESK_OFFICER, agency="ATR-BPN"),
        "agency_role_without_agency": assertion(Role.AGENCY_OFFICER, Role.AGENCY_SUPERVISOR),
    }


async def test_staff_assertions_open_each_route_to_its_roles_only(
    routing: httpx.AsyncClient,
) -> None:
    app = routing_app(lambda: None, keys=default_keystore())  # type: ignore[arg-type,return-value]
    found = operations(app)
    assert ROUTING_SUPERVISOR <= set(found)
    for method, path in found:
        if (method, path) in ROUTING_PUBLIC:
            continue
        allowed = staff_allowed(method, path)
        for role, headers in staff_headers().items():
            response = await call(routing, method, path, headers)
            if role in allowed:
                assert response.status_code not in (401, 403), (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.text)


async def test_public_statistics_hold_no_personal_data_and_no_case(
    routing_pool: asyncpg.Pool, routing: httpx.AsyncClient
) -> None:
    complaint_id = uuid.uuid4()
    summary = "Rumah Ibu Siti Aminah di Jl. Melati 7 digusur tanpa ganti rugi"
    event = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintAcceptedPayload(
            tracking_code="LPR-STAT-PRIV-ACY",
            channel=Channel.WHATSAPP,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="32.73.05",
            summary=summary,
        ),
    )
    async with routing_pool.acquire() as conn, conn.transaction():
        (assigned,) = await open_case(event, conn)
    figures = (await routing.get("/v1/stats")).json()
    page = (await routing.get("/stats")).text
    for text in (str(figures), page):
        for secret in ("LPR-STAT-PRIV-ACY", "Siti", "Melati", str(assigned.payload.case_id)):
            assert secret not in text
        assert str(complaint_id) not in text
    assert set(figures) == {
        "generated_at",
        "total_cases",
        "by_channel",
        "by_category",
        "by_region",
        "by_status",
        "by_agency",
        "deadline_compliance",
        "daily_new_cases",
        "satisfaction",  # per agency: counts only
    }
    # regions only down to the province, so a small regency's count names nobody
    assert all(re.fullmatch(r"\d{2}|unknown", region) for region in figures["by_region"])
    assert figures["by_region"]["32"] >= 1


# --------------------------------------------------------------------------- notifier


@pytest.fixture(scope="module")
async def notifier_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "notifier_access")
    await migrate(pool, "notifier_access", ROOT / "services" / "notifier" / "migrations")
    yield pool
    await pool.close()


def notifier_client(pool: asyncpg.Pool, access: ApiAccess | None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=notifier_app(lambda: pool, default_keystore(), access))
    return httpx.AsyncClient(transport=transport, base_url="http://notifier")


ACCESS = ApiAccess.from_config("desk-ops:operator-token", "sms-gateway:gateway-token")


async def test_every_notifier_route_needs_a_token(notifier_pool: asyncpg.Pool) -> None:
    app = notifier_app(lambda: notifier_pool, default_keystore(), ACCESS)
    document = app.openapi()
    found = operations(app)
    assert NOTIFIER_OPERATOR_ONLY <= set(found) and DEAD_LETTERS <= set(found)
    async with notifier_client(notifier_pool, ACCESS) as api:
        for method, path in found:
            declared = document["paths"][path][method.lower()]
            assert declared.get("security") and "401" in declared["responses"], (method, path)
            for headers in (None, bearer("operator-token-but-wrong"), bearer("desk-ops")):
                response = await call(api, method, path, headers)
                assert response.status_code == 401, (method, path, headers, response.text)


async def test_without_configured_tokens_the_notifier_refuses_everyone(
    notifier_pool: asyncpg.Pool,
) -> None:
    async with notifier_client(notifier_pool, None) as api:
        for method, path in operations(notifier_app(lambda: notifier_pool, default_keystore())):
            for headers in (None, bearer("operator-token"), bearer("")):
                response = await call(api, method, path, headers)
                assert response.status_code == 401, (method, path, headers)


async def test_the_sms_gateway_token_only_posts_inbound_texts(notifier_pool: asyncpg.Pool) -> None:
    address = {"address": "+6281398765432"}
    async with notifier_client(notifier_pool, ACCESS) as api:
        gateway, operator = bearer("gateway-token"), bearer("operator-token")
        for method, path in sorted(NOTIFIER_OPERATOR_ONLY):
            response = await call(api, method, path, gateway)
            assert response.status_code == 403, (method, path, response.text)
        texted = await api.post(
            "/v1/inbound-texts", json={**address, "text": "STOP"}, headers=gateway
        )
        assert texted.status_code == 200 and texted.json() == {"action": "opted_out"}
        # operators may do everything
        assert (await api.post("/v1/opt-ins", json=address, headers=operator)).status_code == 200
        assert (await api.post("/v1/opt-outs", json=address, headers=operator)).status_code == 201
        texted = await api.post(
            "/v1/inbound-texts", json={**address, "text": "MULAI"}, headers=operator
        )
        assert texted.json() == {"action": "opted_in"}
        history = await api.get(f"/v1/complaints/{uuid.uuid4()}/notifications", headers=operator)
        assert history.status_code == 200 and history.json() == []


# --------------------------------------------------------------------------- intake


async def test_intakes_dead_letters_are_for_admin_staff_only() -> None:
    app = intake_app(lambda: None, IntakeSettings(), default_keystore())  # type: ignore[arg-type,return-value]
    assert DEAD_LETTERS <= set(operations(app))
    admin = {
        staff.HEADER: staff.sign(StaffMember("adi", frozenset({Role.ADMIN})), assertion_secret())
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as api:
        for method, path in sorted(DEAD_LETTERS):
            for headers in (None, assertion(Role.DISPOSITION), *BAD_ASSERTIONS):
                response = await call(api, method, path, headers)
                assert response.status_code in (401, 403), (method, path, headers)
            # An admin passes; not started by a runtime, the routes are not connected yet.
            allowed = await call(api, method, path, admin)
            assert allowed.status_code in (422, 503), (method, path, allowed.text)


# Reviewed: Open311 GeoReport v2 (docs/open311.md). Reading is public; filing takes a live
# client application's api_key, never a staff assertion or an officer's token.
OPEN311_PUBLIC = {
    ("GET", "/open311/v2/discovery.{format}"),
    ("GET", "/open311/v2/services.{format}"),
    ("GET", "/open311/v2/services/{service_code}.{format}"),
    ("GET", "/open311/v2/requests.{format}"),
    ("GET", "/open311/v2/requests/{service_request_id}.{format}"),
    ("GET", "/open311/v2/tokens/{token}.{format}"),
}
OPEN311_CLIENT_KEY = {("POST", "/open311/v2/requests.{format}")}
OPEN311_CLIENTS_ADMIN = {  # issuing and revoking client keys: admin staff only
    ("GET", "/v1/open311/clients"),
    ("POST", "/v1/open311/clients"),
    ("POST", "/v1/open311/clients/{client_id}/revoke"),
}


@pytest.fixture(scope="module")
async def intake_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "intake_access")
    await migrate(pool, "intake_access", ROOT / "services" / "intake" / "migrations")
    async with pool.acquire() as conn:
        await Keystore.ensure(conn)
    yield pool
    await pool.close()


def open311_filing(api_key: str, n: int) -> dict[str, str]:
    return {
        "api_key": api_key,
        "service_code": "land",
        "address_string": "Kota Bandung",
        "description": f"Sertifikat tanah nomor {n} tidak terbit walau biaya sudah dibayar.",
        "first_name": "Siti",
        "phone": f"0813{n:08d}",
        "attribute[nik]": f"317101550190{n:04d}",
    }


async def test_open311_reading_needs_nothing_and_filing_a_live_client_key(
    intake_pool: asyncpg.Pool,
) -> None:
    app = intake_app(lambda: intake_pool, IntakeSettings(), default_keystore())
    found = {(m, p) for m, p in operations(app) if p.startswith("/open311/")}
    assert found == OPEN311_PUBLIC | OPEN311_CLIENT_KEY
    async with intake_pool.acquire() as conn:
        live_id, live = await open311.add_client(conn, "Aplikasi Hidup")
        revoked_id, revoked = await open311.add_client(conn, "Aplikasi Dicabut")
        assert await open311.revoke_client(conn, revoked_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as api:
        for method, path in sorted(OPEN311_PUBLIC):
            response = await api.request(method, concrete(path))
            assert response.status_code in (200, 404), (method, path, response.text)
            if path.endswith("services.{format}") or path.endswith("requests.{format}"):
                assert response.status_code == 200, (method, path)
        (method, path), n = next(iter(OPEN311_CLIENT_KEY)), 0
        officer = {**staff_headers()["officer"], **bearer("token-officer-atr")}
        for key, headers in (
            ("", None),
            ("", officer),  # a staff assertion or an officer's token is no client key
            ("o311_no-such-key", None),
            (revoked, None),
        ):
            n += 1
            response = await api.post(concrete(path), data=open311_filing(key, n), headers=headers)
            assert response.status_code == 403, (key, response.text)
            assert response.json()[0]["code"] == 403
        filed = await api.post(concrete(path), data=open311_filing(live, n + 1))
        assert filed.status_code == 200, filed.text
    async with intake_pool.acquire() as conn:
        rows = await conn.fetch("SELECT open311_client FROM complaints WHERE channel = 'open311'")
    assert [row["open311_client"] for row in rows] == [live_id]


async def test_open311_client_keys_are_for_admin_staff_only(intake_pool: asyncpg.Pool) -> None:
    app = intake_app(lambda: intake_pool, IntakeSettings(), default_keystore())
    found = {(m, p) for m, p in operations(app) if p.startswith("/v1/open311/")}
    assert found == OPEN311_CLIENTS_ADMIN
    admin = {
        staff.HEADER: staff.sign(StaffMember("adi", frozenset({Role.ADMIN})), assertion_secret())
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as api:
        for method, path in sorted(OPEN311_CLIENTS_ADMIN):
            for headers in (None, bearer("o311_anything"), *BAD_ASSERTIONS):
                response = await call(api, method, path, headers)
                assert response.status_code == 401, (method, path, headers)
            others = StaffMember("dina", frozenset(set(Role) - {Role.ADMIN}), "ATR-BPN")
            other = {staff.HEADER: staff.sign(others, assertion_secret())}
            assert (await call(api, method, path, other)).status_code == 403, (method, path)
        issued = await api.post("/v1/open311/clients", json={"name": "Aplikasi"}, headers=admin)
        assert issued.status_code == 201 and issued.json()["api_key"].startswith("o311_")
        client_id = issued.json()["client_id"]
        listed = await api.get("/v1/open311/clients", headers=admin)
        assert client_id in listed.text and "o311_" not in listed.text
        revoke = f"/v1/open311/clients/{client_id}/revoke"
        assert (await api.post(revoke, headers=admin)).status_code == 200
        assert (await api.post(revoke, headers=admin)).status_code == 404
