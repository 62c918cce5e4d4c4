"""Per-reporter flood limits, counted in PostgreSQL so they hold across intake instances.

Each admitted action (a complaint filed, a one-time code sent) leaves one row per subject in
`limit_events`: the subject is a keyed hash of the phone, NIK or email (`limits.subject`),
never the value, so the table holds no personal data. The decision itself is
`limits.window_wait`, pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
from prometheus_client import Counter

from services.intake.domain.limits import window_wait

HOUR = timedelta(hours=1)
KEEP = timedelta(hours=2)  # longer than any window, so a sweep never changes a decision
COMPLAINT = "complaint"
ONE_TIME_CODE = "one_time_code"
LIMITED = Counter(
    "lapor_intake_limited_total", "Requests refused or ignored by a flood limit", ["limit"]
)


async def admit(
    conn: asyncpg.Connection,
    action: str,
    subjects: Sequence[str],
    limit: int,
    window: timedelta = HOUR,
) -> float:
    """Record one `action` for every subject if each still has room in the window and
    return 0.0; otherwise record nothing and return the seconds until there is room."""
    async with conn.transaction():
        (wait,) = await admit_many(conn, action, [subjects], limit, window)
    return wait


async def admit_many(
    conn: asyncpg.Connection,
    action: str,
    requests: Sequence[Sequence[str]],
    limit: int,
    window: timedelta = HOUR,
) -> list[float]:
    """`admit` for several requests (each its subjects), decided in order as if one by one,
    in three statements; call it inside the caller's transaction."""
    if limit <= 0:
        return [0.0] * len(requests)
    every = sorted({name for names in requests for name in names})
    if not every:
        return [0.0] * len(requests)
    # Serialise per subject (sorted: no deadlock), so two instances cannot both pass the
    # last free slot.
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1 || ':' || s))"
        " FROM (SELECT unnest($2::text[]) AS s ORDER BY 1) AS ordered",
        action,
        every,
    )
    now = await conn.fetchval("SELECT clock_timestamp()")
    seen: dict[str, list[datetime]] = defaultdict(list)
    for row in await conn.fetch(
        "SELECT subject, at FROM limit_events WHERE action = $1 AND subject = ANY($2) AND at > $3",
        action,
        every,
        now - window,
    ):
        seen[row["subject"]].append(row["at"])
    waits: list[float] = []
    admitted: list[str] = []
    for names in requests:
        unique = sorted(set(names))
        wait = max((window_wait(seen[name], now, limit, window) for name in unique), default=0.0)
        if wait > 0:
            LIMITED.labels(action).inc()
        else:
            for name in unique:
                seen[name].append(now)  # counts against the requests after it
                admitted.append(name)
        waits.append(wait)
    if admitted:
        await conn.execute(
            "INSERT INTO limit_events (subject, action, at) SELECT unnest($1::text[]), $2, $3",
            admitted,
            action,
            now,
        )
    return waits


async def forget_old(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM limit_events WHERE at < now() - $1::interval", KEEP)
