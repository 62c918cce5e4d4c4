"""Triage's state in PostgreSQL (schema `triage`, migration 0005), read and written once per
batch, inside the batch's transaction:

- `lock`: advisory transaction locks on every area and reporter of the batch, taken in one
  statement in ascending key order (so two instances never deadlock), before anything is read:
  two instances deciding near duplicates of one area, or complaints of one reporter, take turns;
- `decisions`: the decisions already taken for the batch's complaints (a replay re-emits them);
- `history`: the reporters' exact repeats, daily complaints and bans, and the areas' latest
  near-duplicate candidates per bucket, for exactly the keys the batch looks up
  (`domain.duplicates.Lookups`): one statement per table, each an index lookup per key, so the
  cost does not grow with history;
- `save`: the batch's new rows (repeats, day entries, candidates, decisions, review items) and
  its decision events into the outbox, one statement per table.

`prune` deletes, in bounded batches and outside any batch's transaction, the rows no rule can
read any more (`domain.duplicates.Expiry`) and the decisions older than their retention.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg

from schemas.events import EventEnvelope, parse_event, serialize_event
from services.messaging import outbox
from services.triage.adapters.repository import ReviewRow, enqueue_reviews
from services.triage.domain.duplicates import (
    MAX_CANDIDATES_PER_BUCKET,
    Candidate,
    Expiry,
    History,
    Lookups,
    Original,
)

# One namespace per kind of lock key, so an area never shares a lock with a reporter.
AREA_LOCK = "lapor-triage-area:"
REPORTER_LOCK = "lapor-triage-reporter:"

LOCK_SQL = (
    "SELECT count(pg_advisory_xact_lock(key))"
    " FROM unnest($1::bigint[]) WITH ORDINALITY AS k(key, n)"
)
DECISIONS_SQL = "SELECT complaint_id, decision FROM decisions WHERE complaint_id = ANY($1::uuid[])"
REPEATS_SQL = (
    "SELECT r.reporter, r.fingerprint, r.complaint_id, r.tracking_code, r.received_day"
    " FROM unnest($1::text[], $2::text[]) AS k(reporter, fingerprint)"
    " JOIN reporter_repeats r USING (reporter, fingerprint)"
)
DAYS_SQL = (
    "SELECT d.reporter, d.day, d.complaint_id"
    " FROM unnest($1::text[], $2::int[]) AS k(reporter, day)"
    " JOIN reporter_days d USING (reporter, day) ORDER BY d.reporter, d.day, d.ordinal"
)
BANS_SQL = "SELECT reporter FROM reporter_bans WHERE reporter = ANY($1::text[])"
CANDIDATES_SQL = (
    "SELECT k.area, k.bucket, c.seq, c.complaint_id::text, c.tracking_code, c.received_day,"
    " c.signature"
    " FROM unnest($1::text[], $2::int[]) AS k(area, bucket)"
    " CROSS JOIN LATERAL (SELECT * FROM area_candidates a"
    "  WHERE a.area = k.area AND a.bucket = k.bucket ORDER BY a.seq DESC LIMIT $3) c"
)


def lock_key(namespace: str, name: str) -> int:
    """A signed 64-bit advisory lock key for `name`."""
    digest = hashlib.blake2b((namespace + name).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_keys(areas: Iterable[str], reporters: Iterable[str]) -> list[int]:
    """Every lock a batch takes, in the one order all instances take them."""
    keys = {lock_key(AREA_LOCK, area) for area in areas}
    keys |= {lock_key(REPORTER_LOCK, reporter) for reporter in reporters}
    return sorted(keys)


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows as one list per column, for `unnest`."""
    return [[row[index] for row in rows] for index in range(width)]


