"""Transactional outbox: events are written to the service's `outbox` table in the same
transaction as the state change that caused them; the relay publishes them and deletes the
rows once the broker has acknowledged them.

One relay per service publishes at a time (a PostgreSQL advisory lock elects it), so rows go
out in insertion order. A crash between publish and delete republishes a few rows; the event
ids are unchanged, so consumers' idempotency tables absorb the repeat.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer

from schemas.events import EventEnvelope
from services.messaging.kafka import event_record
from services.messaging.worker import Worker, run_worker
from services.observability import EVENTS_OUT, OUTBOX_BACKLOG

log = logging.getLogger(__name__)


async def enqueue(conn: asyncpg.Connection, events: Sequence[EventEnvelope]) -> None:
    """Add events to the outbox inside the caller's transaction, in one statement (rows keep
    the events' order). Repeats are ignored."""
    if not events:
        return
    columns: tuple[list[object], ...] = ([], [], [], [], [])
    for event in events:
        topic, key, value, headers = event_record(event)
        row = (
            event.event_id,
            topic,
            key,
            value,
            json.dumps([[name, raw.decode()] for name, raw in headers]),
        )
        for column, item in zip(columns, row, strict=True):
            column.append(item)
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, payload, headers)"
        " SELECT e, t, k, p, h::jsonb FROM unnest($1::uuid[], $2::text[], $3::bytea[],"
        " $4::bytea[], $5::text[]) WITH ORDINALITY AS x(e, t, k, p, h, n) ORDER BY n"
        " ON CONFLICT (event_id) DO NOTHING",
        *columns,
    )


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        service: str,
        schema: str,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.service = service
        self.schema = schema
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.wake = asyncio.Event()
        self.worker = Worker(
            name="outbox relay",
            work=self.relay_once,
            poll=self.poll_interval,
            batch_size=self.batch_size,
            leader_lock=f"lapor-outbox-{self.schema}",
            listen=f"{self.schema}_outbox",
            drain_on_stop=True,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await run_worker(self.pool, self.worker, stop, self.wake)

    async def relay_once(self) -> int:
        """Publish one batch of outbox rows; returns how many were published."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, topic, key, payload, headers FROM outbox ORDER BY id LIMIT $1",
                self.batch_size,
            )
            if not rows:
                OUTBOX_BACKLOG.labels(self.service).set(0)
                return 0
            futures = []
            for row in rows:
                headers = [(name, value.encode()) for name, value in json.loads(row["headers"])]
                futures.append(
                    await self.producer.send(
                        row["topic"], value=row["payload"], key=row["key"], headers=headers
                    )
                )
            await asyncio.gather(*futures)
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
            for row in rows:
                EVENTS_OUT.labels(self.service, row["topic"]).inc()
            if len(rows) == self.batch_size:
                OUTBOX_BACKLOG.labels(self.service).set(
                    await conn.fetchval("SELECT count(*) FROM outbox")
                )
            else:
                OUTBOX_BACKLOG.labels(self.service).set(0)
            return len(rows)
