"""Notifier's event handlers.

Reads: lapor.complaints.intake.v1, lapor.complaints.triaged.v1, lapor.cases.v1.
Writes: lapor.notifications.v1 (CitizenNotified), through the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from schemas.events import (
    CitizenNotified,
    CitizenNotifiedPayload,
    ComplaintReceived,
    Event,
    EventEnvelope,
    Language,
    follow_up_ids,
)
from services.notifier import repository
from services.notifier.domain import LOG_CHANNEL, TEMPLATES, template_for

PRODUCER = "notifier"


async def notify_citizen(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    if isinstance(event, ComplaintReceived):
        await repository.save_recipient(conn, event)
    template = template_for(event)
    if template is None:
        return ()
    language = await repository.recipient_language(conn, event.complaint_id) or Language.INDONESIAN
    notification_id = uuid.uuid5(event.event_id, f"notification:{LOG_CHANNEL}")
    recorded = await repository.record_notification(
        conn,
        notification_id=notification_id,
        complaint_id=event.complaint_id,
        trigger_event_id=event.event_id,
        trigger_type=event.event_type,
        channel=LOG_CHANNEL,
        template=template,
        language=language.value,
    )
    if not recorded:
        return ()
    return (
        CitizenNotified(
            **follow_up_ids(event, PRODUCER, "CitizenNotified"),
            payload=CitizenNotifiedPayload(
                notification_id=notification_id,
                tracking_code=event.payload.tracking_code,
                trigger_event_id=event.event_id,
                trigger_event_type=event.event_type,
                channel=LOG_CHANNEL,
                template=template,
                language=language,
            ),
        ),
    )


HANDLERS = dict.fromkeys(TEMPLATES, notify_citizen)
