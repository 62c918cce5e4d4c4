"""Intake's read side: the queries behind the status pages and APIs, the owner's view and the
desk's queue. Nothing here writes."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg


async def status_view(conn: asyncpg.Connection, tracking_code: str) -> dict[str, Any] | None:
    """The status read model as stored (`domain.citizen_status.citizen_view` puts it in a
    citizen's words and hides what a secret report's public view must not show). `secret`
    and `reporter_language` are plain in the stored payload (not personal data)."""
    row = await conn.fetchrow(
        "SELECT complaint_id, tracking_code, channel, status, status_detail, agency_name,"
        " received_at, updated_at, response_due_at, documents_due_at,"
        " coalesce((details->>'secret')::boolean, false) AS secret,"
        " details->'reporter'->>'language' AS reporter_language"
        " FROM complaints WHERE tracking_code = $1",
        tracking_code,
    )
    if row is None:
        return None
    timeline = await conn.fetch(
        "SELECT event_type, status, detail, occurred_at FROM complaint_timeline"
        " WHERE complaint_id = $1 ORDER BY occurred_at, event_type",
        row["complaint_id"],
    )
    view = dict(row)
    view.pop("complaint_id")
    view["timeline"] = [dict(entry) for entry in timeline]
    return view


async def attachments_of(conn: asyncpg.Connection, complaint_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT attachment_id, media_type, filename, size_bytes, sha256, added_at"
        " FROM complaint_attachments WHERE complaint_id = $1 ORDER BY added_at, attachment_id",
        complaint_id,
    )
    return [dict(row) for row in rows]


async def document(
    conn: asyncpg.Connection, complaint_id: uuid.UUID, attachment_id: str
) -> asyncpg.Record | None:
    """One attachment with its (sealed) bytes and the key id that opens them."""
    return await conn.fetchrow(
        "SELECT media_type, filename, key_id, content FROM complaint_attachments"
        " WHERE complaint_id = $1 AND attachment_id = $2",
        complaint_id,
        attachment_id,
    )


async def updates_of(conn: asyncpg.Connection, complaint_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT additional_text, added_at FROM complaint_updates WHERE complaint_id = $1"
        " ORDER BY added_at",
        complaint_id,
    )
    return [dict(row) for row in rows]


async def complaint_id_of(conn: asyncpg.Connection, tracking_code: str) -> uuid.UUID | None:
    return await conn.fetchval(
        "SELECT complaint_id FROM complaints WHERE tracking_code = $1", tracking_code
    )


async def officer_of(conn: asyncpg.Connection, tracking_code: str) -> str | None:
    """The desk officer who took a walk-in complaint."""
    return await conn.fetchval(
        "SELECT officer_id FROM complaints WHERE tracking_code = $1", tracking_code
    )


async def desk_queue(conn: asyncpg.Connection, visit_date: date) -> list[asyncpg.Record]:
    """The day's bookings in queue order (names still sealed), with their tracking codes."""
    return await conn.fetch(
        "SELECT b.booking_code, b.queue_number, b.name, c.tracking_code"
        " FROM walk_in_bookings b LEFT JOIN complaints c USING (complaint_id)"
        " WHERE b.visit_date = $1 ORDER BY b.queue_number NULLS LAST, b.booked_at",
        visit_date,
    )
