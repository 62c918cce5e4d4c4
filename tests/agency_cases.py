"""Routing's cases and case files for the tests, one copy: intake's ComplaintReceived (personal
fields sealed with the reporter's key, a receipt photo), triage's ComplaintAccepted that opens
its case, an addition, routing's database with its officers, and routing's consumer loop run
over the topics until a condition holds. Used by routing's case-file and document-link tests,
its handler tests and the back office's agency pages' tests (`a_case_file`, straight through
routing's handlers against the database, no Kafka)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer

from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    ComplaintUpdated,
    EventEnvelope,
    Location,
    Priority,
    Reporter,
    serialize_event,
)
from schemas.events.base import Attachment, partition_key
from schemas.events.intake import ComplaintUpdatedPayload
from schemas.topics import COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED
from services.messaging import outbox
from services.messaging.consumer import ConsumerLoop
from services.messaging.database import create_pool, migrate
from services.messaging.deadletter import DeadLetterPublisher
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore
from services.routing.adapters import repository
from services.routing.domain import JAKARTA
from services.routing.entrypoints.consumer import BATCH_HANDLERS, HANDLERS
from services.routing.handlers.case_file import keep_case_file
from services.routing.handlers.opening import open_case
from tests.support import eventually

E = TypeVar("E", bound=EventEnvelope)
MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "routing" / "migrations"
FILED = datetime(2026, 8, 13, 8, 30, tzinfo=JAKARTA)
NAME, NIK, PHONE, EMAIL = "Siti Aminah", "3171015501900001", "+6281234567890", "siti@contoh.id"
ADDRESS = "Jl. Kenanga 7, Menteng"
DESCRIPTION = "Sertifikat tanah saya tidak terbit sejak 2019 padahal biaya di kantor BPN lunas."
ADDITION = "Nomor berkas 1234/2019."
# (officer id, agency, role); each signs in with the bearer token `token-<officer id>`.
OFFICERS = (
    ("admin-setwapres", "SETWAPRES", "admin"),
    ("officer-atr", "ATR-BPN", "officer"),
    ("officer-jakpus", "PEMDA-31.71", "officer"),
)


async def routing_database(
    database_url: str, schema: str = "routing", officers: Sequence[tuple[str, str, str]] = OFFICERS
) -> asyncpg.Pool:
    """Routing's schema migrated, the key store ready (as the runtime makes them at start)
    and the officers; the caller closes the pool."""
    pool = await create_pool(database_url, schema)
    await migrate(pool, schema, MIGRATIONS)
    async with pool.acquire() as conn:
        await Keystore.ensure(conn)
        for officer_id, agency, role in officers:
            await repository.create_officer(conn, officer_id, agency, f"token-{officer_id}", role)
    return pool


def auth(officer_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{officer_id}"}


def complaint_received(
    filed: datetime = FILED,
    *,
    anonymous: bool = False,
    secret: bool = False,
    nik: str = NIK,
    tag: str = "CASE-FIL",
) -> ComplaintReceived:
    """A land complaint in Jakarta Pusat (31.71) with a receipt photo, in the clear."""
    complaint_id = uuid.uuid4()
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        occurred_at=filed,
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-{tag}",
            channel=Channel.WEB,
            reporter=Reporter(name=NAME, nik=nik, phone=PHONE, email=EMAIL),
            description=DESCRIPTION,
            location=Location(
                region_code="31.71",
                city="Kota Jakarta Pusat",
                address=ADDRESS,
                latitude=-6.19,
                longitude=106.83,
            ),
            attachments=(
                Attachment(
                    attachment_id="att-kwitansi",
                    media_type="image/jpeg",
                    filename="kwitansi.jpg",
                    size_bytes=4096,
                ),
            ),
            anonymous=anonymous,
            secret=secret,
            received_at=filed,
        ),
    )


async def sealed(conn: asyncpg.Connection, keys: Keystore, event: E, nik: str = NIK) -> E:
    """The event as intake publishes it: personal fields sealed with the reporter's key."""
    return await keys.seal(conn, event, identity=identity_of(nik, PHONE, None))


