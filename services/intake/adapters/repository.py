"""Intake's repository: every write to the complaints' tables (complaints, timeline,
attachments, updates, one-time codes) and the reads a use case needs to decide.

It never writes the outbox: the use case that causes an event enqueues it, in the same
transaction (see `handlers`). Read queries for pages and APIs are in `views`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from schemas.events import Attachment, ComplaintReceived, ComplaintUpdated
from services.intake.domain.complaints import StatusChange, fold_status_changes
from services.personal_data.field_crypto import sealed_key_ids_in
from services.personal_data.keystore import Keystore


@dataclass(frozen=True)
class StoredComplaint:
    complaint_id: uuid.UUID
    tracking_code: str
    request_fingerprint: str | None


async def find_by_idempotency_keys(
    conn: asyncpg.Connection, keys: Sequence[str]
) -> dict[str, StoredComplaint]:
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT idempotency_key, complaint_id, tracking_code, request_fingerprint"
        " FROM complaints WHERE idempotency_key = ANY($1::text[])",
        list(keys),
    )
    return {
        row["idempotency_key"]: StoredComplaint(
            complaint_id=row["complaint_id"],
            tracking_code=row["tracking_code"],
            request_fingerprint=row["request_fingerprint"],
        )
        for row in rows
    }


@dataclass(frozen=True)
class SealedDocument:
    """A document's bytes sealed with the reporter's data key (`DataKey.seal_bytes`)."""

    attachment_id: str
    key_id: str
    content: bytes


@dataclass(frozen=True)
class NewComplaint:
    """A sealed `ComplaintReceived` to store, with what came along with the request."""

    event: ComplaintReceived
    idempotency_key: str | None
    fingerprint: str | None
    officer_id: str | None = None
    documents: Sequence[SealedDocument] = ()
    contact_subject: str | None = None  # keyed hash of the phone: WhatsApp answers find it
    client_app: str | None = None  # Open311: the client application, and its service_code
    service_code: str | None = None


async def record_complaints(
    conn: asyncpg.Connection, complaints: Sequence[NewComplaint]
) -> set[uuid.UUID]:
    """Store new complaints, their timeline entries and attachments: one statement per table
    however many there are. Returns the ids stored; a clash on idempotency key or tracking
    code stores nothing for that complaint. The events come sealed (`Keystore.seal`):
    `details` and the contact columns hold ciphertext, which `complaint_record` opens."""
    if not complaints:
        return set()
    columns: list[list[object]] = [[] for _ in range(13)]
    for item in complaints:
        payload = item.event.payload
        row = (
            item.event.complaint_id,
            payload.tracking_code,
            payload.channel.value,
            item.idempotency_key,
            item.fingerprint,
            payload.received_at,
            payload.model_dump_json(),
            payload.reporter.phone,
            payload.reporter.email,
            item.officer_id,
            item.contact_subject,
            item.client_app,
            item.service_code,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    stored = {
        row["complaint_id"]
        for row in await conn.fetch(
            "INSERT INTO complaints (complaint_id, tracking_code, channel, idempotency_key,"
            " request_fingerprint, received_at, updated_at, details, contact_phone,"
            " contact_email, officer_id, contact_subject, open311_client, open311_service)"
            " SELECT c, t, ch, k, f, r, r, d::jsonb, p, e, o, s, a, sc"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
            " $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],"
            " $12::text[], $13::text[]) AS x(c, t, ch, k, f, r, d, p, e, o, s, a, sc)"
            " ON CONFLICT DO NOTHING RETURNING complaint_id",
            *columns,
        )
    }
    kept = [item for item in complaints if item.event.complaint_id in stored]
    await conn.execute(
        "INSERT INTO complaint_timeline (event_id, complaint_id, event_type, status,"
        " occurred_at) SELECT e, c, 'ComplaintReceived', 'received', o"
        " FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS x(e, c, o)",
        [uuid.uuid5(item.event.complaint_id, "received") for item in kept],
        [item.event.complaint_id for item in kept],
        [item.event.payload.received_at for item in kept],
    )
    await _insert_attachments(
        conn,
        [
            row
            for item in kept
            for row in _attachment_rows(
                item.event.complaint_id, item.event.payload.attachments, item.documents
            )
        ],
    )
    return stored


async def add_attachments(
    conn: asyncpg.Connection,
    complaint_id: uuid.UUID,
    attachments: Sequence[Attachment],
    documents: Sequence[SealedDocument] = (),
) -> None:
    """Store the attachments' references and their sealed bytes."""
    await _insert_attachments(conn, _attachment_rows(complaint_id, attachments, documents))


