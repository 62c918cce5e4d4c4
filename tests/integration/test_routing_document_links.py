"""An officer opens a case's document (issue 14), against the real Kafka broker and
PostgreSQL: intake keeps a web upload sealed; its ComplaintReceived (as intake's outbox holds
it) and triage's ComplaintAccepted reach routing's consumer loop through their topics; the
officer's case file carries a signed link that intake's app answers with the exact bytes.
Another agency gets 404 for the case; a tampered or expired link gets 403 from intake; each
issued link is recorded as an opening; an erased reporter's document gets no link."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from schemas.events import ComplaintReceived
from schemas.personal_data import ERASED
from services.intake.bootstrap import create_app as intake_app
from services.messaging.kafka import make_producer
from services.personal_data.keystore import Keystore, default_keystore
from services.routing.domain import DocumentLinks, document_link
from services.routing.entrypoints.app import create_app as routing_app
from tests.agency_cases import (
    accepted,
    auth,
    case_of,
    openings,
    routing_database,
    through_routing,
)
from tests.integration.test_intake_documents import PDF, SETTINGS, filed_with

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-shared-document-link-secret"
INTAKE = "http://intake.test"  # routing's LAPOR_ROUTING_INTAKE_PUBLIC_URL in this test


@pytest.fixture(scope="module")
async def routing_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await routing_database(database_url)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def producer(stack, topics) -> AsyncIterator[AIOKafkaProducer]:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "document-links-test")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def intake(intake_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = intake_app(lambda: intake_pool, SETTINGS, default_keystore(), document_link_secret=SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=INTAKE) as c:
        yield c


@pytest.fixture
async def routing(routing_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    keys = Keystore.from_env({"LAPOR_KEYSTORE_CACHE_SECONDS": "0"})  # erasure shows at once
    app = routing_app(
        lambda: routing_pool,
        lambda: datetime.now(UTC),
        keys=keys,
        links=DocumentLinks(INTAKE, SECRET),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://routing.test"
    ) as client:
        yield client


def opened_count(outcome: str, audience: str = "routing") -> float:
    labels = {"audience": audience, "outcome": outcome}
    return REGISTRY.get_sample_value("lapor_intake_document_openings_total", labels) or 0.0


@dataclass(frozen=True)
class Both:
    """Intake and routing in process, over the real broker and database."""

    stack: Any
    intake_pool: asyncpg.Pool
    routing_pool: asyncpg.Pool
    producer: AIOKafkaProducer
    intake: httpx.AsyncClient
    routing: httpx.AsyncClient


@pytest.fixture
def both(  # type: ignore[no-untyped-def]
    stack,
    intake_pool: asyncpg.Pool,
    routing_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    intake: httpx.AsyncClient,
    routing: httpx.AsyncClient,
) -> Both:
    return Both(stack, intake_pool, routing_pool, producer, intake, routing)


async def filed_and_routed(
    both: Both, **flags: str
) -> tuple[asyncpg.Record, ComplaintReceived, uuid.UUID]:
    """A web complaint with one PDF filed at intake (`flags`: the form's checkboxes), its
    ComplaintReceived and acceptance through routing's consumer loop: the document's row at
    intake, the event, and the case."""
    row, received = await filed_with(
        both.intake, both.intake_pool, "bukti.pdf", PDF, "application/pdf", **flags
    )
    assert isinstance(received, ComplaintReceived)

    async def opened_with_content() -> bool:
        return bool(await case_of(both.routing_pool, received))

    events = [received, accepted(received)]
    await through_routing(both.stack, both.routing_pool, both.producer, events, opened_with_content)
    case_id = await case_of(both.routing_pool, received)
    assert case_id is not None
    return row, received, case_id


async def test_the_officer_follows_the_case_files_link_to_the_exact_bytes(both: Both) -> None:
    intake_pool, routing_pool, intake, routing = (
        both.intake_pool,
        both.routing_pool,
        both.intake,
        both.routing,
    )
    row, received, case_id = await filed_and_routed(both)
    desk = f"/v1/desk/cases/{case_id}"

    detail = (await routing.get(desk, headers=auth("officer-atr"))).json()
    assert detail["agency_code"] == "ATR-BPN"
    (document,) = detail["documents"]
    assert (document["attachment_id"], document["erased"]) == (row["attachment_id"], False)
    assert document["url"].startswith(f"{INTAKE}/v1/documents/{received.complaint_id}/")
    expires = datetime.fromisoformat(document["url_expires_at"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    query = {k: v[0] for k, v in parse_qs(urlsplit(document["url"]).query).items()}
    assert query["audience"] == "routing:ATR-BPN:officer-atr"
    # Issuing the link is an opening: recorded by the document's name, before it was shown.
    code = received.payload.tracking_code
    seen = await openings(routing_pool, case_id)
    assert seen[-1][:2] == ("officer-atr", "ATR-BPN")
    assert f"{code}:documents.{row['attachment_id']}" in seen[-1][2]

    before = opened_count("opened")
    got = await intake.get(document["url"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert opened_count("opened") == before + 1  # counted by the audience's issuer only

    # Another agency's officer learns nothing of the case, gets no link, and nothing is recorded.
    recorded = len(seen)
    other = await routing.get(desk, headers=auth("officer-jakpus"))
    assert other.status_code == 404 and "/v1/documents/" not in other.text
    assert len(await openings(routing_pool, case_id)) == recorded

    # A tampered link (another audience, a changed signature) or an expired one: 403.
    path = urlsplit(document["url"]).path
    refused = opened_count("refused", "unverified")
    for changed in ({"audience": "routing:PEMDA-31.71:officer-jakpus"}, {"sig": "0" * 64}):
        assert (await intake.get(path, params={**query, **changed})).status_code == 403
    stale = document_link(
        DocumentLinks(INTAKE, SECRET),
        received.complaint_id,
        row["attachment_id"],
        query["audience"],
        datetime.now(UTC) - timedelta(minutes=16),
    )
    assert (await intake.get(stale.url)).status_code == 403
    assert opened_count("refused", "unverified") == refused + 3

    # A Setwapres administrator reads any case file: a link of their own, recorded too.
    admin = (await routing.get(desk, headers=auth("admin-setwapres"))).json()
    (theirs,) = admin["documents"]
    assert "audience=routing%3ASETWAPRES%3Aadmin-setwapres" in theirs["url"]
    assert (await intake.get(theirs["url"])).content == PDF
    assert (await openings(routing_pool, case_id))[-1][:2] == ("admin-setwapres", "SETWAPRES")

    # Erase the reporter (`lapor reporter erase`): no link, `erased`, and nothing recorded.
    async with intake_pool.acquire() as conn:
        assert await default_keystore().erase(conn, key_ids=[row["key_id"]]) == [row["key_id"]]
    recorded = len(await openings(routing_pool, case_id))
    gone = (await routing.get(desk, headers=auth("officer-atr"))).json()
    (erased,) = gone["documents"]
    assert (erased["erased"], erased["url"], erased["url_expires_at"]) == (True, None, None)
    assert len(await openings(routing_pool, case_id)) == recorded
    assert (await intake.get(document["url"])).status_code == 410  # the old link: gone


async def test_an_anonymous_reports_document_is_linked_until_its_reporter_is_erased(
    both: Both,
) -> None:
    """Routing keeps no identity of an anonymous report; whether its documents are erased is
    the key store's answer for the report's key, so the link works until the erasure."""
    intake_pool, intake, routing = both.intake_pool, both.intake, both.routing
    row, received, case_id = await filed_and_routed(both, anonymous="on")
    assert received.payload.anonymous
    desk = f"/v1/desk/cases/{case_id}"
    detail = (await routing.get(desk, headers=auth("officer-atr"))).json()
    assert [r["contact"] for r in detail["reporters"]] == [None]  # nobody to see
    (document,) = detail["documents"]
    assert (document["erased"], document["filename"]) == (False, "bukti.pdf")
    got = await intake.get(document["url"])
    assert got.status_code == 200 and got.content == PDF

    async with intake_pool.acquire() as conn:
        assert await default_keystore().erase(conn, key_ids=[row["key_id"]]) == [row["key_id"]]
    gone = (await routing.get(desk, headers=auth("officer-atr"))).json()
    (erased,) = gone["documents"]
    assert (erased["erased"], erased["url"], erased["filename"]) == (True, None, ERASED)
    assert gone["description"] == ERASED
    assert (await intake.get(document["url"])).status_code == 410  # as intake answers it
