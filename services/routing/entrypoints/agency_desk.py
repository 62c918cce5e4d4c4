"""`/v1/desk/cases`: the agency desk. Each officer's bearer token is scoped to one agency; a
case of another agency answers 404, exactly like a case that does not exist. The case detail
is the case file (full text, place, chronology, documents with short-lived signed links to
intake, the reporter's contact unless the report is anonymous, the SP4N-LAPOR! forwardings;
see `handlers.case_file`), which Setwapres' administrators and disposition staff may read for
any agency; they also dispose of the manual queue's cases. An agency's supervisor reassigns a
case to another of its officers (`assigned_officer`, which the first officer to act takes).
Callers: an officer's token or the back office's staff assertion (`access`)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.events import EventEnvelope
from schemas.events.base import Category, Priority
from schemas.events.routing import CaseStatus
from services.messaging import outbox
from services.personal_data.keystore import Keystore
from services.routing.adapters import citizen_words, views
from services.routing.adapters.repository import Officer
from services.routing.domain import (
    Action,
    CaseNotFound,
    DocumentLinks,
    NotReassignable,
    SecretReport,
    TransitionNotAllowed,
    UnknownAgency,
)
from services.routing.entrypoints.access import (
    DISPOSITION_ONLY,
    OFFICER_ONLY,
    SUPERVISOR_ONLY,
    UNAUTHENTICATED,
    Authenticated,
    Clock,
    Disposer,
    PoolGetter,
    Supervisor,
    is_setwapres_admin,
)
from services.routing.entrypoints.fields import REGION_PATTERN, AgencyCode, Text, unprocessable
from services.routing.handlers import case_file, commands
from services.runtime.http_problems import UNREADABLE_BODY, problem

# The desk's action routes: path → action.
ACTION_PATHS = {
    "accept": Action.ACCEPT,
    "respond": Action.RESPOND,
    "request-documents": Action.REQUEST_DOCUMENTS,
    "not-in-remit": Action.NOT_IN_REMIT,
    "close": Action.CLOSE,
}


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text | None = Field(default=None, max_length=4000, description="Text for the citizen")
    reason: Text | None = Field(default=None, max_length=500)


class DisposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_code: AgencyCode = Field(examples=["KEMENPU"])
    reason: Text | None = Field(default=None, max_length=500)


# Read from the database, so enum-like columns are plain strings: a response model stricter
# than the data would turn old rows into 500s.


class CaseView(BaseModel):
    case_id: uuid.UUID
    tracking_code: str
    status: str
    category: str
    priority: str
    channel: str | None
    region_code: str | None
    region_source: str | None = Field(
        description="Where region_code came from: 'incident' (where the citizen said the"
        " problem is) or 'reporter_nik' (the reporter's NIK region, a fallback); null when"
        " unknown"
    )
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
    assigned_officer: str | None = Field(
        default=None,
        description="The officer (or staff id) of the agency who works on it: the first to"
        " act, or whom the supervisor reassigned it to; null: nobody yet",
    )
    public_summary: str | None = Field(
        default=None,
        description="What the public reads about it (Open311 on intake); null: the category's"
        " name only",
    )


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


class AttachmentView(BaseModel):
    attachment_id: str
    media_type: str
    filename: str | None = None
    size_bytes: int | None = None


class AdditionView(BaseModel):
    """What the citizen added after filing (TAMBAH#, the web page, the owner API)."""

    tracking_code: str = Field(description="The reporter's code (a co-reporter's own)")
    additional_text: str
    attachments: list[AttachmentView]
    received_at: datetime


class LocationView(BaseModel):
    """Where the problem is, as the citizen said."""

    region_code: str | None
    city: str | None
    address: str | None = Field(description="'erased' once the reporter was erased")
    latitude: float | None
    longitude: float | None


class ContactView(BaseModel):
    name: str | None
    phone: str | None
    email: str | None


class ReporterView(BaseModel):
    """One reporter of the case: the original or one who joined it (a duplicate)."""

    tracking_code: str
    original: bool
    anonymous: bool
    secret: bool
    filed_at: datetime
    contact: ContactView | None = Field(
        description="None for an anonymous report (the agency never learns who reported);"
        " shown for a secret one (secret only hides the content from the public); a value"
        " reads '(data erased)' once the reporter was erased"
    )


class DocumentView(AttachmentView):
    """A document's metadata and a short-lived signed link to open it; its bytes stay with
    intake."""

    tracking_code: str
    source: str = Field(description="'complaint' (sent with it) or 'addition' (sent later)")
    added_at: datetime
    erased: bool = Field(
        default=False, description="Erased with the reporter's personal data: no link"
    )
    url: str | None = Field(
        default=None,
        description="Intake's GET /v1/documents/... signed for this officer; issuing it is"
        " recorded as an opening of the case file. Null when erased",
    )
    url_expires_at: datetime | None = Field(
        default=None, description="When the link stops working (about 15 minutes)"
    )


class ChronologyView(BaseModel):
    at: datetime
    kind: str = Field(description="'filed', 'status' or 'addition'")
    actor: str
    text: str | None
    status: str | None
    tracking_code: str | None


class Sp4nForwardingView(BaseModel):
    """One round's forwarding to SP4N-LAPOR! (agencies that take complaints through it)."""

    round: int
    agency_code: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    remote_id: str | None = Field(description="SP4N-LAPOR!'s id once it accepted the case")
    forwarded_at: datetime | None


class CaseDetail(CaseView):
    """The case file: the case, its full content and story. Every opening that shows
    personal data is recorded with the officer and the fields."""

    history: list[HistoryEntry]
    deadlines: list[DeadlineView]
    additions: list[AdditionView] = Field(
        default_factory=list, description="The citizen's additions, oldest first"
    )
    description: str | None = Field(
        default=None,
        description="The citizen's full text; null until the content reached routing",
    )
    location: LocationView | None = None
    reporters: list[ReporterView] = Field(default_factory=list)
    documents: list[DocumentView] = Field(default_factory=list)
    chronology: list[ChronologyView] = Field(
        default_factory=list,
        description="Filings, the case's status changes and additions in time order",
    )
    sp4n_forwardings: list[Sp4nForwardingView] = Field(
        default_factory=list,
        description="Its forwardings to SP4N-LAPOR!, one per round to an agency on SP4N",
    )


class InboxCounts(BaseModel):
    """The agency's cases under the list's filters but status and overdue, which these
    break down."""

    total: int
    overdue: int
    by_status: dict[str, int]


class Inbox(BaseModel):
    agency_code: str
    cases: list[CaseView]
    counts: InboxCounts | None = None


class PublicSummaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: Text | None = Field(
        default=None,
        max_length=1000,
        description="What the public may read about the case (Open311's description): no"
        " names, NIK, phone numbers or addresses. Empty or null withdraws it",
    )


class PublicSummaryResult(BaseModel):
    case_id: uuid.UUID
    public_summary: str | None


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    officer_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$",
        description="A staff id of the same agency (the back office checks its accounts)",
        examples=["siti.atr"],
    )
    note: Text | None = Field(default=None, max_length=500, description="Kept in the history")


