"""What one send comes to, decided without I/O: the message as composed for its channel, and
whether a claimed row may go at all (erased, opted out, over the rate limit).

A batch's outcomes are collected here and recorded together (see handlers.sending)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.events import Language
from services.notifier.domain.events import NotificationRow
from services.notifier.domain.rules import (
    REPLY,
    OutboundChannel,
    RateLimit,
    inside_whatsapp_window,
)
from services.notifier.domain.templates import (
    Rendered,
    WhatsAppTemplate,
    render,
    render_reply,
    whatsapp_template,
)


@dataclass(frozen=True)
class OutboundMessage:
    notification_id: uuid.UUID
    to: str
    rendered: Rendered
    # Set for WhatsApp outside the 24-hour window: send this template instead of free text.
    template: WhatsAppTemplate | None = None


@dataclass
class BatchFacts:
    opted_out: set[str]
    last_inbound: dict[str, datetime | None]
    recent_sends: dict[str, list[datetime]]
    # Stored destinations are sealed (per-reporter key); the address in the clear, or None
    # when the reporter was erased. Opened in memory, only to send.
    addresses: dict[str, str | None] = field(default_factory=dict)
    # Stored reply texts are sealed too (they may quote the citizen's words): in the clear,
    # or None when erased. Opened in memory, only to send.
    texts: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    row: NotificationRow
    provider_id: str
    mode: str  # 'text' or 'template'

    @property
    def wa_mode(self) -> str | None:
        return self.mode if self.row["channel"] == OutboundChannel.WHATSAPP else None


@dataclass(frozen=True)
class Suppressed:
    notification_id: uuid.UUID
    reason: str
    erased: bool  # the recipient was erased: the reply text goes too


@dataclass(frozen=True)
class Deferred:
    notification_id: uuid.UUID
    wait_seconds: float  # the rate limit's wait


@dataclass
class Outcomes:
    """What a batch's sends came to, kept until they are recorded together."""

    sent: list[Sent] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.suppressed or self.deferred)

    def take(self) -> Outcomes:
        """The outcomes so far, leaving this collector empty for the sends still running."""
        taken = Outcomes(self.sent, self.suppressed, self.deferred)
        self.sent, self.suppressed, self.deferred = [], [], []
        return taken

    def one_by_one(self) -> Iterator[Outcomes]:
        for sent in self.sent:
            yield Outcomes(sent=[sent])
        for suppressed in self.suppressed:
            yield Outcomes(suppressed=[suppressed])
        for deferred in self.deferred:
            yield Outcomes(deferred=[deferred])


def held_back(
    row: NotificationRow, facts: BatchFacts, rate_limit: RateLimit, now: datetime
) -> Suppressed | Deferred | None:
    """Why a claimed row must not be sent now, or None when it may go. Replies the citizen
    asked for (`exempt_from_limits`) ignore opt-outs and the rate limit; nothing goes to an
    erased recipient (UU PDP): their address cannot be read any more."""
    destination = row["destination"]
    if facts.addresses.get(destination, destination) is None:
        return Suppressed(row["notification_id"], "recipient erased", erased=True)
    if row["exempt_from_limits"]:
        return None
    if destination in facts.opted_out:
        return Suppressed(row["notification_id"], "opted out", False)
    wait = rate_limit.wait(facts.recent_sends.get(destination, []), now)
    if wait is not None:
        return Deferred(row["notification_id"], wait.total_seconds())
    return None


RATING_PATH = "/lapor/puas?kode={code}"  # intake's rating page


def rating_url(base_url: str | None, tracking_code: str | None) -> str | None:
    """The report's rating page on intake's public site; None without a configured address."""
    if not base_url or not tracking_code:
        return None
    return base_url.rstrip("/") + RATING_PATH.format(code=tracking_code)


def compose(
    row: NotificationRow,
    address: str,
    last_inbound: datetime | None,
    now: datetime,
    whatsapp_window: timedelta,
    citizen_base_url: str | None = None,
    reply_text: str | None = None,
) -> OutboundMessage:
    """The message for `row`: free text (`reply_text`: the row's, opened), or for WhatsApp
    outside the 24-hour window the named template message. The text also knows its channel
    and, given intake's public address, the link to the report's rating page (the closing
    message asks for a rating)."""
    language = Language(row["language"])
    context = json.loads(row["context"])
    if row["template"] == REPLY:
        rendered = render_reply(reply_text or "", language)
        context = {**context, "text": rendered.text}
    else:
        extra = {
            "channel": row["channel"],
            "rating_url": rating_url(citizen_base_url, context.get("tracking_code")),
        }
        subject = row["channel"] == OutboundChannel.EMAIL
        rendered = render(row["template"], language, {**context, **extra}, subject=subject)
    template = None
    if row["channel"] == OutboundChannel.WHATSAPP and not inside_whatsapp_window(
        last_inbound, now, whatsapp_window
    ):
        template = whatsapp_template(row["template"], language, context)
    return OutboundMessage(
        notification_id=row["notification_id"],
        to=address,
        rendered=rendered,
        template=template,
    )
