"""Routing's HTTP adapter.

- `/v1/rules` and `/v1/calendar/overrides`: routing rules as versioned data and the working-day
  calendar (Setwapres administrators only: an admin of another agency gets 403).
- `/v1/desk/cases`: the agency desk. Each officer's bearer token is scoped to one agency; a
  case of another agency answers 404, exactly like a case that does not exist.
- `/open311/v2/`: an Open311 GeoReport v2-shaped read view of the same cases (the officer's
  token as bearer or `?api_key=`); only the service list is public.
- `/v1/stats` and `/stats`: public aggregate counts and deadline compliance (no personal
  data), with a server-rendered SVG chart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.events.base import Category, Priority
from schemas.events.routing import CaseStatus
from services.messaging import outbox
from services.routing import handlers, repository, stats
from services.routing.domain import MANUAL_DISPOSITION, Action, TransitionNotAllowed
from services.routing.repository import Officer
from services.runtime.http_problems import UNREADABLE_BODY, install_validation_handler, problem

PoolGetter = Callable[[], asyncpg.Pool]
Clock = Callable[[], datetime]
OPEN_STATUSES = {s.value for s in CaseStatus} - {CaseStatus.CLOSED.value}

REGION_PATTERN = r"^[0-9]{2}(\.[0-9]{2}){0,2}$"  # [0-9]: \d would take any script's digits
AGENCY_PATTERN = r"^[A-Z0-9][A-Z0-9.\-]{1,40}$"  # as the directory loader accepts them
RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,62}$"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9-]{1,40}$"  # a tracking code, leniently


def _storable(value: str) -> str:
    """PostgreSQL text holds neither NUL nor unpaired surrogates: refuse them (422) here
    rather than fail (500) in the database driver."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _in_utc_range(value: datetime) -> datetime:
    """A datetime the database can compare: offsets at year 1 or 9999 overflow UTC."""
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("out of range") from None


Text = Annotated[str, AfterValidator(_storable)]
AgencyCode = Annotated[str, Field(pattern=AGENCY_PATTERN)]
RuleId = Annotated[str, Path(pattern=RULE_ID_PATTERN)]
QueryTime = Annotated[datetime | None, AfterValidator(lambda v: v and _in_utc_range(v))]


# ---------------------------------------------------------------------- request bodies


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category | None = Field(default=None, description="None matches every category")
    region_prefix: str | None = Field(default=None, pattern=REGION_PATTERN)
    priority: Priority | None = Field(default=None, description="Only for this priority")
    agency_code: AgencyCode | None = Field(
        default=None, description="None: the region's Pemda", examples=["PEMDA-32", "KEMENKES"]
    )
    precedence: int = Field(default=100, ge=0, le=10_000, description="Lower wins first")
    active: bool = True
    description: Text | None = Field(default=None, max_length=500)


class NewRule(RuleIn):
    rule_id: str = Field(pattern=RULE_ID_PATTERN)


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    working: bool = Field(description="false: a day off (cuti bersama); true: a working day")
    note: Text = Field(min_length=3, max_length=200)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text | None = Field(default=None, max_length=4000, description="Text for the citizen")
    reason: Text | None = Field(default=None, max_length=500)


class DisposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_code: AgencyCode = Field(examples=["KEMENPU"])
    reason: Text | None = Field(default=None, max_length=500)


# ---------------------------------------------------------------------- responses
# Read from the database, so enum-like columns are plain strings: a response model stricter
# than the data would turn old rows into 500s.


class RuleView(BaseModel):
    rule_id: str
    category: str | None
    region_prefix: str | None
    priority: str | None
    agency_code: str | None
    precedence: int
    active: bool
    description: str | None
    version: int
    updated_by: str
    updated_at: datetime


class RuleVersionView(BaseModel):
    rule_id: str
    version: int
    category: str | None
    region_prefix: str | None
    priority: str | None
    agency_code: str | None
    precedence: int
    active: bool
    description: str | None
    changed_by: str
    changed_at: datetime