class TriageState:
    """The state statements on one connection, inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock(self, areas: Iterable[str], reporters: Iterable[str]) -> None:
        # WITH ORDINALITY and the sorted array: the locks are taken in ascending key order.
        await self.conn.fetchval(LOCK_SQL, lock_keys(areas, reporters))

    async def decisions(self, complaint_ids: Iterable[str | uuid.UUID]) -> dict[str, EventEnvelope]:
        rows = await self.conn.fetch(DECISIONS_SQL, list(set(complaint_ids)))
        return {str(row["complaint_id"]): parse_event(row["decision"]) for row in rows}

    async def history(self, keys: Lookups) -> History:
        history = History()
        repeats = _columns(sorted(keys.repeats), 2)
        for row in await self.conn.fetch(REPEATS_SQL, *repeats):
            history.repeats[(row["reporter"], row["fingerprint"])] = Original(
                str(row["complaint_id"]), row["tracking_code"], row["received_day"]
            )
        for key in keys.days:
            history.days[key] = []
        for row in await self.conn.fetch(DAYS_SQL, *_columns(sorted(keys.days), 2)):
            history.days[(row["reporter"], row["day"])].append(str(row["complaint_id"]))
        bans = await self.conn.fetch(BANS_SQL, sorted(keys.reporters))
        history.banned = {row["reporter"] for row in bans}
        buckets = _columns(sorted(keys.buckets), 2)
        rows = await self.conn.fetch(CANDIDATES_SQL, *buckets, MAX_CANDIDATES_PER_BUCKET)
        # Oldest first; the columns by position (a batch reads thousands of candidates).
        for area, bucket, _, complaint_id, tracking_code, day, signed in sorted(
            rows, key=lambda found: found[2]
        ):
            history.candidates.setdefault((area, bucket), []).append(
                Candidate(complaint_id, tracking_code, day, signed)
            )
        return history

    async def save(
        self,
        history: History,
        decided: Sequence[tuple[str, str, EventEnvelope]],
        reviews: Sequence[ReviewRow],
        events: Sequence[EventEnvelope],
    ) -> None:
        """The batch's new state rows, its fresh decisions (complaint id, received event id,
        decision), its review items, and the events to publish."""
        await self._save_reporters(history)
        if history.added_candidates:
            await self.conn.execute(
                "INSERT INTO area_candidates (area, bucket, complaint_id, tracking_code,"
                " received_day, signature) SELECT * FROM unnest($1::text[], $2::int[],"
                " $3::uuid[], $4::text[], $5::int[], $6::text[]) ON CONFLICT DO NOTHING",
                *_columns(
                    [
                        (
                            area,
                            bucket,
                            uuid.UUID(c.complaint_id),
                            c.tracking_code,
                            c.received_day,
                            c.signature,
                        )
                        for area, bucket, c in history.added_candidates
                    ],
                    6,
                ),
            )
        if decided:
            await self.conn.execute(
                "INSERT INTO decisions (complaint_id, received_event_id, decision)"
                " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bytea[])"
                " ON CONFLICT DO NOTHING",
                [uuid.UUID(complaint_id) for complaint_id, _, _ in decided],
                [uuid.UUID(event_id) for _, event_id, _ in decided],
                [serialize_event(decision) for _, _, decision in decided],
            )
        if reviews:
            await enqueue_reviews(self.conn, reviews)
        await outbox.enqueue(self.conn, events)
        history.clear_added()

    async def _save_reporters(self, history: History) -> None:
        if history.added_repeats:
            rows = [
                (who, fingerprint, uuid.UUID(o.complaint_id), o.tracking_code, o.received_day)
                for (who, fingerprint), o in history.added_repeats.items()
            ]
            await self.conn.execute(
                "INSERT INTO reporter_repeats AS r (reporter, fingerprint, complaint_id,"
                " tracking_code, received_day) SELECT * FROM unnest($1::text[], $2::text[],"
                " $3::uuid[], $4::text[], $5::int[]) ON CONFLICT (reporter, fingerprint) DO UPDATE"
                " SET complaint_id = excluded.complaint_id, tracking_code = excluded.tracking_code,"
                " received_day = excluded.received_day",
                *_columns(rows, 5),
            )
        if history.added_days:
            rows = [
                (who, day, uuid.UUID(complaint_id), ordinal)
                for who, day, complaint_id, ordinal in history.added_days
            ]
            await self.conn.execute(
                "INSERT INTO reporter_days (reporter, day, complaint_id, ordinal)"
                " SELECT * FROM unnest($1::text[], $2::int[], $3::uuid[], $4::int[])"
                " ON CONFLICT DO NOTHING",
                *_columns(rows, 4),
            )


def _bounded_delete(table: str, rows: str) -> str:
    """Delete at most $n of `table`'s rows chosen by the query `rows` (which selects ctids)."""
    return f"DELETE FROM {table} WHERE ctid = ANY(ARRAY({rows}))"


# Each statement deletes at most its last parameter's number of rows, in its own transaction.
PRUNE_SQL = {
    "reporter_repeats": _bounded_delete(
        "reporter_repeats", "SELECT ctid FROM reporter_repeats WHERE received_day < $1 LIMIT $2"
    ),
    "reporter_days": _bounded_delete(
        "reporter_days", "SELECT ctid FROM reporter_days WHERE day < $1 LIMIT $2"
    ),
    "area_candidates": _bounded_delete(
        "area_candidates",
        "SELECT ctid FROM area_candidates WHERE bucket < $1 OR received_day < $2 LIMIT $3",
    ),
    "area_candidates_overflow": _bounded_delete(
        "area_candidates",
        "SELECT ctid FROM (SELECT ctid, row_number() OVER (PARTITION BY area, bucket"
        " ORDER BY seq DESC) AS rank FROM area_candidates) ranked WHERE rank > $1 LIMIT $2",
    ),
    "decisions": _bounded_delete(
        "decisions", "SELECT ctid FROM decisions WHERE decided_at < $1 LIMIT $2"
    ),
}


async def prune(
    conn: asyncpg.Connection, expired: Expiry, decided_before: datetime, limit: int
) -> dict[str, int]:
    """One bounded round of deletes (at most `limit` rows per statement): rows past `expired`,
    candidates beyond the latest `MAX_CANDIDATES_PER_BUCKET` of their bucket, decisions taken
    before `decided_before`. Returns the rows deleted per statement."""
    args: dict[str, tuple[object, ...]] = {
        "reporter_repeats": (expired.repeat_day,),
        "reporter_days": (expired.day,),
        "area_candidates": (expired.bucket, expired.candidate_day),
        "area_candidates_overflow": (MAX_CANDIDATES_PER_BUCKET,),
        "decisions": (decided_before,),
    }
    deleted = {}
    for name, sql in PRUNE_SQL.items():
        status = await conn.execute(sql, *args[name], limit)
        deleted[name] = int(status.split()[-1])
    return deleted
