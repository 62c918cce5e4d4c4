"""Crypto-shredding against the real broker and PostgreSQL (issue 7, item 4).

Two reporters file complaints through intake's filing use case. Their ComplaintReceived goes
through the outbox onto the intake topic, one of them also ends up on a dead-letter topic, and
the notifier stores their contact. Then `lapor reporter erase` deletes one reporter's data key:
that reporter's event on the topic, the rows in PostgreSQL and the dead letter no longer
decrypt; the other reporter's still do, and the notifier sends to them only.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from schemas.events import Channel, ComplaintReceived, parse_event
from schemas.personal_data import is_sealed
from schemas.topics import COMPLAINTS_INTAKE
from services.intake.adapters import repository
from services.intake.domain.complaints import Submission
from services.intake.handlers.filing import FileComplaint, Filed, file_complaints
from services.intake.settings import IntakeSettings
from services.messaging.consumer import ConsumerLoop
from services.messaging.database import create_pool, migrate
from services.messaging.deadletter import DeadLetterPublisher, read_dead_letters
from services.messaging.kafka import make_producer
from services.messaging.outbox import OutboxRelay
from services.notifier.domain.rules import OutboundChannel
from services.notifier.domain.sending import OutboundMessage
from services.notifier.handlers import events as notifier_handlers
from services.notifier.handlers.sending import Sender, SenderConfig
from services.personal_data.field_crypto import (
    DEV_MASTER_KEYS,
    KeyConfigError,
    MasterKeys,
    identity_of,
    new_master_key,
)
from services.personal_data.keystore import UNWRAP_FAILURES, Keystore, default_keystore
from tests.support import REPO_ROOT

pytestmark = pytest.mark.integration

SERVICES = REPO_ROOT / "services"
DEAD_LETTER_SERVICE = "routing"  # any consumer: dead letters keep the original bytes


@dataclass(frozen=True)
class Person:
    name: str
    nik: str
    phone: str  # E.164, as intake stores it
    local_phone: str  # as a citizen or an operator types it

    def submission(self) -> Submission:
        return Submission(
            channel=Channel.WEB,
            name=self.name,
            nik=self.nik,
            phone=self.phone,
            email=None,
            description="Sertifikat tanah kami tidak terbit sejak 2019 padahal sudah dibayar.",
            address="Jl. Kenanga 7, Menteng",
        )

    def secrets(self) -> tuple[str, ...]:
        return (self.name, self.nik, self.phone, self.local_phone, "Jl. Kenanga", "Sertifikat")


ERASED = Person("Siti Aminah", "3171015501900001", "+6281234567890", "081234567890")
KEPT = Person("Budi Santoso", "3273011501900002", "+6281298765432", "081298765432")


@pytest.fixture(scope="module")
async def notifier_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "notifier", max_size=4)
    await migrate(pool, "notifier", SERVICES / "notifier" / "migrations")
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def producer(stack, topics) -> AsyncIterator[AIOKafkaProducer]:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "erasure-test")
    await producer.start()
    yield producer
    await producer.stop()


async def file(pool: asyncpg.Pool, person: Person) -> Filed:
    """Through intake's one filing path (the per-reporter limit is not under test here)."""
    command = FileComplaint(
        person.submission(), idempotency_key=None, fingerprint=None, reporter_limit=False
    )
    async with pool.acquire() as conn:
        (filed,) = await file_complaints(
            conn, [command], settings=IntakeSettings(), keys=default_keystore()
        )
    assert isinstance(filed, Filed)
    return filed


async def intake_topic_records(bootstrap: str, ids: set[uuid.UUID]) -> list[ConsumerRecord]:
    """The records of these complaints' ComplaintReceived as the intake topic retains them."""
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
                    if isinstance(event, ComplaintReceived) and event.complaint_id in ids:
                        found.append(record)
        return found
    finally:
        await consumer.stop()


