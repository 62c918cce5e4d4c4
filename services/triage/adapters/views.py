"""The review queue as reviewers read it (the read side): items without NIK, phone or name."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import asyncpg

from services.triage.domain.review import require_status


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
        "claimed_by": row["claimed_by"],
        "decision": row["decision"],
        "decided_by": row["decided_by"],
    }


async def list_items(pool: asyncpg.Pool, status: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT * FROM review_items WHERE status = $1 ORDER BY created_at LIMIT $2",
        require_status(status),
        max(1, min(limit, 500)),
    )
    return [review_item(row) for row in rows]
