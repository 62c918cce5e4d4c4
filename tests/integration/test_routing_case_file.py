"""The agency officer's case file (issue 14, "what the agency sees") against the real Kafka
broker and PostgreSQL: routing's consumer loop reads intake's ComplaintReceived (sealed with
the reporter's key), triage's ComplaintAccepted and an addition from their topics; the desk
shows the officer the whole file, records each opening of personal data, hides an anonymous
reporter, answers 404 to another agency, and shows 'erased' once the reporter's key is gone."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from schemas.events import ComplaintReceived, ComplaintReceivedPayload, ComplaintUpdated
from schemas.personal_data import ERASED, is_sealed, personal_field_names
from services.messaging.kafka import make_producer
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore, default_keystore
from services.routing.entrypoints.app import create_app
from tests.agency_cases import (
    ADDITION,
    ADDRESS,
    DESCRIPTION,
    EMAIL,
    FILED,
    NAME,
    NIK,
    PHONE,
    accepted,
    addition,
    auth,
    case_of,
    complaint_received,
    openings,
    routing_database,
    sealed,
    through_routing,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await routing_database(database_url)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def producer(stack, topics) -> AsyncIterator[AIOKafkaProducer]:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "case-file-test")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def api(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    # No cache: the page reads the key store as it is right now (an erasure shows at once).
    keys = Keystore.from_env({"LAPOR_KEYSTORE_CACHE_SECONDS": "0"})
    app = create_app(lambda: pool, lambda: FILED + timedelta(days=1), keys=keys)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://routing"
    ) as client:
        yield client


async def sealed_complaint(
    pool: asyncpg.Pool, *, anonymous: bool = False, secret: bool = False
) -> ComplaintReceived:
    async with pool.acquire() as conn:
        received = complaint_received(anonymous=anonymous, secret=secret)
        return await sealed(conn, default_keystore(), received)


async def sealed_addition(pool: asyncpg.Pool, received: ComplaintReceived) -> ComplaintUpdated:
    async with pool.acquire() as conn:
        return await sealed(conn, default_keystore(), addition(received))


async def test_the_officer_reads_the_whole_file_each_opening_is_recorded_and_erasure_shreds_it(
    stack,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    api: httpx.AsyncClient,
) -> None:
    received = await sealed_complaint(pool)
    code = received.payload.tracking_code
    update = await sealed_addition(pool, received)

    async def filed_and_added() -> bool:
        added = await pool.fetchval(
            "SELECT count(*) FROM case_additions WHERE event_id = $1", update.event_id
        )
        return bool(await case_of(pool, received)) and added == 1

    # The acceptance first, then the content: the file joins them whatever the order.
    await through_routing(
        stack, pool, producer, [accepted(received), received, update], filed_and_added
    )
    case_id = await case_of(pool, received)
    assert case_id is not None

    # Routing's copy is the sealed payload: no name, NIK, phone, email or address in it.
    stored = await pool.fetchval(
        "SELECT payload::text FROM case_files WHERE complaint_id = $1", received.complaint_id
    )
    for secret in (NAME, NIK, PHONE, EMAIL, ADDRESS):
        assert secret not in stored

    desk = f"/v1/desk/cases/{case_id}"
    detail = (await api.get(desk, headers=auth("officer-atr"))).json()
    assert detail["agency_code"] == "ATR-BPN"
    assert detail["description"] == DESCRIPTION
    assert detail["location"] == {
        "region_code": "31.71",
        "city": "Kota Jakarta Pusat",
        "address": ADDRESS,
        "latitude": -6.19,
        "longitude": 106.83,
    }
    # Secret hides the content from the public only: the agency sees the reporter.
    (reporter,) = detail["reporters"]
    assert (reporter["tracking_code"], reporter["original"], reporter["secret"]) == (
        code,
        True,
        False,
    )
    assert reporter["contact"] == {"name": NAME, "phone": PHONE, "email": EMAIL}
    assert NIK not in json.dumps(detail)  # the NIK is not contact data: never shown
    assert [(d["attachment_id"], d["source"], d["filename"]) for d in detail["documents"]] == [
        ("att-kwitansi", "complaint", "kwitansi.jpg"),
        ("att-shm", "addition", "shm.pdf"),
    ]
    story = detail["chronology"]
    assert story[0] == {
        "at": FILED.isoformat(),
        "kind": "filed",
        "actor": "citizen",
        "text": DESCRIPTION,
        "status": None,
        "tracking_code": code,
    }
    assert sorted((e["kind"], e["text"]) for e in story[1:]) == [
        ("addition", ADDITION),
        ("status", "rule land-national v1"),  # the history's time is when routing opened it
    ]
    times = [datetime.fromisoformat(e["at"]) for e in story]
    assert times == sorted(times)
    assert [a["additional_text"] for a in detail["additions"]] == [ADDITION]

    (seen,) = await openings(pool, case_id)
    assert seen[:2] == ("officer-atr", "ATR-BPN")
    contact = {f"{code}:reporter.{field}" for field in ("name", "phone", "email")}
    assert contact | {f"{code}:location.address"} <= set(seen[2])

    # Another agency learns nothing, not even that the case exists; nothing is recorded.
    other = await api.get(desk, headers=auth("officer-jakpus"))
    assert other.status_code == 404 and NAME not in other.text and DESCRIPTION not in other.text
    assert len(await openings(pool, case_id)) == 1
    # A Setwapres administrator may read it; that is recorded too.
    admin = (await api.get(desk, headers=auth("admin-setwapres"))).json()
    assert admin["reporters"][0]["contact"]["phone"] == PHONE
    assert (await openings(pool, case_id))[-1][:2] == ("admin-setwapres", "SETWAPRES")

    # Erase the reporter, as `lapor reporter erase` does: routing's copy is unreadable.
    async with pool.acquire() as conn:
        assert await default_keystore().erase(conn, identities=[identity_of(NIK, PHONE, None)])
    gone = (await api.get(desk, headers=auth("officer-atr"))).json()
    assert gone["reporters"][0]["contact"] == {"name": ERASED, "phone": ERASED, "email": ERASED}
    assert gone["location"]["address"] == ERASED
    description_personal = "description" in personal_field_names(ComplaintReceivedPayload)
    assert gone["description"] == (ERASED if description_personal else DESCRIPTION)
    text = json.dumps(gone)
    for secret in (NAME, PHONE, EMAIL, ADDRESS):
        assert secret not in text
    assert not any(is_sealed(value) for value in gone["reporters"][0]["contact"].values())
    assert len(await openings(pool, case_id)) == 2  # nothing readable was shown: no opening


async def test_an_anonymous_report_reaches_the_agency_without_its_reporter(
    stack,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    api: httpx.AsyncClient,
) -> None:
    received = await sealed_complaint(pool, anonymous=True)

    async def opened() -> bool:
        return bool(await case_of(pool, received))

    await through_routing(stack, pool, producer, [received, accepted(received)], opened)
    case_id = await case_of(pool, received)
    assert case_id is not None
    stored = json.loads(
        await pool.fetchval(
            "SELECT payload::text FROM case_files WHERE complaint_id = $1", received.complaint_id
        )
    )
    reporter = stored["reporter"]
    assert (reporter["name"], reporter["nik"], reporter["phone"], reporter["email"]) == (
        "",
        None,
        None,
        None,
    )
    assert is_sealed(stored["location"]["address"])  # the rest is kept as it came

    detail = (await api.get(f"/v1/desk/cases/{case_id}", headers=auth("officer-atr"))).json()
    (shown,) = detail["reporters"]
    assert shown["anonymous"] is True and shown["contact"] is None
    assert detail["description"] == DESCRIPTION and detail["location"]["address"] == ADDRESS
    assert NAME not in json.dumps(detail) and PHONE not in json.dumps(detail)
    (seen,) = await openings(pool, case_id)
    assert not any(":reporter." in field for field in seen[2])


async def test_a_secret_report_names_its_reporter_to_the_agency_but_gives_no_contact(
    stack,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    api: httpx.AsyncClient,
) -> None:
    received = await sealed_complaint(pool, secret=True)

    async def opened() -> bool:
        return bool(await case_of(pool, received))

    await through_routing(stack, pool, producer, [received, accepted(received)], opened)
    case_id = await case_of(pool, received)
    detail = (await api.get(f"/v1/desk/cases/{case_id}", headers=auth("officer-atr"))).json()
    (shown,) = detail["reporters"]
    assert shown["secret"] is True
    assert shown["contact"] == {"name": NAME, "phone": None, "email": None}
    assert PHONE not in json.dumps(detail) and EMAIL not in json.dumps(detail)
    (seen,) = await openings(pool, case_id)
    code = received.payload.tracking_code
    assert f"{code}:reporter.name" in seen[2] and f"{code}:reporter.phone" not in seen[2]
