"""Routing's read side: the queries behind the rules and calendar pages, the agency desk
and its case files and the public statistics. Nothing here writes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from services.routing.adapters.directory import AGENCY_DETAILS
from services.routing.domain import JAKARTA

# A connection, or the pool for a single statement.
Executor = asyncpg.Connection | asyncpg.Pool
TREND_DAYS = 28

# ------------------------------------------------------------------------- rules, calendar


async def rules(db: Executor) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM routing_rules ORDER BY rule_id")


async def rule_versions(db: Executor, rule_id: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT * FROM routing_rule_versions WHERE rule_id = $1 ORDER BY version", rule_id
    )


async def calendar_overrides(db: Executor) -> list[asyncpg.Record]:
    return await db.fetch("SELECT day, working, note FROM calendar_overrides ORDER BY day")


# ------------------------------------------------------------------------- cases

# A case as the desk shows it: with its agency's name, the open response
# deadline, the number of extra reporters and the SP4N-LAPOR! id of the current round.
CASE_SELECT = (
    "SELECT c.*, a.name AS agency_name,"
    " (SELECT min(d.due_at) FROM case_deadlines d WHERE d.case_id = c.case_id"
    "  AND d.kind = 'agency_response' AND d.met_at IS NULL) AS response_due_at,"
    " (SELECT count(*) FROM case_reporters r WHERE r.case_id = c.case_id)"
    "  AS extra_reporters,"
    " (SELECT f.remote_id FROM sp4n_forwardings f WHERE f.case_id = c.case_id"
    "  AND f.round = c.assignment_round) AS sp4n_remote_id"
    " FROM cases c JOIN agencies a USING (agency_code)"
)


@dataclass(frozen=True)
class InboxFilter:
    """The desk's list filters; None: no filter."""

    statuses: list[str] | None = None
    category: str | None = None
    priority: str | None = None
    region_prefix: str | None = None
    overdue: bool | None = None
    limit: int = 50
    offset: int = 0
    due_before: datetime | None = None  # the case's own deadline (`due_at`) before this
    assigned_officer: str | None = None  # `?mine=1`: the calling officer's cases
    by_due: bool = False  # strictly by due date (otherwise urgent cases first)


# The inbox's filters but the statuses ($2) and overdue ($6), which the counts break down.
_INBOX_WHERE = (
    " WHERE c.agency_code = $1"
    " AND ($3::text IS NULL OR c.category = $3)"
    " AND ($4::text IS NULL OR c.priority = $4)"
    " AND ($5::text IS NULL OR (c.region_code || '.') LIKE $5 || '.%')"
    " AND ($8::timestamptz IS NULL OR c.due_at < $8)"
    " AND ($9::text IS NULL OR c.assigned_officer = $9)"
)
_OVERDUE = (
    "EXISTS (SELECT 1 FROM case_deadlines d"
    " WHERE d.case_id = c.case_id AND d.met_at IS NULL AND d.due_at < $7)"
)


def _inbox_args(agency_code: str, wanted: InboxFilter, now: datetime) -> list[Any]:
    return [
        agency_code,
        wanted.statuses,
        wanted.category,
        wanted.priority,
        wanted.region_prefix,
        wanted.overdue,
        now,
        wanted.due_before,
        wanted.assigned_officer,
    ]


async def inbox(
    db: Executor, agency_code: str, wanted: InboxFilter, now: datetime
) -> list[asyncpg.Record]:
    """The agency's cases, urgent first, then by due date (`by_due`: by due date only)."""
    order = "" if wanted.by_due else "c.priority = 'urgent' DESC, "
    return await db.fetch(
        f"{CASE_SELECT}{_INBOX_WHERE}"
        " AND ($2::text[] IS NULL OR c.status = ANY($2))"
        f" AND ($6::boolean IS NULL OR $6 = {_OVERDUE})"
        f" ORDER BY {order}c.due_at, c.case_id LIMIT $10 OFFSET $11",
        *_inbox_args(agency_code, wanted, now),
        wanted.limit,
        wanted.offset,
    )


