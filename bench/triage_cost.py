"""Per-event triage cost with 10k and with 1M complaints of history, on the PostgreSQL store.

Run: `.venv/bin/python bench/triage_cost.py` (with LAPOR_DATABASE_URL; add
`--history 10000 50000` to choose sizes, `--keep` to keep the database).

It creates a database of its own, and in it one `triage` schema per history size (the real
migrations), fills each with the history as triage's tables would hold it, generated in SQL
with `generate_series` (reporters' repeats and day entries, bans, area candidates with real
signatures, decisions with a real decision event), then VACUUM ANALYZE. Then the same fresh
complaints, sealed with their reporters' keys as intake seals them, go through
`handlers.batch.triage_batch` (what the agent runs per batch: one key store query, the locks,
one statement per table to read and to write, the outbox) in batches of `--batch`, alternating
between the sizes batch by batch so that load from other processes hits every size alike.

Printed: per event, this process's CPU (the handler: parsing aside, opening, rules, rapidfuzz,
asyncpg), the PostgreSQL backend's CPU (from /proc) and the wall time; each schema's size;
and, at the largest size, EXPLAIN (ANALYZE, BUFFERS) of every per-batch query. The cost must
stay flat as history grows: every lookup is an index probe per key of the batch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from schemas.events import (
    Category,
    Channel,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Location,
    Reporter,
    serialize_event,
)
from services.messaging.database import create_pool, migrate
from services.personal_data.field_crypto import seal_model
from services.personal_data.keystore import Keystore
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.adapters.state import (
    BANS_SQL,
    CANDIDATES_SQL,
    DAYS_SQL,
    DECISIONS_SQL,
    LOCK_SQL,
    REPEATS_SQL,
    lock_keys,
)
from services.triage.domain.duplicates import (
    DUPLICATE_WINDOW_DAYS,
    MAX_CANDIDATES_PER_BUCKET,
    day_of,
    signature,
)
from services.triage.handlers.batch import open_batch, triage_batch
from services.triage.handlers.stages import batch_lookups, decide

SECRET = b"bench-key"
NOW = datetime.now(UTC).replace(microsecond=0)
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "triage_labelled.jsonl"
MIGRATIONS = ROOT / "services" / "triage" / "migrations"
REGIONS = [f"{p:02d}.{k:02d}" for p in (11, 12, 31, 32, 33, 34, 35, 51, 64, 73) for k in (1, 71)]
SIGNATURES = 2000


def base_texts() -> list[str]:
    records = [json.loads(line) for line in DATA.read_text().splitlines()]
    return [r["description"] for r in records if r["label"] == "genuine" and not r["duplicate_of"]]


def variant(rng: random.Random, texts: list[str], index: int) -> str:
    words = rng.choice(texts).split()
    rng.shuffle(words)
    return " ".join(words[:12]) + f" kejadian nomor {index} di RT {index % 40}"


async def fill(conn: asyncpg.Connection, size: int, texts: list[str], decision: bytes) -> None:
    """`size` complaints of history over the last 30 days, in every table a batch reads."""
    rng = random.Random(size)
    sigs = [signature(variant(rng, texts, index)) for index in range(SIGNATURES)]
    today = day_of(NOW)
    await conn.execute("CREATE TEMP TABLE sigs (n int PRIMARY KEY, sig text)")
    await conn.executemany("INSERT INTO sigs VALUES ($1, $2)", list(enumerate(sigs)))
    params = (size, today, max(size // 2, 1))
    rows = (
        "FROM generate_series(1, $1) AS i,"
        " LATERAL (SELECT md5('r' || (i % $3))::text AS who, $2 - (i % 30) AS day,"
        " md5('c' || i)::uuid AS cid) g"
    )
    await conn.execute(
        "INSERT INTO reporter_repeats SELECT who, md5('f' || i), cid, 'LPR-H' || i, day " + rows,
        *params,
    )
    await conn.execute(
        "INSERT INTO reporter_days SELECT who, day, cid, 1 + i / $3 " + rows, *params
    )
    await conn.execute(
        "INSERT INTO reporter_bans SELECT DISTINCT who, 'bench', 'bench', now() "
        + rows
        + " WHERE i % 997 = 0",
        *params,
    )
    await conn.execute(
        "INSERT INTO area_candidates (area, bucket, complaint_id, tracking_code, received_day,"
        " signature) SELECT ($4::text[])[1 + i % cardinality($4::text[])] || '|'"
        " || ($5::text[])[1 + (i / cardinality($4::text[])) % cardinality($5::text[])],"
        f" day / {DUPLICATE_WINDOW_DAYS}, cid, 'LPR-H' || i, day, s.sig "
        + rows
        + f", sigs s WHERE s.n = i % {SIGNATURES} ORDER BY i",
        *params,
        REGIONS,
        [str(category) for category in Category],
    )
    await conn.execute(
        "INSERT INTO decisions SELECT cid, md5('e' || i)::uuid, $4 " + rows, *params, decision
    )
    await conn.execute("DROP TABLE sigs")


def fresh(rng: random.Random, texts: list[str], count: int) -> list[ComplaintReceived]:
    events = []
    for index in range(count):
        complaint_id = uuid.UUID(int=rng.getrandbits(128))
        events.append(
            ComplaintReceived(
                complaint_id=complaint_id,
                correlation_id=complaint_id,
                producer="intake",
                payload=ComplaintReceivedPayload(
                    tracking_code=f"LPR-NEW-{index}",
                    channel=Channel.WEB,
                    reporter=Reporter(
                        name="Warga",
                        nik=f"3273011501{index % 90 + 10:02d}{index % 500:04d}",
                        phone=f"+62812{index % 500:08d}",
                    ),
                    description=variant(rng, texts, 10_000_000 + index),
                    location=Location(region_code=rng.choice(REGIONS)),
                    received_at=NOW,
                ),
            )
        )
    return events


async def sealed(
    pool: asyncpg.Pool, keys: Keystore, events: list[ComplaintReceived]
) -> list[ComplaintReceived]:
    """The events sealed with their reporters' keys (one key per NIK), as intake seals them."""
    identities = [f"nik:{event.payload.reporter.nik}" for event in events]
    async with pool.acquire() as conn:
        found = await keys.keys_for(conn, identities)
    return [
        seal_model(event, found[identity])
        for event, identity in zip(events, identities, strict=True)
    ]


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend on this machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    cpu: list[float] = field(default_factory=list)  # per batch, this process, seconds
    backend: float = 0.0
    wall: list[float] = field(default_factory=list)
    events: int = 0


