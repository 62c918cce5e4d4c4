"""Triage's state pruning against real PostgreSQL (`entrypoints.pruning` on the shared worker
loop, `adapters.state.prune`): in a schema of its own, rows past their use (reporter repeats
and days older than any rule reads, candidates outside the window or beyond the latest 64 of
their bucket, decisions past their retention) are deleted in bounded batches, and the rows a
rule can still read are kept."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from services.messaging.database import create_pool, migrate
from services.messaging.worker import run_worker
from services.triage.domain.duplicates import (
    DUPLICATE_WINDOW_DAYS,
    MAX_CANDIDATES_PER_BUCKET,
    day_of,
    expiry,
)
from services.triage.entrypoints.pruning import pruning_worker

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "triage" / "migrations"
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
RETENTION = timedelta(days=14)
OVERFLOW = 6  # candidates beyond the latest 64 of one bucket


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    schema = f"triage_prune_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(database_url, schema, max_size=4)
    await migrate(pool, schema, MIGRATIONS)
    yield pool
    async with pool.acquire() as conn:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await pool.close()


async def fill(conn: asyncpg.Connection) -> dict[str, set[str]]:
    """Rows on both sides of every limit; returns the tracking codes (or ids) to keep."""
    expired = expiry(day_of(NOW))
    repeats = [("old", expired.repeat_day - 1), ("kept", expired.repeat_day)]
    await conn.executemany(
        "INSERT INTO reporter_repeats VALUES ($1, 'fp', gen_random_uuid(), $1, $2)", repeats
    )
    days = [("old", expired.day - 1), ("kept", expired.day)]
    await conn.executemany("INSERT INTO reporter_days VALUES ($1, $2, gen_random_uuid(), 1)", days)
    candidate = (
        "INSERT INTO area_candidates (area, bucket, complaint_id, tracking_code, received_day,"
        " signature) VALUES ($1, $2, gen_random_uuid(), $3, $4, 'sig')"
    )
    edge = expired.candidate_day
    await conn.executemany(
        candidate,
        [
            ("32.73|lainnya", expired.bucket - 1, "old-bucket", expired.bucket * 30 - 1),
            ("32.73|lainnya", (edge - 1) // DUPLICATE_WINDOW_DAYS, "old-day", edge - 1),
            ("32.73|lainnya", edge // DUPLICATE_WINDOW_DAYS, "kept-edge", edge),
        ],
    )
    today, bucket = day_of(NOW), day_of(NOW) // DUPLICATE_WINDOW_DAYS
    crowded = [
        ("31.71|infrastruktur", bucket, f"crowded-{n}", today)
        for n in range(MAX_CANDIDATES_PER_BUCKET + OVERFLOW)
    ]
    await conn.executemany(candidate, crowded)  # seq ascending: the first ones are the oldest
    decisions = [
        (uuid.uuid4(), NOW - RETENTION - timedelta(minutes=1)),
        (kept_decision := uuid.uuid4(), NOW - RETENTION + timedelta(hours=1)),
    ]
    await conn.executemany(
        "INSERT INTO decisions (complaint_id, received_event_id, decision, decided_at)"
        " VALUES ($1, gen_random_uuid(), '\\x00', $2)",
        decisions,
    )
    return {
        "repeats": {"kept"},
        "days": {"kept"},
        "candidates": {"kept-edge"}
        | {f"crowded-{n}" for n in range(OVERFLOW, MAX_CANDIDATES_PER_BUCKET + OVERFLOW)},
        "decisions": {str(kept_decision)},
    }


async def remaining(conn: asyncpg.Connection) -> dict[str, set[str]]:
    async def column(sql: str) -> set[str]:
        return {str(row[0]) for row in await conn.fetch(sql)}

    return {
        "repeats": await column("SELECT tracking_code FROM reporter_repeats"),
        "days": await column("SELECT reporter FROM reporter_days"),
        "candidates": await column("SELECT tracking_code FROM area_candidates"),
        "decisions": await column("SELECT complaint_id FROM decisions"),
    }


async def test_pruning_deletes_rows_past_their_use_in_bounded_batches_and_keeps_the_rest(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        kept = await fill(conn)
    # Batches of 2: the 6 overflowing candidates take several rounds of the loop.
    worker = pruning_worker(pool, RETENTION, interval=0.05, clock=lambda: NOW, batch=2)
    stop = asyncio.Event()
    running = asyncio.create_task(run_worker(pool, worker, stop))
    try:
        async with asyncio.timeout(30):
            while True:
                async with pool.acquire() as conn:
                    if await remaining(conn) == kept:
                        break
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    assert await worker.work() == 0  # nothing else is past its use
    async with pool.acquire() as conn:
        assert await remaining(conn) == kept
