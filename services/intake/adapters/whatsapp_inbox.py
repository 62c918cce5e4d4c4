"""The WhatsApp channel's tables: the inbox the webhook fills and the worker empties, and the
drafts of guided conversations in progress.

No number is stored in the clear: rows name their sender by `sender_of` (a keyed hash) and
their message by `Keystore.message_ref` (a keyed hash of the wamid, which encodes the
number), the inbox's message (with the number) is dropped once processed, and a draft is
sealed under the key of the sender's WhatsApp number (docs/personal-data.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from schemas.personal_data import is_sealed
from services.intake.domain.conversation import Draft
from services.intake.domain.whatsapp import InboundMessage
from services.personal_data.field_crypto import DataKey, identity_of
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
    """Insert messages not seen before; returns how many were new."""
    return len(await store_new_messages(conn, keys, messages))


async def store_new_messages(
    conn: asyncpg.Connection, keys: Keystore, messages: Sequence[InboundMessage]
) -> set[str]:
    """Insert messages not seen before (in one statement); returns the refs of the new ones.
    A message is named by `Keystore.message_ref` of its wamid (a keyed hash: a wamid encodes
    the sender's number). Rows stored before intake migration 0012 are named by the plain
    wamid: a message seen then is still recognised (compared, not stored) until those rows
    lapse (8 days)."""
    if not messages:
        return set()
    rows = await conn.fetch(
        "INSERT INTO whatsapp_inbox (message_id, sender, message)"
        " SELECT m.ref, m.sender, m.message"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])"
        "  AS m(ref, legacy, sender, message)"
        " WHERE NOT EXISTS (SELECT 1 FROM whatsapp_inbox o WHERE o.message_id = m.legacy)"
        " ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
        [keys.message_ref(m.message_id) for m in messages],
        [m.message_id for m in messages],
        [sender_of(keys, m.wa_id) for m in messages],
        [m.model_dump_json() for m in messages],
    )
    return {row["message_id"] for row in rows}


# A sender's shard: all their messages in one, so one worker at a time handles them, in order.
_IN_SHARD = "mod(hashtext(i.sender)::bigint + 2147483648, $2) = $3"


async def shards_with_unprocessed(conn: asyncpg.Connection | asyncpg.Pool, shards: int) -> set[int]:
    """The shards holding unprocessed messages (the pending index: cheap when idle)."""
    rows = await conn.fetch(
        "SELECT DISTINCT mod(hashtext(i.sender)::bigint + 2147483648, $1) AS shard"
        " FROM whatsapp_inbox i WHERE i.processed_at IS NULL",
        shards,
    )
    return {row["shard"] for row in rows}


async def lock_unprocessed(
    conn: asyncpg.Connection, batch_size: int, shard: int = 0, shards: int = 1
) -> list[asyncpg.Record]:
    """The shard's oldest unprocessed messages, locked for this transaction, each with its
    sender and the count of the sender's messages in the hour before it (the per-sender
    limit). Shards divide senders by a hash of `sender`."""
    return await conn.fetch(
        "SELECT i.message_id, i.sender, i.message, (SELECT count(*) FROM whatsapp_inbox e"
        " WHERE e.sender = i.sender AND e.seq < i.seq"
        " AND e.received_at > i.received_at - interval '1 hour') AS earlier"
        f" FROM whatsapp_inbox i WHERE i.processed_at IS NULL AND {_IN_SHARD}"
        " ORDER BY i.seq LIMIT $1 FOR UPDATE OF i",
        batch_size,
        shards,
        shard,
    )


async def mark_processed(conn: asyncpg.Connection, outcomes: Sequence[tuple[str, str]]) -> None:
    """Done with these messages (id, outcome): their content (personal data) is dropped,
    their ids kept for dedup. Marked at the clock, not the transaction's start: a shard's
    later batch is marked later (the flood bench checks each sender's order by it)."""
    if not outcomes:
        return
    await conn.execute(
        "UPDATE whatsapp_inbox i SET processed_at = clock_timestamp(), message = NULL,"
        " outcome = d.outcome"
        " FROM unnest($1::text[], $2::text[]) AS d(message_id, outcome)"
        " WHERE i.message_id = d.message_id",
        [message_id for message_id, _ in outcomes],
        [outcome for _, outcome in outcomes],
    )


@dataclass
class Conversations:
    """The drafts of one inbox batch's senders and the data keys of their numbers, read in
    one statement each when the batch starts (drafts locked `FOR UPDATE`) and the drafts
    written in one statement each (`flush`): a message's handling costs no round trip of
    its own for them. `keys` seal and open under the batch's prefetched keys."""

    keys: Keystore
    data_keys: dict[str, DataKey]  # by identity (`identity_of(None, wa_id, None)`)
    drafts: dict[str, tuple[str, str | None]]  # by sender: (sealed draft, language)
    saved: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)
    senders: dict[str, str] = field(default_factory=dict)  # by number, see `sender`

    @classmethod
    async def lock(
        cls, conn: asyncpg.Connection, keys: Keystore, wa_ids: Sequence[str]
    ) -> Conversations:
        identities = sorted({identity_of(None, wa_id, None) for wa_id in wa_ids})
        if not identities:
            return cls(keys, {}, {})
        data_keys = await keys.keys_for(conn, identities)
        rows = await conn.fetch(
            "SELECT sender, draft, language FROM whatsapp_conversations"
            " WHERE sender = ANY($1::text[]) ORDER BY sender FOR UPDATE",
            sorted({sender_of(keys, wa_id) for wa_id in wa_ids}),
        )
        drafts = {row["sender"]: (row["draft"], row["language"]) for row in rows}
        return cls(keys, data_keys, drafts)

    def sender(self, wa_id: str) -> str:
        """`sender_of` the number, computed once per batch (an HMAC each time otherwise)."""
        sender = self.senders.get(wa_id)
        if sender is None:
            sender = self.senders[wa_id] = sender_of(self.keys, wa_id)
        return sender

    def key(self, wa_id: str) -> DataKey:
        """The data key of this WhatsApp number (a number outside the batch raises)."""
        return self.data_keys[identity_of(None, wa_id, None)]

    async def draft(self, conn: asyncpg.Connection, wa_id: str) -> Draft | None:
        """The sender's open conversation; none when there is none or its key was erased
        (the citizen starts over)."""
        found = self.drafts.get(self.sender(wa_id))
        opened = await self.keys.reveal(conn, found[0]) if found else None
        return None if opened is None or is_sealed(opened) else Draft.model_validate_json(opened)

    def language(self, wa_id: str) -> str | None:
        found = self.drafts.get(self.sender(wa_id))
        return found[1] if found else None

    def save(self, wa_id: str, draft: Draft, expires_at: datetime) -> None:
        """Keep the draft sealed under the key of the sender's WhatsApp number (erasing the
        number erases it); its language stays readable for replies."""
        sender = self.sender(wa_id)
        sealed = self.key(wa_id).seal(draft.model_dump_json())
        self.drafts[sender] = (sealed, draft.language.value)
        self.saved[sender] = (sealed, draft.language.value, expires_at)
        self.dropped.discard(sender)

    def drop(self, wa_id: str) -> None:
        sender = self.sender(wa_id)
        self.drafts.pop(sender, None)
        self.saved.pop(sender, None)
        self.dropped.add(sender)

    def restore(self, drafts: dict[str, tuple[str, str | None]]) -> None:
        """Back to `drafts` as they were (a message that failed), nothing unwritten kept."""
        self.drafts, self.saved, self.dropped = drafts, {}, set()

    async def flush(self, conn: asyncpg.Connection) -> None:
        """Write the drafts saved and dropped since the last flush."""
        if self.dropped:
            await conn.execute(
                "DELETE FROM whatsapp_conversations WHERE sender = ANY($1::text[])",
                sorted(self.dropped),
            )
        if self.saved:
            senders = sorted(self.saved)
            await conn.execute(
                "INSERT INTO whatsapp_conversations (sender, draft, language, expires_at)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])"
                " ON CONFLICT (sender) DO UPDATE SET draft = excluded.draft,"
                " language = excluded.language, expires_at = excluded.expires_at,"
                " updated_at = now()",
                senders,
                [self.saved[sender][0] for sender in senders],
                [self.saved[sender][1] for sender in senders],
                [self.saved[sender][2] for sender in senders],
            )
        self.saved, self.dropped = {}, set()


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
