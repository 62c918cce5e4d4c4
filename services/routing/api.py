"""Routing's HTTP adapter.

- `/v1/rules`: routing rules as versioned data (Setwapres admins only).
- `/v1/desk/cases`: the agency desk. Each officer's bearer token is scoped to one agency; a
  case of another agency answers 404, exactly like a case that does not exist.
- `/open311/v2/`: an Open311 GeoReport v2-shaped read view of the same cases.
- `/v1/stats` and `/stats`: counts and deadline compliance, with a server-rendered SVG chart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from schemas.events.base import Category, Priority
from schemas.events.routing import CaseStatus
from services.messaging import outbox
from services.routing import handlers, repository, stats
from services.routing.domain import MANUAL_DISPOSITION, Action, TransitionNotAllowed
from services.routing.repository import Officer

PoolGetter = Callable[[], asyncpg.Pool]
Clock = Callable[[], datetime]
OPEN_STATUSES = {s.value for s in CaseStatus} - {CaseStatus.CLOSED.value}


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category | None = Field(default=None, description="None matches every category")
    region_prefix: str | None = Field(default=None, pattern=r"^\d{2}(\.\d{2}){0,2}$")
    priority: Priority | None = Field(default=None, description="Only for this priority")
    agency_code: str | None = Field(default=None, description="None: the region's Pemda")
    precedence: int = Field(default=100, ge=0, le=10_000, description="Lower wins first")
    active: bool = True
    description: str | None = Field(default=None, max_length=500)


class NewRule(RuleIn):
    rule_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,62}$")


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    working: bool = Field(description="false: a day off (cuti bersama); true: a working day")
    note: str = Field(min_length=3, max_length=200)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=4000, description="Text for the citizen")
    reason: str | None = Field(default=None, max_length=500)


class DisposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_code: str
    reason: str | None = Field(default=None, max_length=500)


async def current_officer(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    api_key: Annotated[str | None, Query(description="Open311-style key")] = None,
) -> Officer:
    """The officer behind the bearer token (or Open311 `api_key`); 401 for anything else."""
    token = api_key
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    found = await repository.officer_by_token(request.app.state.pool(), token) if token else None
    if found is None:
        raise HTTPException(
            401, "a valid officer token is required", {"WWW-Authenticate": "Bearer"}
        )
    return found


async def current_admin(who: Annotated[Officer, Depends(current_officer)]) -> Officer:
    if not who.is_admin:
        raise HTTPException(403, "only Setwapres administrators may do this")
    return who


Authenticated = Annotated[Officer, Depends(current_officer)]
Admin = Annotated[Officer, Depends(current_admin)]


def _system_clock() -> datetime:
    return datetime.now(UTC)


def create_app(pool: PoolGetter, clock: Clock = _system_clock) -> FastAPI:
    app = FastAPI(title="lapor-routing", description=__doc__)
    app.state.pool = pool

    # ------------------------------------------------------------------ rules

    @app.get("/v1/rules", tags=["rules"])
    async def list_rules(_: Admin) -> list[dict[str, Any]]:
        rows = await pool().fetch("SELECT * FROM routing_rules ORDER BY rule_id")
        return [dict(row) for row in rows]

    @app.get("/v1/rules/{rule_id}/versions", tags=["rules"])
    async def rule_versions(rule_id: str, _: Admin) -> list[dict[str, Any]]:
        rows = await pool().fetch(
            "SELECT * FROM routing_rule_versions WHERE rule_id = $1 ORDER BY version", rule_id
        )
        if not rows:
            raise HTTPException(404, f"no rule {rule_id}")
        return [dict(row) for row in rows]

    async def _check_agency(conn: asyncpg.Connection, agency_code: str | None) -> None:
        if agency_code is not None and not await conn.fetchval(
            "SELECT true FROM agencies WHERE agency_code = $1", agency_code
        ):
            raise HTTPException(422, f"unknown agency_code {agency_code!r}")

    async def _write_rule(
        conn: asyncpg.Connection, rule_id: str, rule: RuleIn, version: int, who: Officer
    ) -> dict[str, Any]:
        values = (
            rule_id,
            rule.category.value if rule.category else None,
            rule.region_prefix,
            rule.priority.value if rule.priority else None,
            rule.agency_code,
            rule.precedence,
            rule.active,
            rule.description,
            version,
            who.officer_id,
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
        return dict(row)

    @app.post("/v1/rules", status_code=201, tags=["rules"])
    async def create_rule(rule: NewRule, who: Admin) -> dict[str, Any]:
        async with pool().acquire() as conn, conn.transaction():
            await _check_agency(conn, rule.agency_code)
            if await conn.fetchval(
                "SELECT true FROM routing_rules WHERE rule_id = $1", rule.rule_id
            ):
                raise HTTPException(409, f"rule {rule.rule_id} exists; PUT to change it")
            return await _write_rule(conn, rule.rule_id, rule, 1, who)

    @app.put("/v1/rules/{rule_id}", tags=["rules"])
    async def update_rule(rule_id: str, rule: RuleIn, who: Admin) -> dict[str, Any]:
        async with pool().acquire() as conn, conn.transaction():
            await _check_agency(conn, rule.agency_code)
            version = await conn.fetchval(
                "SELECT version FROM routing_rules WHERE rule_id = $1 FOR UPDATE", rule_id
            )
            if version is None:
                raise HTTPException(404, f"no rule {rule_id}")
            return await _write_rule(conn, rule_id, rule, version + 1, who)

    # ------------------------------------------------------------------ calendar

    @app.get("/v1/calendar/overrides", tags=["calendar"])
    async def calendar_overrides(_: Admin) -> list[dict[str, Any]]:
        rows = await pool().fetch("SELECT day, working, note FROM calendar_overrides ORDER BY day")
        return [{**dict(row), "day": row["day"].isoformat()} for row in rows]

    @app.put("/v1/calendar/overrides/{day}", tags=["calendar"])
    async def set_calendar_override(day: date, body: CalendarDayIn, _: Admin) -> dict[str, Any]:
        """Deadlines already set keep their dates; new ones count this day as given."""
        await pool().execute(
            "INSERT INTO calendar_overrides (day, working, note) VALUES ($1, $2, $3)"
            " ON CONFLICT (day) DO UPDATE SET working = $2, note = $3",
            day,
            body.working,
            body.note,
        )
        return {"day": day.isoformat(), "working": body.working, "note": body.note}

    @app.delete("/v1/calendar/overrides/{day}", status_code=204, tags=["calendar"])
    async def delete_calendar_override(day: date, _: Admin) -> None:
        if await pool().execute("DELETE FROM calendar_overrides WHERE day = $1", day) == "DELETE 0":
            raise HTTPException(404, f"no override on {day.isoformat()}")

    # ------------------------------------------------------------------ desk

    def _case_view(row: asyncpg.Record) -> dict[str, Any]:
        return {
            "case_id": str(row["case_id"]),
            "tracking_code": row["tracking_code"],
            "status": row["status"],
            "category": row["category"],
            "priority": row["priority"],
            "channel": row["channel"],
            "region_code": row["region_code"],
            "agency_code": row["agency_code"],
            "agency_name": row["agency_name"],
            "rule_id": row["rule_id"],
            "rule_version": row["rule_version"],
            "summary": row["summary"],
            "due_at": row["due_at"].isoformat(),
            "response_due_at": row["response_due_at"].isoformat()
            if row["response_due_at"]
            else None,
            "extra_reporters": row["extra_reporters"],
            "sp4n_remote_id": row["sp4n_remote_id"],
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(),
        }

    case_select = (
        "SELECT c.*, a.name AS agency_name,"
        " (SELECT min(d.due_at) FROM case_deadlines d WHERE d.case_id = c.case_id"
        "  AND d.kind = 'agency_response' AND d.met_at IS NULL) AS response_due_at,"
        " (SELECT count(*) FROM case_reporters r WHERE r.case_id = c.case_id)"
        "  AS extra_reporters,"
        " (SELECT f.remote_id FROM sp4n_forwardings f WHERE f.case_id = c.case_id"
        "  AND f.round = c.assignment_round) AS sp4n_remote_id"
        " FROM cases c JOIN agencies a USING (agency_code)"
    )

    @app.get("/v1/desk/cases", tags=["desk"])
    async def inbox(
        who: Authenticated,
        status: Annotated[list[CaseStatus] | None, Query()] = None,
        category: Category | None = None,
        priority: Priority | None = None,
        region_prefix: Annotated[str | None, Query(pattern=r"^\d{2}(\.\d{2}){0,2}$")] = None,
        overdue: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        rows = await pool().fetch(
            f"{case_select} WHERE c.agency_code = $1"
            " AND ($2::text[] IS NULL OR c.status = ANY($2))"
            " AND ($3::text IS NULL OR c.category = $3)"
            " AND ($4::text IS NULL OR c.priority = $4)"
            " AND ($5::text IS NULL OR (c.region_code || '.') LIKE $5 || '.%')"
            " AND ($6::boolean IS NULL OR $6 = EXISTS (SELECT 1 FROM case_deadlines d"
            "      WHERE d.case_id = c.case_id AND d.met_at IS NULL AND d.due_at < $7))"
            " ORDER BY c.priority = 'urgent' DESC, c.due_at, c.case_id LIMIT $8 OFFSET $9",
            who.agency_code,
            [s.value for s in status] if status else None,
            category.value if category else None,
            priority.value if priority else None,
            region_prefix,
            overdue,
            clock(),
            limit,
            offset,
        )
        return {"agency_code": who.agency_code, "cases": [_case_view(row) for row in rows]}

    @app.get("/v1/desk/cases/{case_id}", tags=["desk"])
    async def open_case(case_id: uuid.UUID, who: Authenticated) -> dict[str, Any]:
        row = await pool().fetchrow(
            f"{case_select} WHERE c.case_id = $1 AND c.agency_code = $2", case_id, who.agency_code
        )
        if row is None:
            raise HTTPException(404, "no such case in your agency")
        history = await pool().fetch(
            "SELECT previous_status, status, agency_code, actor, reason, note, at"
            " FROM case_history WHERE case_id = $1 ORDER BY id",
            case_id,
        )
        deadlines = await pool().fetch(
            "SELECT kind, round, due_at, met_at FROM case_deadlines WHERE case_id = $1"
            " ORDER BY due_at",
            case_id,
        )
        return {
            **_case_view(row),
            "history": [
                {**dict(h), "at": h["at"].isoformat()}
                for h in history
                # another agency's internal notes stay with that agency
                if h["agency_code"] == who.agency_code or h["note"] is None
            ],
            "deadlines": [dict(d) for d in deadlines],
        }

    async def _act(
        case_id: uuid.UUID, action: Action, who: Officer, body: ActionIn
    ) -> dict[str, Any]:
        async with pool().acquire() as conn, conn.transaction():
            try:
                events = await handlers.apply_action(
                    conn,
                    case_id,
                    action,
                    actor=who.officer_id,
                    scope_agency=who.agency_code,
                    now=clock(),
                    note=body.note,
                    reason=body.reason,
                )
            except handlers.CaseNotFound:
                raise HTTPException(404, "no such case in your agency") from None
            except TransitionNotAllowed as error:
                raise HTTPException(409, str(error)) from None
            await outbox.enqueue(conn, events)
        return {
            "case_id": str(case_id),
            "events": [event.event_type for event in events],  # type: ignore[attr-defined]
            "status": events[-1].payload.status.value  # type: ignore[attr-defined]
            if action is not Action.NOT_IN_REMIT
            else "rerouted",
            "agency_code": events[-1].payload.agency_code,  # type: ignore[attr-defined]
        }

    def _route(action: Action, path: str) -> None:
        async def endpoint(
            case_id: uuid.UUID, who: Authenticated, body: ActionIn | None = None
        ) -> dict[str, Any]:
            return await _act(case_id, action, who, body or ActionIn())

        endpoint.__name__ = f"case_{action.value}"
        app.post(f"/v1/desk/cases/{{case_id}}/{path}", tags=["desk"])(endpoint)

    _route(Action.ACCEPT, "accept")
    _route(Action.RESPOND, "respond")
    _route(Action.REQUEST_DOCUMENTS, "request-documents")
    _route(Action.NOT_IN_REMIT, "not-in-remit")
    _route(Action.CLOSE, "close")

    @app.post("/v1/desk/cases/{case_id}/dispose", tags=["desk"])
    async def dispose(case_id: uuid.UUID, body: DisposeIn, who: Admin) -> dict[str, Any]:
        if who.agency_code != MANUAL_DISPOSITION:
            raise HTTPException(403, "only the Setwapres desk disposes by hand")
        async with pool().acquire() as conn, conn.transaction():
            try:
                events = await handlers.dispose(
                    conn, case_id, body.agency_code, actor=who.officer_id, now=clock()
                )
            except handlers.CaseNotFound:
                raise HTTPException(404, "no such case in the manual queue") from None
            except KeyError:
                raise HTTPException(422, f"unknown agency_code {body.agency_code!r}") from None
            await outbox.enqueue(conn, events)
        return {"case_id": str(case_id), "agency_code": body.agency_code, "status": "assigned"}

    # ------------------------------------------------------------------ Open311

    @app.get("/open311/v2/services.json", tags=["open311"])
    async def services() -> list[dict[str, Any]]:
        return [
            {
                "service_code": category.value,
                "service_name": category.value.replace("_", " "),
                "metadata": False,
                "type": "realtime",
                "keywords": "",
                "group": "lapor",
                "description": f"Complaints about {category.value.replace('_', ' ')}",
            }
            for category in Category
        ]

    async def _open311(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
        notes = {
            row["case_id"]: row["note"]
            for row in await pool().fetch(
                "SELECT DISTINCT ON (case_id) case_id, coalesce(note, reason, status) AS note"
                " FROM case_history WHERE case_id = ANY($1::uuid[]) ORDER BY case_id, id DESC",
                [row["case_id"] for row in rows],
            )
        }
        return [
            {
                "service_request_id": row["tracking_code"],
                "status": "closed" if row["status"] == "closed" else "open",
                "status_notes": notes.get(row["case_id"]),
                "service_name": row["category"].replace("_", " "),
                "service_code": row["category"],
                "description": None if row["secret"] else row["summary"],
                "agency_responsible": row["agency_name"],
                "service_notice": None,
                "requested_datetime": row["created_at"].isoformat(),
                "updated_datetime": row["updated_at"].isoformat(),
                "expected_datetime": (row["response_due_at"] or row["due_at"]).isoformat(),
                "address": None,
                "address_id": row["region_code"],
                "zipcode": None,
                "lat": None,
                "long": None,
                "media_url": None,
            }
            for row in rows
        ]

    @app.get("/open311/v2/requests.json", tags=["open311"])
    async def requests(
        who: Authenticated,
        service_code: Category | None = None,
        status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> list[dict[str, Any]]:
        rows = await pool().fetch(
            f"{case_select} WHERE c.agency_code = $1"
            " AND ($2::text IS NULL OR c.category = $2)"
            " AND ($3::text IS NULL OR ($3 = 'closed') = (c.status = 'closed'))"
            " AND ($4::timestamptz IS NULL OR c.created_at >= $4)"
            " AND ($5::timestamptz IS NULL OR c.created_at < $5)"
            " ORDER BY c.created_at DESC LIMIT 1000",
            who.agency_code,
            service_code.value if service_code else None,
            status,
            start_date,
            end_date,
        )
        return await _open311(rows)

    @app.get("/open311/v2/requests/{service_request_id}.json", tags=["open311"])
    async def request(service_request_id: str, who: Authenticated) -> list[dict[str, Any]]:
        rows = await pool().fetch(
            f"{case_select} WHERE c.tracking_code = $1 AND c.agency_code = $2",
            service_request_id,
            who.agency_code,
        )
        if not rows:
            raise HTTPException(404, "no such request in your agency")
        return await _open311(rows)

    # ------------------------------------------------------------------ statistics

    @app.get("/v1/stats", tags=["stats"])
    async def statistics() -> dict[str, Any]:
        async with pool().acquire() as conn:
            return await stats.collect(conn, clock())

    @app.get("/stats", response_class=HTMLResponse, tags=["stats"])
    async def statistics_page() -> HTMLResponse:
        async with pool().acquire() as conn:
            figures = await stats.collect(conn, clock())
        return HTMLResponse(stats.render_page(figures))

    return app