async def inbox_counts(
    db: Executor, agency_code: str, wanted: InboxFilter, now: datetime
) -> list[asyncpg.Record]:
    """The inbox's counts under the same filters but status and overdue, which they break
    down: one row per status with its total and how many of those are overdue."""
    return await db.fetch(
        f"SELECT c.status, count(*) AS total, count(*) FILTER (WHERE {_OVERDUE}) AS overdue"
        f" FROM cases c{_INBOX_WHERE}"
        # $2 and $6 (statuses, overdue) are what the counts break down: typed, not applied
        " AND ($2::text[] IS NULL OR true) AND ($6::boolean IS NULL OR true)"
        " GROUP BY c.status ORDER BY c.status",
        *_inbox_args(agency_code, wanted, now),
    )


SP4N_COLUMNS = (
    "f.case_id, f.round, f.agency_code, f.attempts, f.next_attempt_at, f.last_error,"
    " f.remote_id, f.forwarded_at"
)


async def sp4n_forwardings(db: Executor, case_id: uuid.UUID) -> list[asyncpg.Record]:
    """A case's SP4N-LAPOR! forwardings, one per assignment round to an agency on SP4N."""
    return await db.fetch(
        f"SELECT {SP4N_COLUMNS} FROM sp4n_forwardings f WHERE f.case_id = $1 ORDER BY f.round",
        case_id,
    )


