"""Notifier's PostgreSQL adapter: recipients and notifications."""

from __future__ import annotations

import uuid

import asyncpg

from schemas.events import ComplaintReceived, Language


async def save_recipient(conn: asyncpg.Connection, event: ComplaintReceived) -> None:
    payload = event.payload
    await conn.execute(
        "INSERT INTO recipients (complaint_id, tracking_code, channel, phone, email, language)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (complaint_id) DO NOTHING",
        event.complaint_id,
        payload.tracking_code,
        payload.channel.value,
        payload.reporter.phone,
        payload.reporter.email,
        payload.reporter.language.value,
    )


async def recipient_language(conn: asyncpg.Connection, complaint_id: uuid.UUID) -> Language | None:
    value = await conn.fetchval(
        "SELECT language FROM recipients WHERE complaint_id = $1", complaint_id
    )
    return Language(value) if value else None


async def record_notification(
    conn: asyncpg.Connection,
    *,
    notification_id: uuid.UUID,
    complaint_id: uuid.UUID,
    trigger_event_id: uuid.UUID,
    trigger_type: str,
    channel: str,
    template: str,
    language: str,
) -> bool:
    """Record a notification once per (trigger event, channel); False if already recorded."""
    return bool(
        await conn.fetchval(
            "INSERT INTO notifications (notification_id, complaint_id, trigger_event_id,"
            " trigger_type, channel, template, language) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (trigger_event_id, channel) DO NOTHING RETURNING true",
            notification_id,
            complaint_id,
            trigger_event_id,
            trigger_type,
            channel,
            template,
            language,
        )
    )
