"""Satisfaction answers, SQL: the closing a complaint's answer is for (from the status read
model's timeline), the WhatsApp sender's latest closed complaint (by the keyed hash of the
phone on file), and the answers themselves (table `satisfaction_answers`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

_CLOSED_AT = (
    "(SELECT max(occurred_at) FROM complaint_timeline t WHERE t.complaint_id = c.complaint_id"
    " AND t.status = 'closed')"
)


@dataclass(frozen=True)
class Closed:
    """A complaint whose case is closed, and when (the latest closing)."""

    complaint_id: uuid.UUID
    tracking_code: str
    closed_at: datetime
    language: str | None


async def closing_of(conn: asyncpg.Connection, complaint_id: uuid.UUID) -> Closed | None:
    """The complaint's latest closing, while its status is closed; None otherwise."""
    row = await conn.fetchrow(
        f"SELECT c.complaint_id, c.tracking_code, {_CLOSED_AT} AS closed_at,"
        " c.details->'reporter'->>'language' AS language"
        " FROM complaints c WHERE c.complaint_id = $1 AND c.status = 'closed'",
        complaint_id,
    )
    return Closed(**row) if row is not None and row["closed_at"] is not None else None


async def latest_closed_for(
    conn: asyncpg.Connection, contact_subject: str, since: datetime
) -> Closed | None:
    """The most recently closed complaint with this phone on file, closed after `since`."""
    row = await conn.fetchrow(
        "SELECT * FROM (SELECT c.complaint_id, c.tracking_code,"
        f" {_CLOSED_AT} AS closed_at, c.details->'reporter'->>'language' AS language"
        " FROM complaints c WHERE c.contact_subject = $1 AND c.status = 'closed') closed"
        " WHERE closed_at > $2 ORDER BY closed_at DESC LIMIT 1",
        contact_subject,
        since,
    )
    return Closed(**row) if row is not None else None


@dataclass(frozen=True)
class NewAnswer:
    event_id: uuid.UUID
    complaint_id: uuid.UUID
    closed_at: datetime
    satisfied: bool
    score: int | None
    channel: str
    rated_at: datetime


async def record_answer(conn: asyncpg.Connection, answer: NewAnswer) -> bool:
    """False when this complaint already answered this closing (the first answer counts)."""
    inserted = await conn.fetchval(
        "INSERT INTO satisfaction_answers (event_id, complaint_id, closed_at, satisfied, score,"
        " channel, rated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT DO NOTHING RETURNING true",
        answer.event_id,
        answer.complaint_id,
        answer.closed_at,
        answer.satisfied,
        answer.score,
        answer.channel,
        answer.rated_at,
    )
    return bool(inserted)
