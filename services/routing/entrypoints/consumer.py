"""What routing's consumer loop does with each event type it reads: triage's decisions on
lapor.complaints.triaged.v1, the complaints' content (ComplaintReceived, for the case file),
the citizen's additions and satisfaction answers on lapor.complaints.intake.v1 (its other
event types there are not routing's and are skipped)."""

from __future__ import annotations

from services.messaging.consumer import BatchHandler, Handler
from services.routing.handlers.additions import add_to_case
from services.routing.handlers.case_file import keep_case_file, keep_case_files
from services.routing.handlers.opening import join_duplicate, open_case, open_cases
from services.routing.handlers.satisfaction import record_satisfaction

HANDLERS: dict[str, Handler] = {
    "ComplaintAccepted": open_case,
    "ComplaintDuplicateDetected": join_duplicate,
    "ComplaintUpdated": add_to_case,
    "SatisfactionRated": record_satisfaction,
    "ComplaintReceived": keep_case_file,
}
# Duplicates are few and rarely meet their original in one batch: they stay per event.
# Every complaint's content comes by: one insert per batch.
BATCH_HANDLERS: dict[str, BatchHandler] = {
    "ComplaintAccepted": open_cases,
    "ComplaintReceived": keep_case_files,
}