def _attachment_rows(
    complaint_id: uuid.UUID, attachments: Sequence[Attachment], documents: Sequence[SealedDocument]
) -> list[tuple[object, ...]]:
    sealed = {document.attachment_id: document for document in documents}
    rows = []
    for a in attachments:
        document = sealed.get(a.attachment_id)
        rows.append(
            (
                complaint_id,
                a.attachment_id,
                a.media_type,
                a.filename,
                a.size_bytes,
                a.sha256,
                document.key_id if document else None,
                document.content if document else None,
            )
        )
    return rows


async def _insert_attachments(conn: asyncpg.Connection, rows: list[tuple[object, ...]]) -> None:
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO complaint_attachments (complaint_id, attachment_id, media_type, filename,"
        " size_bytes, sha256, key_id, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT DO NOTHING",
        rows,
    )


async def stage_whatsapp_media(
    conn: asyncpg.Connection, sender: str, attachment: Attachment, document: SealedDocument
) -> None:
    """Keep a downloaded WhatsApp document until the conversation files its complaint; the
    sender is named by `whatsapp_inbox.sender_of` (a keyed hash), never by number."""
    await conn.execute(
        "INSERT INTO whatsapp_media (attachment_id, sender, media_type, size_bytes, sha256,"
        " key_id, content) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        attachment.attachment_id,
        sender,
        attachment.media_type,
        attachment.size_bytes,
        attachment.sha256,
        document.key_id,
        document.content,
    )


async def staged_whatsapp_media(
    conn: asyncpg.Connection, sender: str, attachment_ids: Sequence[str]
) -> list[SealedDocument]:
    rows = await conn.fetch(
        "SELECT attachment_id, key_id, content FROM whatsapp_media"
        " WHERE sender = $1 AND attachment_id = ANY($2::text[])",
        sender,
        list(attachment_ids),
    )
    return [SealedDocument(row["attachment_id"], row["key_id"], row["content"]) for row in rows]


async def drop_staged_whatsapp_media(
    conn: asyncpg.Connection, sender: str, attachment_ids: Sequence[str]
) -> None:
    await conn.execute(
        "DELETE FROM whatsapp_media WHERE sender = $1 AND attachment_id = ANY($2::text[])",
        sender,
        list(attachment_ids),
    )


@dataclass(frozen=True)
class StatusUpdate:
    """One downstream event's effect on the read model: a timeline entry, maybe a status."""

    event_id: uuid.UUID
    complaint_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    change: StatusChange


