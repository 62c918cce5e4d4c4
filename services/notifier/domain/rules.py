"""Notifier's pure domain (no I/O): which events a citizen hears about and with which template,
which channel reaches them, the WhatsApp 24-hour rule, retry timing, delivery-status order,
per-citizen rate limits and the opt-out key (`AddressDigests`; the words are in
`schemas.opt_out`)."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from schemas.events import (
    CaseAssigned,
    Channel,
    ComplaintDuplicateDetected,
    ComplaintNeedsReview,
    ComplaintReceived,
    ComplaintRejected,
    Event,
)
from schemas.events.routing import (
    CaseDeadlineApproaching,
    CaseOverdue,
    CaseReporterJoined,
    CaseStatus,
    CaseStatusChanged,
    DeadlineKind,
)


class OutboundChannel(StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"
    EMAIL = "email"


# When a channel fails for good, the next one that can reach the citizen is tried.
FALLBACK: dict[OutboundChannel, OutboundChannel] = {
    OutboundChannel.WHATSAPP: OutboundChannel.SMS,
    OutboundChannel.SMS: OutboundChannel.EMAIL,
}

# Logical template names; each has a text file per language and a WhatsApp template entry.
TEMPLATE_KEYS = (
    "received",
    "rejected",
    "under_review",
    "duplicate",
    "joined",
    "assigned",
    "in_progress",
    "needs_documents",
    "documents_reminder",
    "responded",
    "escalated",
    "closed",
    "reopened",
)
# A conversational reply: intake wrote the text, the notifier only delivers it.
REPLY = "reply"

EVENT_TYPES = (
    "ComplaintReceived",
    "ComplaintRejected",
    "ComplaintNeedsReview",
    "ComplaintDuplicateDetected",
    "CaseAssigned",
    "CaseStatusChanged",
    "CaseDeadlineApproaching",
    "CaseOverdue",
    "CaseReporterJoined",
)

STATUS_TEMPLATES: dict[CaseStatus, str] = {
    CaseStatus.IN_PROGRESS: "in_progress",
    CaseStatus.AWAITING_DOCUMENTS: "needs_documents",
    CaseStatus.RESPONDED: "responded",
    CaseStatus.CLOSED: "closed",
    CaseStatus.REOPENED: "reopened",  # the citizen refused the response: Setwapres looks again
}
# ASSIGNED is told by CaseAssigned; NOT_IN_REMIT is internal re-routing, followed by a new
# CaseAssigned that the citizen hears about.


@dataclass(frozen=True)
class Message:
    """What to tell the citizen: a template and the non-personal facts it needs."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


def message_for(event: Event) -> Message | None:
    """The message an event causes, or None when the citizen need not hear about it."""
    match event:
        case (
            ComplaintReceived()
            | ComplaintRejected()
            | ComplaintNeedsReview()
            | ComplaintDuplicateDetected()
        ):
            return _complaint_message(event)
    return _case_message(event)


def _complaint_message(event: Event) -> Message | None:
    """What intake's and triage's events tell the citizen."""
    match event:
        case ComplaintReceived():
            if event.payload.channel == Channel.WHATSAPP:
                # The conversation that filed it already answered with the tracking code (a
                # CitizenReplyRequested with purpose "receipt"): one receipt, not two.
                return None
            return Message("received", {"tracking_code": event.payload.tracking_code})
        case ComplaintRejected():
            return Message(
                "rejected",
                {
                    "tracking_code": event.payload.tracking_code,
                    "reasons": [reason.code for reason in event.payload.reasons],
                },
            )
        case ComplaintNeedsReview():
            return Message("under_review", {"tracking_code": event.payload.tracking_code})
        case ComplaintDuplicateDetected():
            return Message(
                "duplicate",
                {
                    "tracking_code": event.payload.tracking_code,
                    "original_tracking_code": event.payload.original_tracking_code,
                },
            )
    return None


def _case_message(event: Event) -> Message | None:
    """What routing's case events tell the citizen."""
    match event:
        case CaseAssigned():
            return Message(
                "assigned",
                {
                    "tracking_code": event.payload.tracking_code,
                    "agency_name": event.payload.agency_name,
                    "due_date": event.payload.due_at.date().isoformat(),
                },
            )
        case CaseStatusChanged():
            template = STATUS_TEMPLATES.get(event.payload.status)
            if template is None:
                return None
            return Message(
                template,
                {
                    "tracking_code": event.payload.tracking_code,
                    "agency_name": event.payload.agency_name,
                    "note": event.payload.note or "",
                },
            )
        case CaseDeadlineApproaching():
            if event.payload.deadline_kind != DeadlineKind.DOCUMENTS:
                return None  # internal deadlines are the agency's business, not the citizen's
            return Message(
                "documents_reminder",
                {
                    "tracking_code": event.payload.tracking_code,
                    "due_date": event.payload.due_at.date().isoformat(),
                },
            )
        case CaseOverdue():
            return Message(
                "escalated",
                {
                    "tracking_code": event.payload.tracking_code,
                    "agency_name": event.payload.agency_name,
                    "escalated_to": event.payload.escalated_to,
                },
            )
        case CaseReporterJoined():
            # Keyed by the co-reporter's own complaint: they follow the case from here on.
            return Message(
                "joined",
                {
                    "tracking_code": event.payload.tracking_code,
                    "case_tracking_code": event.payload.original_tracking_code,
                    "agency_name": event.payload.agency_name,
                    "status": event.payload.status.value,
                },
            )
    return None


