"""Routing's PostgreSQL adapter, the write side: agencies, versioned rules, the calendar,
cases and their state, history, reporters, the case files' content and openings, deadlines,
alerts, officers and the scheduling of SP4N-LAPOR! forwardings. Reads for pages and APIs
are in `views`."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg

from schemas.staff import StaffMember
from services.routing.adapters.directory import AGENCY_DETAILS, AGENCY_EDITABLE
from services.routing.domain import (
    AlertWindow,
    Assignment,
    Grant,
    Rule,
    WorkingCalendar,
    staff_access,
    token_access,
)

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
RULE_COLUMNS = "rule_id, category, region_prefix, agency_code, precedence, priority, version"


@dataclass(frozen=True)
class Agency:
    agency_code: str
    name: str
    level: str
    region_code: str | None
    via_sp4n: bool
    supervisor: str | None
    response_working_days: int
    supervisor_email: str | None = None  # level-1 escalations are emailed here


@dataclass(frozen=True)
class Officer:
    """Who calls the desk: an officer by token, or a staff member the back office vouches
    for (`staff`: then `officer_id` is the staff id, recorded wherever an officer's is)."""

    officer_id: str
    agency_code: str
    role: str
    grants: frozenset[Grant] | None = None  # None: what the token's role grants

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may(self, grant: Grant) -> bool:
        granted = self.grants
        if granted is None:
            granted = token_access(self.agency_code, self.role).grants
        return grant in granted

    @classmethod
    def staff(cls, member: StaffMember) -> Officer:
        access = staff_access(member)
        return cls(member.staff_id, access.agency_code, "staff", access.grants)


@dataclass(frozen=True)
class ReferenceData:
    """What routing reads for every complaint: active rules, agencies, calendar overrides."""

    rules: tuple[Rule, ...]
    agencies: dict[str, Agency]
    calendar: WorkingCalendar


# One cache per process, keyed by the database's token and generation (migration 0004):
# a write to any of the three tables bumps the generation, so a change is seen on the next
# event, and the cost per complaint is one single-row read instead of three table reads.
_reference_cache: dict[uuid.UUID, tuple[int, ReferenceData]] = {}


async def reference_data(conn: asyncpg.Connection) -> ReferenceData:
    token, generation = await conn.fetchrow("SELECT token, generation FROM reference_generation")
    cached = _reference_cache.get(token)
    if cached is not None and cached[0] == generation:
        return cached[1]
    data = ReferenceData(
        rules=tuple(await _active_rules(conn)),
        agencies=await _agencies(conn),
        calendar=await _calendar(conn),
    )
    _reference_cache[token] = (generation, data)
    return data


async def active_rules(conn: asyncpg.Connection, category: str | None = None) -> list[Rule]:
    rules = (await reference_data(conn)).rules
    return [rule for rule in rules if rule.category is None or category in (None, rule.category)]


async def agencies(conn: asyncpg.Connection) -> dict[str, Agency]:
    return (await reference_data(conn)).agencies


async def agency_names(conn: asyncpg.Connection) -> dict[str, str]:
    return {code: agency.name for code, agency in (await agencies(conn)).items()}


async def calendar(conn: asyncpg.Connection) -> WorkingCalendar:
    return (await reference_data(conn)).calendar


async def _active_rules(conn: asyncpg.Connection) -> list[Rule]:
    rows = await conn.fetch(f"SELECT {RULE_COLUMNS} FROM routing_rules WHERE active")
    return [Rule(**row) for row in rows]


async def _agencies(conn: asyncpg.Connection) -> dict[str, Agency]:
    rows = await conn.fetch(
        "SELECT agency_code, name, level, region_code, via_sp4n, supervisor,"
        " response_working_days, supervisor_email FROM agencies"
    )
    return {row["agency_code"]: Agency(**row) for row in rows}


async def _calendar(conn: asyncpg.Connection) -> WorkingCalendar:
    rows = await conn.fetch("SELECT day, working FROM calendar_overrides")
    return WorkingCalendar(
        days_off=frozenset(row["day"] for row in rows if not row["working"]),
        working_days=frozenset(row["day"] for row in rows if row["working"]),
    )


@dataclass(frozen=True)
class NewCase:
    """A case to open for an accepted complaint."""

    case_id: uuid.UUID
    complaint_id: uuid.UUID
    correlation_id: uuid.UUID
    tracking_code: str
    category: str
    priority: str
    channel: str
    region_code: str | None
    summary: str | None
    secret: bool
    agency_code: str
    rule_id: str
    rule_version: int
    due_at: datetime
    created_at: datetime
    status: str
    region_source: str | None = None  # 'incident', 'reporter_nik' (the fallback) or unknown


async def insert_cases(conn: asyncpg.Connection, cases: Sequence[NewCase]) -> set[uuid.UUID]:
    """Open the cases in one statement; returns the complaint ids that got a new case (a
    complaint that already has one is skipped). The caller passes each complaint once."""
    if not cases:
        return set()
    rows = await conn.fetch(
        "INSERT INTO cases (case_id, complaint_id, correlation_id, tracking_code, category,"
        " priority, channel, region_code, summary, secret, agency_code, rule_id,"
        " rule_version, status, due_at, created_at, updated_at, region_source)"
        " SELECT c.case_id, c.complaint_id, c.correlation_id, c.tracking_code, c.category,"
        " c.priority, c.channel, c.region_code, c.summary, c.secret, c.agency_code, c.rule_id,"
        " c.rule_version, c.status, c.due_at, c.created_at, c.created_at, c.region_source"
        " FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],"
        " $7::text[], $8::text[], $9::text[], $10::boolean[], $11::text[], $12::text[],"
        " $13::integer[], $14::timestamptz[], $15::timestamptz[], $16::text[], $17::text[])"
        " AS c(case_id, complaint_id, correlation_id, tracking_code, category, priority,"
        " channel, region_code, summary, secret, agency_code, rule_id, rule_version, due_at,"
        " created_at, status, region_source)"
        " ON CONFLICT (complaint_id) DO NOTHING RETURNING complaint_id",
        *(
            [getattr(case, name) for case in cases]
            for name in (
                "case_id",
                "complaint_id",
                "correlation_id",
                "tracking_code",
                "category",
                "priority",
                "channel",
                "region_code",
                "summary",
                "secret",
                "agency_code",
                "rule_id",
                "rule_version",
                "due_at",
                "created_at",
                "status",
                "region_source",
            )
        ),
    )
    return {row["complaint_id"] for row in rows}


# (case_id, previous_status, status, agency_code, actor, reason, note)
HistoryRow = tuple[uuid.UUID, str | None, str, str, str, str | None, str | None]
_INSERT_HISTORY = (
    "INSERT INTO case_history (case_id, previous_status, status, agency_code, actor, reason,"
    " note) VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


async def record_history(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    *,
    previous_status: str | None,
    status: str,
    agency_code: str,
    actor: str,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    await conn.execute(
        _INSERT_HISTORY, case_id, previous_status, status, agency_code, actor, reason, note
    )


async def record_histories(conn: asyncpg.Connection, rows: Sequence[HistoryRow]) -> None:
    """record_history for many rows in one pipelined call; ids follow the given order."""
    if rows:
        await conn.executemany(_INSERT_HISTORY, rows)


# (case_id, kind, round, due_at)
DeadlineRow = tuple[uuid.UUID, str, int, datetime]
_INSERT_DEADLINE = (
    "INSERT INTO case_deadlines (case_id, kind, round, due_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT DO NOTHING"
)


async def add_deadline(
    conn: asyncpg.Connection, case_id: uuid.UUID, kind: str, round_: int, due_at: datetime
) -> None:
    await conn.execute(_INSERT_DEADLINE, case_id, kind, round_, due_at)


async def add_deadlines(conn: asyncpg.Connection, rows: Sequence[DeadlineRow]) -> None:
    if rows:
        await conn.executemany(_INSERT_DEADLINE, rows)


async def meet_deadlines(
    conn: asyncpg.Connection, case_id: uuid.UUID, kinds: list[str], at: datetime
) -> None:
    await conn.execute(
        "UPDATE case_deadlines SET met_at = $3"
        " WHERE case_id = $1 AND kind = ANY($2::text[]) AND met_at IS NULL",
        case_id,
        kinds,
        at,
    )


# (case_id, round, agency_code, next_attempt_at)
ForwardingRow = tuple[uuid.UUID, int, str, datetime]
_INSERT_FORWARDING = (
    "INSERT INTO sp4n_forwardings (case_id, round, agency_code, next_attempt_at)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
)


async def schedule_forwarding(
    conn: asyncpg.Connection, case_id: uuid.UUID, round_: int, agency_code: str, at: datetime
) -> None:
    await conn.execute(_INSERT_FORWARDING, case_id, round_, agency_code, at)


async def schedule_forwardings(conn: asyncpg.Connection, rows: Sequence[ForwardingRow]) -> None:
    if rows:
        await conn.executemany(_INSERT_FORWARDING, rows)


async def case_for_complaint(
    conn: asyncpg.Connection, complaint_id: uuid.UUID
) -> asyncpg.Record | None:
    """The case a complaint belongs to: its own, or the one it joined as a duplicate."""
    return await conn.fetchrow(
        "SELECT c.* FROM cases c WHERE c.complaint_id = $1"
        " UNION ALL SELECT c.* FROM case_reporters r JOIN cases c USING (case_id)"
        " WHERE r.complaint_id = $1 LIMIT 1",
        complaint_id,
    )


async def lock_case(
    conn: asyncpg.Connection, case_id: uuid.UUID, agency_code: str | None
) -> asyncpg.Record | None:
    """The case, locked for update; None unless it belongs to `agency_code` (None: any)."""
    return await conn.fetchrow(
        "SELECT * FROM cases WHERE case_id = $1 AND ($2::text IS NULL OR agency_code = $2)"
        " FOR UPDATE",
        case_id,
        agency_code,
    )


async def declined_agencies(conn: asyncpg.Connection, case_id: uuid.UUID) -> frozenset[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT agency_code FROM case_history WHERE case_id = $1"
        " AND status = 'not_in_remit'",
        case_id,
    )
    return frozenset(row["agency_code"] for row in rows)


async def set_case_status(
    conn: asyncpg.Connection, case_id: uuid.UUID, status: str, at: datetime
) -> None:
    """Write the status the domain decided (`closed_at` follows a close)."""
    await conn.execute(
        "UPDATE cases SET status = $2, updated_at = $3,"
        " closed_at = CASE WHEN $2 = 'closed' THEN $3 ELSE closed_at END WHERE case_id = $1",
        case_id,
        status,
        at,
    )


async def assign_case(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    assignment: Assignment,
    *,
    status: str,
    round_: int,
    at: datetime,
) -> None:
    """Hand the case to another agency, in a new assignment round."""
    await conn.execute(
        "UPDATE cases SET agency_code = $2, rule_id = $3, rule_version = $4, status = $5,"
        " assignment_round = $6, updated_at = $7, assigned_officer = NULL WHERE case_id = $1",
        case_id,
        assignment.agency_code,
        assignment.rule_id,
        assignment.rule_version,
        status,
        round_,
        at,
    )


async def set_public_summary(
    conn: asyncpg.Connection, case_id: uuid.UUID, summary: str | None, actor: str
) -> None:
    await conn.execute(
        "UPDATE cases SET public_summary = $2, public_summary_by = $3 WHERE case_id = $1",
        case_id,
        summary,
        actor,
    )


async def assign_officer(
    conn: asyncpg.Connection, case_id: uuid.UUID, officer_id: str, *, first_only: bool
) -> None:
    """The officer who works on the case; `first_only`: only if nobody does yet (the first
    officer to act takes it), otherwise a reassignment."""
    await conn.execute(
        "UPDATE cases SET assigned_officer = $2 WHERE case_id = $1"
        " AND (NOT $3 OR assigned_officer IS NULL)",
        case_id,
        officer_id,
        first_only,
    )


async def deadline_rounds(conn: asyncpg.Connection, case_id: uuid.UUID, kind: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM case_deadlines WHERE case_id = $1 AND kind = $2", case_id, kind
    )


# --------------------------------------------------------------------------- reporters


async def add_reporter(
    conn: asyncpg.Connection,
    *,
    complaint_id: uuid.UUID,
    tracking_code: str,
    original_complaint_id: uuid.UUID,
    correlation_id: uuid.UUID,
    cause_event_id: uuid.UUID,
    case_id: uuid.UUID | None,
) -> asyncpg.Record | None:
    """A duplicate's reporter, on the case or waiting for it; None when already recorded."""
    return await conn.fetchrow(
        "INSERT INTO case_reporters (complaint_id, tracking_code, original_complaint_id,"
        " correlation_id, cause_event_id, case_id) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (complaint_id) DO NOTHING"
        " RETURNING complaint_id, tracking_code, correlation_id, cause_event_id, case_id",
        complaint_id,
        tracking_code,
        original_complaint_id,
        correlation_id,
        cause_event_id,
        case_id,
    )


async def attach_waiting_reporters(
    conn: asyncpg.Connection, original_complaint_ids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    """Reporters that waited for these complaints' cases join them now."""
    return await conn.fetch(
        "UPDATE case_reporters r SET case_id = c.case_id FROM cases c"
        " WHERE r.original_complaint_id = ANY($1::uuid[]) AND r.case_id IS NULL"
        " AND c.complaint_id = r.original_complaint_id"
        " RETURNING r.complaint_id, r.tracking_code, r.correlation_id, r.cause_event_id,"
        " r.original_complaint_id",
        original_complaint_ids,
    )


async def case_of_reporter(conn: asyncpg.Connection, complaint_id: uuid.UUID) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT c.case_id, c.complaint_id, c.tracking_code, c.agency_code, c.status,"
        " a.name AS agency_name FROM case_reporters r JOIN cases c USING (case_id)"
        " JOIN agencies a ON a.agency_code = c.agency_code WHERE r.complaint_id = $1",
        complaint_id,
    )


# --------------------------------------------------------------------------- additions


@dataclass(frozen=True)
class NewAddition:
    """A citizen's addition (ComplaintUpdated) for the case file; `text` is the citizen's own
    words (never logged), `attachments` metadata only."""

    event_id: uuid.UUID
    complaint_id: uuid.UUID
    tracking_code: str
    text: str
    attachments: list[dict[str, object]]
    received_at: datetime


async def add_addition(conn: asyncpg.Connection, addition: NewAddition) -> bool:
    """Keep the addition (for the complaint's case, open or still to come); False when it
    was kept before."""
    return bool(
        await conn.fetchval(
            "INSERT INTO case_additions (event_id, complaint_id, tracking_code, additional_text,"
            " attachments, received_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)"
            " ON CONFLICT (event_id) DO NOTHING RETURNING true",
            addition.event_id,
            addition.complaint_id,
            addition.tracking_code,
            addition.text,
            json.dumps(addition.attachments),
            addition.received_at,
        )
    )


async def touch_case(conn: asyncpg.Connection, case_id: uuid.UUID, at: datetime) -> None:
    """Mark the case as changed (an addition joined its file) without a new status."""
    await conn.execute(
        "UPDATE cases SET updated_at = greatest(updated_at, $2) WHERE case_id = $1", case_id, at
    )


@dataclass(frozen=True)
class NewCaseFile:
    """A complaint's content for its case file (see `domain.without_identity`)."""

    complaint_id: uuid.UUID
    event_id: uuid.UUID
    tracking_code: str
    anonymous: bool
    secret: bool
    payload: dict[str, Any]  # JSON-ready, personal fields sealed as they came
    received_at: datetime


async def keep_case_files(conn: asyncpg.Connection, files: Sequence[NewCaseFile]) -> None:
    """Keep each complaint's content once (a repeat of a complaint changes nothing)."""
    if not files:
        return
    await conn.executemany(
        "INSERT INTO case_files (complaint_id, event_id, tracking_code, anonymous, secret,"
        " payload, received_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)"
        " ON CONFLICT (complaint_id) DO NOTHING",
        [
            (
                f.complaint_id,
                f.event_id,
                f.tracking_code,
                f.anonymous,
                f.secret,
                json.dumps(f.payload),
                f.received_at,
            )
            for f in files
        ],
    )


async def record_opening(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    reader: Officer,
    at: datetime,
    fields: Sequence[str],
) -> None:
    """Who saw which personal fields of a case file, and when (names only, never values)."""
    await conn.execute(
        "INSERT INTO case_file_openings (case_id, officer_id, agency_code, opened_at, fields)"
        " VALUES ($1, $2, $3, $4, $5::text[])",
        case_id,
        reader.officer_id,
        reader.agency_code,
        at,
        list(fields),
    )


# --------------------------------------------------------------------------- deadline alerts


async def cases_with_alerts_due(conn: asyncpg.Connection, window: AlertWindow) -> list[uuid.UUID]:
    """Cases with an open deadline whose next alert is reached by the window's bounds."""
    rows = await conn.fetch(
        # No join with cases: that made the planner read every case; closing a case meets
        # its deadlines, and a closed case found here anyway is dropped by the caller.
        "SELECT DISTINCT case_id FROM case_deadlines"
        " WHERE met_at IS NULL AND next_alert IS NOT NULL"
        " AND ((next_alert = 'approaching' AND due_at < $1)"
        " OR (next_alert IN ('overdue-1', 'expired') AND due_at < $2)"
        " OR (next_alert = 'overdue-2' AND due_at < $3))",
        window.approaching,
        window.overdue,
        window.setwapres,
    )
    return [row["case_id"] for row in rows]


async def silence_deadlines(conn: asyncpg.Connection, case_id: uuid.UUID) -> None:
    """A closed case's open deadlines have nothing left to say: out of the scan's window."""
    await conn.execute(
        "UPDATE case_deadlines SET next_alert = NULL WHERE case_id = $1 AND met_at IS NULL",
        case_id,
    )


async def open_deadlines(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[asyncpg.Record]:
    """The case's open deadlines with the alerts each has fired."""
    return await conn.fetch(
        "SELECT d.kind, d.round, d.due_at, d.next_alert,"
        " coalesce(array_agg(a.alert) FILTER (WHERE a.alert IS NOT NULL), '{}') AS fired"
        " FROM case_deadlines d LEFT JOIN deadline_alerts a"
        " USING (case_id, kind, round)"
        " WHERE d.case_id = $1 AND d.met_at IS NULL GROUP BY 1, 2, 3, 4",
        case_id,
    )


# (case_id, kind, round, next_alert)
NextAlertRow = tuple[uuid.UUID, str, int, str | None]


async def set_next_alerts(conn: asyncpg.Connection, rows: Sequence[NextAlertRow]) -> None:
    if rows:
        await conn.executemany(
            "UPDATE case_deadlines SET next_alert = $4"
            " WHERE case_id = $1 AND kind = $2 AND round = $3",
            rows,
        )


async def record_alert(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    deadline: asyncpg.Record,
    alert: str,
    escalated_to: str | None,
    at: datetime,
) -> bool:
    """Record an alert once; False when it was fired before (by a replay or another
    instance)."""
    return bool(
        await conn.fetchval(
            "INSERT INTO deadline_alerts (case_id, kind, round, alert, escalated_to, fired_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
            case_id,
            deadline["kind"],
            deadline["round"],
            alert,
            escalated_to,
            at,
        )
    )


# --------------------------------------------------------------------------- rules, calendar


async def agency_exists(conn: asyncpg.Connection, agency_code: str) -> bool:
    return bool(
        await conn.fetchval("SELECT true FROM agencies WHERE agency_code = $1", agency_code)
    )


async def rule_exists(conn: asyncpg.Connection, rule_id: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM routing_rules WHERE rule_id = $1", rule_id))


async def lock_rule_version(conn: asyncpg.Connection, rule_id: str) -> int | None:
    """The rule's current version, locked until the transaction ends; None: no such rule."""
    return await conn.fetchval(
        "SELECT version FROM routing_rules WHERE rule_id = $1 FOR UPDATE", rule_id
    )


@dataclass(frozen=True)
class RuleVersion:
    """One version of a rule as an administrator wrote it."""

    rule_id: str
    category: str | None
    region_prefix: str | None
    priority: str | None
    agency_code: str | None
    precedence: int
    active: bool
    description: str | None
    version: int
    author: str


async def write_rule(conn: asyncpg.Connection, rule: RuleVersion) -> asyncpg.Record:
    """Upsert the rule and keep the version in its history; returns the rule's row."""
    values = (
        rule.rule_id,
        rule.category,
        rule.region_prefix,
        rule.priority,
        rule.agency_code,
        rule.precedence,
        rule.active,
        rule.description,
        rule.version,
        rule.author,
    )
    row = await conn.fetchrow(
        "INSERT INTO routing_rules (rule_id, category, region_prefix, priority, agency_code,"
        " precedence, active, description, version, updated_by, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())"
        " ON CONFLICT (rule_id) DO UPDATE SET category = $2, region_prefix = $3,"
        " priority = $4, agency_code = $5, precedence = $6, active = $7, description = $8,"
        " version = $9, updated_by = $10, updated_at = now() RETURNING *",
        *values,
    )
    await conn.execute(
        "INSERT INTO routing_rule_versions (rule_id, category, region_prefix, priority,"
        " agency_code, precedence, active, description, version, changed_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        *values,
    )
    return row


async def set_calendar_override(
    conn: asyncpg.Connection, day: date, working: bool, note: str
) -> None:
    await conn.execute(
        "INSERT INTO calendar_overrides (day, working, note) VALUES ($1, $2, $3)"
        " ON CONFLICT (day) DO UPDATE SET working = $2, note = $3",
        day,
        working,
        note,
    )


async def delete_calendar_override(conn: asyncpg.Connection, day: date) -> bool:
    """False when there was no override on that day."""
    return await conn.execute("DELETE FROM calendar_overrides WHERE day = $1", day) != "DELETE 0"


async def set_escalation_contact(
    conn: asyncpg.Connection, agency_code: str, supervisor: str | None, email: str | None
) -> asyncpg.Record | None:
    """The agency's supervisor and their address; None when there is no such agency."""
    return await conn.fetchrow(
        "UPDATE agencies SET supervisor = $2, supervisor_email = $3 WHERE agency_code = $1"
        " RETURNING agency_code, name, supervisor, supervisor_email",
        agency_code,
        supervisor,
        email,
    )


async def update_agency(
    conn: asyncpg.Connection, agency_code: str, fields: dict[str, object]
) -> asyncpg.Record | None:
    """Set the agency's editable columns to `fields` (every one of AGENCY_EDITABLE); the
    agency's details, or None when there is no such agency."""
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(AGENCY_EDITABLE, 2))
    return await conn.fetchrow(
        f"UPDATE agencies SET {assignments} WHERE agency_code = $1 RETURNING {AGENCY_DETAILS}",
        agency_code,
        *(fields[column] for column in AGENCY_EDITABLE),
    )


# --------------------------------------------------------------------------- officers


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_officer(
    conn: asyncpg.Connection, officer_id: str, agency_code: str, token: str, role: str = "officer"
) -> None:
    await conn.execute(
        "INSERT INTO officers (officer_id, agency_code, token_sha256, role)"
        " VALUES ($1, $2, $3, $4)",
        officer_id,
        agency_code,
        token_digest(token),
        role,
    )


async def officer_by_token(conn: asyncpg.Connection, token: str) -> Officer | None:
    row = await conn.fetchrow(
        "SELECT officer_id, agency_code, role FROM officers WHERE token_sha256 = $1 AND active",
        token_digest(token),
    )
    return Officer(**row) if row else None
