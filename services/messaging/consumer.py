"""The batch consumer loop shared by every database-backed service.

For each batch read with `getmany`:
1. decode every record; what does not parse goes to the dead-letter list with the reason
   (a record whose `event_type` header names a type without a handler is skipped unparsed);
2. in one database transaction: mark the batch's event ids in `processed_events` (repeats,
   earlier or inside the batch, are skipped), run the handlers of the new events in batch
   order, and put the events they return into the outbox in one write. An event type has
   either a per-event handler `(event, conn)` or a batch handler `(events, conn)`: a batch
   handler is called once, where the first of its events falls, with all the new events it
   covers (in batch order), so it can write them with one statement. If any handler raises,
   the transaction is rolled back and the batch is run again with a savepoint per event
   (a batch handler then gets a one-event list), so only the failing event is dead-lettered;
3. commit the transaction, then publish the dead letters, and only then commit the offsets.

A crash anywhere before step 3's offset commit redelivers the batch, and the processed-events
table turns the redelivery into a no-op. Database outages abort the batch (no offsets
committed) rather than dead-lettering good events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError

from schemas.events import Event, EventEnvelope, parse_event
from services.messaging import outbox
from services.messaging.database import TRANSIENT_ERRORS
from services.messaging.deadletter import DeadLetter, DeadLetterPublisher
from services.observability import (
    EVENTS_IN,
    HANDLE_SECONDS,
    correlation_id_var,
)

log = logging.getLogger(__name__)

Handler = Callable[[Event, asyncpg.Connection], Awaitable[Sequence[EventEnvelope]]]
BatchHandler = Callable[[list[Event], asyncpg.Connection], Awaitable[Sequence[EventEnvelope]]]
MAX_MESSAGE_BYTES = 1024 * 1024
FETCH_MIN_BYTES = 64 * 1024
# 50, not 100: at 200 complaints/s every hop waited it out (the p99 from the intake topic to the
# citizen's notification 459-511 ms at 100, 392-536 at 50, for 0.9 ms more machine CPU per
# complaint; at saturation 64 KiB gathers first). Idle, the four services and Kafka cost
# 155 ms of CPU a second at 50, 115 at 100 (2026-12-07).
FETCH_MAX_WAIT_MS = 50


def describe_validation_error(error: ValidationError) -> str:
    """A reason that names the fields and problems but never echoes the input (PII)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False)[:10]:
        location = ".".join(str(part) for part in item["loc"]) or "<root>"
        parts.append(f"{location}: {item['msg']}")
    return "invalid event: " + "; ".join(parts)


def decode(record: ConsumerRecord) -> Event | str:
    """The event in a record, or the reason it cannot be one."""
    value = record.value
    if value is None:
        return "empty message (tombstone) on an event topic"
    if len(value) > MAX_MESSAGE_BYTES:
        return f"message of {len(value)} bytes exceeds the {MAX_MESSAGE_BYTES} byte limit"
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"invalid UTF-8 at byte {error.start}"
    try:
        return parse_event(value)
    except ValidationError as error:
        return describe_validation_error(error)


class _HandlerFailed(Exception):
    """A handler raised while the batch ran without savepoints."""


@dataclass
class BatchResult:
    handled: int = 0
    skipped_duplicates: int = 0
    dead_lettered: int = 0


