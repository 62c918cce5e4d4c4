"""The review queue's back office: the PostgreSQL pool (opened, with its migrations, by the
bootstrap's `open_pool`, retried until the database answers), the outbox relay that
publishes the decisions, and the other workers on that pool (the state pruning). A faust
runtime dependency, stopped with the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import mode

from services.messaging.database import TRANSIENT_ERRORS
from services.messaging.kafka import make_producer
from services.messaging.outbox import OutboxRelay
from services.messaging.worker import Worker, run_worker
from services.triage.settings import DB_SCHEMA, SERVICE

log = logging.getLogger(__name__)
# How long a stage waits for the pool before the message fails (and is retried or
# dead-lettered by its caller).
POOL_WAIT_SECONDS = 60


class Backoffice(mode.Service):
    """The review queue's PostgreSQL pool and the outbox relay that publishes its decisions."""

    def __init__(
        self,
        open_pool: Callable[[], Awaitable[asyncpg.Pool]],
        kafka_bootstrap: str,
        workers: Sequence[Callable[[asyncpg.Pool], Worker]] = (),
        **kwargs: Any,
    ) -> None:
        self.open_pool = open_pool
        self.kafka_bootstrap = kafka_bootstrap
        self.workers = workers  # each built on the pool once it is open
        self.pool: asyncpg.Pool | None = None
        self.ready = asyncio.Event()
        self.stopping = asyncio.Event()
        self.running: asyncio.Task[None] | None = None
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        self.running = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.pool = await self.open_pool()
                break
            except TRANSIENT_ERRORS as error:
                log.warning("review database unavailable; retrying", extra={"error": repr(error)})
                await asyncio.sleep(2)
        if self.pool is None:
            return
        producer = make_producer(self.kafka_bootstrap, f"{SERVICE}-outbox")
        await producer.start()
        self.ready.set()
        relay = OutboxRelay(self.pool, producer, SERVICE, DB_SCHEMA)
        others = [run_worker(self.pool, build(self.pool), self.stopping) for build in self.workers]
        try:
            await asyncio.gather(relay.run(self.stopping), *others)
        finally:
            await producer.stop()

    async def wait_pool(self) -> asyncpg.Pool:
        """The pool once the back office is ready; TimeoutError after `POOL_WAIT_SECONDS`."""
        await asyncio.wait_for(self.ready.wait(), timeout=POOL_WAIT_SECONDS)
        assert self.pool is not None
        return self.pool

    async def on_stop(self) -> None:
        """Let the relay drain the outbox before the pool closes."""
        self.stopping.set()
        if self.running is not None:
            try:
                await asyncio.wait_for(self.running, timeout=15)
            except Exception:
                log.exception("review back office did not stop cleanly")
        if self.pool is not None:
            await self.pool.close()
