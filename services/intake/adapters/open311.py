"""Open311's SQL: the public requests (read side, `domain.open311` says what is public) and
the client applications' keys (stored only as their SHA-256 digest)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.intake.domain.open311 import HIDDEN_STATUSES, LIST_LIMIT, PublicFacts

_PUBLIC_COLUMNS = (
    "SELECT tracking_code, status, category, public_region, public_summary, agency_name,"
    " received_at, updated_at, response_due_at FROM complaints"
)
# Listed (set from ComplaintAccepted) and, as the reporter asked when filing, neither secret
# nor anonymous: both must say so.
_PUBLIC = (
    " WHERE public AND status <> ALL($1::text[])"
    " AND NOT coalesce((details->>'secret')::boolean, false)"
    " AND NOT coalesce((details->>'anonymous')::boolean, false)"
)


@dataclass(frozen=True)
class RequestFilter:
    """The spec's filters; `codes` (service_request_id) overrides the others."""

    codes: Sequence[str] = ()
    categories: Sequence[str] = ()
    status: str | None = None  # "open" | "closed"
    start: datetime | None = None
    end: datetime | None = None


async def public_requests(conn: asyncpg.Connection, wanted: RequestFilter) -> list[asyncpg.Record]:
    """The listed complaints matching `wanted`, newest first, at most `LIST_LIMIT`."""
    if wanted.codes:
        return await conn.fetch(
            f"{_PUBLIC_COLUMNS}{_PUBLIC}"
            " AND tracking_code = ANY($2::text[]) ORDER BY received_at DESC LIMIT $3",
            list(HIDDEN_STATUSES),
            list(wanted.codes),
            LIST_LIMIT,
        )
    closed = None if wanted.status is None else wanted.status == "closed"
    return await conn.fetch(
        f"{_PUBLIC_COLUMNS}{_PUBLIC}"
        " AND ($2::text[] IS NULL OR category = ANY($2::text[]))"
        " AND ($3::boolean IS NULL OR (status = 'closed') = $3)"
        " AND received_at >= $4 AND received_at <= $5"
        " ORDER BY received_at DESC LIMIT $6",
        list(HIDDEN_STATUSES),
        list(wanted.categories) or None,
        closed,
        wanted.start,
        wanted.end,
        LIST_LIMIT,
    )


async def tracking_code_of(conn: asyncpg.Connection, token: uuid.UUID) -> str | None:
    """The tracking code of the Open311 filing a token (its complaint id) names."""
    return await conn.fetchval(
        "SELECT tracking_code FROM complaints WHERE complaint_id = $1 AND channel = 'open311'",
        token,
    )


# --------------------------------------------------------------------------- client keys


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    revoked: bool


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def add_client(conn: asyncpg.Connection, name: str) -> tuple[str, str]:
    """A new client application: its id and its key, which is stored only as a digest and
    cannot be shown again."""
    client_id = f"app-{secrets.token_hex(4)}"
    key = f"o311_{secrets.token_urlsafe(32)}"
    await conn.execute(
        "INSERT INTO open311_clients (client_id, name, key_digest) VALUES ($1, $2, $3)",
        client_id,
        name,
        key_digest(key),
    )
    return client_id, key


async def revoke_client(conn: asyncpg.Connection, client_id: str) -> bool:
    """Refuse the client's key from now on; False if there is no such live client."""
    revoked = await conn.fetchval(
        "UPDATE open311_clients SET revoked_at = now()"
        " WHERE client_id = $1 AND revoked_at IS NULL RETURNING client_id",
        client_id,
    )
    return revoked is not None


async def client_by_key(conn: asyncpg.Connection, key: str) -> Client | None:
    row = await conn.fetchrow(
        "SELECT client_id, name, revoked_at IS NOT NULL AS revoked FROM open311_clients"
        " WHERE key_digest = $1",
        key_digest(key),
    )
    return Client(row["client_id"], row["name"], row["revoked"]) if row else None


async def clients(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every client application (never a key), newest first, with how many complaints each
    filed."""
    return await conn.fetch(
        "SELECT c.client_id, c.name, c.created_at, c.revoked_at,"
        " (SELECT count(*) FROM complaints WHERE open311_client = c.client_id) AS filed"
        " FROM open311_clients c ORDER BY c.created_at DESC"
    )


# --------------------------------------------------------------------------- public facts


async def record_public_facts(conn: asyncpg.Connection, facts: Sequence[PublicFacts]) -> None:
    """Store the facts for the public view: two statements however many (the latest of a
    complaint's facts of each kind wins, as applied one by one). Idempotent."""
    accepted = {f.complaint_id: f for f in facts if f.category is not None}
    summaries = {f.complaint_id: f for f in facts if f.summary_changed}
    if accepted:
        await conn.execute(
            "UPDATE complaints SET category = x.c, public_region = x.r, public = x.p"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::boolean[]) AS x(i, c, r, p)"
            " WHERE complaint_id = x.i",
            list(accepted),
            [f.category for f in accepted.values()],
            [f.region for f in accepted.values()],
            [bool(f.public) for f in accepted.values()],
        )
    if summaries:
        await conn.execute(
            "UPDATE complaints SET public_summary = x.s"
            " FROM unnest($1::uuid[], $2::text[]) AS x(i, s) WHERE complaint_id = x.i",
            list(summaries),
            [f.summary for f in summaries.values()],
        )
