"""A citizen's addition (ComplaintUpdated, from TAMBAH#, the web page or the owner API) joins
the complaint's case file; when the agency was waiting for documents, the wait ends and the
case is back in progress (CaseStatusChanged tells the agency's desk and the citizen).

An addition for a complaint with no case yet (still in triage or review) is kept all the
same: the case file reads additions by complaint, so it is in the file when the case opens.
The text and filenames are the citizen's words: stored sealed, as received, like the case's
summary; opened only for display (`adapters.citizen_words`) and never logged."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from schemas.events import ComplaintUpdated, Event, EventEnvelope
from schemas.events.routing import CaseStatus
from services.routing.adapters import repository
from services.routing.domain import Action, resumes_on_addition
from services.routing.handlers.commands import Step, change_status

DOCUMENTS_RECEIVED = "documents_received"
RESUMED_NOTICE = (
    "Informasi tambahan Anda sudah diterima dan diteruskan ke instansi; laporan diproses kembali."
)


async def add_to_case(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    """Keep the addition in the case file; resume a case that awaited documents."""
    assert isinstance(event, ComplaintUpdated)
    payload = event.payload
    kept = await repository.add_addition(
        conn,
        repository.NewAddition(
            event_id=event.event_id,
            complaint_id=event.complaint_id,
            tracking_code=payload.tracking_code,
            text=payload.additional_text,
            attachments=[a.model_dump(mode="json") for a in payload.attachments],
            received_at=event.occurred_at,
        ),
    )
    found = await repository.case_for_complaint(conn, event.complaint_id)
    if not kept or found is None:
        return ()  # no case yet: the addition waits in the file for the case to open
    case = await repository.lock_case(conn, found["case_id"], None)
    assert case is not None
    await repository.touch_case(conn, case["case_id"], event.occurred_at)
    if not resumes_on_addition(CaseStatus(case["status"])):
        return ()
    agencies = await repository.agencies(conn)
    step = Step("citizen", event.occurred_at, reason=DOCUMENTS_RECEIVED, notice=RESUMED_NOTICE)
    resumed = await change_status(
        conn, case, Action.DOCUMENTS_RECEIVED, agencies[case["agency_code"]].name, step
    )
    # Derived from the addition: a replay of the same addition names the same event.
    ids = {"event_id": uuid.uuid5(event.event_id, "CaseStatusChanged")}
    return (resumed.model_copy(update={**ids, "causation_id": event.event_id}),)
