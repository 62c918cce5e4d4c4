"""Notifier's read side: the queries behind its API's pages (no writes here)."""

from __future__ import annotations

import uuid

import asyncpg


async def complaint_notifications(
    pool: asyncpg.Pool, complaint_id: uuid.UUID
) -> list[asyncpg.Record]:
    """What was sent for a complaint, oldest first: ids, channels, templates and statuses, never
    addresses or text."""
    return await pool.fetch(
        "SELECT notification_id, channel, template, language, status, delivery_status,"
        " attempts, trigger_type FROM notifications WHERE complaint_id = $1"
        " ORDER BY created_at, channel",
        complaint_id,
    )
