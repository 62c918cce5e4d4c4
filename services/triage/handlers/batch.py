"""A batch of complaints through triage in one database transaction.

1. open every complaint's sealed fields with one key store query for the batch, and read each
   once (`stages.Complaint`: reporter, assessment, area);
2. in one transaction on `conn`: lock the batch's areas and reporters (`TriageState.lock`,
   ascending key order), load the decisions already taken and the state the batch looks up
   (one statement per table), fetch the candidates' data keys (one query), decide each
   complaint in order against that state and the batch's earlier complaints, and write the
   new state, the decisions, the review items and the decision events (outbox) with one
   statement per table.

A complaint decided before (a redelivery) re-emits its stored decision: the same event id,
which consumers absorb. A complaint whose decision raises is returned in `failed` (to be
dead-lettered by the caller) and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from schemas.events import ComplaintReceived, EventEnvelope
from services.personal_data.field_crypto import open_model, sealed_key_ids_in
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.adapters.repository import ReviewRow
from services.triage.adapters.state import TriageState
from services.triage.domain.duplicates import History
from services.triage.domain.sealing import Keys
from services.triage.handlers.stages import (
    Complaint,
    Triaged,
    batch_keys_needed,
    batch_lookups,
    triage_complaint,
)

log = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    triaged: list[Triaged] = field(default_factory=list)
    failed: list[tuple[ComplaintReceived, Exception]] = field(default_factory=list)


async def open_batch(
    personal_data: PersonalDataReader, received: Sequence[ComplaintReceived], secret: bytes
) -> list[Complaint]:
    """Each complaint opened (one key store query for the batch) and read once."""
    known = await personal_data.data_keys(
        {key_id for event in received for key_id in sealed_key_ids_in(event)}
    )
    return [Complaint.of(event, open_model(event, known), secret) for event in received]


async def triage_batch(
    conn: asyncpg.Connection,
    personal_data: PersonalDataReader,
    secret: bytes,
    received: Sequence[ComplaintReceived],
) -> BatchOutcome:
    complaints = await open_batch(personal_data, received, secret)
    outcome = BatchOutcome()
    async with conn.transaction():
        state = TriageState(conn)
        await state.lock((c.area for c in complaints), (c.reporter for c in complaints))
        decisions = await state.decisions(c.received.complaint_id for c in complaints)
        history = await state.history(batch_lookups(complaints))
        keys = Keys(await personal_data.data_keys(batch_keys_needed(complaints, history)))
        for complaint in complaints:
            try:
                outcome.triaged.append(
                    triage_complaint(complaint, secret, history, decisions, keys)
                )
            except Exception as error:  # one bad complaint must not hold the batch back
                log.exception("triage failed on a complaint")
                outcome.failed.append((complaint.received, error))
        await _save(state, history, outcome.triaged)
    return outcome


async def _save(state: TriageState, history: History, triaged: list[Triaged]) -> None:
    fresh = [item for item in triaged if item.fresh]
    decided = [
        (item.complaint.complaint_id, str(item.complaint.received.event_id), item.decision)
        for item in fresh
    ]
    reviews = [
        ReviewRow(
            item.complaint.received,
            item.complaint.assessment,
            item.decision,
            item.complaint.reporter,
            item.similar,
        )
        for item in fresh
        if item.decision.event_type == "ComplaintNeedsReview"
    ]
    events: dict[str, EventEnvelope] = {str(i.decision.event_id): i.decision for i in triaged}
    await state.save(history, decided, reviews, list(events.values()))
