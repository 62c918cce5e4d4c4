"""Notifier's PostgreSQL adapter: every write, and the reads the handlers decide on.

- recipients (sealed contact, from ComplaintReceived) and held_events (events that overtook
  their complaint);
- notifications: one row per trigger event and channel, recorded before any attempt; also the
  queue of pending sends, which the sender claims, and whose outcomes it records in batches
  (one statement per kind of outcome);
- co_reporters (who joined another complaint's case, from CaseReporterJoined);
- whatsapp_windows (the 24-hour rule), opt_outs and opt_out_requests (the time of a citizen's
  latest BERHENTI / MULAI applied), all keyed by the address's keyed digest
  (`domain.rules.AddressDigests`); a row still under its legacy unkeyed digest is re-keyed
  when its address is next looked up (`_rekey`).

The pages' and APIs' reads are in `views`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from schemas.events import Channel, ComplaintReceived, Language
from services.notifier.domain.co_reporters import CoReporter
from services.notifier.domain.rules import (
    KEYED_DIGEST_PREFIX,
    AddressDigests,
    Contact,
    OutboundChannel,
    wa_id,
)
from services.notifier.domain.sending import Deferred, Sent, Suppressed

WAKE_CHANNEL = "notifier_sends"  # NOTIFY'd when a send is recorded: wakes the sender

# The pool for a statement of its own, a connection inside a caller's transaction.
Database = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True)
class Recipient:
    tracking_code: str
    contact: Contact
    language: Language


@dataclass(frozen=True)
class ComplaintContact:
    """A complaint's recipient as ComplaintReceived brings it (contact sealed), and the digest
    of the WhatsApp id the citizen wrote from (None unless they wrote to us on WhatsApp)."""

    event: ComplaintReceived
    whatsapp_digest: str | None = None


async def save_complaints(
    conn: asyncpg.Connection, complaints: Sequence[ComplaintContact]
) -> list[str]:
    """In one statement for the batch: store the recipients (as they came: sealed; a replay
    keeps the first), open the WhatsApp windows of those who wrote to us on WhatsApp, and
    release the events held for these complaints; returns the released events, oldest
    first."""
    if not complaints:
        return []
    rows = await conn.fetch(
        "WITH saved AS (INSERT INTO recipients (complaint_id, tracking_code, channel, phone,"
        "  email, language, correlation_id)"
        "  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
        "   $6::text[], $7::uuid[])"
        "  ON CONFLICT (complaint_id) DO NOTHING),"
        # One row per digest: ON CONFLICT DO UPDATE may not touch a row twice in a statement.
        " opened AS (INSERT INTO whatsapp_windows (address_digest, last_inbound_at)"
        "  SELECT digest, max(at) FROM unnest($8::text[], $9::timestamptz[]) AS w(digest, at)"
        "  WHERE digest IS NOT NULL GROUP BY digest"
        "  ON CONFLICT (address_digest) DO UPDATE SET last_inbound_at ="
        "  greatest(whatsapp_windows.last_inbound_at, excluded.last_inbound_at)),"
        " released AS (DELETE FROM held_events WHERE complaint_id = ANY($1::uuid[])"
        "  RETURNING event, held_at)"
        " SELECT event::text AS event FROM released ORDER BY held_at",
        [c.event.complaint_id for c in complaints],
        [c.event.payload.tracking_code for c in complaints],
        [c.event.payload.channel.value for c in complaints],
        [c.event.payload.reporter.phone for c in complaints],
        [c.event.payload.reporter.email for c in complaints],
        [c.event.payload.reporter.language.value for c in complaints],
        [c.event.correlation_id for c in complaints],
        [c.whatsapp_digest for c in complaints],
        [c.event.payload.received_at for c in complaints],
    )
    return [row["event"] for row in rows]


async def recipient(conn: asyncpg.Connection, complaint_id: uuid.UUID) -> Recipient | None:
    return (await recipients(conn, [complaint_id])).get(complaint_id)


async def recipients(
    conn: asyncpg.Connection, complaint_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Recipient]:
    """The stored recipients of these complaints, in one query."""
    ids = list(set(complaint_ids))
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT complaint_id, tracking_code, channel, phone, email, language FROM recipients"
        " WHERE complaint_id = ANY($1::uuid[])",
        ids,
    )
    return {row["complaint_id"]: _recipient(row) for row in rows}


# By stored value: looked up once per row, and calling an Enum is slow.
_CHANNELS = {channel.value: channel for channel in Channel}
_LANGUAGES = {language.value: language for language in Language}


def _recipient(row: asyncpg.Record) -> Recipient:
    return Recipient(
        tracking_code=row["tracking_code"],
        contact=Contact(_CHANNELS[row["channel"]], row["phone"], row["email"]),
        language=_LANGUAGES[row["language"]],
    )


async def _lock_cases_of(
    conn: asyncpg.Connection, original_complaint_ids: Iterable[uuid.UUID]
) -> None:
    """Serialise a join with the case's events (they arrive on other partitions): whichever
    commits second sees the other's rows. One statement; the locks in a fixed order."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(id, 0))"
        " FROM unnest($1::text[]) WITH ORDINALITY AS l(id, n) ORDER BY n",
        sorted({str(original) for original in original_complaint_ids}),
    )