def accepted(received: ComplaintReceived) -> ComplaintAccepted:
    """Triage's acceptance of the complaint, five minutes later: land, Jakarta Pusat."""
    return ComplaintAccepted(
        complaint_id=received.complaint_id,
        correlation_id=received.correlation_id,
        causation_id=received.event_id,
        producer="triage",
        occurred_at=received.payload.received_at + timedelta(minutes=5),
        payload=ComplaintAcceptedPayload(
            tracking_code=received.payload.tracking_code,
            channel=Channel.WEB,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="31.71",
            summary="Sertifikat tanah tidak terbit",
            secret=received.payload.secret,
        ),
    )


def addition(received: ComplaintReceived) -> ComplaintUpdated:
    """What the reporter adds two hours later: a text and a PDF, in the clear."""
    return ComplaintUpdated(
        complaint_id=received.complaint_id,
        correlation_id=received.correlation_id,
        producer="intake",
        occurred_at=received.payload.received_at + timedelta(hours=2),
        payload=ComplaintUpdatedPayload(
            tracking_code=received.payload.tracking_code,
            additional_text=ADDITION,
            attachments=(
                Attachment(
                    attachment_id="att-shm",
                    media_type="application/pdf",
                    filename="shm.pdf",
                    size_bytes=2048,
                ),
            ),
        ),
    )


async def through_routing(
    stack: Any,
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    events: Sequence[EventEnvelope],
    done: Callable[[], Awaitable[Any]],
) -> None:
    """Publish the events on their topics and run routing's consumer loop until `done`."""
    topic = {
        "ComplaintReceived": COMPLAINTS_INTAKE.name,
        "ComplaintUpdated": COMPLAINTS_INTAKE.name,
        "ComplaintAccepted": COMPLAINTS_TRIAGED.name,
    }
    for event in events:
        kind = event.event_type  # type: ignore[attr-defined]
        await producer.send_and_wait(topic[kind], serialize_event(event), key=partition_key(event))
    stop = asyncio.Event()
    loop = ConsumerLoop(
        service="routing",
        bootstrap=stack.kafka_bootstrap,
        topics=[COMPLAINTS_INTAKE.name, COMPLAINTS_TRIAGED.name],
        group_id="routing-case-file-test",  # one group: each test reads on from the last
        pool=pool,
        dead_letters=DeadLetterPublisher(producer, "routing"),
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
    )
    task = asyncio.create_task(loop.run(stop))
    try:
        await eventually(done, within=120)
    finally:
        stop.set()
        await task


async def case_of(pool: asyncpg.Pool, received: ComplaintReceived) -> uuid.UUID | None:
    """The case opened on the complaint, once routing also keeps its content."""
    return await pool.fetchval(
        "SELECT c.case_id FROM cases c JOIN case_files f USING (complaint_id)"
        " WHERE c.complaint_id = $1",
        received.complaint_id,
    )


async def openings(pool: asyncpg.Pool, case_id: uuid.UUID) -> list[tuple[str, str, list[str]]]:
    rows = await pool.fetch(
        "SELECT officer_id, agency_code, fields FROM case_file_openings WHERE case_id = $1"
        " ORDER BY id",
        case_id,
    )
    return [(r["officer_id"], r["agency_code"], list(r["fields"])) for r in rows]


@dataclass(frozen=True)
class Case:
    case_id: uuid.UUID
    agency_code: str
    tracking_code: str


async def a_case_file(
    conn: asyncpg.Connection,
    keys: Keystore,
    filed: datetime,
    *,
    anonymous: bool = False,
    secret: bool = False,
    nik: str = NIK,
) -> Case:
    """`complaint_received`, sealed, kept by routing's case-file handler and opened as a
    case by its acceptance, straight through the handlers (no Kafka)."""
    await Keystore.ensure(conn)
    received = complaint_received(
        filed, anonymous=anonymous, secret=secret, nik=nik, tag="AGEN-CYP"
    )
    async with conn.transaction():
        await keep_case_file(await sealed(conn, keys, received, nik), conn)
        events = await open_case(accepted(received), conn)
        await outbox.enqueue(conn, events)
    payload = events[0].payload
    return Case(payload.case_id, payload.agency_code, received.payload.tracking_code)  # type: ignore[attr-defined]
