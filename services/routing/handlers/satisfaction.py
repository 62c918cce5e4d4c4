"""The citizen's answer to the closing message (SatisfactionRated, from intake): recorded
against the case, counted in the statistics per agency, and a refusal (TIDAK PUAS) within 10
days of the closing re-opens the case for a second look by Setwapres: the case moves to
Setwapres' queue as `reopened` (CaseStatusChanged tells the citizen), where an administrator
disposes it to an agency again or closes it with a note.

One answer per complaint and closing counts, the first: a replay or a second answer changes
nothing. Co-reporters of a collective case answer each for their own complaint; the first
refusal re-opens the case, later ones are recorded and counted. A case re-opens once."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import asyncpg

from schemas.events import Event, EventEnvelope
from schemas.events.intake import SatisfactionRated
from schemas.events.routing import CaseStatus
from services.routing.adapters import repository, satisfaction
from services.routing.domain import MANUAL_DISPOSITION, Action, Assignment, reopens_on_answer
from services.routing.handlers.commands import Step, change_status

log = logging.getLogger(__name__)
REOPEN_RULE = "citizen-refused-response"  # the queue rule a re-opened case is under
NOT_SATISFIED = "citizen_not_satisfied"
REOPENED_NOTICE = (
    "Anda menyatakan tidak puas atas tanggapan instansi; laporan dibuka kembali dan ditinjau"
    " ulang oleh Sekretariat Wakil Presiden."
)


async def record_satisfaction(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    """Record the answer; re-open the case when the domain says the refusal does."""
    assert isinstance(event, SatisfactionRated)
    payload = event.payload
    found = await repository.case_for_complaint(conn, event.complaint_id)
    if found is None:
        log.warning("satisfaction answer without a case", extra={"event_id": str(event.event_id)})
        return ()
    case = await repository.lock_case(conn, found["case_id"], None)
    assert case is not None
    closed_at = case["closed_at"]
    if closed_at is None:  # never closed: nothing to rate (intake asks only after a closing)
        return ()
    agency_code = await satisfaction.closing_agency(conn, case["case_id"]) or case["agency_code"]
    answer = satisfaction.Answer(
        event_id=event.event_id,
        complaint_id=event.complaint_id,
        case_id=case["case_id"],
        closed_at=closed_at,
        agency_code=agency_code,
        satisfied=payload.satisfied,
        score=payload.score,
        channel=payload.channel.value,
        rated_at=payload.rated_at,
    )
    if not await satisfaction.record_answer(conn, answer):
        return ()  # answered before: the first answer counts
    if not reopens_on_answer(
        satisfied=payload.satisfied,
        current=CaseStatus(case["status"]),
        closed_at=closed_at,
        rated_at=payload.rated_at,
        reopened_before=await satisfaction.reopened_before(conn, case["case_id"]),
    ):
        return ()
    await satisfaction.mark_reopened(conn, event.event_id)
    return (await _reopen(conn, case, event),)


async def _reopen(
    conn: asyncpg.Connection, case: asyncpg.Record, event: SatisfactionRated
) -> EventEnvelope:
    """Into Setwapres' queue (a new assignment round, no agency clock), then `reopened`."""
    agencies = await repository.agencies(conn)
    await repository.assign_case(
        conn,
        case["case_id"],
        Assignment(MANUAL_DISPOSITION, REOPEN_RULE, 1),
        status=case["status"],
        round_=case["assignment_round"] + 1,
        at=event.occurred_at,
    )
    moved = await repository.lock_case(conn, case["case_id"], None)
    assert moved is not None
    step = Step("citizen", event.occurred_at, reason=NOT_SATISFIED, notice=REOPENED_NOTICE)
    reopened = await change_status(
        conn, moved, Action.REOPEN, agencies[MANUAL_DISPOSITION].name, step
    )
    # Derived from the answer: a replay of the same answer names the same event.
    ids = {"event_id": uuid.uuid5(event.event_id, "CaseStatusChanged")}
    return reopened.model_copy(update={**ids, "causation_id": event.event_id})