class CalendarDayView(BaseModel):
    day: date
    working: bool
    note: str


class CaseView(BaseModel):
    case_id: uuid.UUID
    tracking_code: str
    status: str
    category: str
    priority: str
    channel: str | None
    region_code: str | None
    agency_code: str
    agency_name: str
    rule_id: str
    rule_version: int
    summary: str | None
    due_at: datetime
    response_due_at: datetime | None
    extra_reporters: int
    sp4n_remote_id: str | None
    created_at: datetime
    updated_at: datetime


class HistoryEntry(BaseModel):
    previous_status: str | None
    status: str
    agency_code: str
    actor: str
    reason: str | None
    note: str | None
    at: datetime


class DeadlineView(BaseModel):
    kind: str
    round: int
    due_at: datetime
    met_at: datetime | None


class CaseDetail(CaseView):
    history: list[HistoryEntry]
    deadlines: list[DeadlineView]


class Inbox(BaseModel):
    agency_code: str
    cases: list[CaseView]


class ActionResult(BaseModel):
    case_id: uuid.UUID
    events: list[str]
    status: str = Field(description="The new status, or 'rerouted' after not-in-remit")
    agency_code: str


class DisposeResult(BaseModel):
    case_id: uuid.UUID
    agency_code: str
    status: str


class Open311Service(BaseModel):
    service_code: str
    service_name: str
    metadata: bool
    type: str
    keywords: str
    group: str
    description: str


class Open311Request(BaseModel):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Compliance(BaseModel):
    met_on_time: int
    met_late: int
    open_overdue: int
    open_in_time: int
    on_time_rate: float | None


class DailyCount(BaseModel):
    day: date
    cases: int


class Statistics(BaseModel):
    generated_at: datetime
    total_cases: int
    by_channel: dict[str, int]
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_status: dict[str, int]
    by_agency: dict[str, int]
    deadline_compliance: dict[str, Compliance]
    daily_new_cases: list[DailyCount]


UNAUTHENTICATED = {401: problem("No valid officer token")}
OFFICER_ONLY = {**UNAUTHENTICATED, 404: problem("No such case in your agency")}
ADMIN_ONLY = {**UNAUTHENTICATED, 403: problem("Not a Setwapres administrator")}


# ---------------------------------------------------------------------- authentication

officer_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="officerToken",
    description="An officer's token (`lapor routing add-officer`), scoped to one agency",
)
open311_key = APIKeyQuery(
    name="api_key",
    auto_error=False,
    scheme_name="open311ApiKey",
    description="Open311 clients: the officer's token as `api_key`",
)


async def _officer(request: Request, token: str | None) -> Officer:
    found = await repository.officer_by_token(request.app.state.pool(), token) if token else None
    if found is None:
        raise HTTPException(
            401, "a valid officer token is required", {"WWW-Authenticate": "Bearer"}
        )
    return found


async def current_officer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(officer_bearer)],
) -> Officer:
    """The officer behind the bearer token; 401 for anything else."""
    return await _officer(request, credentials.credentials if credentials else None)


async def open311_client(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(officer_bearer)],
    api_key: Annotated[str | None, Depends(open311_key)],
) -> Officer:
    """Open311 clients may put the token in the query (GeoReport v2 convention); nowhere
    else, since URLs end up in proxies' logs."""
    return await _officer(request, credentials.credentials if credentials else api_key)


async def setwapres_admin(who: Annotated[Officer, Depends(current_officer)]) -> Officer:
    """Rules, the calendar and manual disposition change every agency's work: only
    Setwapres' own administrators, not another agency's admin."""
    if not who.is_admin or who.agency_code != MANUAL_DISPOSITION:
        raise HTTPException(403, "only Setwapres administrators may do this")
    return who


Authenticated = Annotated[Officer, Depends(current_officer)]
Open311Client = Annotated[Officer, Depends(open311_client)]
Admin = Annotated[Officer, Depends(setwapres_admin)]