class ConsumerLoop:
    def __init__(
        self,
        *,
        service: str,
        bootstrap: str,
        topics: Sequence[str],
        group_id: str,
        pool: asyncpg.Pool,
        dead_letters: DeadLetterPublisher,
        handlers: Mapping[str, Handler],
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        max_records: int = 500,
    ) -> None:
        self.service = service
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.group_id = group_id
        self.pool = pool
        self.dead_letters = dead_letters
        self.handlers = dict(handlers)
        # A type with a batch handler uses it; its per-event handler (if any) is not called.
        self.batch_handlers = dict(batch_handlers or {})
        self.max_records = max_records
        self.consumer: AIOKafkaConsumer | None = None
        self.assigned = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            client_id=f"{self.service}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_records,
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            # Under load the broker answers once a batch's worth has gathered rather than per
            # message, so each transaction and offset commit covers many events; idle, it
            # answers within FETCH_MAX_WAIT_MS anyway.
            fetch_min_bytes=FETCH_MIN_BYTES,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        self.consumer = consumer
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                if consumer.assignment():
                    self.assigned.set()
                if not batches:
                    continue
                await self.process_with_retry(batches, stop)
                await self._commit(consumer, batches)
        finally:
            await consumer.stop()
            self.consumer = None

    def ignores(self, record: ConsumerRecord) -> bool:
        """An event this service has no handler for, by its `event_type` header: skipped
        without parsing its body (a record without the header is parsed, and dead-lettered
        when it is no event)."""
        for name, value in record.headers or ():
            if name == "event_type":
                event_type = value.decode(errors="replace")
                return event_type not in self.handlers and event_type not in self.batch_handlers
        return False

    async def process_with_retry(
        self, batches: Mapping[TopicPartition, list[ConsumerRecord]], stop: asyncio.Event
    ) -> BatchResult:
        delay = 0.2
        while True:
            try:
                return await self.process(batches)
            except TRANSIENT_ERRORS as error:
                if stop.is_set():
                    raise
                log.warning(
                    "batch failed on infrastructure; retrying", extra={"error": repr(error)}
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def process(self, batches: Mapping[TopicPartition, list[ConsumerRecord]]) -> BatchResult:
        started = time.perf_counter()
        result = BatchResult()
        letters: list[DeadLetter] = []
        decoded: list[tuple[ConsumerRecord, Event]] = []
        for tp, records in batches.items():
            EVENTS_IN.labels(self.service, tp.topic).inc(len(records))
            for record in records:
                if self.ignores(record):
                    continue
                item = decode(record)
                if isinstance(item, str):
                    letters.append(_letter(record, item))
                elif item.event_type in self.handlers or item.event_type in self.batch_handlers:
                    decoded.append((record, item))

        if decoded:
            try:
                # Common case: the whole batch in one transaction, outbox rows in one write.
                await self._apply(decoded, result, letters, isolate=False)
            except _HandlerFailed:
                # Some handler raised: redo the batch with a savepoint per event, so only the
                # failing events are dead-lettered and the rest still take effect.
                result.handled = result.skipped_duplicates = 0
                await self._apply(decoded, result, letters, isolate=True)

        if letters:
            await self.dead_letters.publish(letters)
            result.dead_lettered = len(letters)
        HANDLE_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        return result

    async def _apply(
        self,
        decoded: list[tuple[ConsumerRecord, Event]],
        result: BatchResult,
        letters: list[DeadLetter],
        *,
        isolate: bool,
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            fresh_ids = set(
                await conn.fetchval(
                    "WITH inserted AS (INSERT INTO processed_events (event_id)"
                    " SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id)"
                    " SELECT coalesce(array_agg(event_id), '{}') FROM inserted",
                    list({event.event_id for _, event in decoded}),
                )
            )
            fresh: list[tuple[ConsumerRecord, Event]] = []
            for record, event in decoded:
                if event.event_id not in fresh_ids:
                    result.skipped_duplicates += 1
                    continue
                fresh_ids.discard(event.event_id)  # a repeat inside the batch is a duplicate too
                fresh.append((record, event))
            if isolate:
                await self._apply_isolated(conn, fresh, result, letters)
            else:
                await outbox.enqueue(conn, await self._apply_together(conn, fresh, result))

    async def _apply_together(
        self,
        conn: asyncpg.Connection,
        fresh: list[tuple[ConsumerRecord, Event]],
        result: BatchResult,
    ) -> list[EventEnvelope]:
        """Every handler on the batch's connection, no savepoints; raises _HandlerFailed."""
        pending: dict[BatchHandler, list[Event]] = {}
        for _, event in fresh:
            batch_handler = self.batch_handlers.get(event.event_type)
            if batch_handler is not None:
                pending.setdefault(batch_handler, []).append(event)
        outgoing: list[EventEnvelope] = []
        for _, event in fresh:
            batch_handler = self.batch_handlers.get(event.event_type)
            try:
                if batch_handler is None:
                    token = correlation_id_var.set(str(event.correlation_id))
                    try:
                        outgoing.extend(await self.handlers[event.event_type](event, conn))
                    finally:
                        correlation_id_var.reset(token)
                elif batch_handler in pending:  # its first event: run all of them now
                    outgoing.extend(await batch_handler(pending.pop(batch_handler), conn))
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                raise _HandlerFailed from error
            result.handled += 1
        return outgoing

    async def _apply_isolated(
        self,
        conn: asyncpg.Connection,
        fresh: list[tuple[ConsumerRecord, Event]],
        result: BatchResult,
        letters: list[DeadLetter],
    ) -> None:
        """A savepoint per event: a failing event is dead-lettered, the others take effect."""
        for record, event in fresh:
            token = correlation_id_var.set(str(event.correlation_id))
            try:
                async with conn.transaction():
                    batch_handler = self.batch_handlers.get(event.event_type)
                    if batch_handler is not None:
                        caused = await batch_handler([event], conn)
                    else:
                        caused = await self.handlers[event.event_type](event, conn)
                    await outbox.enqueue(conn, caused)
                result.handled += 1
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                log.exception("handler failed", extra={"event_type": event.event_type})
                await conn.execute(
                    "DELETE FROM processed_events WHERE event_id = $1", event.event_id
                )
                letters.append(_letter(record, f"handler error: {type(error).__name__}: {error}"))
            finally:
                correlation_id_var.reset(token)

    async def _commit(
        self, consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        offsets = {tp: records[-1].offset + 1 for tp, records in batches.items() if records}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as error:
            # The partitions moved to another instance mid-batch; it will redeliver and the
            # processed-events table makes that harmless.
            log.warning("offset commit failed after rebalance", extra={"error": repr(error)})


def _letter(record: ConsumerRecord, reason: str) -> DeadLetter:
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        reason=reason,
    )
