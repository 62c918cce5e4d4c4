"""The walk-in desk's tables: the bookings (name and phone sealed) and each day's counters
(bookings taken against the quota, queue numbers issued)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg


async def booking_code_of(
    conn: asyncpg.Connection, visit_date: date, sealed_phone: str
) -> str | None:
    """The booking this phone already holds for that day (sealing is deterministic per key)."""
    return await conn.fetchval(
        "SELECT booking_code FROM walk_in_bookings WHERE visit_date = $1 AND phone = $2",
        visit_date,
        sealed_phone,
    )


async def take_booking_slot(conn: asyncpg.Connection, visit_date: date, quota: int) -> bool:
    """Count one more booking for the day; False when the day is fully booked."""
    await conn.execute(
        "INSERT INTO walk_in_days (visit_date) VALUES ($1) ON CONFLICT DO NOTHING", visit_date
    )
    taken = await conn.fetchval(
        "UPDATE walk_in_days SET booked = booked + 1"
        " WHERE visit_date = $1 AND booked < $2 RETURNING booked",
        visit_date,
        quota,
    )
    return taken is not None


async def insert_booking(
    conn: asyncpg.Connection,
    *,
    booking_code: str,
    visit_date: date,
    sealed_name: str,
    sealed_phone: str,
    booked_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO walk_in_bookings (booking_code, visit_date, name, phone, booked_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        booking_code,
        visit_date,
        sealed_name,
        sealed_phone,
        booked_at,
    )


async def lock_booking(conn: asyncpg.Connection, booking_code: str) -> asyncpg.Record | None:
    """The booking, locked for this transaction, with its complaint's tracking code if any."""
    return await conn.fetchrow(
        "SELECT b.*, c.tracking_code, c.received_at FROM walk_in_bookings b"
        " LEFT JOIN complaints c USING (complaint_id) WHERE booking_code = $1 FOR UPDATE OF b",
        booking_code,
    )


async def take_queue_number(conn: asyncpg.Connection, visit_date: date, quota: int) -> int | None:
    """The day's next queue number; None when the day's quota is reached."""
    return await conn.fetchval(
        "UPDATE walk_in_days SET checked_in = checked_in + 1"
        " WHERE visit_date = $1 AND checked_in < $2 RETURNING checked_in",
        visit_date,
        quota,
    )


async def mark_checked_in(
    conn: asyncpg.Connection, booking_code: str, queue_number: int, at: datetime, officer_id: str
) -> None:
    await conn.execute(
        "UPDATE walk_in_bookings SET queue_number = $2, checked_in_at = $3,"
        " checked_in_by = $4 WHERE booking_code = $1",
        booking_code,
        queue_number,
        at,
        officer_id,
    )


async def link_complaint(
    conn: asyncpg.Connection, booking_code: str, complaint_id: uuid.UUID | None
) -> None:
    await conn.execute(
        "UPDATE walk_in_bookings SET complaint_id = $2 WHERE booking_code = $1",
        booking_code,
        complaint_id,
    )
