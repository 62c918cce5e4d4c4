"""The shared plumbing against the real broker and database: idempotent consumption,
dead-lettering with reasons, the transactional outbox and its relay, migrations."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from schemas.events import (
    Channel,
    CitizenNotified,
    CitizenNotifiedPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Event,
    EventEnvelope,
    Language,
    Reporter,
    follow_up_ids,
    parse_event,
    serialize_event,
)
from schemas.topics import COMPLAINTS_INTAKE, NOTIFICATIONS, dead_letter_topic
from services.messaging.consumer import ConsumerLoop
from services.messaging.database import create_pool, migrate
from services.messaging.deadletter import DeadLetter, DeadLetterPublisher
from services.messaging.kafka import ensure_topics, make_producer
from services.messaging.outbox import OutboxRelay, enqueue
from services.messaging.worker import Worker, claim_shard, run_worker, sharded
from tests.support import eventually

pytestmark = pytest.mark.integration
SCHEMA = "plumbing_test"


def received(description: str = "Jalan rusak parah di depan sekolah dasar") -> ComplaintReceived:
    complaint_id = uuid.uuid4()
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="test",
        payload=ComplaintReceivedPayload(
            tracking_code="LPR-AAAA-BBBB-CCC",
            channel=Channel.WEB,
            reporter=Reporter(name="Budi", nik="3171011501900001", phone="+6281234567890"),
            description=description,
            received_at=datetime.now(UTC),
        ),
    )


def notified(cause: EventEnvelope) -> CitizenNotified:
    return CitizenNotified(
        **follow_up_ids(cause, "test", "CitizenNotified"),
        payload=CitizenNotifiedPayload(
            notification_id=uuid.uuid4(),
            tracking_code="LPR-AAAA-BBBB-CCC",
            trigger_event_id=cause.event_id,
            trigger_event_type="ComplaintReceived",
            channel="log",
            template="received",
            language=Language.INDONESIAN,
        ),
    )


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA)
    await migrate(pool, SCHEMA, None)
    await pool.execute("CREATE TABLE IF NOT EXISTS effects (event_id uuid, description text)")
    yield pool
    await pool.close()


@pytest.fixture
async def producer(stack, topics):  # type: ignore[no-untyped-def]
    await ensure_topics(stack.kafka_bootstrap, [dead_letter_topic("plumbing")])
    producer = make_producer(stack.kafka_bootstrap, "plumbing-test")
    await producer.start()
    yield producer
    await producer.stop()


async def read_topic(bootstrap: str, topic: str, expected: int, within: float = 30.0):  # type: ignore[no-untyped-def]
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        # linger briefly so that unexpected extra records would be seen too
        for batch in (await consumer.getmany(timeout_ms=1000)).values():
            records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_migrations_apply_once(pool: asyncpg.Pool) -> None:
    assert await migrate(pool, SCHEMA, None) == []
    assert await pool.fetchval("SELECT count(*) FROM schema_migrations") == 1


async def test_consumer_loop_is_idempotent_dead_letters_and_keeps_flowing(
    stack, pool: asyncpg.Pool, producer
) -> None:  # type: ignore[no-untyped-def]
    async def handle(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
        assert isinstance(event, ComplaintReceived)
        if "meledak" in event.payload.description:
            raise RuntimeError("handler bug for this one event")
        await conn.execute(
            "INSERT INTO effects VALUES ($1, $2)", event.event_id, event.payload.description
        )
        return [notified(event)]

    first, second, boom = received("pertama kali"), received("kedua kali"), received("meledak")
    topic = COMPLAINTS_INTAKE.name
    for raw in (
        serialize_event(first),
        serialize_event(first),  # a redelivered duplicate
        b"{this is not json",
        serialize_event(boom),
        serialize_event(second),
    ):
        await producer.send_and_wait(topic, raw, key=b"same-partition")

    stop = asyncio.Event()
    loop = ConsumerLoop(
        service="plumbing",
        bootstrap=stack.kafka_bootstrap,
        topics=[topic],
        group_id=f"plumbing-{uuid.uuid4().hex[:6]}",
        pool=pool,
        dead_letters=DeadLetterPublisher(producer, "plumbing"),
        handlers={"ComplaintReceived": handle},
    )
    task = asyncio.create_task(loop.run(stop))

    async def both_effects() -> list[asyncpg.Record]:
        rows = await pool.fetch(
            "SELECT event_id FROM effects WHERE event_id = ANY($1::uuid[])",
            [first.event_id, second.event_id, boom.event_id],
        )
        return rows if len(rows) >= 2 else []

    await eventually(both_effects)
    stop.set()
    await task

    rows = await pool.fetch(
        "SELECT event_id FROM effects WHERE event_id = ANY($1::uuid[])",
        [first.event_id, second.event_id, boom.event_id],
    )
    assert sorted(r["event_id"] for r in rows) == sorted([first.event_id, second.event_id])
    # the failed event is not marked processed, so a replay after a fix can handle it
    assert not await pool.fetchval(
        "SELECT count(*) FROM processed_events WHERE event_id = $1", boom.event_id
    )
    outbox_ids = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM outbox")}
    assert {notified(first).event_id, notified(second).event_id} <= outbox_ids

    letters = await read_topic(stack.kafka_bootstrap, dead_letter_topic("plumbing").name, 2)
    reasons = sorted(dict(letter.headers)["x-error"].decode() for letter in letters)
    assert len(letters) == 2
    assert reasons[0].startswith("handler error: RuntimeError")
    assert reasons[1].startswith("invalid event")
    for letter in letters:
        headers = dict(letter.headers)
        assert headers["x-source-topic"].decode() == topic
        assert int(headers["x-source-offset"]) >= 0
    assert {letter.value for letter in letters} == {b"{this is not json", serialize_event(boom)}


async def test_outbox_relay_publishes_once_and_empties_the_outbox(stack, pool, producer) -> None:  # type: ignore[no-untyped-def]
    await pool.execute("DELETE FROM outbox")
    causes = [received() for _ in range(25)]
    events = [notified(cause) for cause in causes]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, events)
        await enqueue(conn, events[:5])  # repeats are ignored

    relay = OutboxRelay(pool, producer, "plumbing", SCHEMA, batch_size=10, poll_interval=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await eventually(lambda: _outbox_empty(pool))
    stop.set()
    await task

    records = await read_topic(stack.kafka_bootstrap, NOTIFICATIONS.name, 25)
    mine = {e.event_id for e in events}
    published = [parse_event(r.value) for r in records]
    published = [e for e in published if e.event_id in mine]
    assert len(published) == 25 and {e.event_id for e in published} == mine
    for record in records:
        headers = dict(record.headers)
        event = parse_event(record.value)
        if event.event_id in mine:
            assert record.key == str(event.complaint_id).encode()
            assert headers["event_type"] == b"CitizenNotified"
            assert json.loads(record.value)["event_id"] == str(event.event_id)


async def _outbox_empty(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_only_one_leader_works_and_another_takes_over(pool) -> None:  # type: ignore[no-untyped-def]
    """The shared worker loop: two instances with one leader lock never work at once, and
    when the leader stops the other takes over."""
    worked: list[str] = []
    lock = f"test-{uuid.uuid4()}"

    def worker(name: str) -> Worker:
        async def work() -> int:
            worked.append(name)
            return 0

        return Worker(name=name, work=work, poll=0.05, leader_lock=lock)

    async def count(name: str, at_least: int = 1) -> bool:
        return worked.count(name) >= at_least

    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running_first = asyncio.create_task(run_worker(pool, worker("first"), stop_first))
    await eventually(lambda: count("first"))
    running_second = asyncio.create_task(run_worker(pool, worker("second"), stop_second))
    # The leader keeps working while the other waits for the lock: a positive signal (the
    # leader's count grows well past the other's first lock attempt), not a sleep.
    target = worked.count("first") + 20
    await eventually(lambda: count("first", target))
    assert set(worked) == {"first"}
    stop_first.set()
    await running_first
    await eventually(lambda: count("second"))
    stop_second.set()
    await running_second
    last_first = len(worked) - 1 - worked[::-1].index("first")
    assert "second" not in worked[:last_first]


async def test_sharded_workers_of_two_instances_never_work_one_shard_at_once(pool) -> None:  # type: ignore[no-untyped-def]
    """Two instances of a sharded worker (three tasks each) over five shards: every shard is
    worked, by both instances, and never by two tasks at once (each batch claims its shard
    in its transaction)."""
    name = f"test-shards-{uuid.uuid4().hex[:6]}"
    active: set[int] = set()
    overlaps: list[int] = []
    worked: list[tuple[str, int]] = []
    skipped: list[int] = []

    def instance(label: str) -> Worker:
        async def work_shard(shard: int) -> int | None:
            async with pool.acquire() as conn, conn.transaction():
                if not await claim_shard(conn, name, shard):
                    skipped.append(shard)
                    return None
                if shard in active:
                    overlaps.append(shard)
                active.add(shard)
                await conn.execute("SELECT pg_sleep(0.002)")  # a batch's work, others meet it
                active.discard(shard)
                worked.append((label, shard))
                return 1  # a full batch: go round again at once

        return sharded(name, work_shard, shards=5, workers=3, batch_size=1, poll=0.05)

    stop = asyncio.Event()
    running = [asyncio.create_task(run_worker(pool, instance(label), stop)) for label in "ab"]

    async def every_shard_by_both_and_some_met() -> bool:
        return {(label, shard) for label in "ab" for shard in range(5)} <= set(worked) and bool(
            skipped
        )

    await eventually(every_shard_by_both_and_some_met)
    stop.set()
    await asyncio.gather(*running)
    assert overlaps == []


async def test_dead_letter_replay_after_a_fix_is_idempotent(stack, pool, producer) -> None:  # type: ignore[no-untyped-def]
    from services.messaging.deadletter import read_dead_letters, replay_dead_letters

    service = f"replay{uuid.uuid4().hex[:6]}"
    await ensure_topics(stack.kafka_bootstrap, [dead_letter_topic(service)])
    fixed = False

    async def handle(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
        if not fixed:
            raise ValueError("bug before the fix")
        await conn.execute("INSERT INTO effects VALUES ($1, 'replayed')", event.event_id)
        return ()

    event = received("akan diputar ulang")
    await producer.send_and_wait(COMPLAINTS_INTAKE.name, serialize_event(event), key=b"replay")
    stop = asyncio.Event()
    loop = ConsumerLoop(
        service=service,
        bootstrap=stack.kafka_bootstrap,
        topics=[COMPLAINTS_INTAKE.name],
        group_id=f"{service}-group",
        pool=pool,
        dead_letters=DeadLetterPublisher(producer, service),
        handlers={"ComplaintReceived": handle},
    )
    task = asyncio.create_task(loop.run(stop))
    try:

        async def my_letter():  # type: ignore[no-untyped-def]
            letters = await read_dead_letters(stack.kafka_bootstrap, service)
            return [item for item in letters if str(event.event_id).encode() in item.value]

        letters = await eventually(my_letter)
        assert letters[0].reason.startswith("handler error: ValueError")
        fixed = True
        await replay_dead_letters(producer, letters)
        await replay_dead_letters(producer, letters)  # an operator replays twice

        async def effect_count() -> int:
            return await pool.fetchval(
                "SELECT count(*) FROM effects WHERE event_id = $1", event.event_id
            )

        # A marker on the same key (so the same partition, behind both replays): once its
        # effect is there, the consumer has handled both replays, and only one applied.
        marker = received("penanda setelah dua putaran ulang")
        await producer.send_and_wait(COMPLAINTS_INTAKE.name, serialize_event(marker), key=b"replay")

        async def marker_applied() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT count(*) FROM effects WHERE event_id = $1", marker.event_id
                )
            )

        await eventually(marker_applied)
        assert await effect_count() == 1
    finally:
        stop.set()
        await task


# --------------------------------------------------------------------------- batch handlers


class RecordedLetters(DeadLetterPublisher):
    """Dead letters kept in memory: these tests call `process` directly, without a broker."""

    def __init__(self) -> None:
        super().__init__(None, "plumbing-batch")  # type: ignore[arg-type]
        self.letters: list[DeadLetter] = []

    async def publish(self, letters: list[DeadLetter]) -> None:
        self.letters.extend(letters)


def as_records(events: Sequence[EventEnvelope]) -> dict[TopicPartition, list[ConsumerRecord]]:
    records = []
    for offset, event in enumerate(events):
        value = serialize_event(event)
        key = str(event.complaint_id).encode()
        records.append(
            ConsumerRecord("batch", 0, offset, 0, 0, key, value, None, len(key), len(value), ())
        )
    return {TopicPartition("batch", 0): records}


class BatchEffects:
    """A batch handler for ComplaintReceived writing its effects with one statement, and a
    per-event handler for CitizenNotified, recording how they were called."""

    def __init__(self) -> None:
        self.calls: list[list[uuid.UUID]] = []

    async def received(self, events: list[Event], conn: asyncpg.Connection) -> list[EventEnvelope]:
        self.calls.append([event.event_id for event in events])
        if any("meledak" in event.payload.description for event in events):  # type: ignore[attr-defined]
            raise RuntimeError("handler bug for this one event")
        await conn.executemany(
            "INSERT INTO effects VALUES ($1, $2)",
            [(event.event_id, event.payload.description) for event in events],  # type: ignore[attr-defined]
        )
        return [notified(event) for event in events]

    async def notified(self, event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
        self.calls.append([event.event_id])
        await conn.execute("INSERT INTO effects VALUES ($1, 'notified')", event.event_id)
        return ()

    def loop(self, pool: asyncpg.Pool, letters: DeadLetterPublisher) -> ConsumerLoop:
        return ConsumerLoop(
            service="plumbing-batch",
            bootstrap="unused",
            topics=["batch"],
            group_id="unused",
            pool=pool,
            dead_letters=letters,
            handlers={"CitizenNotified": self.notified},
            batch_handlers={"ComplaintReceived": self.received},
        )


async def effects_of(pool: asyncpg.Pool, events: Sequence[EventEnvelope]) -> list[uuid.UUID]:
    rows = await pool.fetch(
        "SELECT event_id FROM effects WHERE event_id = ANY($1::uuid[])",
        [event.event_id for event in events],
    )
    return [row["event_id"] for row in rows]


async def test_a_batch_handler_runs_once_per_batch_in_order_and_repeats_apply_once(
    pool: asyncpg.Pool,
) -> None:
    earlier = received("sudah diproses")
    first, second = received("pertama"), received("kedua")
    other = notified(received("lain"))  # a type with a per-event handler, in between
    handler, letters = BatchEffects(), RecordedLetters()
    loop = handler.loop(pool, letters)
    await loop.process(as_records([earlier]))
    handler.calls.clear()

    await pool.execute("DELETE FROM outbox")
    result = await loop.process(as_records([first, other, first, second, earlier, second]))

    # Called once with the new events it covers, where the first of them falls.
    assert handler.calls == [[first.event_id, second.event_id], [other.event_id]]
    assert (result.handled, result.skipped_duplicates, result.dead_lettered) == (3, 3, 0)
    assert sorted(await effects_of(pool, [first, second, other, earlier])) == sorted(
        [first.event_id, second.event_id, other.event_id, earlier.event_id]
    )
    outbox_ids = [
        row["event_id"] for row in await pool.fetch("SELECT event_id FROM outbox ORDER BY id")
    ]
    assert outbox_ids == [notified(first).event_id, notified(second).event_id]
    assert letters.letters == []


async def test_a_failing_event_in_a_batch_is_dead_lettered_alone(pool: asyncpg.Pool) -> None:
    good, boom, also_good = received("baik"), received("meledak"), received("juga baik")
    handler, letters = BatchEffects(), RecordedLetters()
    await pool.execute("DELETE FROM outbox")

    result = await handler.loop(pool, letters).process(as_records([good, boom, also_good]))

    # The whole batch first, then a savepoint per event with a one-event list.
    assert handler.calls == [
        [good.event_id, boom.event_id, also_good.event_id],
        [good.event_id],
        [boom.event_id],
        [also_good.event_id],
    ]
    assert (result.handled, result.dead_lettered) == (2, 1)
    assert sorted(await effects_of(pool, [good, boom, also_good])) == sorted(
        [good.event_id, also_good.event_id]
    )
    (letter,) = letters.letters
    assert letter.value == serialize_event(boom) and letter.offset == 1
    assert letter.reason.startswith("handler error: RuntimeError")
    # the failed event is not marked processed, so a replay after a fix can handle it
    processed = await pool.fetch(
        "SELECT event_id FROM processed_events WHERE event_id = ANY($1::uuid[])",
        [good.event_id, boom.event_id, also_good.event_id],
    )
    assert boom.event_id not in {row["event_id"] for row in processed} and len(processed) == 2
    outbox_ids = {row["event_id"] for row in await pool.fetch("SELECT event_id FROM outbox")}
    assert outbox_ids == {notified(good).event_id, notified(also_good).event_id}
