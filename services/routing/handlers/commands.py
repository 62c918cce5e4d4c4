"""Commands on a case: the desk's actions, re-routing after a not-in-remit, the supervisor's
reassignment to another officer of the agency, Setwapres' manual disposition, and the public
summary staff write for the public (Open311 on intake). The
domain decides each new status (`TRANSITIONS`); `change_status` and `reassign` are the only
places that write one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.events import CaseAssigned, CaseAssignedPayload, EventEnvelope
from schemas.events.routing import (
    CasePublicSummaryPublished,
    CasePublicSummaryPublishedPayload,
    CaseStatus,
    CaseStatusChanged,
    DeadlineKind,
)
from services.routing.adapters import repository
from services.routing.domain import (
    DEADLINES_MET,
    MANUAL_DISPOSITION,
    MANUAL_RULE,
    Action,
    Assignment,
    CaseNotFound,
    SecretReport,
    UnknownAgency,
    check_desk_action,
    check_reassignable,
    choose_agency,
    documents_due,
    next_status,
)
from services.routing.handlers.events import envelope, status_changed


@dataclass(frozen=True)
class Step:
    """Who takes a step on a case, when, and what they say about it."""

    actor: str
    now: datetime
    reason: str | None = None
    note: str | None = None  # kept in the history and told to the citizen
    notice: str | None = None  # told to the citizen only


async def change_status(
    conn: asyncpg.Connection,
    case: asyncpg.Record,
    action: Action,
    agency_name: str,
    step: Step,
) -> CaseStatusChanged:
    """Move the case one step of its lifecycle: the domain picks the new status (or raises
    TransitionNotAllowed), the repository writes it, the history records it and the
    deadlines the step meets are met. Returns the event to publish."""
    previous = CaseStatus(case["status"])
    target = next_status(previous, action)
    await repository.set_case_status(conn, case["case_id"], target, step.now)
    await repository.record_history(
        conn,
        case["case_id"],
        previous_status=previous,
        status=target,
        agency_code=case["agency_code"],
        actor=step.actor,
        reason=step.reason,
        note=step.note,
    )
    if met := DEADLINES_MET.get(action):
        await repository.meet_deadlines(conn, case["case_id"], list(met), step.now)
    return status_changed(
        case,
        agency_name,
        previous=previous,
        status=target,
        actor=step.actor,
        reason=step.reason,
        note=step.note or step.notice,
        at=step.now,
    )


async def apply_action(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    action: Action,
    *,
    actor: str,
    scope_agency: str | None,
    now: datetime,
    note: str | None = None,
    reason: str | None = None,
) -> list[EventEnvelope]:
    """Move a case one step; returns the events to publish (the caller enqueues them in the
    same transaction). Raises CaseNotFound outside the caller's agency, and
    TransitionNotAllowed for a step the lifecycle forbids."""
    case = await repository.lock_case(conn, case_id, scope_agency)
    if case is None:
        raise CaseNotFound(str(case_id))
    check_desk_action(action, CaseStatus(case["status"]), case["agency_code"], note)
    agencies = await repository.agencies(conn)
    step = Step(actor, now, reason=reason, note=note)
    changed = await change_status(conn, case, action, agencies[case["agency_code"]].name, step)
    if action is not Action.NOT_IN_REMIT:  # the first officer to act takes the case
        await repository.assign_officer(conn, case_id, actor, first_only=True)
    events: list[EventEnvelope] = [changed]
    if action is Action.REQUEST_DOCUMENTS:
        # The citizen's window counts from this request; the event carries its end, so
        # intake accepts additions until the very moment routing would close the case.
        due = documents_due(now)
        rounds = await repository.deadline_rounds(conn, case_id, DeadlineKind.DOCUMENTS)
        await repository.add_deadline(conn, case_id, DeadlineKind.DOCUMENTS, rounds + 1, due)
        payload = changed.payload.model_copy(update={"documents_due_at": due})
        events = [changed.model_copy(update={"payload": payload})]
    elif action is Action.NOT_IN_REMIT:
        events.append(await _reroute(conn, case, changed.payload.status, now, agencies))
    return events


async def _reroute(
    conn: asyncpg.Connection,
    case: asyncpg.Record,
    current: CaseStatus,
    now: datetime,
    agencies: dict[str, repository.Agency],
) -> CaseAssigned:
    """The next candidate agency, skipping every one that declared the case not its own."""
    excluded = await repository.declined_agencies(conn, case["case_id"])
    assignment = choose_agency(
        await repository.active_rules(conn, case["category"]),
        case["category"],
        case["region_code"],
        set(agencies),
        priority=case["priority"],
        excluded=excluded,
    )
    step = Step("system", now)
    return await reassign(conn, case, current, Action.REROUTE, assignment, step, agencies)


async def reassign(
    conn: asyncpg.Connection,
    case: asyncpg.Record,
    current: CaseStatus,
    action: Action,
    assignment: Assignment,
    step: Step,
    agencies: dict[str, repository.Agency],
) -> CaseAssigned:
    """Hand a case to another agency: a new round with a fresh response window."""
    target = next_status(current, action)
    agency = agencies[assignment.agency_code]
    calendar = await repository.calendar(conn)
    round_ = case["assignment_round"] + 1
    await repository.assign_case(
        conn, case["case_id"], assignment, status=target, round_=round_, at=step.now
    )
    await repository.record_history(
        conn,
        case["case_id"],
        previous_status=current,
        status=target,
        agency_code=assignment.agency_code,
        actor=step.actor,
        reason=f"rule {assignment.rule_id} v{assignment.rule_version}",
    )
    response_due = calendar.add_working_days(step.now, agency.response_working_days)
    if assignment.agency_code != MANUAL_DISPOSITION:
        await repository.add_deadline(
            conn, case["case_id"], DeadlineKind.AGENCY_RESPONSE, round_, response_due
        )
    if agency.via_sp4n:
        await repository.schedule_forwarding(
            conn, case["case_id"], round_, agency.agency_code, step.now
        )
    return CaseAssigned(
        **envelope(case),
        occurred_at=step.now,
        payload=CaseAssignedPayload(
            case_id=case["case_id"],
            tracking_code=case["tracking_code"],
            agency_code=agency.agency_code,
            agency_name=agency.name,
            rule_id=assignment.rule_id,
            rule_version=assignment.rule_version,
            due_at=case["due_at"],
            response_due_at=response_due,
            previous_agency_code=case["agency_code"],
        ),
    )


async def dispose(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    agency_code: str,
    *,
    actor: str,
    now: datetime,
) -> list[EventEnvelope]:
    """Setwapres' manual disposition: a case in its queue goes to the agency it picks.
    Raises CaseNotFound outside the queue, UnknownAgency for an agency it cannot pick."""
    case = await repository.lock_case(conn, case_id, MANUAL_DISPOSITION)
    if case is None:
        raise CaseNotFound(str(case_id))
    agencies = await repository.agencies(conn)
    if agency_code not in agencies or agency_code == MANUAL_DISPOSITION:
        raise UnknownAgency(agency_code)
    assignment = Assignment(agency_code, MANUAL_RULE, 1)
    current = CaseStatus(case["status"])
    step = Step(actor, now)
    return [await reassign(conn, case, current, Action.DISPOSE, assignment, step, agencies)]


async def reassign_officer(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    officer_id: str,
    *,
    actor: str,
    scope_agency: str,
    note: str | None = None,
) -> str | None:
    """The agency supervisor hands a case of their agency to another of its officers (the
    back office checks that `officer_id` is one); recorded in the history, the status
    unchanged, nothing published (the citizen's case has not moved). Returns the officer
    who had it; raises CaseNotFound outside `scope_agency`, NotReassignable for a case the
    agency no longer works on."""
    case = await repository.lock_case(conn, case_id, scope_agency)
    if case is None:
        raise CaseNotFound(str(case_id))
    check_reassignable(CaseStatus(case["status"]))
    previous = case["assigned_officer"]
    await repository.assign_officer(conn, case_id, officer_id, first_only=False)
    await repository.record_history(
        conn,
        case_id,
        previous_status=case["status"],
        status=case["status"],
        agency_code=case["agency_code"],
        actor=actor,
        reason=f"reassigned to {officer_id}",
        note=note,
    )
    return previous


async def publish_public_summary(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    summary: str | None,
    *,
    actor: str,
    scope_agency: str | None,
    now: datetime,
) -> CasePublicSummaryPublished:
    """Keep the case's public summary (None: withdraw it) and return the event that tells
    intake's public view; raises CaseNotFound outside `scope_agency`, SecretReport for a
    secret report (never public, so it has no public summary)."""
    case = await repository.lock_case(conn, case_id, scope_agency)
    if case is None:
        raise CaseNotFound(str(case_id))
    if case["secret"]:
        raise SecretReport("a secret report is never shown to the public")
    await repository.set_public_summary(conn, case_id, summary, actor)
    return CasePublicSummaryPublished(
        **envelope(case),
        occurred_at=now,
        payload=CasePublicSummaryPublishedPayload(
            case_id=case_id,
            tracking_code=case["tracking_code"],
            agency_code=case["agency_code"],
            summary=summary,
            published_by=actor,
        ),
    )
