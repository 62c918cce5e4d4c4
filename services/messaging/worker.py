"""The one background worker loop: work in batches until a batch comes back short, then wait
for a wake-up (a PostgreSQL NOTIFY or an in-process event) or the poll interval, and retry
after transient database errors instead of dying.

With `leader_lock` set, one instance of the service works at a time: it holds a PostgreSQL
advisory lock on a dedicated connection for as long as it leads, and the others wait for it
(the outbox relay and the WhatsApp inbox keep their order that way). Without it every
instance works, and the work itself must divide the rows (`FOR UPDATE SKIP LOCKED`).

With `shards` set, the work is divided into that many shards (e.g. by a hash of the key
whose order matters) and `workers` tasks per instance go round them: `work_shard(shard)`
handles one batch of one shard and claims it first with `claim_shard` (a transaction-level
advisory lock, taken inside the batch's transaction), so one batch of a shard runs at a
time across all workers and instances, each shard's batches in order, and a worker that
dies mid-batch frees its shard with its rolled-back transaction. A claimed shard answers
`None` (another worker has it) and the worker moves on to the next.

Users: the outbox relay, intake's WhatsApp inbox, the notifier's sender, routing's deadline
scheduler and SP4N-LAPOR! forwarder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import asyncpg

from services.messaging.database import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

# A worker retries whatever the database refuses: its next batch is a fresh attempt.
WORKER_RETRIED_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, asyncpg.PostgresError)
RETRY_SECONDS = 1.0
LEADER_WAIT_SECONDS = 2.0

PoolSource = asyncpg.Pool | Callable[[], asyncpg.Pool]
ShardWork = Callable[[int], Awaitable[int | None]]
# The shards that may have work (a superset is fine): one cheap query per round instead of a
# claim per shard, which going round 16 idle shards every poll cost.
PendingShards = Callable[[], Awaitable[set[int]]]


@dataclass(frozen=True)
class Worker:
    """What a worker does, and how it waits between batches.

    `work` handles one batch and returns how many items it handled. When that number reaches
    `batch_size` the next batch starts at once; otherwise the loop waits up to `poll` seconds
    (or until woken). With `batch_size=None` it always waits (a periodic scan). `linger`
    lets work gather after a short batch even when woken at once (bigger batches, cheaper
    items, at that much more latency).

    A sharded worker (built by `sharded`) has `work_shard` and runs `workers` tasks, each
    going round the `shards` shards with its own `work`."""

    name: str
    work: Callable[[], Awaitable[int]]
    poll: float = 1.0
    batch_size: int | None = None
    leader_lock: str | None = None
    listen: str | None = None
    drain_on_stop: bool = False
    shards: int = 0
    workers: int = 1
    work_shard: ShardWork | None = None
    linger: float = 0.0  # after a short batch, wait this long even when woken
    pending_shards: PendingShards | None = None

    @property
    def lock_key(self) -> int:
        assert self.leader_lock is not None
        return zlib.crc32(self.leader_lock.encode())


def sharded(
    name: str,
    work_shard: ShardWork,
    *,
    shards: int,
    workers: int,
    batch_size: int,
    poll: float = 1.0,
    linger: float = 0.0,
    pending: PendingShards | None = None,
) -> Worker:
    """A worker of `workers` tasks going round `shards` shards (`work` is one round); with
    `pending`, a round visits only the shards it names."""
    if shards < 1 or workers < 1:
        raise ValueError("a sharded worker needs at least one shard and one worker")
    return Worker(
        name=name,
        work=_round(work_shard, shards, batch_size, 0, pending),
        pending_shards=pending,
        poll=poll,
        batch_size=batch_size,
        shards=shards,
        workers=workers,
        work_shard=work_shard,
        linger=linger,
    )


def _round(
    work_shard: ShardWork,
    shards: int,
    batch_size: int | None,
    start: int,
    pending: PendingShards | None = None,
) -> Callable[[], Awaitable[int]]:
    """One task's round over the shards (those `pending` names, when given), from its own
    `start` (tasks spread over the shards so those of one instance rarely meet); it reports a
    full batch when any shard gave one (there is more: go round again at once)."""

    busy = False  # the last round found more work: in a surge, skip the pending query

    async def round_over_shards() -> int:
        nonlocal busy
        full = False
        wanted = await pending() if pending is not None and not busy else None
        for step in range(shards):
            shard = (start + step) % shards
            if wanted is not None and shard not in wanted:
                continue
            handled = await work_shard(shard)
            full = full or handled == batch_size
        busy = full
        return (batch_size or 0) if full else 0

    return round_over_shards


def shard_lock_class(name: str) -> int:
    """The first key of a sharded worker's advisory locks (a signed 32-bit int)."""
    key = zlib.crc32(f"lapor-shards-{name}".encode())
    return key - (1 << 32) if key >= 1 << 31 else key


async def claim_shard(conn: asyncpg.Connection, name: str, shard: int) -> bool:
    """Claim `shard` of the sharded worker `name` for the current transaction (released at
    its commit or rollback, or when the connection dies); False when another has it."""
    return bool(
        await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock($1, $2)", shard_lock_class(name), shard
        )
    )


def _tasks(worker: Worker) -> list[Worker]:
    """A sharded worker's tasks, each a plain worker going round the shards from its own."""
    assert worker.work_shard is not None
    return [
        replace(
            worker,
            name=f"{worker.name} {index}",
            work=_round(
                worker.work_shard,
                worker.shards,
                worker.batch_size,
                index * worker.shards // worker.workers,
                worker.pending_shards,
            ),
            work_shard=None,
        )
        for index in range(worker.workers)
    ]


def _pool(source: PoolSource) -> asyncpg.Pool:
    return source if isinstance(source, asyncpg.Pool) else source()


async def run_worker(
    pool: PoolSource,
    worker: Worker,
    stop: asyncio.Event,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `worker` until `stop` is set; `wake` lets the process itself cut a wait short.
    A worker of several tasks (`workers`) runs each as a worker of its own."""
    wake = wake or asyncio.Event()
    if worker.work_shard is not None:
        await asyncio.gather(*(run_worker(pool, task, stop, wake) for task in _tasks(worker)))
        return
    while not stop.is_set():
        try:
            if worker.leader_lock is None and worker.listen is None:
                await _work_until_stopped(worker, stop, wake)  # its work takes connections
                continue
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
            if worker.linger and await sleep_or_stop(stop, worker.linger):
                break
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
