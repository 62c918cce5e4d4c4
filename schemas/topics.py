"""Topic names, keys and partition counts, defined once.

Every topic is keyed by `complaint_id`, so all events of one complaint land on one partition
and stay in order. Six partitions let up to six instances of a service share a topic in one
consumer group; on a two-core box more would only add rebalance cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_PARTITIONS = 6


@dataclass(frozen=True)
class TopicSpec:
    base_name: str
    event_types: tuple[str, ...]
    producer: str
    description: str
    partitions: int = DEFAULT_PARTITIONS
    key: str = "complaint_id"

    @property
    def name(self) -> str:
        """The topic name, with the optional deployment prefix (tests isolate runs by it)."""
        return f"{topic_prefix()}{self.base_name}"


def topic_prefix() -> str:
    return os.environ.get("LAPOR_TOPIC_PREFIX", "")


def consumer_group(service: str) -> str:
    """A service's consumer group; all its instances share it and split the partitions."""
    return f"{topic_prefix()}lapor-{service}"


COMPLAINTS_INTAKE = TopicSpec(
    base_name="lapor.complaints.intake.v1",
    event_types=(
        "ComplaintReceived",
        "ComplaintUpdated",
        "CitizenReplyRequested",
        "CitizenOptOutRequested",
        "SatisfactionRated",
    ),
    producer="intake",
    description=(
        "Complaints as taken in from WhatsApp, web and walk-in, later additions, the"
        " conversational replies intake asks the notifier to send, and a WhatsApp citizen's"
        " BERHENTI / MULAI (opt out of messages, back in), and the citizen's answer to the"
        " closing message (PUAS / TIDAK PUAS). Events outside any complaint"
        " (opt-outs) are keyed by correlation_id."
    ),
)
COMPLAINTS_TRIAGED = TopicSpec(
    base_name="lapor.complaints.triaged.v1",
    event_types=(
        "ComplaintAccepted",
        "ComplaintRejected",
        "ComplaintNeedsReview",
        "ComplaintDuplicateDetected",
    ),
    producer="triage",
    description="Triage decisions: accepted, rejected, held for review, or duplicate.",
)
CASES = TopicSpec(
    base_name="lapor.cases.v1",
    event_types=(
        "CaseAssigned",
        "CaseStatusChanged",
        "CaseDeadlineApproaching",
        "CaseOverdue",
        "CaseReporterJoined",
        "CasePublicSummaryPublished",
    ),
    producer="routing",
    description="Case lifecycle: assignment to an agency, status changes, deadlines.",
)
NOTIFICATIONS = TopicSpec(
    base_name="lapor.notifications.v1",
    event_types=("CitizenNotified", "CitizenNotificationStatusChanged"),
    producer="notifier",
    description="What was sent to a citizen, on which channel, for which event.",
)

WHATSAPP_STATUSES = TopicSpec(
    base_name="lapor.channels.whatsapp.statuses.v1",
    event_types=("WhatsAppStatusReported",),
    producer="intake",
    description="WhatsApp Cloud API delivery statuses (sent, delivered, read, failed).",
    key="correlation_id (derived from the WhatsApp message id)",
)

EVENT_TOPICS: tuple[TopicSpec, ...] = (
    COMPLAINTS_INTAKE,
    COMPLAINTS_TRIAGED,
    CASES,
    NOTIFICATIONS,
    WHATSAPP_STATUSES,
)
SERVICES: tuple[str, ...] = ("intake", "triage", "routing", "notifier")


def dead_letter_topic(service: str) -> TopicSpec:
    return TopicSpec(
        base_name=f"lapor.deadletter.{service}.v1",
        event_types=(),
        producer=service,
        description=f"Messages {service} could not process, with the reason in headers.",
        partitions=1,
    )


def topic_for_event(event_type: str) -> TopicSpec:
    for spec in EVENT_TOPICS:
        if event_type in spec.event_types:
            return spec
    raise KeyError(f"no topic carries {event_type}")


def all_topics() -> tuple[TopicSpec, ...]:
    return EVENT_TOPICS + tuple(dead_letter_topic(service) for service in SERVICES)