@dataclass(frozen=True)
class CoReporterJoin:
    complaint_id: uuid.UUID
    original_complaint_id: uuid.UUID
    case_id: uuid.UUID
    joined_at: datetime


async def add_co_reporters(conn: asyncpg.Connection, joins: Sequence[CoReporterJoin]) -> None:
    """Record a batch's joins in two statements (the cases' locks, then one insert)."""
    if not joins:
        return
    await _lock_cases_of(conn, (join.original_complaint_id for join in joins))
    await conn.execute(
        "INSERT INTO co_reporters (complaint_id, original_complaint_id, case_id, joined_at)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[])"
        " ON CONFLICT (complaint_id) DO NOTHING",
        [join.complaint_id for join in joins],
        [join.original_complaint_id for join in joins],
        [join.case_id for join in joins],
        [join.joined_at for join in joins],
    )


async def co_reporters(
    conn: asyncpg.Connection, original_complaint_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[CoReporter]]:
    """The reporters who joined the cases of these complaints (with a known contact), by the
    case's complaint; locks and reads in two statements for the batch."""
    originals = list(set(original_complaint_ids))
    if not originals:
        return {}
    await _lock_cases_of(conn, originals)
    rows = await conn.fetch(
        "SELECT c.original_complaint_id, c.complaint_id, r.tracking_code, c.joined_at"
        " FROM co_reporters c JOIN recipients r USING (complaint_id)"
        " WHERE c.original_complaint_id = ANY($1::uuid[]) ORDER BY c.complaint_id",
        originals,
    )
    found: dict[uuid.UUID, list[CoReporter]] = {}
    for row in rows:
        found.setdefault(row["original_complaint_id"], []).append(
            CoReporter(row["complaint_id"], row["tracking_code"], row["joined_at"])
        )
    return found


async def saw_whatsapp_message(
    conn: asyncpg.Connection, digests: AddressDigests, phone: str, at: datetime
) -> None:
    """The citizen wrote to us on WhatsApp at `at`: the 24-hour window runs from there."""
    await _rekey(conn, "whatsapp_windows", digests.pairs([wa_id(phone)]))
    await conn.execute(
        "INSERT INTO whatsapp_windows (address_digest, last_inbound_at) VALUES ($1, $2)"
        " ON CONFLICT (address_digest) DO UPDATE"
        " SET last_inbound_at ="
        " greatest(whatsapp_windows.last_inbound_at, excluded.last_inbound_at)",
        digests.keyed(wa_id(phone)),
        at,
    )


# The tables keyed by an address digest, and the time column a re-keyed row keeps.
_DIGEST_TABLES = {
    "opt_outs": "opted_out_at",
    "opt_out_requests": "requested_at",
    "whatsapp_windows": "last_inbound_at",
}


