"""The consumer's wiring: which topics the notifier reads, and which handler takes each event
type (with the key store bound in for those that open sealed contact data). The events that
notify a citizen go to one batch handler (`notify_citizens`: one statement per table per
batch); the per-event handlers stay for the rest, and for callers that hold one event."""

from __future__ import annotations

from functools import partial

from schemas.topics import CASES, COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, WHATSAPP_STATUSES
from services.messaging.consumer import BatchHandler, Handler
from services.notifier.domain.rules import EVENT_TYPES
from services.notifier.handlers.events import (
    deliver_reply,
    notify_citizen,
    notify_citizens,
    record_opt_out,
    record_whatsapp_status,
)
from services.personal_data.keystore import Keystore

CONSUMES = [
    COMPLAINTS_INTAKE.name,
    COMPLAINTS_TRIAGED.name,
    CASES.name,
    WHATSAPP_STATUSES.name,
]


def event_handlers(keys: Keystore) -> dict[str, Handler]:
    notify = partial(notify_citizen, keys=keys)
    return {
        **dict.fromkeys(EVENT_TYPES, notify),
        "CitizenReplyRequested": partial(deliver_reply, keys=keys),
        "CitizenOptOutRequested": partial(record_opt_out, keys=keys),
        "WhatsAppStatusReported": partial(record_whatsapp_status, keys=keys),
    }


def event_batch_handlers(keys: Keystore) -> dict[str, BatchHandler]:
    """One handler object for every notifying type, so a batch's events go to it together."""
    return dict.fromkeys(EVENT_TYPES, partial(notify_citizens, keys=keys))