@dataclass(frozen=True)
class Contact:
    intake_channel: Channel
    phone: str | None
    email: str | None


def first_channel(contact: Contact) -> tuple[OutboundChannel, str] | None:
    """The channel the citizen used when possible: WhatsApp for WhatsApp, else SMS, else email."""
    if contact.intake_channel == Channel.WHATSAPP and contact.phone:
        return OutboundChannel.WHATSAPP, contact.phone
    if contact.phone:
        return OutboundChannel.SMS, contact.phone
    if contact.email:
        return OutboundChannel.EMAIL, contact.email
    return None


def fallback_for(channel: OutboundChannel, contact: Contact) -> tuple[OutboundChannel, str] | None:
    """The next channel after `channel` that can reach this citizen, if any."""
    nxt = FALLBACK.get(channel)
    while nxt is not None:
        address = contact.email if nxt == OutboundChannel.EMAIL else contact.phone
        if address:
            return nxt, address
        nxt = FALLBACK.get(nxt)
    return None


def fallback_message(
    template: str, reply_text: str | None, context: dict[str, Any], tracking_code: str | None
) -> tuple[str, dict[str, Any]]:
    """The template and facts a fallback channel repeats: the same message, except a
    conversation's receipt whose text was cleared once sent (a reply's text is kept only until
    it goes): it is repeated as the "received" template, which says the same, tracking code
    included, in the same language. A WhatsApp receipt that fails after sending still arrives."""
    if template == REPLY and not reply_text and context.get("purpose") == "receipt":
        if tracking_code:
            return "received", {"tracking_code": tracking_code}
    return template, context


def reply_channel(channel: Channel, to: str) -> OutboundChannel:
    if channel == Channel.WHATSAPP:
        return OutboundChannel.WHATSAPP
    return OutboundChannel.EMAIL if "@" in to else OutboundChannel.SMS


# --------------------------------------------------------------------------- WhatsApp window

WHATSAPP_WINDOW = timedelta(hours=24)


def inside_whatsapp_window(
    last_inbound_at: datetime | None, now: datetime, window: timedelta = WHATSAPP_WINDOW
) -> bool:
    """Free text is allowed only within 24 hours of the citizen's last message to us."""
    return last_inbound_at is not None and now - last_inbound_at < window


def wa_id(phone: str) -> str:
    """A WhatsApp id is the E.164 number without the plus sign."""
    return phone.lstrip("+")


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 1.0
    cap_seconds: float = 300.0

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds before attempt `attempt + 1`: full-jitter exponential backoff, but never
        sooner than the provider's Retry-After."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        jittered = (rng or random).uniform(ceiling / 2, ceiling)
        return max(jittered, retry_after or 0.0)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


# --------------------------------------------------------------------------- delivery status

STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3}


def merged_status(current: str | None, reported: str) -> str | None:
    """The status to keep after a callback, or None when nothing changes.

    Callbacks arrive out of order, so the highest of sent < delivered < read wins; "read"
    may come without "delivered". "failed" counts only while nothing better was reported.
    """
    current_rank = STATUS_RANK.get(current or "", 0)
    if reported == "failed":
        return "failed" if current_rank < STATUS_RANK["delivered"] and current != "failed" else None
    if current == "failed":
        return None  # the fallback has already been started; a late "sent" changes nothing
    return reported if STATUS_RANK[reported] > current_rank else None


# --------------------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` status messages to one address per `window`; later ones wait."""

    limit: int = 5
    window: timedelta = timedelta(minutes=10)

    def wait(self, recent_sends: Sequence[datetime], now: datetime) -> timedelta | None:
        """How long to hold the next message, or None if it may go now."""
        in_window = sorted(t for t in recent_sends if now - t < self.window)
        if len(in_window) < self.limit:
            return None
        oldest_that_counts = in_window[-self.limit]
        return oldest_that_counts + self.window - now


# --------------------------------------------------------------------------- opt-out

# The opt-out words are shared with intake's WhatsApp conversation: `schemas.opt_out`.


def _normal_address(address: str) -> str:
    normal = address.strip().lower()
    return normal if "@" in normal else "".join(ch for ch in normal if ch.isdigit())


KEYED_DIGEST_PREFIX = "k1:"  # a legacy digest is bare hex: `NOT LIKE 'k1:%'` counts those left


@dataclass(frozen=True)
class AddressDigests:
    """How the opt-out and WhatsApp-window tables name a phone number or email without
    keeping it: `keyed`, an HMAC-SHA256 under a secret (the shared identity key), so a digest
    cannot be found by trying every phone number. Rows written before notifier migration
    0005 hold `legacy`, the unkeyed SHA-256: they are found by either and re-keyed when found
    (an opt-out must outlive the data, and cannot be recomputed without the address)."""

    key: bytes = field(repr=False)

    def keyed(self, address: str) -> str:
        mac = hmac.new(self.key, b"notifier-address:" + _normal_address(address).encode(), "sha256")
        return KEYED_DIGEST_PREFIX + mac.hexdigest()

    @staticmethod
    def legacy(address: str) -> str:
        return hashlib.sha256(_normal_address(address).encode()).hexdigest()

    def pairs(self, addresses: Iterable[str], *, legacy: bool = True) -> dict[str, str]:
        """keyed -> legacy digest of each address (once each); "" for legacy when none is
        left to re-key (`legacy=False`)."""
        if not legacy:
            return {self.keyed(a): "" for a in addresses}
        return {self.keyed(a): self.legacy(a) for a in addresses}
