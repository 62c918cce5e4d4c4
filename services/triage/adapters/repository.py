"""The review queue's writes: `review_items`, the `review_log` audit trail (who, what, why)
and the outbox, in the `triage` schema. A reviewer's decision updates the item, appends to the
log and puts the resulting event in the outbox in one transaction (`ReviewRepository.
transaction`); the messaging plumbing's OutboxRelay publishes it."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from schemas.events import ComplaintReceived, EventEnvelope, serialize_event
from services.messaging import outbox
from services.triage.domain.rules import Assessment


class ReviewRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def enqueue(
        self,
        received: ComplaintReceived,
        assessment: Assessment,
        decision: EventEnvelope,
        reporter_key: str | None,
        similar: list[dict[str, Any]] | None = None,
    ) -> None:
        """Queue a ComplaintNeedsReview; a replay changes nothing."""
        payload = received.payload
        await self.pool.execute(
            "INSERT INTO review_items (complaint_id, tracking_code, needs_review, channel,"
            " category, priority, matched_terms, region_code, anonymous, secret, description,"
            " reporter_key, region_source, resembling)"
            " VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13,"
            " $14::jsonb)"
            " ON CONFLICT (complaint_id) DO NOTHING",
            received.complaint_id,
            payload.tracking_code,
            serialize_event(decision).decode(),
            str(payload.channel),
            str(assessment.category),
            str(assessment.priority),
            json.dumps(list(assessment.matched_terms)),
            assessment.region_code,
            payload.anonymous,
            payload.secret,
            payload.description,
            reporter_key,
            assessment.region_source,
            json.dumps(similar or []),
        )

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

    async def log_ban(
        self, complaint_id: uuid.UUID, reviewer: str, banned: bool, note: str
    ) -> None:
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