def _unprocessable(field: tuple[str, ...], message: str, value: object) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's validation errors, so the document declares one
    422 schema for both."""
    return RequestValidationError(
        [{"loc": ("body", *field), "msg": message, "type": "value_error", "input": value}]
    )


def _system_clock() -> datetime:
    return datetime.now(UTC)


def create_app(pool: PoolGetter, clock: Clock = _system_clock) -> FastAPI:
    app = FastAPI(title="lapor-routing", version="1", description=__doc__)
    app.state.pool = pool
    install_validation_handler(app)

    # ------------------------------------------------------------------ rules

    @app.get("/v1/rules", tags=["rules"], responses=ADMIN_ONLY)
    async def list_rules(_: Admin) -> list[RuleView]:
        rows = await pool().fetch("SELECT * FROM routing_rules ORDER BY rule_id")
        return [RuleView.model_validate(dict(row)) for row in rows]

    @app.get(
        "/v1/rules/{rule_id}/versions",
        tags=["rules"],
        responses={**ADMIN_ONLY, 404: problem("No such rule")},
    )
    async def rule_versions(rule_id: RuleId, _: Admin) -> list[RuleVersionView]:
        rows = await pool().fetch(
            "SELECT * FROM routing_rule_versions WHERE rule_id = $1 ORDER BY version", rule_id
        )
        if not rows:
            raise HTTPException(404, f"no rule {rule_id}")
        return [RuleVersionView.model_validate(dict(row)) for row in rows]

    async def _check_agency(conn: asyncpg.Connection, agency_code: str | None) -> None:
        if agency_code is not None and not await conn.fetchval(
            "SELECT true FROM agencies WHERE agency_code = $1", agency_code
        ):
            raise _unprocessable(
                ("agency_code",), f"unknown agency_code {agency_code!r}", agency_code
            )

    async def _write_rule(
        conn: asyncpg.Connection, rule_id: str, rule: RuleIn, version: int, who: Officer
    ) -> RuleView:
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
        return RuleView.model_validate(dict(row))

    @app.post(
        "/v1/rules",
        status_code=201,
        tags=["rules"],
        responses={
            **ADMIN_ONLY,
            **UNREADABLE_BODY,
            409: problem("The rule exists; PUT to change it"),
        },
    )
    async def create_rule(rule: NewRule, who: Admin) -> RuleView:
        async with pool().acquire() as conn, conn.transaction():
            await _check_agency(conn, rule.agency_code)
            if await conn.fetchval(
                "SELECT true FROM routing_rules WHERE rule_id = $1", rule.rule_id
            ):
                raise HTTPException(409, f"rule {rule.rule_id} exists; PUT to change it")
            return await _write_rule(conn, rule.rule_id, rule, 1, who)

    @app.put(
        "/v1/rules/{rule_id}",
        tags=["rules"],
        responses={**ADMIN_ONLY, **UNREADABLE_BODY, 404: problem("No such rule")},
    )
    async def update_rule(rule_id: RuleId, rule: RuleIn, who: Admin) -> RuleView:
        async with pool().acquire() as conn, conn.transaction():
            await _check_agency(conn, rule.agency_code)
            version = await conn.fetchval(
                "SELECT version FROM routing_rules WHERE rule_id = $1 FOR UPDATE", rule_id
            )
            if version is None:
                raise HTTPException(404, f"no rule {rule_id}")
            return await _write_rule(conn, rule_id, rule, version + 1, who)

    # ------------------------------------------------------------------ calendar

    @app.get("/v1/calendar/overrides", tags=["calendar"], responses=ADMIN_ONLY)
    async def calendar_overrides(_: Admin) -> list[CalendarDayView]:
        rows = await pool().fetch("SELECT day, working, note FROM calendar_overrides ORDER BY day")
        return [CalendarDayView.model_validate(dict(row)) for row in rows]

    @app.put(
        "/v1/calendar/overrides/{day}",
        tags=["calendar"],
        responses={**ADMIN_ONLY, **UNREADABLE_BODY},
    )
    async def set_calendar_override(day: date, body: CalendarDayIn, _: Admin) -> CalendarDayView:
        """Deadlines already set keep their dates; new ones count this day as given."""
        await pool().execute(
            "INSERT INTO calendar_overrides (day, working, note) VALUES ($1, $2, $3)"
            " ON CONFLICT (day) DO UPDATE SET working = $2, note = $3",
            day,
            body.working,
            body.note,
        )
        return CalendarDayView(day=day, working=body.working, note=body.note)

    @app.delete(
        "/v1/calendar/overrides/{day}",
        status_code=204,
        tags=["calendar"],
        responses={**ADMIN_ONLY, 404: problem("No override on that day")},
    )
    async def delete_calendar_override(day: date, _: Admin) -> None:
        if await pool().execute("DELETE FROM calendar_overrides WHERE day = $1", day) == "DELETE 0":
            raise HTTPException(404, f"no override on {day.isoformat()}")

    # ------------------------------------------------------------------ desk

    def _case_view(row: asyncpg.Record) -> dict[str, Any]:
        return {name: row[name] for name in CaseView.model_fields}

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

    @app.get("/v1/desk/cases", tags=["desk"], responses=UNAUTHENTICATED)
    async def inbox(
        who: Authenticated,
        status: Annotated[list[CaseStatus] | None, Query()] = None,
        category: Category | None = None,
        priority: Priority | None = None,
        region_prefix: Annotated[str | None, Query(pattern=REGION_PATTERN)] = None,
        overdue: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        # bounded: PostgreSQL's OFFSET is a bigint, and nobody pages this far
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Inbox:
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
        return Inbox.model_validate(
            {"agency_code": who.agency_code, "cases": [_case_view(row) for row in rows]}
        )

    @app.get("/v1/desk/cases/{case_id}", tags=["desk"], responses=OFFICER_ONLY)
    async def open_case(case_id: uuid.UUID, who: Authenticated) -> CaseDetail:
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
        return CaseDetail.model_validate(
            {
                **_case_view(row),
                "history": [
                    dict(h)
                    for h in history
                    # another agency's internal notes stay with that agency
                    if h["agency_code"] == who.agency_code or h["note"] is None
                ],
                "deadlines": [dict(d) for d in deadlines],
            }
        )

    async def _act(
        case_id: uuid.UUID, action: Action, who: Officer, body: ActionIn
    ) -> ActionResult:
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
        return ActionResult(
            case_id=case_id,
            events=[event.event_type for event in events],  # type: ignore[attr-defined]
            status=events[-1].payload.status.value  # type: ignore[attr-defined]
            if action is not Action.NOT_IN_REMIT
            else "rerouted",
            agency_code=events[-1].payload.agency_code,  # type: ignore[attr-defined]
        )

    def _route(action: Action, path: str) -> None:
        async def endpoint(
            case_id: uuid.UUID, who: Authenticated, body: ActionIn | None = None
        ) -> ActionResult:
            return await _act(case_id, action, who, body or ActionIn())

        endpoint.__name__ = f"case_{action.value}"
        app.post(
            f"/v1/desk/cases/{{case_id}}/{path}",
            tags=["desk"],
            responses={
                **OFFICER_ONLY,
                **UNREADABLE_BODY,
                409: problem("A step the lifecycle forbids"),
            },
        )(endpoint)

    _route(Action.ACCEPT, "accept")
    _route(Action.RESPOND, "respond")
    _route(Action.REQUEST_DOCUMENTS, "request-documents")
    _route(Action.NOT_IN_REMIT, "not-in-remit")
    _route(Action.CLOSE, "close")

    @app.post(
        "/v1/desk/cases/{case_id}/dispose",
        tags=["desk"],
        responses={
            **ADMIN_ONLY,
            **UNREADABLE_BODY,
            404: problem("No such case in the manual queue"),
        },
    )
    async def dispose(case_id: uuid.UUID, body: DisposeIn, who: Admin) -> DisposeResult:
        async with pool().acquire() as conn, conn.transaction():
            try:
                events = await handlers.dispose(
                    conn, case_id, body.agency_code, actor=who.officer_id, now=clock()
                )
            except handlers.CaseNotFound:
                raise HTTPException(404, "no such case in the manual queue") from None
            except KeyError:
                raise _unprocessable(
                    ("agency_code",), f"unknown agency_code {body.agency_code!r}", body.agency_code
                ) from None
            await outbox.enqueue(conn, events)
        return DisposeResult(case_id=case_id, agency_code=body.agency_code, status="assigned")

    # ------------------------------------------------------------------ Open311

    @app.get("/open311/v2/services.json", tags=["open311"])
    async def services() -> list[Open311Service]:
        """Public: the list of categories, as any Open311 client expects."""
        return [
            Open311Service(
                service_code=category.value,
                service_name=category.value.replace("_", " "),
                metadata=False,
                type="realtime",
                keywords="",
                group="lapor",
                description=f"Complaints about {category.value.replace('_', ' ')}",
            )
            for category in Category
        ]

    async def _open311(rows: list[asyncpg.Record]) -> list[Open311Request]:
        notes = {
            row["case_id"]: row["note"]
            for row in await pool().fetch(
                "SELECT DISTINCT ON (case_id) case_id, coalesce(note, reason, status) AS note"
                " FROM case_history WHERE case_id = ANY($1::uuid[]) ORDER BY case_id, id DESC",
                [row["case_id"] for row in rows],
            )
        }
        return [
            Open311Request(
                service_request_id=row["tracking_code"],
                status="closed" if row["status"] == "closed" else "open",
                status_notes=notes.get(row["case_id"]),
                service_name=row["category"].replace("_", " "),
                service_code=row["category"],
                description=None if row["secret"] else row["summary"],
                agency_responsible=row["agency_name"],
                service_notice=None,
                requested_datetime=row["created_at"],
                updated_datetime=row["updated_at"],
                expected_datetime=row["response_due_at"] or row["due_at"],
                address=None,
                address_id=row["region_code"],
                zipcode=None,
                lat=None,
                long=None,
                media_url=None,
            )
            for row in rows
        ]

    @app.get("/open311/v2/requests.json", tags=["open311"], responses=UNAUTHENTICATED)
    async def requests(
        who: Open311Client,
        service_code: Category | None = None,
        status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
        start_date: Annotated[QueryTime, Query()] = None,
        end_date: Annotated[QueryTime, Query()] = None,
    ) -> list[Open311Request]:
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

    @app.get(
        "/open311/v2/requests/{service_request_id}.json",
        tags=["open311"],
        responses={**UNAUTHENTICATED, 404: problem("No such request in your agency")},
    )
    async def request(
        service_request_id: Annotated[str, Path(pattern=REQUEST_ID_PATTERN)],
        who: Open311Client,
    ) -> list[Open311Request]:
        rows = await pool().fetch(
            f"{case_select} WHERE c.tracking_code = $1 AND c.agency_code = $2",
            service_request_id,
            who.agency_code,
        )
        if not rows:
            raise HTTPException(404, "no such request in your agency")
        return await _open311(rows)

    # ------------------------------------------------------------------ statistics
    # Public on purpose: counts per channel, category, province, status and agency, and
    # deadline compliance. No case, tracking code, text or reporter appears.

    @app.get("/v1/stats", tags=["stats"])
    async def statistics() -> Statistics:
        async with pool().acquire() as conn:
            return Statistics.model_validate(await stats.collect(conn, clock()))

    @app.get("/stats", response_class=HTMLResponse, tags=["stats"])
    async def statistics_page() -> HTMLResponse:
        async with pool().acquire() as conn:
            figures = await stats.collect(conn, clock())
        return HTMLResponse(stats.render_page(figures))

    return app