async def apply_statuses(conn: asyncpg.Connection, updates: Sequence[StatusUpdate]) -> None:
    """Apply the updates as if one by one, in order, in three statements however many.

    The timeline inserts and the status updates touch different tables and neither reads
    the other, so all inserts go first. The complaints concerned are then locked and read
    (sorted: no deadlock with another instance), each one's updates folded in order onto its
    stored rank (`fold_status_changes`: the `status_rank <= rank` and `coalesce` of one
    conditional UPDATE per event, exactly), and what each ends at written in one UPDATE.
    """
    if not updates:
        return
    await conn.execute(
        "INSERT INTO complaint_timeline (event_id, complaint_id, event_type, status, detail,"
        " occurred_at) SELECT e, c, t, s, d, o FROM unnest($1::uuid[], $2::uuid[], $3::text[],"
        " $4::text[], $5::text[], $6::timestamptz[]) AS x(e, c, t, s, d, o)"
        " WHERE EXISTS (SELECT 1 FROM complaints WHERE complaint_id = x.c)"
        " ON CONFLICT (event_id) DO NOTHING",
        [update.event_id for update in updates],
        [update.complaint_id for update in updates],
        [update.event_type for update in updates],
        [update.change.status for update in updates],
        [update.change.detail for update in updates],
        [update.occurred_at for update in updates],
    )
    changes: dict[uuid.UUID, list[StatusChange]] = {}
    for update in updates:
        if update.change.rank >= 0:
            changes.setdefault(update.complaint_id, []).append(update.change)
    if not changes:
        return
    stored = await conn.fetch(
        "SELECT complaint_id, status_rank FROM complaints WHERE complaint_id = ANY($1::uuid[])"
        " ORDER BY complaint_id FOR UPDATE",
        sorted(changes),
    )
    reached = {
        row["complaint_id"]: fold_status_changes(row["status_rank"], changes[row["complaint_id"]])
        for row in stored
    }
    ends = [(complaint_id, end) for complaint_id, end in reached.items() if end is not None]
    if ends:
        await conn.execute(
            "UPDATE complaints SET status = x.s, status_rank = x.r, status_detail = x.d,"
            " agency_name = coalesce(x.a, agency_name),"
            " response_due_at = coalesce(x.rd, response_due_at),"
            " documents_due_at = coalesce(x.dd, documents_due_at), updated_at = now()"
            " FROM unnest($1::uuid[], $2::text[], $3::smallint[], $4::text[], $5::text[],"
            " $6::timestamptz[], $7::timestamptz[]) AS x(c, s, r, d, a, rd, dd)"
            " WHERE complaint_id = x.c",
            [complaint_id for complaint_id, _ in ends],
            [end.status for _, end in ends],
            [end.rank for _, end in ends],
            [end.detail for _, end in ends],
            [end.agency_name for _, end in ends],
            [end.response_due_at for _, end in ends],
            [end.documents_due_at for _, end in ends],
        )


@dataclass(frozen=True)
class CaseJoin:
    """A co-reporter's complaint joining the case of `original_complaint_id`."""

    complaint_id: uuid.UUID
    original_complaint_id: uuid.UUID
    case_id: uuid.UUID
    joined_at: datetime
    status: StatusChange  # the case's status at the join, used while the original has none


async def follow_cases(conn: asyncpg.Connection, joins: Sequence[CaseJoin]) -> None:
    """Record who follows which case, and give each joining complaint the case's current
    status: the original complaint's, which every case event has updated, else the join's.

    The originals' rows are locked first. A case event applied to an original at the same
    time (another partition, another transaction) either committed before, so its status is
    copied here, or waits for this transaction and then finds the new follower
    (`followers_of` runs after the originals' own update)."""
    if not joins:
        return
    await conn.execute(
        "SELECT 1 FROM complaints WHERE complaint_id = ANY($1::uuid[])"
        " ORDER BY complaint_id FOR UPDATE",
        sorted({join.original_complaint_id for join in joins}),
    )
    await conn.executemany(
        "INSERT INTO case_followers (complaint_id, original_complaint_id, case_id, joined_at)"
        " SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM complaints WHERE complaint_id = $1)"
        " ON CONFLICT (complaint_id) DO NOTHING",
        [(j.complaint_id, j.original_complaint_id, j.case_id, j.joined_at) for j in joins],
    )
    await conn.executemany(
        "UPDATE complaints j SET status = coalesce(o.status, $3),"
        " status_rank = coalesce(o.status_rank, $4),"
        " status_detail = CASE WHEN o.complaint_id IS NULL THEN $5 ELSE o.status_detail END,"
        " agency_name = coalesce(o.agency_name, $6, j.agency_name),"
        " response_due_at = coalesce(o.response_due_at, j.response_due_at), updated_at = now()"
        " FROM (SELECT 1) AS one"
        " LEFT JOIN complaints o ON o.complaint_id = $2 AND o.status_rank >= $4"
        " WHERE j.complaint_id = $1 AND j.status_rank <= coalesce(o.status_rank, $4)",
        [
            (
                j.complaint_id,
                j.original_complaint_id,
                j.status.status,
                j.status.rank,
                j.status.detail,
                j.status.agency_name,
            )
            for j in joins
        ],
    )