async def sp4n_forwarding_list(
    db: Executor, pending: bool | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    """Every case's SP4N-LAPOR! forwardings (`pending`: only those not yet accepted, or only
    those accepted), the oldest waiting first."""
    return await db.fetch(
        f"SELECT {SP4N_COLUMNS}, c.tracking_code, c.status FROM sp4n_forwardings f"
        " JOIN cases c USING (case_id)"
        " WHERE ($1::boolean IS NULL OR $1 = (f.remote_id IS NULL))"
        " ORDER BY f.remote_id IS NOT NULL, f.next_attempt_at, f.case_id, f.round"
        " LIMIT $2 OFFSET $3",
        pending,
        limit,
        offset,
    )


async def agency_case(db: Executor, case_id: uuid.UUID, agency_code: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"{CASE_SELECT} WHERE c.case_id = $1 AND c.agency_code = $2", case_id, agency_code
    )


async def any_case(db: Executor, case_id: uuid.UUID) -> asyncpg.Record | None:
    """A case of any agency (for Setwapres administrators)."""
    return await db.fetchrow(f"{CASE_SELECT} WHERE c.case_id = $1", case_id)


async def case_history(db: Executor, case_id: uuid.UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT previous_status, status, agency_code, actor, reason, note, at"
        " FROM case_history WHERE case_id = $1 ORDER BY id",
        case_id,
    )


async def case_deadlines(db: Executor, case_id: uuid.UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT kind, round, due_at, met_at FROM case_deadlines WHERE case_id = $1 ORDER BY due_at",
        case_id,
    )


async def case_additions(db: Executor, case_id: uuid.UUID) -> list[asyncpg.Record]:
    """The citizen's additions in the case's file, oldest first: those of the case's own
    complaint and of the reporters who joined it, including any that came before the case
    opened."""
    return await db.fetch(
        "SELECT a.complaint_id, a.tracking_code, a.additional_text,"
        " a.attachments::text AS attachments, a.received_at"
        " FROM case_additions a WHERE a.complaint_id IN ("
        " SELECT complaint_id FROM cases WHERE case_id = $1"
        " UNION ALL SELECT complaint_id FROM case_reporters WHERE case_id = $1)"
        " ORDER BY a.received_at, a.event_id",
        case_id,
    )


async def case_files(db: Executor, case_id: uuid.UUID) -> list[asyncpg.Record]:
    """The content of the case's complaints as intake published it (sealed): the case's own
    complaint first, then the reporters who joined it, in the order they filed. A complaint
    whose content has not arrived yet has no row."""
    return await db.fetch(
        "SELECT f.complaint_id, f.tracking_code, f.anonymous, f.secret,"
        " f.payload::text AS payload, f.received_at,"
        " f.complaint_id = (SELECT complaint_id FROM cases WHERE case_id = $1) AS original"
        " FROM case_files f WHERE f.complaint_id IN ("
        " SELECT complaint_id FROM cases WHERE case_id = $1"
        " UNION ALL SELECT complaint_id FROM case_reporters WHERE case_id = $1)"
        " ORDER BY original DESC, f.received_at, f.complaint_id",
        case_id,
    )


# ------------------------------------------------------------------------- statistics


async def _counts(conn: asyncpg.Connection, expression: str) -> dict[str, int]:
    rows = await conn.fetch(
        f"SELECT coalesce({expression}, 'unknown') AS key, count(*) AS n FROM cases c"
        " JOIN agencies a USING (agency_code) GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    return {row["key"]: row["n"] for row in rows}


async def _compliance(conn: asyncpg.Connection, now: datetime) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT kind,"
        " count(*) FILTER (WHERE met_at IS NOT NULL AND met_at <= due_at) AS met_on_time,"
        " count(*) FILTER (WHERE met_at IS NOT NULL AND met_at > due_at) AS met_late,"
        " count(*) FILTER (WHERE met_at IS NULL AND due_at < $1) AS open_overdue,"
        " count(*) FILTER (WHERE met_at IS NULL AND due_at >= $1) AS open_in_time"
        " FROM case_deadlines GROUP BY kind ORDER BY kind",
        now,
    )
    compliance = {}
    for row in rows:
        decided = row["met_on_time"] + row["met_late"] + row["open_overdue"]
        compliance[row["kind"]] = {
            **{key: row[key] for key in ("met_on_time", "met_late", "open_overdue")},
            "open_in_time": row["open_in_time"],
            "on_time_rate": round(row["met_on_time"] / decided, 3) if decided else None,
        }
    return compliance


async def _daily_new_cases(conn: asyncpg.Connection, now: datetime) -> list[dict[str, Any]]:
    first = now.astimezone(JAKARTA).date() - timedelta(days=TREND_DAYS - 1)
    rows = await conn.fetch(
        "SELECT (created_at AT TIME ZONE 'Asia/Jakarta')::date AS day, count(*) AS n"
        " FROM cases WHERE (created_at AT TIME ZONE 'Asia/Jakarta')::date >= $1 GROUP BY 1",
        first,
    )
    per_day: dict[date, int] = {row["day"]: row["n"] for row in rows}
    days = [first + timedelta(days=i) for i in range(TREND_DAYS)]
    return [{"day": day.isoformat(), "cases": per_day.get(day, 0)} for day in days]


async def statistics(conn: asyncpg.Connection, now: datetime) -> dict[str, Any]:
    """Counts per channel, category, province, status and agency, deadline compliance and
    the daily trend: no case, tracking code, text or reporter."""
    compliance = await _compliance(conn, now)
    daily = await _daily_new_cases(conn, now)
    return {
        "generated_at": now.isoformat(),
        "total_cases": await conn.fetchval("SELECT count(*) FROM cases"),
        "by_channel": await _counts(conn, "c.channel"),
        "by_category": await _counts(conn, "c.category"),
        "by_region": await _counts(conn, "split_part(c.region_code, '.', 1)"),
        "by_status": await _counts(conn, "c.status"),
        "by_agency": await _counts(conn, "a.name"),
        "deadline_compliance": compliance,
        "daily_new_cases": daily,
        "satisfaction": await _satisfaction(conn),
    }


async def _satisfaction(conn: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    """Per agency (by name): the citizens' answers to its closings, and the response rate:
    the share of the cases it closed that at least one reporter answered for."""
    rows = await conn.fetch(
        "WITH closings AS (SELECT agency_code, count(DISTINCT case_id) AS closed_cases"
        "  FROM case_history WHERE status = 'closed' GROUP BY agency_code),"
        " answers AS (SELECT agency_code, count(*) FILTER (WHERE satisfied) AS satisfied,"
        "  count(*) FILTER (WHERE NOT satisfied) AS not_satisfied,"
        "  count(DISTINCT case_id) AS answered_cases, count(*) FILTER (WHERE reopened) AS reopened"
        "  FROM case_satisfaction GROUP BY agency_code)"
        " SELECT a.name, coalesce(s.satisfied, 0) AS satisfied,"
        "  coalesce(s.not_satisfied, 0) AS not_satisfied,"
        "  coalesce(s.answered_cases, 0) AS answered_cases, coalesce(s.reopened, 0) AS reopened,"
        "  coalesce(c.closed_cases, 0) AS closed_cases"
        " FROM closings c FULL JOIN answers s USING (agency_code)"
        " JOIN agencies a ON a.agency_code = coalesce(c.agency_code, s.agency_code)"
        " ORDER BY coalesce(c.closed_cases, 0) DESC, a.name"
    )
    return {
        row["name"]: {
            **{key: row[key] for key in row.keys() if key != "name"},
            "response_rate": round(min(row["answered_cases"] / row["closed_cases"], 1.0), 4)
            if row["closed_cases"]
            else None,
        }
        for row in rows
    }


# ------------------------------------------------------------------------- agencies


async def agencies(db: Executor) -> list[asyncpg.Record]:
    """The directory's agencies (no contacts): national first, then by code."""
    return await db.fetch(
        "SELECT agency_code, name, level, region_code, intake_method FROM agencies"
        " ORDER BY CASE level WHEN 'desk' THEN 0 WHEN 'national' THEN 1"
        " WHEN 'province' THEN 2 ELSE 3 END, agency_code"
    )


async def agency_details(db: Executor, agency_code: str) -> asyncpg.Record | None:
    """One agency with its contacts (the columns an administrator edits)."""
    return await db.fetchrow(
        f"SELECT {AGENCY_DETAILS} FROM agencies WHERE agency_code = $1", agency_code
    )


# ------------------------------------------------------------------------- escalations


async def escalation_contact(db: Executor, agency_code: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT agency_code, name, supervisor, supervisor_email FROM agencies"
        " WHERE agency_code = $1",
        agency_code,
    )


@dataclass(frozen=True)
class OverdueFilter:
    """The overdue list's filters; None: no filter."""

    agency_code: str | None = None
    level: int | None = None  # 0: overdue, not escalated yet (the scan runs every 30 s)
    limit: int = 100
    offset: int = 0


async def overdue_cases(db: Executor, wanted: OverdueFilter, now: datetime) -> list[asyncpg.Record]:
    """Every agency's open cases with a deadline past due (Setwapres' analysis or the
    agency's response; the citizen's documents window is not the agency's delay), one row
    per such deadline with its highest escalation so far, oldest due first."""
    return await db.fetch(
        "SELECT * FROM (SELECT c.case_id, c.tracking_code, c.agency_code,"
        "  a.name AS agency_name, c.status, c.priority, d.kind AS deadline_kind, d.round,"
        "  d.due_at, coalesce(e.level, 0) AS escalation_level, e.escalated_to,"
        "  e.fired_at AS escalated_at"
        " FROM case_deadlines d JOIN cases c USING (case_id)"
        " JOIN agencies a ON a.agency_code = c.agency_code"
        " LEFT JOIN LATERAL (SELECT right(x.alert, 1)::int AS level, x.escalated_to,"
        "  x.fired_at FROM deadline_alerts x WHERE x.case_id = d.case_id AND x.kind = d.kind"
        "  AND x.round = d.round AND x.alert IN ('overdue-1', 'overdue-2')"
        "  ORDER BY x.alert DESC LIMIT 1) e ON true"
        " WHERE d.met_at IS NULL AND d.due_at < $1 AND d.kind <> 'documents'"
        " AND c.status <> 'closed' AND ($2::text IS NULL OR c.agency_code = $2)) overdue"
        " WHERE ($3::int IS NULL OR escalation_level = $3)"
        " ORDER BY due_at, case_id, deadline_kind LIMIT $4 OFFSET $5",
        now,
        wanted.agency_code,
        wanted.level,
        wanted.limit,
        wanted.offset,
    )


# ------------------------------------------------------------------------- re-opened cases


async def reopened_cases(db: Executor, limit: int, offset: int) -> list[asyncpg.Record]:
    """Cases a citizen refused (TIDAK PUAS) now waiting in Setwapres' queue, the longest
    waiting first: the agency whose response was refused, when, and the answer."""
    return await db.fetch(
        "SELECT c.case_id, c.tracking_code, c.category, c.priority, c.status,"
        " h.at AS reopened_at, s.agency_code AS refused_agency_code,"
        " a.name AS refused_agency_name, s.closed_at, s.score, s.channel"
        " FROM cases c"
        " JOIN LATERAL (SELECT at FROM case_history WHERE case_id = c.case_id"
        "  AND status = 'reopened' ORDER BY id DESC LIMIT 1) h ON true"
        " JOIN LATERAL (SELECT agency_code, closed_at, score, channel FROM case_satisfaction"
        "  WHERE case_id = c.case_id AND reopened ORDER BY rated_at DESC LIMIT 1) s ON true"
        " JOIN agencies a ON a.agency_code = s.agency_code"
        " WHERE c.status = 'reopened' ORDER BY h.at, c.case_id LIMIT $1 OFFSET $2",
        limit,
        offset,
    )