async def _rekey(conn: Database, table: str, pairs: dict[str, str]) -> None:
    """Move the rows still under a legacy (unkeyed) digest of these addresses to their keyed
    digest (`pairs`: keyed -> legacy), in one statement; a row under both keeps the later
    time. Nothing to do (one index probe per address) once every row is re-keyed; no
    statement at all when `pairs` names no legacy digest (the caller knows none is left)."""
    if not any(pairs.values()):
        return
    at = _DIGEST_TABLES[table]
    await conn.execute(
        f"WITH old AS (DELETE FROM {table} t"
        "  USING unnest($1::text[], $2::text[]) AS m(keyed, legacy)"
        f"  WHERE t.address_digest = m.legacy RETURNING m.keyed, t.{at})"
        f" INSERT INTO {table} (address_digest, {at}) SELECT keyed, {at} FROM old"
        f" ON CONFLICT (address_digest) DO UPDATE SET {at} = greatest({table}.{at}, excluded.{at})",
        list(pairs),
        list(pairs.values()),
    )


async def set_opt_out(
    conn: asyncpg.Connection, digests: AddressDigests, address: str, opted_out: bool
) -> None:
    await _rekey(conn, "opt_outs", digests.pairs([address]))
    if opted_out:
        await conn.execute(
            "INSERT INTO opt_outs (address_digest) VALUES ($1) ON CONFLICT DO NOTHING",
            digests.keyed(address),
        )
    else:
        await conn.execute("DELETE FROM opt_outs WHERE address_digest = $1", digests.keyed(address))


async def request_opt_out(
    conn: asyncpg.Connection,
    digests: AddressDigests,
    address: str,
    opted_out: bool,
    requested_at: datetime,
) -> bool:
    """A citizen's own opt-out (or back in), written at `requested_at`: applied unless a later
    request of theirs was applied already (two requests may arrive out of order); False then."""
    await _rekey(conn, "opt_out_requests", digests.pairs([address]))
    newer = await conn.fetchval(
        "INSERT INTO opt_out_requests (address_digest, requested_at) VALUES ($1, $2)"
        " ON CONFLICT (address_digest) DO UPDATE SET requested_at = excluded.requested_at"
        " WHERE opt_out_requests.requested_at < excluded.requested_at"
        " RETURNING true",
        digests.keyed(address),
        requested_at,
    )
    if not newer:
        return False
    await set_opt_out(conn, digests, address, opted_out)
    return True


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
    """Record one send (see `record_notifications`); False if it was already recorded."""
    return await record_notifications(conn, [new]) > 0


async def record_notifications(conn: asyncpg.Connection, news: Sequence[NewNotification]) -> int:
    """Record sends once per (trigger event, channel), before any attempt, in one statement;
    returns how many were new. The sender is woken when the transaction commits."""
    if not news:
        return 0
    # The wake-up rides in the same statement (one round trip, not two); it is sent only when
    # a row was inserted, and PostgreSQL folds repeats within a transaction into one.
    return int(
        await conn.fetchval(
            "WITH recorded AS (INSERT INTO notifications (notification_id, complaint_id,"
            "  correlation_id, trigger_event_id, trigger_type, channel, destination, template,"
            "  language, tracking_code, context, reply_text, exempt_from_limits, fallback_of)"
            "  SELECT n.id, n.complaint, n.correlation, n.trigger_id, n.trigger_type, n.channel,"
            "   n.destination, n.template, n.language, n.tracking_code, n.context::jsonb,"
            "   n.reply_text, n.exempt, n.fallback_of"
            "  FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],"
            "   $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],"
            "   $12::text[], $13::bool[], $14::uuid[]) AS n(id, complaint, correlation,"
            "   trigger_id, trigger_type, channel, destination, template, language,"
            "   tracking_code, context, reply_text, exempt, fallback_of)"
            "  ON CONFLICT (trigger_event_id, channel) DO NOTHING RETURNING 1),"
            " counted AS (SELECT count(*) AS new FROM recorded)"
            " SELECT new FROM counted, LATERAL (SELECT pg_notify($15, '')"
            "  WHERE new > 0) AS woken",
            [n.notification_id for n in news],
            [n.complaint_id for n in news],
            [n.correlation_id for n in news],
            [n.trigger_event_id for n in news],
            [n.trigger_type for n in news],
            [n.channel.value for n in news],
            [n.destination for n in news],
            [n.template for n in news],
            [n.language.value for n in news],
            [n.tracking_code for n in news],
            [json.dumps(n.context) for n in news],
            [n.reply_text for n in news],
            [n.exempt_from_limits for n in news],
            [n.fallback_of for n in news],
            WAKE_CHANNEL,
        )
        or 0
    )


