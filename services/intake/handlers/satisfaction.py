"""The citizen's answer to the closing message, on every channel: recorded once per
complaint and closing (the first answer counts) and published as SatisfactionRated through
the outbox, in the caller's transaction. Routing records it against the case and re-opens a
case refused within 10 days.

Which complaint an answer is for: on the web and the API the one the owner names (after
proving ownership); on WhatsApp the sender's most recently closed complaint
(`whatsapp.process_satisfaction`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from schemas.events import Channel
from schemas.events.intake import SatisfactionRated, SatisfactionRatedPayload
from services.intake.adapters import satisfaction
from services.intake.adapters.satisfaction import Closed
from services.intake.domain.complaints import PRODUCER
from services.intake.domain.satisfaction import Answer, answer_window_open
from services.messaging import outbox


class NotOpenForAnswers(Exception):
    """The complaint is not closed, or its 10 days to answer have passed."""


def satisfaction_event(
    closed: Closed, answer: Answer, channel: Channel, rated_at: datetime
) -> SatisfactionRated:
    """The event of one answer; its id names the complaint and the closing, so a replay (or a
    second answer to the same closing) names the same event."""
    event_id = uuid.uuid5(closed.complaint_id, f"satisfaction:{closed.closed_at.isoformat()}")
    return SatisfactionRated(
        event_id=event_id,
        complaint_id=closed.complaint_id,
        correlation_id=closed.complaint_id,
        producer=PRODUCER,
        occurred_at=rated_at,
        payload=SatisfactionRatedPayload(
            tracking_code=closed.tracking_code,
            satisfied=answer.satisfied,
            score=answer.score,
            channel=channel,
            rated_at=rated_at,
            closed_at=closed.closed_at,
        ),
    )


async def rate(
    conn: asyncpg.Connection, closed: Closed, answer: Answer, channel: Channel, now: datetime
) -> bool:
    """Record the answer and publish it; False when this closing was answered before."""
    event = satisfaction_event(closed, answer, channel, now)
    recorded = await satisfaction.record_answer(
        conn,
        satisfaction.NewAnswer(
            event_id=event.event_id,
            complaint_id=closed.complaint_id,
            closed_at=closed.closed_at,
            satisfied=answer.satisfied,
            score=answer.score,
            channel=channel.value,
            rated_at=now,
        ),
    )
    if recorded:
        await outbox.enqueue(conn, [event])
    return recorded


async def rate_complaint(
    conn: asyncpg.Connection,
    complaint_id: uuid.UUID,
    answer: Answer,
    channel: Channel,
    now: datetime,
) -> bool:
    """An owner's answer for a named complaint (web page, API): raises NotOpenForAnswers
    unless its case is closed and closed less than 10 days ago."""
    async with conn.transaction():
        closed = await satisfaction.closing_of(conn, complaint_id)
        if closed is None or not answer_window_open(closed.closed_at, now):
            raise NotOpenForAnswers(str(complaint_id))
        return await rate(conn, closed, answer, channel, now)
