"""What routing's consumer loop does with each event type of lapor.complaints.triaged.v1."""

from __future__ import annotations

from services.messaging.consumer import BatchHandler, Handler
from services.routing.handlers.opening import join_duplicate, open_case, open_cases

HANDLERS: dict[str, Handler] = {
    "ComplaintAccepted": open_case,
    "ComplaintDuplicateDetected": join_duplicate,
}
# Duplicates are few and rarely meet their original in one batch: they stay per event.
BATCH_HANDLERS: dict[str, BatchHandler] = {"ComplaintAccepted": open_cases}