def lapor(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from ops.cli import main; main()", *args],
        env={**os.environ, "LAPOR_DATABASE_URL": database_url},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class RecordingAdapter:
    def __init__(self, channel: OutboundChannel) -> None:
        self.channel = channel
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> str:
        self.sent.append(message)
        return f"provider-{len(self.sent)}"


async def test_erasing_a_reporter_makes_their_data_unreadable_everywhere(
    intake_pool: asyncpg.Pool,
    notifier_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    stack,  # type: ignore[no-untyped-def]
    database_url: str,
) -> None:
    erased, kept = await file(intake_pool, ERASED), await file(intake_pool, KEPT)
    assert erased.tracking_code and kept.tracking_code and erased.complaint_id

    # The rows hold ciphertext only.
    rows = await intake_pool.fetch(
        "SELECT details::text AS details, contact_phone FROM complaints"
        " WHERE complaint_id = ANY($1::uuid[])",
        [erased.complaint_id, kept.complaint_id],
    )
    for row in rows:
        assert is_sealed(row["contact_phone"])
        for secret in ERASED.secrets() + KEPT.secrets():
            assert secret not in row["details"] and secret not in row["contact_phone"]

    # Through the outbox onto the intake topic (the relay the services run).
    relay = OutboxRelay(intake_pool, producer, "intake", "intake")
    while await relay.relay_once():
        pass
    records = await intake_topic_records(
        stack.kafka_bootstrap, {erased.complaint_id, kept.complaint_id}
    )
    assert len(records) == 2
    for record in records:
        for secret in ERASED.secrets() + KEPT.secrets():
            assert secret.encode() not in record.value
    erased_record = next(
        r for r in records if parse_event(r.value).complaint_id == erased.complaint_id
    )

    # A consumer fails on the erased reporter's event: it is dead-lettered, bytes unchanged.
    async def fails(event, conn):  # type: ignore[no-untyped-def]
        raise ValueError("a bug in some handler")

    loop = ConsumerLoop(
        service=DEAD_LETTER_SERVICE,
        bootstrap=stack.kafka_bootstrap,
        topics=[COMPLAINTS_INTAKE.name],
        group_id="erasure-test",
        pool=intake_pool,
        dead_letters=DeadLetterPublisher(producer, DEAD_LETTER_SERVICE),
        handlers={"ComplaintReceived": fails},
    )
    tp = TopicPartition(erased_record.topic, erased_record.partition)
    assert (await loop.process({tp: [erased_record]})).dead_lettered == 1
    letters = [
        letter
        for letter in await read_dead_letters(stack.kafka_bootstrap, DEAD_LETTER_SERVICE)
        if letter.value == erased_record.value
    ]
    assert letters, "the dead letter holds the original (sealed) event"

    # The notifier keeps both contacts, sealed as they came.
    async with notifier_pool.acquire() as conn, conn.transaction():
        for record in records:
            await notifier_handlers.notify_citizen(
                parse_event(record.value), conn, default_keystore()
            )
    destinations = await notifier_pool.fetch("SELECT destination FROM notifications")
    assert len(destinations) == 2 and all(is_sealed(r["destination"]) for r in destinations)

    # A long-running service's keystore that has the key cached forgets it within its TTL.
    now = [0.0]
    warm = Keystore.from_env()
    warm.clock = lambda: now[0]
    async with intake_pool.acquire() as conn:
        assert (await warm.open(conn, parse_event(erased_record.value))).payload.reporter.nik == (
            ERASED.nik
        )

    # Erase, as an operator does.
    done = lapor(
        "reporter",
        "erase",
        "--nik",
        ERASED.nik,
        "--phone",
        ERASED.local_phone,
        database_url=database_url,
    )
    assert done.returncode == 0, done.stderr
    assert "erased 1 data key(s)" in done.stdout
    assert "reporter erased" in done.stderr  # the act is logged ...
    for secret in ERASED.secrets():
        assert secret not in done.stdout + done.stderr  # ... without the data

    fresh = Keystore.from_env()  # no cache: what anyone can read from now on
    now[0] += warm.cache_seconds + 1
    async with intake_pool.acquire() as conn:
        # The intake topic: the erased reporter's event stays sealed, the other one opens.
        for record in records:
            event = parse_event(record.value)
            for keys in (fresh, warm):
                opened = await keys.open(conn, event)
                reporter = opened.payload.reporter
                if event.complaint_id == erased.complaint_id:
                    assert all(is_sealed(v) for v in (reporter.name, reporter.nik, reporter.phone))
                    assert is_sealed(opened.payload.location.address)
                else:
                    assert (reporter.name, reporter.nik, reporter.phone) == (
                        KEPT.name,
                        KEPT.nik,
                        KEPT.phone,
                    )
        # The dead letter.
        letter = await fresh.open(conn, parse_event(letters[0].value))
        assert letter.complaint_id == erased.complaint_id
        assert await fresh.reveal(conn, letter.payload.reporter.nik) is None
        # The rows in PostgreSQL, as intake reads them for the citizen's own view.
        gone = await repository.complaint_record(conn, erased.tracking_code, fresh)
        assert gone is not None and gone.contact_phone is None
        assert gone.details["reporter"]["nik"] is None and gone.details["reporter"]["name"] is None
        assert gone.details["description"] is None  # the citizen's words are personal too
        assert gone.details["tracking_code"] == erased.tracking_code  # the rest stays
        still = await repository.complaint_record(conn, kept.tracking_code or "", fresh)
        assert still is not None and still.contact_phone == KEPT.phone
        assert still.details["reporter"]["nik"] == KEPT.nik

    # The notifier sends to the kept reporter only; the erased one's send is suppressed.
    adapters = {channel: RecordingAdapter(channel) for channel in OutboundChannel}
    sender = Sender(notifier_pool, adapters, None, SenderConfig(), keys=fresh)
    assert await sender.run_once() == 2
    sent = [message for adapter in adapters.values() for message in adapter.sent]
    assert [message.to for message in sent] == [KEPT.phone]
    statuses = await notifier_pool.fetch(
        "SELECT complaint_id, status, last_error FROM notifications"
    )
    by_complaint = {row["complaint_id"]: row for row in statuses}
    assert by_complaint[erased.complaint_id]["status"] == "suppressed"
    assert by_complaint[erased.complaint_id]["last_error"] == "recipient erased"
    assert by_complaint[kept.complaint_id]["status"] == "sent"

    # The erased reporter may come back: a new complaint gets a new key, readable again.
    again = await file(intake_pool, ERASED)
    async with intake_pool.acquire() as conn:
        record = await repository.complaint_record(conn, again.tracking_code or "", fresh)
    assert record is not None and record.contact_phone == ERASED.phone
    assert record.key_id is not None and record.key_id != gone.key_id


async def test_rotation_rewraps_every_key_with_the_current_master_key(
    intake_pool: asyncpg.Pool,
) -> None:
    old, new = new_master_key(), new_master_key()
    # The earlier test's keys were wrapped by the development master key: rotate those too.
    before = Keystore(MasterKeys.parse(f"r1:{old},{DEV_MASTER_KEYS}"), b"rotation-test")
    during = Keystore(MasterKeys.parse(f"r2:{new},r1:{old},{DEV_MASTER_KEYS}"), b"rotation-test")
    after = Keystore(MasterKeys.parse(f"r2:{new}"), b"rotation-test")
    async with intake_pool.acquire() as conn:
        key = await before.key_for(conn, identity_of(None, "+6281300000001", None))
        sealed = key.seal("Rina")
        assert (await before.versions(conn)).get("r1") == 1
        assert await during.rewrap(conn) >= 1
        assert set(await during.versions(conn)) <= {"r2", "erased"}
        assert await after.reveal(conn, sealed) == "Rina"  # the old master key can go
        assert await during.rewrap(conn) == 0  # repeatable


async def test_a_key_of_a_master_version_this_instance_lacks_is_counted(
    intake_pool: asyncpg.Pool,
) -> None:
    """A master key dropped before the rotation finished: the key does not open, and the
    failure is counted by version (LaporKeyUnwrapFailures reads it)."""
    version = f"gone{uuid.uuid4().hex[:6]}"
    wrapping = Keystore(MasterKeys.parse(f"{version}:{new_master_key()}"), b"unwrap-test")
    lacking = Keystore(MasterKeys.parse(f"kept:{new_master_key()}"), b"unwrap-test")
    failures = UNWRAP_FAILURES.labels(version)
    async with intake_pool.acquire() as conn:
        key = await wrapping.key_for(conn, identity_of(None, "+6281300000002", None))
        assert failures._value.get() == 0  # no public reader of a child's value
        with pytest.raises(KeyConfigError, match=version):
            await lacking.keys(conn, [key.key_id])
        assert failures._value.get() == 1
        await wrapping.erase(conn, key_ids=[key.key_id])


async def test_concurrent_filings_of_one_reporter_share_one_key(
    intake_pool: asyncpg.Pool,
) -> None:
    keys = Keystore.from_env()
    identity = identity_of("3174015501900003", None, None)

    async def key_id() -> str:
        async with intake_pool.acquire() as conn, conn.transaction():
            return (await keys.key_for(conn, identity)).key_id

    assert len(set(await asyncio.gather(*(key_id() for _ in range(4))))) == 1


def test_production_without_keys_refuses_to_start(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("LAPOR_MASTER_KEYS", "LAPOR_IDENTITY_KEY")
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.personal_data.keystore import Keystore as K; K.from_env()",
        ],
        env={**env, "LAPOR_ENV": "production"},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "LAPOR_MASTER_KEYS" in result.stderr