async def notification_for_status(
    conn: asyncpg.Connection, provider_message_id: str, callback_data: str | None
) -> asyncpg.Record | None:
    """The notification a WhatsApp status is about: by the keyed ref of its wamid
    (`Keystore.message_ref`), else by the notification id we put in biz_opaque_callback_data
    (the sender may have crashed before recording the wamid)."""
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


async def hold_events(
    conn: asyncpg.Connection, held: Sequence[tuple[uuid.UUID, uuid.UUID, bytes]]
) -> None:
    """Keep events (event id, complaint id, raw event) that overtook their complaint, in one
    statement."""
    if not held:
        return
    await conn.execute(
        "INSERT INTO held_events (event_id, complaint_id, event)"
        " SELECT e, c, raw::jsonb FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS h(e, c, raw)"
        " ON CONFLICT DO NOTHING",
        [event_id for event_id, _, _ in held],
        [complaint_id for _, complaint_id, _ in held],
        [raw.decode() for _, _, raw in held],
    )


# --------------------------------------------------------------------------- the send queue


async def claim_due(db: Database, batch_size: int, lease: timedelta) -> list[asyncpg.Record]:
    """Claim up to `batch_size` due rows (`pending` whose time has come, or `sending` whose
    lease expired after a crash), marking them `sending` under a lease. SKIP LOCKED: several
    instances share the queue without claiming a row twice."""
    return await db.fetch(
        "UPDATE notifications SET status = 'sending', attempts = attempts + 1,"
        " claimed_until = now() + make_interval(secs => $2)"
        " WHERE notification_id IN (SELECT notification_id FROM notifications"
        "  WHERE (status = 'pending' AND next_attempt_at <= now())"
        "     OR (status = 'sending' AND claimed_until < now())"
        "  ORDER BY next_attempt_at, created_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
        " RETURNING *",
        batch_size,
        lease.total_seconds(),
    )


async def legacy_digests_left(db: Database) -> bool:
    """Whether an opt-out or WhatsApp window still sits under a legacy digest. Once none
    does, none can again: every write is keyed."""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM opt_outs WHERE address_digest NOT LIKE $1)"
            " OR EXISTS (SELECT 1 FROM whatsapp_windows WHERE address_digest NOT LIKE $1)",
            KEYED_DIGEST_PREFIX + "%",
        )
    )


async def opted_out_among(db: Database, pairs: dict[str, str]) -> set[str]:
    """The keyed digests among `pairs` (keyed -> legacy digest) that opted out; an opt-out
    still under its legacy digest counts, and is re-keyed."""
    await _rekey(db, "opt_outs", pairs)
    rows = await db.fetch(
        "SELECT address_digest FROM opt_outs WHERE address_digest = ANY($1::text[])",
        list(pairs),
    )
    return {row["address_digest"] for row in rows}


async def last_inbound_at(db: Database, pairs: dict[str, str]) -> dict[str, datetime]:
    """When each of these WhatsApp ids (by keyed digest; `pairs` as in `opted_out_among`)
    last wrote to us, where known."""
    await _rekey(db, "whatsapp_windows", pairs)
    rows = await db.fetch(
        "SELECT address_digest, last_inbound_at FROM whatsapp_windows"
        " WHERE address_digest = ANY($1::text[])",
        list(pairs),
    )
    return {row["address_digest"]: row["last_inbound_at"] for row in rows}


async def recent_sends(
    conn: asyncpg.Connection, destinations: Sequence[str], window: timedelta
) -> dict[str, list[datetime]]:
    """Sends within `window` that count towards each destination's rate limit."""
    recent: dict[str, list[datetime]] = {}
    for row in await conn.fetch(
        "SELECT destination, sent_at FROM notifications"
        " WHERE destination = ANY($1::text[]) AND sent_at > now() - $2::interval"
        " AND NOT exempt_from_limits",
        list(destinations),
        window,
    ):
        recent.setdefault(row["destination"], []).append(row["sent_at"])
    return recent