async def followers_of(
    conn: asyncpg.Connection, original_complaint_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The co-reporters' complaints that follow each of these complaints' cases."""
    if not original_complaint_ids:
        return {}
    rows = await conn.fetch(
        "SELECT complaint_id, original_complaint_id FROM case_followers"
        " WHERE original_complaint_id = ANY($1::uuid[]) ORDER BY complaint_id",
        list(set(original_complaint_ids)),
    )
    followers: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in rows:
        followers.setdefault(row["original_complaint_id"], []).append(row["complaint_id"])
    return followers


@dataclass(frozen=True)
class ComplaintRecord:
    """The stored complaint in the clear, for its owner; fields of an erased reporter are
    None (their key is gone)."""

    complaint_id: uuid.UUID
    tracking_code: str
    channel: str
    status: str
    received_at: datetime
    contact_phone: str | None
    contact_email: str | None
    details: dict[str, Any]
    key_id: str | None = None  # the reporter's data key; None for rows stored unsealed
    documents_due_at: datetime | None = None  # the agency's documents window (routing's)


async def complaint_record(
    conn: asyncpg.Connection, tracking_code: str, keys: Keystore
) -> ComplaintRecord | None:
    """The complaint opened for its owner (after they prove it is theirs)."""
    row = await conn.fetchrow(
        "SELECT complaint_id, tracking_code, channel, status, received_at, contact_phone,"
        " contact_email, details, documents_due_at FROM complaints WHERE tracking_code = $1",
        tracking_code,
    )
    if row is None:
        return None
    values = dict(row)
    stored = json.loads(values["details"]) if values["details"] else {}
    sealed = [stored, values["contact_phone"], values["contact_email"]]
    values["key_id"] = next(iter(sorted(sealed_key_ids_in(sealed))), None)
    values["details"] = await keys.open_json(conn, stored)
    values["contact_phone"] = await keys.reveal(conn, values["contact_phone"])
    values["contact_email"] = await keys.reveal(conn, values["contact_email"])
    return ComplaintRecord(**values)


async def store_one_time_code(
    conn: asyncpg.Connection,
    *,
    code_id: uuid.UUID,
    complaint_id: uuid.UUID,
    digest: str,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO ownership_codes (code_id, complaint_id, digest, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        code_id,
        complaint_id,
        digest,
        expires_at,
    )


async def recent_code_count(conn: asyncpg.Connection, complaint_id: uuid.UUID, minutes: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM ownership_codes WHERE complaint_id = $1"
            " AND created_at > now() - make_interval(mins => $2)",
            complaint_id,
            minutes,
        )
    )


async def use_one_time_code(
    conn: asyncpg.Connection, complaint_id: uuid.UUID, digest: str, max_failed: int
) -> bool:
    """True if a live code has this digest (it stays usable until expiry, so the citizen can
    view and then update); a wrong guess counts against every live code of the report."""
    matched = await conn.fetchval(
        "UPDATE ownership_codes SET used_at = coalesce(used_at, now())"
        " WHERE complaint_id = $1 AND digest = $2 AND expires_at > now()"
        " AND failed_tries < $3 RETURNING true",
        complaint_id,
        digest,
        max_failed,
    )
    if matched:
        return True
    await conn.execute(
        "UPDATE ownership_codes SET failed_tries = failed_tries + 1"
        " WHERE complaint_id = $1 AND expires_at > now()",
        complaint_id,
    )
    return False


async def find_update(
    conn: asyncpg.Connection, idempotency_key: str
) -> tuple[uuid.UUID, str] | None:
    row = await conn.fetchrow(
        "SELECT event_id, request_fingerprint FROM complaint_updates WHERE idempotency_key = $1",
        idempotency_key,
    )
    return (row["event_id"], row["request_fingerprint"]) if row else None


async def record_update(
    conn: asyncpg.Connection,
    event: ComplaintUpdated,
    *,
    idempotency_key: str | None,
    fingerprint: str,
) -> bool:
    inserted = await conn.fetchval(
        "INSERT INTO complaint_updates (event_id, complaint_id, idempotency_key,"
        " request_fingerprint, additional_text, added_at) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT DO NOTHING RETURNING true",
        event.event_id,
        event.complaint_id,
        idempotency_key,
        fingerprint,
        event.payload.additional_text,
        event.occurred_at,
    )
    if inserted:
        await conn.execute(
            "INSERT INTO complaint_timeline (event_id, complaint_id, event_type, status, detail,"
            " occurred_at) VALUES ($1, $2, 'ComplaintUpdated', 'updated', $3, $4)",
            event.event_id,
            event.complaint_id,
            f"{len(event.payload.attachments)} attachment(s) added",
            event.occurred_at,
        )
    return bool(inserted)
