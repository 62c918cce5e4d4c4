"""Satisfaction and re-opening (issue 14), against the real Kafka and PostgreSQL: a case
closed at routing's desk reaches intake's read model; the citizen answers on WhatsApp or the
web; SatisfactionRated goes through intake's outbox and the intake topic to routing's consumer
loop, which records it, counts it, and re-opens a case refused within 10 days (a
CaseStatusChanged to `reopened` in Setwapres' queue); Setwapres disposes or closes it again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from schemas.events import Category, Channel, parse_event
from schemas.events.intake import SatisfactionRated, SatisfactionRatedPayload
from schemas.topics import COMPLAINTS_INTAKE
from services.intake.bootstrap import create_app as intake_app
from services.intake.domain.complaints import Submission
from services.intake.domain.whatsapp import InboundMessage
from services.intake.handlers import statuses, whatsapp
from services.intake.handlers.filing import FileComplaint, Filed, file_complaints
from services.intake.settings import IntakeSettings
from services.messaging.consumer import ConsumerLoop
from services.messaging.deadletter import DeadLetterPublisher
from services.messaging.kafka import make_producer
from services.messaging.outbox import OutboxRelay
from services.notifier.domain.co_reporters import CoReporter, co_reporter_messages
from services.notifier.domain.rules import message_for
from services.personal_data.keystore import default_keystore
from services.routing.entrypoints.app import create_app as routing_app
from services.routing.entrypoints.consumer import HANDLERS
from services.routing.handlers.opening import open_case
from tests.agency_cases import OFFICERS, auth, routing_database
from tests.integration.test_routing_cases import THURSDAY, FrozenClock, accepted, handle

pytestmark = pytest.mark.integration
SERVICES = Path(__file__).resolve().parents[2] / "services"
ROUTING = "routing_satisfaction_it"
SETTINGS = IntakeSettings(one_time_code_key="k", complaints_per_reporter_per_hour=0)
CSRF = 'name="csrf_token" value="'


@pytest.fixture(scope="module")
async def routing_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await routing_database(database_url, ROUTING, OFFICERS[:2])
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def producer(stack, topics) -> AsyncIterator[AIOKafkaProducer]:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "satisfaction-test")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(THURSDAY)


@pytest.fixture
async def desk(routing_pool: asyncpg.Pool, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=routing_app(lambda: routing_pool, clock, keys=default_keystore())
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client


@pytest.fixture
async def web(intake_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=intake_app(lambda: intake_pool, SETTINGS, default_keystore())
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


async def file(pool: asyncpg.Pool, phone: str) -> Filed:
    submission = Submission(
        channel=Channel.WHATSAPP,
        name="Siti Aminah",
        nik="3171015501900001",
        phone=phone,
        email=None,
        description="Sertifikat tanah saya tidak terbit sejak 2019 padahal biaya sudah lunas.",
    )
    command = FileComplaint(submission, idempotency_key=None, fingerprint=None)
    async with pool.acquire() as conn:
        (filed,) = await file_complaints(
            conn, [command], settings=SETTINGS, keys=default_keystore()
        )
    assert isinstance(filed, Filed)
    return filed


async def closed_case(
    intake_pool: asyncpg.Pool,
    routing_pool: asyncpg.Pool,
    desk: httpx.AsyncClient,
    filed: Filed,
) -> uuid.UUID:
    """Routing opens the complaint's case, ATR/BPN accepts, responds and closes it (at the
    frozen clock); intake's read model applies routing's events, as its consumer does."""
    event = accepted(Category.LAND, "31.71")
    event = event.model_copy(
        update={
            "complaint_id": filed.complaint_id,
            "correlation_id": filed.complaint_id,
            "payload": event.payload.model_copy(update={"tracking_code": filed.tracking_code}),
        }
    )
    (assigned,) = await handle(routing_pool, open_case, event)
    case_id = assigned.payload.case_id
    for step in ("accept", "respond", "close"):
        body = {"note": "Sertifikat dapat diambil."} if step == "respond" else None
        answer = await desk.post(
            f"/v1/desk/cases/{case_id}/{step}", json=body, headers=auth("officer-atr")
        )
        assert answer.status_code == 200, answer.text
    async with intake_pool.acquire() as conn, conn.transaction():
        await statuses.update_statuses(await routing_outbox(routing_pool, filed.complaint_id), conn)
    return case_id


async def routing_outbox(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list:  # type: ignore[type-arg]
    rows = await pool.fetch(f"SELECT payload FROM {ROUTING}.outbox ORDER BY id")
    return [e for e in (parse_event(r["payload"]) for r in rows) if e.complaint_id == complaint_id]


async def intake_outbox(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list:  # type: ignore[type-arg]
    """The complaint's events in intake's outbox, their sealed fields opened (reply texts)."""
    rows = await pool.fetch("SELECT payload FROM intake.outbox ORDER BY id")
    mine = [e for e in (parse_event(r["payload"]) for r in rows) if e.complaint_id == complaint_id]
    async with pool.acquire() as conn:
        return [await default_keystore().open(conn, event) for event in mine]


async def whatsapp_text(pool: asyncpg.Pool, wa_id: str, text: str, at: datetime) -> str:
    message = InboundMessage(
        message_id=f"wamid.{uuid.uuid4().hex}", wa_id=wa_id, sent_at=at, kind="text", text=text
    )
    async with pool.acquire() as conn, conn.transaction():
        return await whatsapp.process_message(conn, message, SETTINGS, default_keystore())


async def ratings_on_topic(bootstrap: str, complaint_id: uuid.UUID) -> list[ConsumerRecord]:
    """The SatisfactionRated records of this complaint as the intake topic holds them."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [
            TopicPartition(COMPLAINTS_INTAKE.name, p) for p in range(COMPLAINTS_INTAKE.partitions)
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        found: list[ConsumerRecord] = []
        while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    event = parse_event(record.value)
                    if isinstance(event, SatisfactionRated) and event.complaint_id == complaint_id:
                        found.append(record)
        return found
    finally:
        await consumer.stop()