async def measure(
    conn: asyncpg.Connection, reader: PersonalDataReader, batch: list[ComplaintReceived]
) -> tuple[float, float, float]:
    pid = conn.get_server_pid()
    backend, cpu, wall = backend_cpu(pid), time.process_time(), time.perf_counter()
    await triage_batch(conn, reader, SECRET, batch)
    return (
        time.process_time() - cpu,
        backend_cpu(pid) - backend,
        time.perf_counter() - wall,
    )


async def explain(
    conn: asyncpg.Connection, reader: PersonalDataReader, batch: list[ComplaintReceived]
) -> None:
    complaints = await open_batch(reader, batch, SECRET)
    lookups = batch_lookups(complaints)

    def columns(keys: frozenset[tuple[str, object]]) -> list[list[object]]:
        ordered = sorted(keys)
        return [[key[0] for key in ordered], [key[1] for key in ordered]]

    queries = {
        "locks": (LOCK_SQL, [lock_keys((c.area for c in complaints), lookups.reporters)]),
        "decisions": (DECISIONS_SQL, [[c.received.complaint_id for c in complaints]]),
        "repeats": (REPEATS_SQL, columns(lookups.repeats)),
        "days": (DAYS_SQL, columns(lookups.days)),
        "bans": (BANS_SQL, [sorted(lookups.reporters)]),
        "candidates": (CANDIDATES_SQL, [*columns(lookups.buckets), MAX_CANDIDATES_PER_BUCKET]),
    }
    async with conn.transaction():
        for name, (sql, args) in queries.items():
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, *args)
            print(f"\n-- {name} ({len(complaints)} complaints)")
            # The arrays show inline in the plan: cut each line short.
            print("\n".join(_short(row[0]) for row in plan))
        raise _Rollback  # the EXPLAIN ANALYZE of the locks took them: let them go


class _Rollback(Exception):
    pass


def _short(line: str, width: int = 160) -> str:
    return line if len(line) <= width else line[: width - 5] + " ...)"


