"""Routing's agency API for the back office's admins, against the real PostgreSQL: one
agency with its contacts, and an edit (PUT) that routing's reference data for new cases
picks up at once; only administrators; precise refusals (404, 422, 401, 403)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from schemas import staff
from schemas.staff import Role, StaffMember
from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import default_keystore
from services.routing.adapters import repository
from services.routing.entrypoints.app import create_app

pytestmark = pytest.mark.integration
SCHEMA = "routing_agencies_it"
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "routing" / "migrations"
SECRET = "integration-agencies-secret"


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA)
    await migrate(pool, SCHEMA, MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture
async def api(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lambda: pool, keys=default_keystore(), staff_secret=SECRET)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client


def as_staff(*roles: Role, agency: str | None = None) -> dict[str, str]:
    """A fresh assertion (it lives a minute)."""
    member = StaffMember("ani.admin", frozenset(roles), agency)
    return {staff.HEADER: staff.sign(member, SECRET)}


EDIT = {
    "name": "Kementerian Kesehatan Republik Indonesia",
    "via_sp4n": False,
    "intake_method": "email",
    "contact_email": "pengaduan@kemkes.go.id",
    "contact_phone": "1500-567",
    "supervisor": "Inspektorat Jenderal Kementerian Kesehatan",
    "supervisor_email": "itjen@kemkes.go.id",
    "response_working_days": 7,
}


async def test_an_admin_reads_and_edits_an_agency_which_new_cases_then_use(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    before = await api.get("/v1/agencies/KEMENKES", headers=as_staff(Role.ADMIN))
    assert before.status_code == 200, before.text
    assert before.json()["agency_code"] == "KEMENKES" and before.json()["level"] == "national"
    async with pool.acquire() as conn:
        assert (await repository.agencies(conn))["KEMENKES"].response_working_days == 5

    edited = await api.put("/v1/agencies/KEMENKES", json=EDIT, headers=as_staff(Role.ADMIN))
    assert edited.status_code == 200, edited.text
    assert edited.json() == {
        **EDIT,
        "agency_code": "KEMENKES",
        "level": "national",
        "region_code": None,
    }
    assert (
        await api.get("/v1/agencies/KEMENKES", headers=as_staff(Role.ADMIN))
    ).json() == edited.json()
    listed = await api.get("/v1/agencies", headers=as_staff(Role.ADMIN))
    names = {a["agency_code"]: (a["name"], a["intake_method"]) for a in listed.json()}
    assert names["KEMENKES"] == (EDIT["name"], "email")
    async with pool.acquire() as conn:  # routing's cached reference data reloads
        agency = (await repository.agencies(conn))["KEMENKES"]
    assert (agency.response_working_days, agency.via_sp4n) == (7, False)
    assert agency.supervisor_email == "itjen@kemkes.go.id"


async def test_agency_edits_are_refused_precisely(api: httpx.AsyncClient) -> None:
    unknown = await api.put("/v1/agencies/TIDAK-ADA", json=EDIT, headers=as_staff(Role.ADMIN))
    assert unknown.status_code == 404
    assert (
        await api.get("/v1/agencies/TIDAK-ADA", headers=as_staff(Role.ADMIN))
    ).status_code == 404
    assert (
        await api.get("/v1/agencies/bukan kode", headers=as_staff(Role.ADMIN))
    ).status_code == 422

    def refused_fields(answer: httpx.Response) -> list[str]:
        assert answer.status_code == 422, answer.text
        return [".".join(map(str, e["loc"][1:])) for e in answer.json()["detail"]]

    cases = {
        "contact_email": {**EDIT, "contact_email": "bukan-alamat"},
        "response_working_days": {**EDIT, "response_working_days": 0},
        "intake_method": {**EDIT, "intake_method": "fax"},
        "name": {**EDIT, "name": "X"},
        "level": {**EDIT, "level": "province"},  # not editable: refused, not ignored
    }
    for field, body in cases.items():
        answer = await api.put("/v1/agencies/KEMENSOS", json=body, headers=as_staff(Role.ADMIN))
        assert refused_fields(answer) == [field], (field, answer.text)
    no_address = {**EDIT, "contact_email": None}
    answer = await api.put("/v1/agencies/KEMENSOS", json=no_address, headers=as_staff(Role.ADMIN))
    assert answer.status_code == 422 and "needs a contact_email" in answer.text

    assert (await api.put("/v1/agencies/KEMENSOS", json=EDIT)).status_code == 401
    for roles in ((Role.DISPOSITION,), (Role.REVIEWER,)):
        answer = await api.put("/v1/agencies/KEMENSOS", json=EDIT, headers=as_staff(*roles))
        assert answer.status_code == 403, roles
    officer = as_staff(Role.AGENCY_OFFICER, agency="KEMENSOS")
    assert (await api.put("/v1/agencies/KEMENSOS", json=EDIT, headers=officer)).status_code == 403
    assert (await api.get("/v1/agencies/KEMENSOS", headers=officer)).status_code == 403
