"""A citizen's addition reaches the case (issue 14), in process against the real PostgreSQL:
ComplaintUpdated joins the case file, ends a wait for documents and meets its deadline, is
shown on the desk to the case's agency only, and is kept when it arrives before the case."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest

from schemas.events import Attachment, Category, ComplaintUpdated, parse_event
from schemas.events.intake import ComplaintUpdatedPayload
from services.personal_data.keystore import default_keystore
from services.routing.domain import documents_due
from services.routing.entrypoints.app import create_app
from services.routing.entrypoints.consumer import HANDLERS
from services.routing.handlers.deadlines import scan_deadlines
from services.routing.handlers.opening import open_case
from tests.agency_cases import auth, routing_database
from tests.integration.test_routing_cases import THURSDAY, FrozenClock, accepted, handle

pytestmark = pytest.mark.integration
SCHEMA = "routing_additions_it"
add_to_case = HANDLERS["ComplaintUpdated"]  # as the consumer loop dispatches it


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    officers = (("officer-atr", "ATR-BPN", "officer"), ("officer-jakpus", "PEMDA-31.71", "officer"))
    pool = await routing_database(database_url, SCHEMA, officers)
    yield pool
    await pool.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(THURSDAY)


@pytest.fixture
async def api(pool: asyncpg.Pool, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lambda: pool, clock, keys=default_keystore())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://routing"
    ) as client:
        yield client


def addition(
    complaint_id: uuid.UUID, code: str, text: str, at: datetime, *, with_document: bool = True
) -> ComplaintUpdated:
    document = Attachment(
        attachment_id="att-1", media_type="application/pdf", filename="shm.pdf", size_bytes=2048
    )
    return ComplaintUpdated(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        occurred_at=at,
        payload=ComplaintUpdatedPayload(
            tracking_code=code,
            additional_text=text,
            attachments=(document,) if with_document else (),
        ),
    )


async def status_of(pool: asyncpg.Pool, case_id: uuid.UUID) -> str:
    return await pool.fetchval("SELECT status FROM cases WHERE case_id = $1", case_id)


async def test_an_addition_resumes_a_case_awaiting_documents_and_meets_the_deadline(
    pool: asyncpg.Pool, api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    event = accepted(Category.LAND, "31.71")
    (assigned,) = await handle(pool, open_case, event)
    case_id, code = assigned.payload.case_id, assigned.payload.tracking_code
    desk = f"/v1/desk/cases/{case_id}"
    atr = auth("officer-atr")
    asked = await api.post(f"{desk}/request-documents", json={"note": "kirim SHM"}, headers=atr)
    assert asked.status_code == 200 and asked.json()["status"] == "awaiting_documents"
    request = [
        e
        for e in await outbox_events(pool, event.complaint_id)
        if e.event_type == "CaseStatusChanged"
    ][-1]
    # The event tells intake the citizen's window: 10 days from the request, not from filing.
    assert request.payload.documents_due_at == documents_due(THURSDAY)

    update = addition(
        event.complaint_id, code, "Fotokopi SHM terlampir.", THURSDAY + timedelta(days=3)
    )
    (resumed,) = await handle(pool, add_to_case, update)
    assert resumed.event_type == "CaseStatusChanged"
    assert (resumed.payload.previous_status, resumed.payload.status) == (
        "awaiting_documents",
        "in_progress",
    )
    assert (resumed.payload.actor, resumed.payload.reason) == ("citizen", "documents_received")
    assert resumed.causation_id == update.event_id
    assert await status_of(pool, case_id) == "in_progress"
    assert await handle(pool, add_to_case, update) == []  # a replay changes nothing

    detail = (await api.get(desk, headers=atr)).json()
    assert [(a["tracking_code"], a["additional_text"]) for a in detail["additions"]] == [
        (code, "Fotokopi SHM terlampir.")
    ]
    assert detail["additions"][0]["attachments"] == [
        {
            "attachment_id": "att-1",
            "media_type": "application/pdf",
            "filename": "shm.pdf",
            "size_bytes": 2048,
        }
    ]
    documents = [d for d in detail["deadlines"] if d["kind"] == "documents"]
    assert len(documents) == 1 and documents[0]["met_at"] is not None
    # Another agency's officer learns nothing, not even that the case exists.
    other = await api.get(desk, headers=auth("officer-jakpus"))
    assert other.status_code == 404 and "SHM" not in other.text
    # The documents came: the scan after the window closes nothing.
    await scan_deadlines(pool, THURSDAY + timedelta(days=12))
    assert await status_of(pool, case_id) == "in_progress"


async def test_an_addition_to_a_case_at_work_joins_its_file_without_a_status_change(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    event = accepted(Category.LAND, "31.71")
    (assigned,) = await handle(pool, open_case, event)
    case_id, code = assigned.payload.case_id, assigned.payload.tracking_code
    atr = auth("officer-atr")
    assert (await api.post(f"/v1/desk/cases/{case_id}/accept", headers=atr)).status_code == 200
    later = THURSDAY + timedelta(hours=5)
    update = addition(event.complaint_id, code, "Nomor SHM 1234.", later, with_document=False)
    assert await handle(pool, add_to_case, update) == []
    assert await status_of(pool, case_id) == "in_progress"
    detail = (await api.get(f"/v1/desk/cases/{case_id}", headers=atr)).json()
    assert [(a["additional_text"], a["attachments"]) for a in detail["additions"]] == [
        ("Nomor SHM 1234.", [])
    ]
    assert datetime.fromisoformat(detail["updated_at"]) == later  # the desk sees it changed


async def test_an_addition_before_the_case_opens_is_in_the_file_when_it_opens(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    event = accepted(Category.LAND, "31.71")
    code = event.payload.tracking_code
    early = addition(event.complaint_id, code, "Foto lokasi.", THURSDAY - timedelta(hours=1))
    assert await handle(pool, add_to_case, early) == []  # still in triage: kept, nothing told
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM case_additions WHERE complaint_id = $1", event.complaint_id
        )
        == 1
    )
    (assigned,) = await handle(pool, open_case, event)
    detail = (
        await api.get(f"/v1/desk/cases/{assigned.payload.case_id}", headers=auth("officer-atr"))
    ).json()
    assert [a["additional_text"] for a in detail["additions"]] == ["Foto lokasi."]
    assert detail["status"] == "assigned"


async def outbox_events(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list:  # type: ignore[type-arg]
    rows = await pool.fetch(f"SELECT payload FROM {SCHEMA}.outbox ORDER BY id")
    events = [parse_event(row["payload"]) for row in rows]
    return [event for event in events if event.complaint_id == complaint_id]
