"""The one background worker loop: work in batches until a batch comes back short, then wait
for a wake-up (a PostgreSQL NOTIFY or an in-process event) or the poll interval, and retry
after transient database errors instead of dying.

With `leader_lock` set, one instance of the service works at a time: it holds a PostgreSQL
advisory lock on a dedicated connection for as long as it leads, and the others wait for it
(the outbox relay and the WhatsApp inbox keep their order that way). Without it every
instance works, and the work itself must divide the rows (`FOR UPDATE SKIP LOCKED`).

Users: the outbox relay, intake's WhatsApp inbox, the notifier's sender, routing's deadline
scheduler and SP4N-LAPOR! forwarder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from services.messaging.database import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

# A worker retries whatever the database refuses: its next batch is a fresh attempt.
WORKER_RETRIED_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, asyncpg.PostgresError)
RETRY_SECONDS = 1.0
LEADER_WAIT_SECONDS = 2.0

PoolSource = asyncpg.Pool | Callable[[], asyncpg.Pool]


@dataclass(frozen=True)
class Worker:
    """What a worker does, and how it waits between batches.

    `work` handles one batch and returns how many items it handled. When that number reaches
    `batch_size` the next batch starts at once; otherwise the loop waits up to `poll` seconds
    (or until woken). With `batch_size=None` it always waits (a periodic scan)."""

    name: str
    work: Callable[[], Awaitable[int]]
    poll: float = 1.0
    batch_size: int | None = None
    leader_lock: str | None = None
    listen: str | None = None
    drain_on_stop: bool = False

    @property
    def lock_key(self) -> int:
        assert self.leader_lock is not None
        return zlib.crc32(self.leader_lock.encode())


def _pool(source: PoolSource) -> asyncpg.Pool:
    return source if isinstance(source, asyncpg.Pool) else source()


async def run_worker(
    pool: PoolSource,
    worker: Worker,
    stop: asyncio.Event,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `worker` until `stop` is set; `wake` lets the process itself cut a wait short."""
    wake = wake or asyncio.Event()
    while not stop.is_set():
        try:
            async with _pool(pool).acquire() as conn:
                await _session(conn, worker, stop, wake)
        except WORKER_RETRIED_ERRORS as error:
            log.warning(
                "worker lost the database; retrying",
                extra={"worker": worker.name, "error": repr(error)},
            )
            await sleep_or_stop(stop, RETRY_SECONDS)


async def _session(
    conn: asyncpg.Connection, worker: Worker, stop: asyncio.Event, wake: asyncio.Event
) -> None:
    """One stretch of work on one connection: as leader when the worker needs one."""
    if worker.leader_lock is not None:
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", worker.lock_key):
            if await sleep_or_stop(stop, LEADER_WAIT_SECONDS):
                return

    def on_notify(*_: object) -> None:
        wake.set()

    if worker.listen is not None:
        await conn.add_listener(worker.listen, on_notify)
    try:
        await _work_until_stopped(worker, stop, wake)
    finally:
        with contextlib.suppress(Exception):
            if worker.listen is not None:
                await conn.remove_listener(worker.listen, on_notify)
            if worker.leader_lock is not None:
                await conn.execute("SELECT pg_advisory_unlock($1)", worker.lock_key)


async def _work_until_stopped(worker: Worker, stop: asyncio.Event, wake: asyncio.Event) -> None:
    while not stop.is_set():
        wake.clear()
        handled = await worker.work()
        if worker.batch_size is None or handled < worker.batch_size:
            await _wait_for_either(stop, wake, worker.poll)
    if worker.drain_on_stop:
        # What the final consumer batch committed goes out before the process exits.
        while await worker.work():
            pass


async def _wait_for_either(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep unless stop is set first; returns True when stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