async def sizes(conn: asyncpg.Connection, schemas: dict[int, str]) -> None:
    for size, schema in schemas.items():
        rows = await conn.fetch(
            "SELECT c.relname, pg_total_relation_size(c.oid) AS bytes FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 2 DESC",
            schema,
        )
        total = sum(row["bytes"] for row in rows)
        parts = ", ".join(f"{row['relname']} {row['bytes'] / 2**20:,.0f}" for row in rows[:6])
        print(f"history {size:>9,}: schema {total / 2**20:,.0f} MB ({parts} MB)")


async def run(args: argparse.Namespace) -> None:
    base = os.environ["LAPOR_DATABASE_URL"]
    name = f"lapor_bench_triage_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base.rpartition('/')[0]}/{name}"
    texts = base_texts()
    keys = Keystore.from_env()
    pools: dict[int, asyncpg.Pool] = {}
    try:
        sample = fresh(random.Random(1), texts, 1)[0]
        decision = serialize_event(decide(sample))
        for size in args.history:
            pool = await create_pool(url, f"triage_{size}", max_size=4)
            await migrate(pool, f"triage_{size}", MIGRATIONS)
            async with pool.acquire() as conn:
                await Keystore.ensure(conn)
                started = time.perf_counter()
                await fill(conn, size, texts, decision)
                await conn.execute("VACUUM ANALYZE")
            print(f"history {size:>9,}: generated in {time.perf_counter() - started:6.1f} s")
            pools[size] = pool
        await compare(args, pools, keys, texts)
        async with pools[args.history[-1]].acquire() as conn:
            await sizes(conn, {size: f"triage_{size}" for size in args.history})
            print(f"\nEXPLAIN of the per-batch queries at {args.history[-1]:,} of history:")
            reader = PersonalDataReader(keys, _source(pools[args.history[-1]]))
            batch = fresh(random.Random(99), texts, args.batch)
            try:
                await explain(conn, reader, await sealed(pools[args.history[-1]], keys, batch))
            except _Rollback:
                pass
    finally:
        for pool in pools.values():
            await pool.close()
        if not args.keep:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")
        await admin.close()


def _source(pool: asyncpg.Pool):  # type: ignore[no-untyped-def]
    async def source() -> asyncpg.Pool:
        return pool

    return source


async def compare(
    args: argparse.Namespace, pools: dict[int, asyncpg.Pool], keys: Keystore, texts: list[str]
) -> None:
    """The same sealed complaints through every size, batch by batch, alternating."""
    first = pools[args.history[0]]
    events = await sealed(first, keys, fresh(random.Random(7), texts, args.events))
    warm = await sealed(first, keys, fresh(random.Random(8), texts, args.batch))
    measured = {size: Measured() for size in pools}
    conns = {size: await pool.acquire() for size, pool in pools.items()}
    readers = {size: PersonalDataReader(keys, _source(pool)) for size, pool in pools.items()}
    try:
        for size in pools:  # warm the stemmer cache, the key cache and the plans
            await triage_batch(conns[size], readers[size], SECRET, warm)
        for start in range(0, len(events), args.batch):
            batch = events[start : start + args.batch]
            for size in pools:
                cpu, backend, wall = await measure(conns[size], readers[size], batch)
                entry = measured[size]
                entry.cpu.append(cpu / len(batch))
                entry.wall.append(wall / len(batch))
                entry.backend += backend
                entry.events += len(batch)
    finally:
        for size, conn in conns.items():
            await pools[size].release(conn)
    for size, entry in measured.items():
        mean, median = statistics.fmean(entry.cpu) * 1e6, statistics.median(entry.cpu) * 1e6
        print(
            f"history {size:>9,}: per event: triage CPU mean {mean:5.0f} µs"
            f" (median of batches {median:5.0f}),"
            f" PostgreSQL backend CPU {entry.backend / entry.events * 1e6:4.0f} µs,"
            f" wall {statistics.fmean(entry.wall) * 1e6:5.0f} µs;"
            f" {entry.events:,} events in batches of {args.batch}"
        )
    low, high = measured[args.history[0]], measured[args.history[-1]]
    change = statistics.median(high.cpu) / statistics.median(low.cpu) - 1
    print(
        f"triage CPU per event (median of batches) from {args.history[0]:,} to"
        f" {args.history[-1]:,} of history: {change * 100:+.1f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--keep", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
