"""Triage's state pruning: a periodic scan on the shared worker loop
(`services.messaging.worker`) that deletes, in bounded batches, the one-pass state no rule can
read any more (`domain.duplicates.expiry`) and the decisions past their retention
(`TriageSettings.decision_retention_days`). Every instance runs it; deletes of the same rows
simply meet (the second finds them gone)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from services.messaging.worker import Worker
from services.triage.adapters.state import prune
from services.triage.domain.duplicates import day_of, expiry

log = logging.getLogger(__name__)

# Rows per delete statement: each is its own short transaction. A round that deletes this many
# from any table is followed at once by the next.
PRUNE_BATCH = 5_000

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def pruning_worker(
    pool: asyncpg.Pool,
    decision_retention: timedelta,
    interval: float,
    clock: Clock = _now,
    batch: int = PRUNE_BATCH,
) -> Worker:
    """The worker pruning triage's state every `interval` seconds (at once again while a
    round deletes full batches)."""

    async def prune_round() -> int:
        now = clock()
        async with pool.acquire() as conn:
            deleted = await prune(conn, expiry(day_of(now)), now - decision_retention, batch)
        if any(deleted.values()):
            log.info("pruned triage state", extra={"deleted": deleted})
        return max(deleted.values())

    return Worker(name="triage state pruning", work=prune_round, poll=interval, batch_size=batch)
