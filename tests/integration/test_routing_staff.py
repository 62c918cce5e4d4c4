"""Routing's desk for the back office's staff (issue 15), against the real PostgreSQL: staff
assertions instead of tokens, with the same server-side scoping; the staff id recorded as
the actor; the supervisor's reassignment; the inbox's filters and counts; the manual queue,
the overdue list and the SP4N-LAPOR! forwarding state for disposition."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from schemas import staff
from schemas.events import Category, Channel, ComplaintAccepted, ComplaintAcceptedPayload, Priority
from schemas.staff import Role, StaffMember
from services.messaging import outbox
from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import default_keystore
from services.routing.domain import JAKARTA, MANUAL_DISPOSITION
from services.routing.entrypoints.app import create_app
from services.routing.handlers.opening import open_case

pytestmark = pytest.mark.integration
SCHEMA = "routing_staff_it"
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "routing" / "migrations"
SECRET = "integration-staff-secret"
NOW = datetime(2026, 8, 13, 9, 0, tzinfo=JAKARTA)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA)
    await migrate(pool, SCHEMA, MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(pool: asyncpg.Pool, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lambda: pool, clock, keys=default_keystore(), staff_secret=SECRET)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client


def as_staff(staff_id: str, *roles: Role, agency: str | None = None) -> dict[str, str]:
    member = StaffMember(staff_id, frozenset(roles), agency)
    return {staff.HEADER: staff.sign(member, SECRET)}


async def a_case(pool: asyncpg.Pool, region: str | None = "32.73.05") -> tuple[uuid.UUID, str]:
    """A land complaint's case (the region's rule picks the agency) and its agency."""
    complaint_id = uuid.uuid4()
    event = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        occurred_at=NOW,
        payload=ComplaintAcceptedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-STAF-AAA",
            channel=Channel.WEB,
            category=Category.LAND if region else Category.OTHER,
            priority=Priority.NORMAL,
            region_code=region,
            summary="Sertifikat tanah tidak kunjung terbit",
        ),
    )
    async with pool.acquire() as conn, conn.transaction():
        events = await open_case(event, conn)
        await outbox.enqueue(conn, events)
    return events[0].payload.case_id, events[0].payload.agency_code


async def test_agency_staff_see_their_agencys_cases_only_and_act_under_their_staff_id(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    case_id, agency = await a_case(pool)
    mine = as_staff("siti", Role.AGENCY_OFFICER, agency=agency)
    other = as_staff("budi", Role.AGENCY_OFFICER, agency="KEMENKES")
    assert (await api.get(f"/v1/desk/cases/{case_id}", headers=other)).status_code == 404
    assert (await api.post(f"/v1/desk/cases/{case_id}/accept", headers=other)).status_code == 404
    inbox = (await api.get("/v1/desk/cases", headers=other)).json()
    assert case_id not in {c["case_id"] for c in inbox["cases"]}

    accepted = await api.post(f"/v1/desk/cases/{case_id}/accept", json={}, headers=mine)
    assert accepted.status_code == 200 and accepted.json()["status"] == "in_progress"
    detail = (await api.get(f"/v1/desk/cases/{case_id}", headers=mine)).json()
    assert detail["history"][-1]["actor"] == "siti"
    assert detail["assigned_officer"] == "siti"  # the first officer to act takes it
    # disposition staff read any agency's case file, as Setwapres admins do
    reader = as_staff("rina", Role.DISPOSITION)
    assert (await api.get(f"/v1/desk/cases/{case_id}", headers=reader)).status_code == 200
    # a reviewer has no desk here
    reviewer = as_staff("ana", Role.REVIEWER)
    assert (await api.get(f"/v1/desk/cases/{case_id}", headers=reviewer)).status_code == 403


async def test_the_supervisor_reassigns_within_the_agency_and_the_history_says_so(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    case_id, agency = await a_case(pool)
    chief = as_staff("kepala", Role.AGENCY_SUPERVISOR, agency=agency)
    officer = as_staff("siti", Role.AGENCY_OFFICER, agency=agency)
    path = f"/v1/desk/cases/{case_id}/reassign"
    refused = await api.post(path, json={"officer_id": "dewi"}, headers=officer)
    assert refused.status_code == 403
    elsewhere = as_staff("kepala2", Role.AGENCY_SUPERVISOR, agency="KEMENKES")
    assert (await api.post(path, json={"officer_id": "x"}, headers=elsewhere)).status_code == 404

    done = await api.post(path, json={"officer_id": "dewi", "note": "cuti"}, headers=chief)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "case_id": str(case_id),
        "assigned_officer": "dewi",
        "previous_officer": None,
    }
    detail = (await api.get(f"/v1/desk/cases/{case_id}", headers=chief)).json()
    assert detail["assigned_officer"] == "dewi" and detail["status"] == "assigned"
    last = detail["history"][-1]
    assert (last["actor"], last["reason"], last["note"]) == ("kepala", "reassigned to dewi", "cuti")
    # acting does not take a case someone already has
    await api.post(f"/v1/desk/cases/{case_id}/accept", json={}, headers=officer)
    dewi = as_staff("dewi", Role.AGENCY_OFFICER, agency=agency)
    listed = (await api.get("/v1/desk/cases?mine=true", headers=dewi)).json()["cases"]
    assert [c["case_id"] for c in listed] == [str(case_id)]
    theirs = (await api.get("/v1/desk/cases?mine=true", headers=officer)).json()["cases"]
    assert str(case_id) not in {c["case_id"] for c in theirs}
    for step, body in (("respond", {"note": "Sudah diperbaiki"}), ("close", {})):
        moved = await api.post(f"/v1/desk/cases/{case_id}/{step}", json=body, headers=officer)
        assert moved.status_code == 200, moved.text
    closed = await api.post(path, json={"officer_id": "siti"}, headers=chief)
    assert closed.status_code == 409


async def test_the_inbox_counts_by_status_and_sorts_by_due_date(
    pool: asyncpg.Pool, api: httpx.AsyncClient, clock: Clock
) -> None:
    first, agency = await a_case(pool)
    clock.now = NOW + timedelta(hours=1)
    second, _ = await a_case(pool)
    officer = as_staff("siti", Role.AGENCY_OFFICER, agency=agency)
    await api.post(f"/v1/desk/cases/{second}/accept", json={}, headers=officer)
    inbox = (await api.get("/v1/desk/cases?sort=due&limit=500", headers=officer)).json()
    counts = inbox["counts"]
    assert counts["total"] == sum(counts["by_status"].values()) >= 2
    assert counts["by_status"]["in_progress"] >= 1
    dues = [c["due_at"] for c in inbox["cases"]]
    assert dues == sorted(dues)
    only = (await api.get("/v1/desk/cases?status=in_progress", headers=officer)).json()
    assert {c["status"] for c in only["cases"]} == {"in_progress"}
    assert only["counts"] == counts  # the counts break down what status filters
    before = (
        await api.get("/v1/desk/cases", params={"due_before": NOW.isoformat()}, headers=officer)
    ).json()
    assert before["cases"] == [] and before["counts"]["total"] == 0
    naive = await api.get("/v1/desk/cases?due_before=2026-08-13T09:00:00", headers=officer)
    assert naive.status_code == 422
    # far in the future every open case is overdue
    clock.now = NOW + timedelta(days=60)
    late = (await api.get("/v1/desk/cases?overdue=true", headers=officer)).json()
    assert str(first) in {c["case_id"] for c in late["cases"]}
    assert late["counts"]["overdue"] >= 2


async def test_disposition_sees_the_manual_queue_overdue_cases_and_sp4n_state(
    pool: asyncpg.Pool, api: httpx.AsyncClient, clock: Clock
) -> None:
    unrouted, agency = await a_case(pool, region=None)
    assert agency == MANUAL_DISPOSITION  # no rule: Setwapres' manual queue
    disposition = as_staff("rina", Role.DISPOSITION)
    queue = (await api.get("/v1/disposition/cases", headers=disposition)).json()
    assert str(unrouted) in {c["case_id"] for c in queue["cases"]}
    admin = as_staff("adi", Role.ADMIN)
    assert (await api.get("/v1/disposition/cases", headers=admin)).status_code == 403
    disposed = await api.post(
        f"/v1/desk/cases/{unrouted}/dispose", json={"agency_code": "BPJS-KES"}, headers=disposition
    )
    assert disposed.status_code == 200, disposed.text
    history = (await api.get(f"/v1/desk/cases/{unrouted}", headers=disposition)).json()
    assert history["history"][-1]["actor"] == "rina"
    assert [f["agency_code"] for f in history["sp4n_forwardings"]] == ["BPJS-KES"]  # on SP4N
    pending = (await api.get("/v1/sp4n/forwardings?pending=true", headers=disposition)).json()
    assert str(unrouted) in {f["case_id"] for f in pending["forwardings"]}

    clock.now = NOW + timedelta(days=60)
    overdue = (await api.get("/v1/escalations/overdue?limit=500", headers=disposition)).json()
    assert str(unrouted) in {c["case_id"] for c in overdue["cases"]}
    chief = as_staff("kepala", Role.AGENCY_SUPERVISOR, agency="BPJS-KES")
    scoped = await api.get("/v1/escalations/overdue?agency_code=ATR-BPN", headers=chief)
    assert scoped.status_code == 200
    assert {c["agency_code"] for c in scoped.json()["cases"]} == {"BPJS-KES"}
    officer = as_staff("siti", Role.AGENCY_OFFICER, agency="BPJS-KES")
    assert (await api.get("/v1/escalations/overdue", headers=officer)).status_code == 403


async def test_admin_staff_edit_rules_under_their_staff_id(api: httpx.AsyncClient) -> None:
    admin = as_staff("adi", Role.ADMIN)
    rule = {"rule_id": f"staff-{uuid.uuid4().hex[:6]}", "category": "land", "precedence": 9000}
    created = await api.post("/v1/rules", json=rule, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["updated_by"] == "adi"
    disposition = as_staff("rina", Role.DISPOSITION)
    assert (await api.get("/v1/rules", headers=disposition)).status_code == 403