class ReassignResult(BaseModel):
    case_id: uuid.UUID
    assigned_officer: str
    previous_officer: str | None


class ActionResult(BaseModel):
    case_id: uuid.UUID
    events: list[str]
    status: str = Field(description="The new status, or 'rerouted' after not-in-remit")
    agency_code: str


class DisposeResult(BaseModel):
    case_id: uuid.UUID
    agency_code: str
    status: str


def inbox_filter(
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    category: Category | None = None,
    priority: Priority | None = None,
    region_prefix: Annotated[str | None, Query(pattern=REGION_PATTERN)] = None,
    overdue: bool | None = None,
    due_before: Annotated[
        AwareDatetime | None, Query(description="Only cases whose own deadline is before this")
    ] = None,
    sort: Annotated[
        Literal["urgent", "due"], Query(description="urgent: urgent first, then due date")
    ] = "urgent",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    # bounded: PostgreSQL's OFFSET is a bigint, and nobody pages this far
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> views.InboxFilter:
    """The case lists' filters, from the query."""
    return views.InboxFilter(
        statuses=[s.value for s in status] if status else None,
        category=category.value if category else None,
        priority=priority.value if priority else None,
        region_prefix=region_prefix,
        overdue=overdue,
        limit=limit,
        offset=offset,
        due_before=due_before,
        by_due=sort == "due",
    )


async def agency_inbox(
    pool: asyncpg.Pool, keys: Keystore, agency_code: str, wanted: views.InboxFilter, now: datetime
) -> Inbox:
    """An agency's list of cases (the desk's inbox; Setwapres': the manual queue)."""
    rows = await views.inbox(pool, agency_code, wanted, now)
    cases = await _opened_summaries(keys, pool, [_case_view(row) for row in rows])
    counted = await views.inbox_counts(pool, agency_code, wanted, now)
    counts = InboxCounts(
        total=sum(row["total"] for row in counted),
        overdue=sum(row["overdue"] for row in counted),
        by_status={row["status"]: row["total"] for row in counted},
    )
    return Inbox.model_validate({"agency_code": agency_code, "cases": cases, "counts": counts})


def _case_view(row: asyncpg.Record) -> dict[str, Any]:
    return {name: row[name] for name in CaseView.model_fields}


async def _opened_summaries(
    keys: Keystore, pool: asyncpg.Pool | asyncpg.Connection, cases: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The cases with the citizen's words opened (sealed in `cases.summary`)."""
    summaries = await citizen_words.readable(keys, pool, [case["summary"] for case in cases])
    return [{**case, "summary": text} for case, text in zip(cases, summaries, strict=True)]


def _action_result(case_id: uuid.UUID, action: Action, events: list[EventEnvelope]) -> ActionResult:
    last = events[-1]
    return ActionResult(
        case_id=case_id,
        events=[event.event_type for event in events],  # type: ignore[attr-defined]
        status=last.payload.status.value  # type: ignore[attr-defined]
        if action is not Action.NOT_IN_REMIT
        else "rerouted",
        agency_code=last.payload.agency_code,  # type: ignore[attr-defined]
    )


def desk_router(
    pool: PoolGetter,
    clock: Clock,
    keys: Keystore,
    links: DocumentLinks | None = None,
) -> APIRouter:
    """`keys` opens the case files' personal fields and the citizen's words; `links` signs
    the documents' links to intake; without it documents have no link."""
    router = APIRouter(tags=["desk"])
    _add_case_reads(router, pool, clock, keys, links)
    _add_case_actions(router, pool, clock)
    return router


def _add_case_reads(
    router: APIRouter,
    pool: PoolGetter,
    clock: Clock,
    keys: Keystore,
    links: DocumentLinks | None,
) -> None:
    @router.get("/v1/desk/cases", responses=UNAUTHENTICATED)
    async def inbox(
        who: Authenticated,
        wanted: Annotated[views.InboxFilter, Depends(inbox_filter)],
        mine: Annotated[
            bool, Query(description="Only the cases assigned to the calling officer")
        ] = False,
    ) -> Inbox:
        """The agency's cases with the counts under the same filters; urgent cases first,
        then by due date (`sort=due`: by due date only)."""
        if mine:
            wanted = replace(wanted, assigned_officer=who.officer_id)
        return await agency_inbox(pool(), keys, who.agency_code, wanted, clock())

    @router.get("/v1/desk/cases/{case_id}", responses=OFFICER_ONLY)
    async def open_case(case_id: uuid.UUID, who: Authenticated) -> CaseDetail:
        """The case file. A Setwapres administrator (or disposition staff) may read any
        agency's case."""
        async with pool().acquire() as conn:
            if is_setwapres_admin(who):
                row = await views.any_case(conn, case_id)
            else:
                row = await views.agency_case(conn, case_id, who.agency_code)
            if row is None:
                raise HTTPException(404, "no such case in your agency")
            found = await case_file.read_case_file(conn, row, who, keys, clock(), links)
            (case,) = await _opened_summaries(keys, conn, [_case_view(row)])
            forwardings = [dict(f) for f in await views.sp4n_forwardings(conn, case_id)]
        return CaseDetail.model_validate({**case, **found, "sp4n_forwardings": forwardings})


def _add_case_actions(router: APIRouter, pool: PoolGetter, clock: Clock) -> None:
    async def act(case_id: uuid.UUID, action: Action, who: Officer, body: ActionIn) -> ActionResult:
        async with pool().acquire() as conn, conn.transaction():
            try:
                events = await commands.apply_action(
                    conn,
                    case_id,
                    action,
                    actor=who.officer_id,
                    scope_agency=who.agency_code,
                    now=clock(),
                    note=body.note,
                    reason=body.reason,
                )
            except CaseNotFound:
                raise HTTPException(404, "no such case in your agency") from None
            except TransitionNotAllowed as error:
                raise HTTPException(409, str(error)) from None
            await outbox.enqueue(conn, events)
        return _action_result(case_id, action, events)

    def add_action_route(path: str, action: Action) -> None:
        async def endpoint(
            case_id: uuid.UUID, who: Authenticated, body: ActionIn | None = None
        ) -> ActionResult:
            return await act(case_id, action, who, body or ActionIn())

        endpoint.__name__ = f"case_{action.value}"
        router.post(
            f"/v1/desk/cases/{{case_id}}/{path}",
            responses={
                **OFFICER_ONLY,
                **UNREADABLE_BODY,
                409: problem("A step the lifecycle forbids"),
            },
        )(endpoint)

    for path, action in ACTION_PATHS.items():
        add_action_route(path, action)

    _add_reassignment(router, pool)
    _add_public_summary(router, pool, clock)

    @router.post(
        "/v1/desk/cases/{case_id}/dispose",
        responses={
            **DISPOSITION_ONLY,
            **UNREADABLE_BODY,
            404: problem("No such case in the manual queue"),
        },
    )
    async def dispose(case_id: uuid.UUID, body: DisposeIn, who: Disposer) -> DisposeResult:
        async with pool().acquire() as conn, conn.transaction():
            try:
                events = await commands.dispose(
                    conn, case_id, body.agency_code, actor=who.officer_id, now=clock()
                )
            except CaseNotFound:
                raise HTTPException(404, "no such case in the manual queue") from None
            except UnknownAgency:
                raise unprocessable(
                    ("agency_code",), f"unknown agency_code {body.agency_code!r}", body.agency_code
                ) from None
            await outbox.enqueue(conn, events)
        return DisposeResult(case_id=case_id, agency_code=body.agency_code, status="assigned")


def _add_public_summary(router: APIRouter, pool: PoolGetter, clock: Clock) -> None:
    @router.post(
        "/v1/desk/cases/{case_id}/public-summary",
        responses={
            **OFFICER_ONLY,
            **UNREADABLE_BODY,
            409: problem("A secret report, never shown to the public"),
        },
    )
    async def public_summary(
        case_id: uuid.UUID, body: PublicSummaryIn, who: Authenticated
    ) -> PublicSummaryResult:
        """Write (or withdraw) the case's public summary; intake's Open311 view shows it
        as the request's description (CasePublicSummaryPublished, through the outbox)."""
        summary = (body.summary or "").strip() or None
        scope = None if is_setwapres_admin(who) else who.agency_code
        async with pool().acquire() as conn, conn.transaction():
            try:
                event = await commands.publish_public_summary(
                    conn, case_id, summary, actor=who.officer_id, scope_agency=scope, now=clock()
                )
            except CaseNotFound:
                raise HTTPException(404, "no such case in your agency") from None
            except SecretReport as error:
                raise HTTPException(409, str(error)) from None
            await outbox.enqueue(conn, [event])
        return PublicSummaryResult(case_id=case_id, public_summary=summary)


def _add_reassignment(router: APIRouter, pool: PoolGetter) -> None:
    @router.post(
        "/v1/desk/cases/{case_id}/reassign",
        responses={
            **SUPERVISOR_ONLY,
            **UNREADABLE_BODY,
            409: problem("A case the agency no longer works on"),
        },
    )
    async def reassign(case_id: uuid.UUID, body: ReassignIn, who: Supervisor) -> ReassignResult:
        """The agency supervisor hands a case of their agency to another of its officers
        (a staff id; the back office checks it against its accounts). Recorded in the
        case's history; the status does not change."""
        async with pool().acquire() as conn, conn.transaction():
            try:
                previous = await commands.reassign_officer(
                    conn,
                    case_id,
                    body.officer_id,
                    actor=who.officer_id,
                    scope_agency=who.agency_code,
                    note=body.note,
                )
            except CaseNotFound:
                raise HTTPException(404, "no such case in your agency") from None
            except NotReassignable as error:
                raise HTTPException(409, str(error)) from None
        return ReassignResult(
            case_id=case_id, assigned_officer=body.officer_id, previous_officer=previous
        )
