"""Routing's PostgreSQL adapter: agencies, rules and cases."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.routing.domain import Rule


async def active_rules(conn: asyncpg.Connection, category: str) -> list[Rule]:
    rows = await conn.fetch(
        "SELECT rule_id, category, region_prefix, agency_code, precedence FROM routing_rules"
        " WHERE active AND (category IS NULL OR category = $1)",
        category,
    )
    return [Rule(**row) for row in rows]


async def agency_names(conn: asyncpg.Connection) -> dict[str, str]:
    return {
        row["agency_code"]: row["name"]
        for row in await conn.fetch("SELECT agency_code, name FROM agencies")
    }


async def insert_case(
    conn: asyncpg.Connection,
    *,
    case_id: uuid.UUID,
    complaint_id: uuid.UUID,
    tracking_code: str,
    category: str,
    priority: str,
    region_code: str | None,
    agency_code: str,
    rule_id: str,
    due_at: datetime,
) -> bool:
    """Open the case for a complaint; False if it already has one."""
    return bool(
        await conn.fetchval(
            "INSERT INTO cases (case_id, complaint_id, tracking_code, category, priority,"
            " region_code, agency_code, rule_id, status, due_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'assigned', $9)"
            " ON CONFLICT (complaint_id) DO NOTHING RETURNING true",
            case_id,
            complaint_id,
            tracking_code,
            category,
            priority,
            region_code,
            agency_code,
            rule_id,
            due_at,
        )
    )
