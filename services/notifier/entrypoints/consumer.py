"""The consumer's wiring: which topics the notifier reads, and which handler takes each event
type (with the key store bound in for those that open sealed contact data)."""

from __future__ import annotations

from functools import partial

from schemas.topics import CASES, COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, WHATSAPP_STATUSES
from services.messaging.consumer import Handler
from services.notifier.domain.rules import EVENT_TYPES
from services.notifier.handlers.events import (
    deliver_reply,
    notify_citizen,
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
