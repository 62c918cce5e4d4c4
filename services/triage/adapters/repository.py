"""The review queue's writes: `review_items` (triage's batch queues its items with
`enqueue_reviews`, in the batch's transaction), the `review_log` audit trail (who, what, why),
reporters' bans (`reporter_bans`) and the outbox. A reviewer's decision updates the item,
appends to the log and puts the resulting event in the outbox in one transaction
(`ReviewRepository.transaction`); the messaging plumbing's OutboxRelay publishes it."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from schemas.events import ComplaintReceived, EventEnvelope, serialize_event
from services.messaging import outbox
from services.triage.domain.rules import Assessment


@dataclass(frozen=True)
class ReviewRow:
    """A ComplaintNeedsReview for the queue: `received` as it came (the chronology sealed),
    triage's assessment, the reporter's state key and the complaints it resembles."""

    received: ComplaintReceived
    assessment: Assessment
    decision: EventEnvelope
    reporter_key: str | None
    similar: list[dict[str, Any]]

    def row(self) -> tuple[object, ...]:
        payload = self.received.payload
        assessment = self.assessment
        return (
            self.received.complaint_id,
            payload.tracking_code,
            serialize_event(self.decision).decode(),
            str(payload.channel),
            str(assessment.category),
            str(assessment.priority),
            json.dumps(list(assessment.matched_terms)),
            assessment.region_code,
            payload.anonymous,
            payload.secret,
            payload.description,
            self.reporter_key,
            assessment.region_source,
            json.dumps(self.similar),
        )


async def enqueue_reviews(conn: asyncpg.Connection, reviews: Sequence[ReviewRow]) -> None:
    """Queue ComplaintNeedsReview items in one statement; a replay changes nothing."""
    rows = [review.row() for review in reviews]
    await conn.execute(
        "INSERT INTO review_items (complaint_id, tracking_code, needs_review, channel,"
        " category, priority, matched_terms, region_code, anonymous, secret, description,"
        " reporter_key, region_source, resembling)"
        " SELECT c, t, n::jsonb, ch, cat, p, m::jsonb, r, a, s, d, k, rs, res::jsonb"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        " $7::text[], $8::text[], $9::bool[], $10::bool[], $11::text[], $12::text[],"
        " $13::text[], $14::text[]) AS x(c, t, n, ch, cat, p, m, r, a, s, d, k, rs, res)"
        " ON CONFLICT (complaint_id) DO NOTHING",
        *[[row[index] for row in rows] for index in range(14)],
    )


class ReviewRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def enqueue(self, review: ReviewRow) -> None:
        async with self.pool.acquire() as conn:
            await enqueue_reviews(conn, [review])

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[ReviewTransaction]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield ReviewTransaction(conn)


class ReviewTransaction:
    """The queue's reads-for-update and writes inside one transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def item_for_update(self, complaint_id: uuid.UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT * FROM review_items WHERE complaint_id = $1 FOR UPDATE", complaint_id
        )

    async def reporter_key(self, complaint_id: uuid.UUID) -> str | None:
        return await self.conn.fetchval(
            "SELECT reporter_key FROM review_items WHERE complaint_id = $1", complaint_id
        )

    async def mark_claimed(self, complaint_id: uuid.UUID, reviewer: str) -> asyncpg.Record:
        row = await self.conn.fetchrow(
            "UPDATE review_items SET status = 'claimed', claimed_by = $2, claimed_at = now()"
            " WHERE complaint_id = $1 RETURNING *",
            complaint_id,
            reviewer,
        )
        await self.conn.execute(
            "INSERT INTO review_log (complaint_id, reviewer, action) VALUES ($1, $2, 'claim')",
            complaint_id,
            reviewer,
        )
        return row

    async def ban(
        self, complaint_id: uuid.UUID, reporter_key: str, reviewer: str, banned: bool, note: str
    ) -> None:
        """The ban (or its lifting) in `reporter_bans`, which triage's batches read, and in
        the audit log."""
        if banned:
            await self.conn.execute(
                "INSERT INTO reporter_bans (reporter, banned_by, note) VALUES ($1, $2, $3)"
                " ON CONFLICT (reporter) DO UPDATE SET banned_by = excluded.banned_by,"
                " note = excluded.note, banned_at = now()",
                reporter_key,
                reviewer,
                note,
            )
        else:
            await self.conn.execute("DELETE FROM reporter_bans WHERE reporter = $1", reporter_key)
        await self.conn.execute(
            "INSERT INTO review_log (complaint_id, reviewer, action, note) VALUES ($1, $2, $3, $4)",
            complaint_id,
            reviewer,
            "ban" if banned else "unban",
            note,
        )

    async def mark_decided(
        self,
        complaint_id: uuid.UUID,
        reviewer: str,
        outcome: str,
        *,
        action: str,
        reason_code: str | None,
        note: str,
        original_complaint_id: uuid.UUID | None,
        event: EventEnvelope,
        category: str | None = None,
    ) -> asyncpg.Record:
        """The decision on the item, in the log, and its event in the outbox."""
        row = await self.conn.fetchrow(
            "UPDATE review_items SET status = 'decided', decision = $2, decided_by = $3,"
            " decided_at = now() WHERE complaint_id = $1 RETURNING *",
            complaint_id,
            outcome,
            reviewer,
        )
        await self.conn.execute(
            "INSERT INTO review_log (complaint_id, reviewer, action, reason_code, note,"
            " original_complaint_id, category) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            complaint_id,
            reviewer,
            action,
            reason_code,
            note,
            original_complaint_id,
            None if category is None else str(category),
        )
        await outbox.enqueue(self.conn, [event])
        return row
