"""Co-reporters (pure): which reporters who joined a case hear one of its events, under which
trigger id (so each gets it once, the same on a replay) and with which message."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas.events import Event
from services.notifier.domain.rules import Message, message_for

# The case's events a co-reporter hears about, as the original reporter does (keyed by the
# original complaint). CaseReporterJoined itself is keyed by the co-reporter's complaint.
FOLLOWED_EVENT_TYPES = frozenset(
    {"CaseAssigned", "CaseStatusChanged", "CaseDeadlineApproaching", "CaseOverdue"}
)


@dataclass(frozen=True)
class CoReporter:
    complaint_id: uuid.UUID
    tracking_code: str  # the co-reporter's own
    joined_at: datetime


@dataclass(frozen=True)
class CoReporterMessage:
    complaint_id: uuid.UUID
    trigger_event_id: uuid.UUID
    message: Message


def co_reporter_trigger_id(event_id: uuid.UUID, complaint_id: uuid.UUID) -> uuid.UUID:
    """The trigger id of a case event's message to one co-reporter: the notifications table
    is unique per (trigger, channel), and the original reporter keeps the event's own id."""
    return uuid.uuid5(event_id, f"co-reporter:{complaint_id}")


def co_reporter_messages(
    event: Event, co_reporters: Sequence[CoReporter]
) -> list[CoReporterMessage]:
    """The message each co-reporter gets for a case event: from their join onwards, naming
    their own tracking code (and the case's as `case_tracking_code`)."""
    if event.event_type not in FOLLOWED_EVENT_TYPES:
        return []
    message = message_for(event)
    if message is None:
        return []
    case_code = message.context.get("tracking_code")
    return [
        CoReporterMessage(
            complaint_id=reporter.complaint_id,
            trigger_event_id=co_reporter_trigger_id(event.event_id, reporter.complaint_id),
            message=Message(
                message.template,
                {
                    **message.context,
                    "tracking_code": reporter.tracking_code,
                    "case_tracking_code": case_code,
                },
            ),
        )
        for reporter in co_reporters
        if reporter.joined_at <= event.occurred_at and reporter.complaint_id != event.complaint_id
    ]
