"""The review queue as reviewers read it (the read side): items without NIK, phone or name,
one item with the complaints it resembles, and the audit log (`review_log`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from services.triage.domain.review import (
    CLAIM_MINUTES,
    LogFilter,
    claim_expires_at,
    require_status,
)


def review_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """One queue item as the review API shows it."""
    needs_review = json.loads(row["needs_review"])
    return {
        "complaint_id": str(row["complaint_id"]),
        "tracking_code": row["tracking_code"],
        "status": row["status"],
        "category": row["category"],
        "priority": row["priority"],
        "region_code": row["region_code"],
        "region_source": row.get("region_source"),
        "reasons": needs_review["payload"]["reasons"],
        "description": row["description"],
        "matched_terms": _json(row.get("matched_terms"), []),
        "warnings": needs_review["payload"].get("warnings", []),
        "similar": _json(row.get("resembling"), []),
        "created_at": _iso(row.get("created_at")),
        "claimed_by": row["claimed_by"],
        "claimed_at": _iso(row.get("claimed_at")),
        "claim_expires_at": _iso(claim_expires_at(row)),
        "claim_minutes": CLAIM_MINUTES,  # how long a claim lasts: the back office's hint
        "decision": row["decision"],
        "decided_by": row["decided_by"],
        "decided_at": _iso(row.get("decided_at")),
    }


def _json(value: Any, default: Any) -> Any:
    return default if value is None else json.loads(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


async def one_item(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow("SELECT * FROM review_items WHERE complaint_id = $1", complaint_id)
    return None if row is None else review_item(row)


async def log_entries(pool: asyncpg.Pool, query: LogFilter) -> list[dict[str, Any]]:
    """The audit log, newest first, with each item's tracking code."""
    rows = await pool.fetch(
        "SELECT l.id, l.complaint_id, i.tracking_code, l.reviewer, l.action, l.reason_code,"
        " l.note, l.original_complaint_id, l.category, l.at FROM review_log l"
        " JOIN review_items i USING (complaint_id)"
        " WHERE ($1::text IS NULL OR l.reviewer = $1) AND ($2::text IS NULL OR l.action = $2)"
        " AND ($3::timestamptz IS NULL OR l.at >= $3)"
        " AND ($4::timestamptz IS NULL OR l.at < $4)"
        " ORDER BY l.at DESC, l.id DESC LIMIT $5",
        query.reviewer,
        query.action,
        query.since,
        query.before,
        query.limit,
    )
    return [
        {
            **dict(row),
            "complaint_id": str(row["complaint_id"]),
            "original_complaint_id": _str(row["original_complaint_id"]),
            "at": row["at"].isoformat(),
        }
        for row in rows
    ]


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


async def list_items(pool: asyncpg.Pool, status: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT * FROM review_items WHERE status = $1 ORDER BY created_at LIMIT $2",
        require_status(status),
        max(1, min(limit, 500)),
    )
    return [review_item(row) for row in rows]
