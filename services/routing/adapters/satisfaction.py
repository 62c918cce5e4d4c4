"""The write side of the citizens' satisfaction answers (table `case_satisfaction`, migration
0009): one row per answering complaint and closing. Reads are in `views`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Answer:
    """A SatisfactionRated, as recorded against its case."""

    event_id: uuid.UUID
    complaint_id: uuid.UUID
    case_id: uuid.UUID
    closed_at: datetime
    agency_code: str
    satisfied: bool
    score: int | None
    channel: str
    rated_at: datetime


async def record_answer(conn: asyncpg.Connection, answer: Answer) -> bool:
    """Keep the answer; False when this complaint already answered this closing (the first
    answer counts) or the event was recorded before."""
    inserted = await conn.fetchval(
        "INSERT INTO case_satisfaction (event_id, complaint_id, case_id, closed_at, agency_code,"
        " satisfied, score, channel, rated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT DO NOTHING RETURNING true",
        answer.event_id,
        answer.complaint_id,
        answer.case_id,
        answer.closed_at,
        answer.agency_code,
        answer.satisfied,
        answer.score,
        answer.channel,
        answer.rated_at,
    )
    return bool(inserted)


async def mark_reopened(conn: asyncpg.Connection, event_id: uuid.UUID) -> None:
    await conn.execute("UPDATE case_satisfaction SET reopened = true WHERE event_id = $1", event_id)


async def closing_agency(conn: asyncpg.Connection, case_id: uuid.UUID) -> str | None:
    """The agency whose closing the citizen rates: the latest close in the case's history."""
    return await conn.fetchval(
        "SELECT agency_code FROM case_history WHERE case_id = $1 AND status = 'closed'"
        " ORDER BY id DESC LIMIT 1",
        case_id,
    )


async def reopened_before(conn: asyncpg.Connection, case_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM case_history WHERE case_id = $1 AND status = 'reopened' LIMIT 1",
            case_id,
        )
    )