async def record_sent(conn: asyncpg.Connection, sent: Sequence[Sent]) -> list[asyncpg.Record]:
    """Mark the batch's accepted sends `sent`, in one statement; returns the rows updated.
    `status = 'sending'`: a status callback may have recorded a row first, and it must not be
    recorded (nor announced) twice."""
    if not sent:
        return []
    return await conn.fetch(
        "UPDATE notifications AS n SET status = 'sent',"
        " provider_message_id = s.provider_message_id, sent_at = now(),"
        " delivery_status = coalesce(n.delivery_status, 'sent'), wa_mode = s.wa_mode,"
        " reply_text = NULL, claimed_until = NULL, last_error = NULL"
        " FROM unnest($1::uuid[], $2::text[], $3::text[])"
        "  AS s(notification_id, provider_message_id, wa_mode)"
        " WHERE n.notification_id = s.notification_id AND n.status = 'sending'"
        " RETURNING n.*",
        [s.row["notification_id"] for s in sent],
        [s.provider_id for s in sent],
        [s.wa_mode for s in sent],
    )


async def record_suppressed(conn: asyncpg.Connection, suppressed: Sequence[Suppressed]) -> None:
    """Mark rows that must not be sent (opted out, erased) `suppressed`, in one statement."""
    if not suppressed:
        return
    await conn.execute(
        "UPDATE notifications AS n SET status = 'suppressed', claimed_until = NULL,"
        " reply_text = CASE WHEN s.erased THEN NULL ELSE n.reply_text END,"
        " last_error = s.reason"
        " FROM unnest($1::uuid[], $2::text[], $3::bool[])"
        "  AS s(notification_id, reason, erased)"
        " WHERE n.notification_id = s.notification_id",
        [s.notification_id for s in suppressed],
        [s.reason for s in suppressed],
        [s.erased for s in suppressed],
    )


async def record_deferred(conn: asyncpg.Connection, deferred: Sequence[Deferred]) -> None:
    """Put rows held by the rate limit back in the queue for later, in one statement. Not an
    attempt, so it does not count as one."""
    if not deferred:
        return
    await conn.execute(
        "UPDATE notifications AS n SET status = 'pending',"
        " attempts = n.attempts - 1, claimed_until = NULL,"
        " next_attempt_at = now() + make_interval(secs => s.wait_seconds)"
        " FROM unnest($1::uuid[], $2::float8[]) AS s(notification_id, wait_seconds)"
        " WHERE n.notification_id = s.notification_id",
        [d.notification_id for d in deferred],
        [d.wait_seconds for d in deferred],
    )


async def retry_later(
    db: Database, notification_id: uuid.UUID, reason: str, delay_seconds: float
) -> None:
    """A failed attempt worth retrying: back to `pending` after `delay_seconds`."""
    await db.execute(
        "UPDATE notifications SET status = 'pending', claimed_until = NULL, last_error = $2,"
        " next_attempt_at = now() + make_interval(secs => $3)"
        " WHERE notification_id = $1 AND status = 'sending'",
        notification_id,
        reason,
        delay_seconds,
    )


async def give_up(
    conn: asyncpg.Connection,
    notification_id: uuid.UUID,
    reason: str,
    *,
    while_in: Sequence[str] = ("sending",),
) -> asyncpg.Record | None:
    """Mark the row `undeliverable` if its status is one of `while_in`; the row, or None when
    it had moved on."""
    return await conn.fetchrow(
        "UPDATE notifications SET status = 'undeliverable', claimed_until = NULL,"
        " last_error = $2 WHERE notification_id = $1 AND status = ANY($3::text[]) RETURNING *",
        notification_id,
        reason,
        list(while_in),
    )


async def record_sent_by_callback(
    conn: asyncpg.Connection, notification_id: uuid.UUID, provider_message_id: str, at: datetime
) -> None:
    """A status callback proves the provider accepted a send the sender never recorded."""
    await conn.execute(
        "UPDATE notifications SET status = 'sent', provider_message_id = $2,"
        " sent_at = coalesce(sent_at, $3), reply_text = NULL, claimed_until = NULL"
        " WHERE notification_id = $1",
        notification_id,
        provider_message_id,
        at,
    )


async def set_delivery_status(
    conn: asyncpg.Connection, notification_id: uuid.UUID, status: str
) -> None:
    await conn.execute(
        "UPDATE notifications SET delivery_status = $2 WHERE notification_id = $1",
        notification_id,
        status,
    )
