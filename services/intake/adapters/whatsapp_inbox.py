"""The WhatsApp channel's tables: the inbox the webhook fills and the worker empties, and the
drafts of guided conversations in progress.

No number is stored in the clear: rows name their sender by `sender_of` (a keyed hash) and
their message by `Keystore.message_ref` (a keyed hash of the wamid, which encodes the
number), the inbox's message (with the number) is dropped once processed, and a draft is
sealed under the key of the sender's WhatsApp number (docs/personal-data.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from schemas.personal_data import is_sealed
from services.intake.domain.conversation import Draft
from services.intake.domain.whatsapp import InboundMessage
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore

INBOX_RETENTION_DAYS = 8  # Meta retries undelivered webhooks for up to 7 days


def sender_of(keys: Keystore, wa_id: str) -> str:
    """The name the WhatsApp tables keep for a sender instead of their number: a keyed hash
    (HMAC under the keystore's identity key, apart from its identity digests), so per-sender
    ordering and lookups work and the stored name reveals nothing without the key."""
    return keys.digest(f"whatsapp-sender:{wa_id}")


async def store_messages(
    conn: asyncpg.Connection, keys: Keystore, messages: Sequence[InboundMessage]
) -> int:
    """Insert messages not seen before; returns how many were new. A message is named by
    `Keystore.message_ref` of its wamid (a keyed hash: a wamid encodes the sender's number).
    Rows stored before intake migration 0012 are named by the plain wamid: a message seen
    then is still recognised (compared, not stored) until those rows lapse (8 days)."""
    if not messages:
        return 0
    new = await conn.fetchval(
        "WITH inserted AS (INSERT INTO whatsapp_inbox (message_id, sender, message)"
        " SELECT m.ref, m.sender, m.message"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])"
        "  AS m(ref, legacy, sender, message)"
        " WHERE NOT EXISTS (SELECT 1 FROM whatsapp_inbox o WHERE o.message_id = m.legacy)"
        " ON CONFLICT (message_id) DO NOTHING RETURNING 1) SELECT count(*) FROM inserted",
        [keys.message_ref(m.message_id) for m in messages],
        [m.message_id for m in messages],
        [sender_of(keys, m.wa_id) for m in messages],
        [m.model_dump_json() for m in messages],
    )
    return int(new)


async def lock_unprocessed(conn: asyncpg.Connection, batch_size: int) -> list[asyncpg.Record]:
    """The oldest unprocessed messages, locked for this transaction, each with the count of
    its sender's messages in the hour before it (the per-sender limit)."""
    return await conn.fetch(
        "SELECT i.message_id, i.message, (SELECT count(*) FROM whatsapp_inbox e"
        " WHERE e.sender = i.sender AND e.seq < i.seq"
        " AND e.received_at > i.received_at - interval '1 hour') AS earlier"
        " FROM whatsapp_inbox i WHERE i.processed_at IS NULL"
        " ORDER BY i.seq LIMIT $1 FOR UPDATE OF i",
        batch_size,
    )


async def mark_processed(conn: asyncpg.Connection, message_id: str, outcome: str) -> None:
    """Done with a message: its content (personal data) is dropped, its id kept for dedup."""
    await conn.execute(
        "UPDATE whatsapp_inbox SET processed_at = now(), message = NULL, outcome = $2"
        " WHERE message_id = $1",
        message_id,
        outcome,
    )


async def lock_draft(conn: asyncpg.Connection, keys: Keystore, wa_id: str) -> Draft | None:
    """The sender's open conversation; none when there is none or its key was erased (the
    citizen starts over)."""
    row = await conn.fetchrow(
        "SELECT draft FROM whatsapp_conversations WHERE sender = $1 FOR UPDATE",
        sender_of(keys, wa_id),
    )
    opened = await keys.reveal(conn, row["draft"]) if row else None
    return None if opened is None or is_sealed(opened) else Draft.model_validate_json(opened)


async def save_draft(
    conn: asyncpg.Connection, keys: Keystore, wa_id: str, draft: Draft, expires_at: datetime
) -> None:
    """Keep the draft sealed under the key of the sender's WhatsApp number (erasing the
    number erases it); its language stays readable for replies."""
    key = await keys.key_for(conn, identity_of(None, wa_id, None))
    await conn.execute(
        "INSERT INTO whatsapp_conversations (sender, draft, language, expires_at)"
        " VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (sender) DO UPDATE SET draft = excluded.draft,"
        " language = excluded.language, expires_at = excluded.expires_at, updated_at = now()",
        sender_of(keys, wa_id),
        key.seal(draft.model_dump_json()),
        draft.language.value,
        expires_at,
    )


async def drop_draft(conn: asyncpg.Connection, keys: Keystore, wa_id: str) -> None:
    await conn.execute(
        "DELETE FROM whatsapp_conversations WHERE sender = $1", sender_of(keys, wa_id)
    )


async def draft_language(conn: asyncpg.Connection, keys: Keystore, wa_id: str) -> str | None:
    return await conn.fetchval(
        "SELECT language FROM whatsapp_conversations WHERE sender = $1", sender_of(keys, wa_id)
    )


async def forget_expired(conn: asyncpg.Connection) -> None:
    """Drafts past the 24-hour window hold personal data nobody will finish: drop them.
    Processed inbox ids are kept as long as Meta may still retry (days), then dropped; so are
    documents staged for conversations that were never filed (after two days)."""
    await conn.execute("DELETE FROM whatsapp_conversations WHERE expires_at < now()")
    await conn.execute("DELETE FROM whatsapp_media WHERE received_at < now() - interval '2 days'")
    await conn.execute(
        "DELETE FROM whatsapp_inbox WHERE processed_at < now() - make_interval(days => $1)",
        INBOX_RETENTION_DAYS,
    )
