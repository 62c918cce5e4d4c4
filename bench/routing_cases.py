"""Routing's own costs against the real PostgreSQL server, in a scratch database.

    python -m bench.routing_cases [N]        (N complaints, default 3000)

Prints: rule choice per complaint; opening cases as the consumer loop does (one transaction
per batch of 500, a savepoint per event, events into the outbox); a replay of the same
events; a deadline scan that fires an escalation for every case, and the idle rescan; and
the desk inbox's latency through the HTTP app.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from schemas.events import Category, Channel, ComplaintAccepted, ComplaintAcceptedPayload, Priority
from services.messaging import outbox
from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import default_keystore
from services.routing.adapters import repository
from services.routing.adapters.repository import MIGRATIONS
from services.routing.domain import choose_agency
from services.routing.entrypoints.app import create_app
from services.routing.handlers.deadlines import scan_deadlines
from services.routing.handlers.opening import open_case

BATCH = 500
REGIONS = ("31.71", "32.73", "35.78", "12.71", "73.71", "51.71", "99.01", None)
CATEGORIES = tuple(Category)


def complaints(count: int, at: datetime) -> list[ComplaintAccepted]:
    events = []
    for index in range(count):
        complaint_id = uuid.uuid4()
        events.append(
            ComplaintAccepted(
                complaint_id=complaint_id,
                correlation_id=complaint_id,
                producer="bench",
                occurred_at=at,
                payload=ComplaintAcceptedPayload(
                    tracking_code=f"LPR-{index:04d}-BNCH-AAA",
                    channel=Channel.WHATSAPP,
                    category=CATEGORIES[index % len(CATEGORIES)],
                    priority=Priority.URGENT if index % 10 == 0 else Priority.NORMAL,
                    region_code=REGIONS[index % len(REGIONS)],
                    summary="bench",
                ),
            )
        )
    return events


async def handle_all(pool: asyncpg.Pool, events: list[ComplaintAccepted]) -> float:
    started = time.perf_counter()
    for first in range(0, len(events), BATCH):
        async with pool.acquire() as conn, conn.transaction():
            for event in events[first : first + BATCH]:
                async with conn.transaction():
                    await outbox.enqueue(conn, await open_case(event, conn))
    return time.perf_counter() - started


async def run(count: int) -> None:
    base = os.environ.get("LAPOR_DATABASE_URL", "postgresql://lapor@127.0.0.1:55432/lapor")
    name = f"lapor_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base.rpartition('/')[0]}/{name}"
    try:
        pool = await create_pool(url, "routing")
        await migrate(pool, "routing", MIGRATIONS)
        rules = await repository.active_rules(pool)
        agencies = set(await repository.agency_names(pool))
        calls = 100_000
        started = time.perf_counter()
        for index in range(calls):
            choose_agency(
                rules, CATEGORIES[index % 12].value, REGIONS[index % len(REGIONS)], agencies
            )
        per_call = (time.perf_counter() - started) / calls * 1e6
        print(f"choose_agency: {per_call:.1f} µs per complaint ({len(rules)} rules)")

        at = datetime.now(UTC) - timedelta(days=60)
        events = complaints(count, at)
        seconds = await handle_all(pool, events)
        print(f"open_case: {count} cases in {seconds:.2f} s = {count / seconds:,.0f} cases/s")
        seconds = await handle_all(pool, events)
        print(f"replay of the same {count}: {seconds:.2f} s = {count / seconds:,.0f} events/s")

        started = time.perf_counter()
        fired = await scan_deadlines(pool, datetime.now(UTC))
        seconds = time.perf_counter() - started
        print(f"deadline scan firing {fired} alerts: {seconds:.2f} s = {fired / seconds:,.0f}/s")
        started = time.perf_counter()
        again = await scan_deadlines(pool, datetime.now(UTC))
        print(
            f"idle rescan of {count} overdue cases: {time.perf_counter() - started:.2f} s,"
            f" {again} alerts (must be 0)"
        )

        await repository.create_officer(pool, "bench", "ATR-BPN", "bench-token")
        app = create_app(lambda: pool, keys=default_keystore())
        timings = []
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://routing"
        ) as client:
            for _ in range(200):
                started = time.perf_counter()
                response = await client.get(
                    "/v1/desk/cases?limit=50", headers={"Authorization": "Bearer bench-token"}
                )
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
        timings.sort()
        owned = await pool.fetchval("SELECT count(*) FROM cases WHERE agency_code = 'ATR-BPN'")
        print(
            f"desk inbox (50 of {owned} cases): p50 {statistics.median(timings):.1f} ms,"
            f" p95 {timings[int(len(timings) * 0.95)]:.1f} ms"
        )
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
