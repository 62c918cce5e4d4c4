"""Notifier's PostgreSQL adapter: recipients, the notifications table (also the queue of pending
sends), WhatsApp windows and opt-outs."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from schemas.events import Channel, ComplaintReceived, Language
from services.notifier.domain import Contact, OutboundChannel, address_digest, wa_id

WAKE_CHANNEL = "notifier_sends"


@dataclass(frozen=True)
class Recipient:
    tracking_code: str
    contact: Contact
    language: Language


@dataclass(frozen=True)
class SavedComplaint:
    recipient: Recipient
    held_events: list[str]  # events that overtook the complaint, oldest first; released now


async def save_complaint(
    conn: asyncpg.Connection, event: ComplaintReceived, whatsapp_phone: str | None
) -> SavedComplaint:
    """In one statement, not four round trips: store the recipient (as it came: sealed; a
    replay keeps the first), open the WhatsApp window when the citizen wrote to us on
    WhatsApp from `whatsapp_phone` (in the clear), release the events held for the complaint,
    and return the stored recipient."""
    payload = event.payload
    row = await conn.fetchrow(
        "WITH saved AS (INSERT INTO recipients (complaint_id, tracking_code, channel, phone,"
        "  email, language, correlation_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        "  ON CONFLICT (complaint_id) DO NOTHING"
        "  RETURNING tracking_code, channel, phone, email, language),"
        " opened AS (INSERT INTO whatsapp_windows (address_digest, last_inbound_at)"
        "  SELECT $8::text, $9::timestamptz WHERE $8::text IS NOT NULL"
        "  ON CONFLICT (address_digest) DO UPDATE SET last_inbound_at ="
        "  greatest(whatsapp_windows.last_inbound_at, excluded.last_inbound_at)),"
        " released AS (DELETE FROM held_events WHERE complaint_id = $1 RETURNING event, held_at)"
        # The statement's snapshot does not see its own insert: `saved` holds the new row,
        # the SELECT an earlier one; never both. Held events are returned whatever happens.
        " SELECT r.*, (SELECT coalesce(array_agg(event::text ORDER BY held_at), '{}')"
        "  FROM released) AS held"
        " FROM (SELECT 1) AS one LEFT JOIN (SELECT * FROM saved UNION ALL"
        "  SELECT tracking_code, channel, phone, email, language FROM recipients"
        "  WHERE complaint_id = $1) AS r ON true",
        event.complaint_id,
        payload.tracking_code,
        payload.channel.value,
        payload.reporter.phone,
        payload.reporter.email,
        payload.reporter.language.value,
        event.correlation_id,
        address_digest(wa_id(whatsapp_phone)) if whatsapp_phone else None,
        payload.received_at,
    )
    assert row is not None
    stored = _recipient(row) if row["tracking_code"] is not None else None
    if stored is None:
        # Another instance stored it after this statement's snapshot was taken.
        stored = await recipient(conn, event.complaint_id)
        assert stored is not None
    return SavedComplaint(recipient=stored, held_events=list(row["held"]))


async def recipient(conn: asyncpg.Connection, complaint_id: uuid.UUID) -> Recipient | None:
    row = await conn.fetchrow(
        "SELECT tracking_code, channel, phone, email, language FROM recipients"
        " WHERE complaint_id = $1",
        complaint_id,
    )
    return None if row is None else _recipient(row)


def _recipient(row: asyncpg.Record) -> Recipient:
    return Recipient(
        tracking_code=row["tracking_code"],
        contact=Contact(Channel(row["channel"]), row["phone"], row["email"]),
        language=Language(row["language"]),
    )


async def saw_whatsapp_message(conn: asyncpg.Connection, phone: str, at: datetime) -> None:
    """The citizen wrote to us on WhatsApp at `at`: the 24-hour window runs from there."""
    await conn.execute(
        "INSERT INTO whatsapp_windows (address_digest, last_inbound_at) VALUES ($1, $2)"
        " ON CONFLICT (address_digest) DO UPDATE"
        " SET last_inbound_at ="
        " greatest(whatsapp_windows.last_inbound_at, excluded.last_inbound_at)",
        address_digest(wa_id(phone)),
        at,
    )


async def set_opt_out(conn: asyncpg.Connection, address: str, opted_out: bool) -> None:
    if opted_out:
        await conn.execute(
            "INSERT INTO opt_outs (address_digest) VALUES ($1) ON CONFLICT DO NOTHING",
            address_digest(address),
        )
    else:
        await conn.execute(
            "DELETE FROM opt_outs WHERE address_digest = $1", address_digest(address)
        )


@dataclass(frozen=True)
class NewNotification:
    notification_id: uuid.UUID
    complaint_id: uuid.UUID
    correlation_id: uuid.UUID
    trigger_event_id: uuid.UUID
    trigger_type: str
    channel: OutboundChannel
    destination: str
    template: str
    language: Language
    tracking_code: str | None
    context: dict[str, Any]
    reply_text: str | None = None
    exempt_from_limits: bool = False
    fallback_of: uuid.UUID | None = None


async def record_notification(conn: asyncpg.Connection, new: NewNotification) -> bool:
    """Record a send once per (trigger event, channel), before any attempt; False if it was
    already recorded. The sender is woken when the transaction commits."""
    # The wake-up rides in the same statement (one round trip, not two); it is sent only when
    # a row was inserted, and PostgreSQL folds repeats within a transaction into one.
    woken = await conn.fetch(
        "WITH recorded AS (INSERT INTO notifications (notification_id, complaint_id,"
        "  correlation_id, trigger_event_id, trigger_type, channel, destination, template,"
        "  language, tracking_code, context, reply_text, exempt_from_limits, fallback_of)"
        "  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14)"
        "  ON CONFLICT (trigger_event_id, channel) DO NOTHING RETURNING 1)"
        " SELECT pg_notify($15, '') FROM recorded",
        new.notification_id,
        new.complaint_id,
        new.correlation_id,
        new.trigger_event_id,
        new.trigger_type,
        new.channel.value,
        new.destination,
        new.template,
        new.language.value,
        new.tracking_code,
        json.dumps(new.context),
        new.reply_text,
        new.exempt_from_limits,
        new.fallback_of,
        WAKE_CHANNEL,
    )
    return bool(woken)


async def notification_for_status(
    conn: asyncpg.Connection, provider_message_id: str, callback_data: str | None
) -> asyncpg.Record | None:
    """The notification a WhatsApp status is about: by wamid, else by the notification id we
    put in biz_opaque_callback_data (the sender may have crashed before recording the wamid)."""
    row = await conn.fetchrow(
        "SELECT * FROM notifications WHERE provider_message_id = $1 FOR UPDATE",
        provider_message_id,
    )
    if row is not None or not callback_data:
        return row
    try:
        notification_id = uuid.UUID(callback_data)
    except ValueError:
        return None
    return await conn.fetchrow(
        "SELECT * FROM notifications WHERE notification_id = $1 AND channel = 'whatsapp'"
        " FOR UPDATE",
        notification_id,
    )


async def hold_event(
    conn: asyncpg.Connection, event_id: uuid.UUID, complaint_id: uuid.UUID, raw: bytes
) -> None:
    await conn.execute(
        "INSERT INTO held_events (event_id, complaint_id, event) VALUES ($1, $2, $3::jsonb)"
        " ON CONFLICT DO NOTHING",
        event_id,
        complaint_id,
        raw.decode(),
    )
