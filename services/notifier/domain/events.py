"""The events the notifier publishes about a notification row, and the row's deterministic id:
pure functions of the row, so a replay builds the same events with the same ids."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from schemas.events import CitizenNotified, CitizenNotifiedPayload, EventEnvelope, Language
from schemas.events.notifier import (
    CitizenNotificationStatusChanged,
    CitizenNotificationStatusChangedPayload,
)
from services.notifier.domain.rules import OutboundChannel

PRODUCER = "notifier"

# A row of the notifications table (an asyncpg.Record in practice).
NotificationRow = Mapping[str, Any]


def notification_id_for(trigger_event_id: uuid.UUID, channel: OutboundChannel) -> uuid.UUID:
    """Deterministic, so a replayed trigger maps onto the same row."""
    return uuid.uuid5(trigger_event_id, f"notification:{channel.value}")


def _envelope(row: NotificationRow, name: str) -> dict[str, object]:
    return {
        "event_id": uuid.uuid5(row["notification_id"], name),
        "complaint_id": row["complaint_id"],
        "correlation_id": row["correlation_id"] or row["complaint_id"],
        "causation_id": row["trigger_event_id"],
        "producer": PRODUCER,
    }


def citizen_notified(row: NotificationRow) -> list[EventEnvelope]:
    """The timeline entry for a sent message (none for a reply outside any complaint yet)."""
    if not row["tracking_code"]:
        return []
    return [
        CitizenNotified(
            **_envelope(row, "CitizenNotified"),
            payload=CitizenNotifiedPayload(
                notification_id=row["notification_id"],
                tracking_code=row["tracking_code"],
                trigger_event_id=row["trigger_event_id"],
                trigger_event_type=row["trigger_type"],
                channel=row["channel"],
                template=row["template"],
                language=Language(row["language"]),
                fallback_of=row["fallback_of"],
            ),
        )
    ]


def status_changed(
    row: NotificationRow, status: str, fallback_channel: OutboundChannel | None
) -> list[EventEnvelope]:
    if not row["tracking_code"]:
        return []
    return [
        CitizenNotificationStatusChanged(
            **_envelope(row, f"status:{status}"),
            payload=CitizenNotificationStatusChangedPayload(
                notification_id=row["notification_id"],
                tracking_code=row["tracking_code"],
                channel=row["channel"],
                status=status,  # type: ignore[arg-type]
                fallback_channel=fallback_channel.value if fallback_channel else None,
            ),
        )
    ]