def routing_loop(stack, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> ConsumerLoop:  # type: ignore[no-untyped-def]
    return ConsumerLoop(
        service="routing",
        bootstrap=stack.kafka_bootstrap,
        topics=[COMPLAINTS_INTAKE.name],
        group_id="satisfaction-test",
        pool=pool,
        dead_letters=DeadLetterPublisher(producer, "routing"),
        handlers=HANDLERS,
    )


async def deliver(stack, intake_pool, routing_pool, producer, complaint_id) -> list[ConsumerRecord]:  # type: ignore[no-untyped-def]
    """Intake's relay publishes; routing's consumer loop takes the records from the topic."""
    relay = OutboxRelay(intake_pool, producer, "intake", "intake")
    while await relay.relay_once():
        pass
    records = await ratings_on_topic(stack.kafka_bootstrap, complaint_id)
    assert records, "the answer reached the intake topic"
    loop = routing_loop(stack, routing_pool, producer)
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        assert (await loop.process({tp: [record]})).dead_lettered == 0
    return records


async def test_a_whatsapp_refusal_reopens_the_case_for_setwapres(
    stack,  # type: ignore[no-untyped-def]
    intake_pool: asyncpg.Pool,
    routing_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    desk: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    filed = await file(intake_pool, "+6281311110001")
    case_id = await closed_case(intake_pool, routing_pool, desk, filed)
    assert (
        await intake_pool.fetchval(
            "SELECT status FROM complaints WHERE complaint_id = $1", filed.complaint_id
        )
        == "closed"
    )
    # Not an answer: a new conversation, as before.
    assert "satisfaction" not in await whatsapp_text(
        intake_pool, "6281311110001", "halo", THURSDAY + timedelta(hours=1)
    )
    outcome = await whatsapp_text(
        intake_pool, "6281311110001", "Tidak puas!!", THURSDAY + timedelta(days=2)
    )
    assert outcome == "satisfaction_recorded"
    again = await whatsapp_text(intake_pool, "6281311110001", "PUAS", THURSDAY + timedelta(days=3))
    assert again == "satisfaction_already_recorded"
    events = await intake_outbox(intake_pool, filed.complaint_id)
    (rated,) = [e for e in events if isinstance(e, SatisfactionRated)]
    assert (rated.payload.satisfied, rated.payload.channel) == (False, Channel.WHATSAPP)
    replies = [e.payload.text for e in events if e.event_type == "CitizenReplyRequested"]
    # Intake cannot know whether routing re-opens: its reply says only that it recorded it.
    assert any("sudah kami catat" in text for text in replies)
    assert not any("tinjau" in text or "dibuka kembali" in text for text in replies)
    assert any("sudah tercatat sebelumnya" in text for text in replies)

    records = await deliver(stack, intake_pool, routing_pool, producer, filed.complaint_id)
    case = await routing_pool.fetchrow(
        f"SELECT status, agency_code FROM {ROUTING}.cases WHERE case_id = $1", case_id
    )
    assert (case["status"], case["agency_code"]) == ("reopened", "SETWAPRES")
    reopened = [
        e
        for e in await routing_outbox(routing_pool, filed.complaint_id)
        if e.event_type == "CaseStatusChanged"
    ][-1]
    assert (reopened.payload.previous_status, reopened.payload.status) == ("closed", "reopened")
    assert reopened.causation_id == rated.event_id and reopened.payload.actor == "citizen"
    # The notifier tells of the re-opening from routing's event: the reporter, and each
    # co-reporter who joined before it, under their own tracking code.
    told = message_for(reopened)
    assert told is not None and told.template == "reopened"
    assert told.context["tracking_code"] == filed.tracking_code
    joined = CoReporter(uuid.uuid4(), "LPR-JOIN-ED00-AAA", reopened.occurred_at)
    (co_told,) = co_reporter_messages(reopened, [joined])
    assert co_told.message.template == "reopened"
    assert co_told.message.context["tracking_code"] == joined.tracking_code
    # A redelivered record changes nothing (processed_events), nor does the same answer again.
    loop = routing_loop(stack, routing_pool, producer)
    await loop.process({TopicPartition(records[0].topic, records[0].partition): records})
    async with routing_pool.acquire() as conn, conn.transaction():
        assert list(await HANDLERS["SatisfactionRated"](rated, conn)) == []
    assert (
        await routing_pool.fetchval(
            f"SELECT count(*) FROM {ROUTING}.case_satisfaction WHERE case_id = $1", case_id
        )
        == 1
    )

    # Counted for the agency whose response was refused.
    stats = (await desk.get("/v1/stats")).json()["satisfaction"]["Kementerian ATR/BPN"]
    assert stats["not_satisfied"] >= 1 and stats["reopened"] >= 1 and stats["response_rate"] > 0
    assert "Kepuasan pelapor" in (await desk.get("/stats")).text

    # Setwapres finds it, and closing it needs a note; then the agency may get it again.
    assert (await desk.get("/v1/reopened", headers=auth("officer-atr"))).status_code == 403
    listed = (await desk.get("/v1/reopened", headers=auth("admin-setwapres"))).json()["cases"]
    (mine,) = [c for c in listed if c["case_id"] == str(case_id)]
    assert mine["refused_agency_code"] == "ATR-BPN" and mine["channel"] == "whatsapp"
    close = f"/v1/desk/cases/{case_id}/close"
    assert (await desk.post(close, json={}, headers=auth("admin-setwapres"))).status_code == 409
    redo = await desk.post(
        f"/v1/desk/cases/{case_id}/dispose",
        json={"agency_code": "ATR-BPN"},
        headers=auth("admin-setwapres"),
    )
    assert redo.status_code == 200 and redo.json()["status"] == "assigned"
    assert (
        await routing_pool.fetchval(
            f"SELECT status FROM {ROUTING}.cases WHERE case_id = $1", case_id
        )
        == "assigned"
    )


async def test_a_late_refusal_is_counted_but_does_not_reopen(
    stack,  # type: ignore[no-untyped-def]
    intake_pool: asyncpg.Pool,
    routing_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    desk: httpx.AsyncClient,
) -> None:
    filed = await file(intake_pool, "+6281311110002")
    case_id = await closed_case(intake_pool, routing_pool, desk, filed)
    closed_at = await routing_pool.fetchval(
        f"SELECT closed_at FROM {ROUTING}.cases WHERE case_id = $1", case_id
    )
    # Intake takes answers for 10 days: an answer on WhatsApp after that is a conversation.
    assert "satisfaction" not in await whatsapp_text(
        intake_pool, "6281311110002", "TIDAK PUAS", closed_at + timedelta(days=11)
    )
    # A late answer that reached routing all the same (published before a long outage, say).
    late = SatisfactionRated(
        complaint_id=filed.complaint_id,
        correlation_id=filed.complaint_id,
        producer="intake",
        occurred_at=closed_at + timedelta(days=11),
        payload=SatisfactionRatedPayload(
            tracking_code=filed.tracking_code,
            satisfied=False,
            score=1,
            channel=Channel.WEB,
            rated_at=closed_at + timedelta(days=11),
            closed_at=closed_at,
        ),
    )
    async with routing_pool.acquire() as conn, conn.transaction():
        assert list(await HANDLERS["SatisfactionRated"](late, conn)) == []
    row = await routing_pool.fetchrow(
        f"SELECT satisfied, score, reopened FROM {ROUTING}.case_satisfaction WHERE case_id = $1",
        case_id,
    )
    assert (row["satisfied"], row["score"], row["reopened"]) == (False, 1, False)
    assert (
        await routing_pool.fetchval(
            f"SELECT status FROM {ROUTING}.cases WHERE case_id = $1", case_id
        )
        == "closed"
    )


async def test_the_owner_rates_on_the_web_page_and_the_api(
    intake_pool: asyncpg.Pool,
    routing_pool: asyncpg.Pool,
    desk: httpx.AsyncClient,
    web: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    clock.now = datetime.now(UTC)  # the page takes answers by the real clock: a fresh closing
    open_one = await file(intake_pool, "+6281311110004")
    api = f"/v1/complaints/{open_one.tracking_code}/satisfaction"
    not_closed = await web.post(api, json={"phone": "081311110004", "satisfied": True})
    assert not_closed.status_code == 409

    filed = await file(intake_pool, "+6281311110003")
    await closed_case(intake_pool, routing_pool, desk, filed)
    status = await web.get(f"/lapor/status?kode={filed.tracking_code}")
    assert f"/lapor/puas?kode={filed.tracking_code}" in status.text
    page = await web.get(f"/lapor/puas?kode={filed.tracking_code}")
    token = page.text.split(CSRF, 1)[1].split('"', 1)[0]
    fields = {
        "csrf_token": token,
        "kode": filed.tracking_code,
        "phone": "0813-1111-0003",
        "score": "5",
    }
    missing = await web.post("/lapor/puas", data=fields)
    assert missing.status_code == 422 and "Pilih PUAS atau TIDAK PUAS" in missing.text
    wrong = await web.post(
        "/lapor/puas", data={**fields, "answer": "puas", "phone": "081299999999"}
    )
    assert wrong.status_code == 403
    done = await web.post("/lapor/puas", data={**fields, "answer": "puas"})
    assert done.status_code == 200 and 'id="rate-done"' in done.text
    (rated,) = [
        e
        for e in await intake_outbox(intake_pool, filed.complaint_id)
        if isinstance(e, SatisfactionRated)
    ]
    assert (rated.payload.satisfied, rated.payload.score, rated.payload.channel) == (
        True,
        5,
        Channel.WEB,
    )
    # The API: the first answer counted.
    second = await web.post(
        f"/v1/complaints/{filed.tracking_code}/satisfaction",
        json={"phone": "081311110003", "satisfied": False},
    )
    assert second.status_code == 200 and second.json()["already_recorded"] is True
    assert (
        await web.post(
            f"/v1/complaints/{filed.tracking_code}/satisfaction", json={"satisfied": False}
        )
    ).status_code == 422
