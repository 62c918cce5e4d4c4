"""Notifier's event handlers. They only record what to send (one row per event and channel);
the sender (`handlers.sending`) does the sending, so a slow provider never holds up the
consumer. Each takes the event and the consumer's connection (its transaction), and the key
store when it opens sealed contact data; it returns the events it caused (published through
the outbox)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence

import asyncpg

from schemas.events import (
    Channel,
    ComplaintReceived,
    Event,
    EventEnvelope,
    Language,
    parse_event,
    serialize_event,
)
from schemas.events.intake import (
    CitizenOptOutRequested,
    CitizenReplyRequested,
    WhatsAppStatusReported,
)
from schemas.events.routing import CaseOverdue, CaseReporterJoined
from services.notifier.adapters import repository
from services.notifier.domain.co_reporters import FOLLOWED_EVENT_TYPES, co_reporter_messages
from services.notifier.domain.escalation import STAFF_LANGUAGE, staff_email_for, staff_trigger_id
from services.notifier.domain.events import (
    NotificationRow,
    citizen_notified,
    notification_id_for,
    status_changed,
)
from services.notifier.domain.rules import (
    REPLY,
    AddressDigests,
    Contact,
    Message,
    OutboundChannel,
    fallback_for,
    fallback_message,
    first_channel,
    merged_status,
    message_for,
    reply_channel,
    wa_id,
)
from services.notifier.observability import UNDELIVERABLE
from services.personal_data.field_crypto import open_value, sealed_key_ids_in
from services.personal_data.keystore import Keystore

log = logging.getLogger(__name__)


async def notify_citizen(
    event: Event, conn: asyncpg.Connection, keys: Keystore
) -> Sequence[EventEnvelope]:
    """One event's messages (see `notify_citizens`)."""
    return await notify_citizens([event], conn, keys)


async def notify_citizens(
    events: list[Event], conn: asyncpg.Connection, keys: Keystore
) -> Sequence[EventEnvelope]:
    """Record the messages a batch of events calls for, with one statement per table for the
    batch: the complaints' recipients first (so an event of a complaint filed in the same
    batch finds its recipient), then every message, the original reporter's and the
    co-reporters', in one insert; an event whose complaint is not known yet is held until it
    is (its ComplaintReceived may come later, on another topic)."""
    received = [event for event in events if isinstance(event, ComplaintReceived)]
    others = [event for event in events if not isinstance(event, ComplaintReceived)]
    await follow_cases(conn, [event for event in others if isinstance(event, CaseReporterJoined)])
    released = await _save_complaints(conn, received, keys)
    # Events of these complaints that overtook them on their own topics wait no longer.
    wanted = [
        (event, message)
        for event in [*received, *released, *others]
        if (message := message_for(event)) is not None
    ]
    known = await repository.recipients(conn, (event.complaint_id for event, _ in wanted))
    planned: list[repository.NewNotification] = []
    held: list[tuple[uuid.UUID, uuid.UUID, bytes]] = []
    for event, message in wanted:
        assert event.complaint_id is not None
        recipient = known.get(event.complaint_id)
        if recipient is None:
            held.append((event.event_id, event.complaint_id, serialize_event(event)))
            continue
        planned += _notification(event, recipient, event.complaint_id, event.event_id, message)
    planned += await _co_reporter_notifications(conn, others)
    await repository.hold_events(conn, held)
    await repository.record_notifications(conn, planned)
    for event in others:
        await queue_staff_email(conn, event)
    return ()


async def _save_complaints(
    conn: asyncpg.Connection, received: list[ComplaintReceived], keys: Keystore
) -> list[Event]:
    """Store the complaints' recipients; returns the events released that were held for them."""
    if not received:
        return []
    digests = AddressDigests(keys.identity_key)
    # A citizen who wrote to us on WhatsApp opens the 24-hour window: their number, opened
    # with one key lookup for the batch.
    phones = [
        event.payload.reporter.phone
        for event in received
        if event.payload.channel == Channel.WHATSAPP and event.payload.reporter.phone
    ]
    opened = await keys.keys(conn, sealed_key_ids_in(phones)) if phones else {}
    contacts = []
    for event in received:
        phone = None
        if event.payload.channel == Channel.WHATSAPP and event.payload.reporter.phone:
            phone = open_value(event.payload.reporter.phone, opened)
        digest = digests.keyed(wa_id(phone)) if phone else None
        contacts.append(repository.ComplaintContact(event, digest))
    return [parse_event(raw) for raw in await repository.save_complaints(conn, contacts)]


async def follow_cases(conn: asyncpg.Connection, joins: list[CaseReporterJoined]) -> None:
    """The co-reporters hear their cases' later events (keyed by each case's own complaint)."""
    await repository.add_co_reporters(
        conn,
        [
            repository.CoReporterJoin(
                complaint_id=event.complaint_id,
                original_complaint_id=original,
                case_id=event.payload.case_id,
                joined_at=event.occurred_at,
            )
            for event in joins
            # From a routing that did not name the case's complaint yet: nothing to follow.
            if (original := event.payload.original_complaint_id) is not None
            and original != event.complaint_id
            and event.complaint_id is not None
        ],
    )


async def _co_reporter_notifications(
    conn: asyncpg.Connection, events: list[Event]
) -> list[repository.NewNotification]:
    """Each co-reporter of a case gets the message the original reporter gets, once each, in
    their own channel and language, under their own tracking code."""
    followed = [
        event
        for event in events
        if event.event_type in FOLLOWED_EVENT_TYPES and message_for(event) is not None
    ]
    reporters = await repository.co_reporters(
        conn, (e.complaint_id for e in followed if e.complaint_id)
    )
    messages = [
        (event, planned)
        for event in followed
        for planned in co_reporter_messages(event, reporters.get(event.complaint_id, []))
    ]
    if not messages:
        return []
    known = await repository.recipients(conn, (planned.complaint_id for _, planned in messages))
    notifications: list[repository.NewNotification] = []
    for event, planned in messages:
        recipient = known.get(planned.complaint_id)
        if recipient is not None:
            notifications += _notification(
                event, recipient, planned.complaint_id, planned.trigger_event_id, planned.message
            )
    return notifications


async def queue_staff_email(conn: asyncpg.Connection, event: Event) -> None:
    """Record the email an escalation sends to the official it escalates to, once per event
    (so once per case, deadline and level). Not the citizen's message: no timeline entry
    (no tracking code on the row), and no rate limit or opt-out (staff at work, and one
    Setwapres address receives every level-2 escalation)."""
    email = staff_email_for(event)
    if email is None:
        if isinstance(event, CaseOverdue):
            log.info(
                "escalation not emailed: no address for it",
                extra={
                    "agency_code": event.payload.agency_code,
                    "escalation_level": event.payload.escalation_level,
                },
            )
        return
    assert event.complaint_id is not None
    trigger = staff_trigger_id(event.event_id)
    await repository.record_notification(
        conn,
        repository.NewNotification(
            notification_id=notification_id_for(trigger, OutboundChannel.EMAIL),
            complaint_id=event.complaint_id,
            correlation_id=event.correlation_id,
            trigger_event_id=trigger,
            trigger_type=event.event_type,
            channel=OutboundChannel.EMAIL,
            destination=email.to,
            template=email.template,
            language=STAFF_LANGUAGE,
            tracking_code=None,
            context=email.context,
            exempt_from_limits=True,
        ),
    )


def _notification(
    event: Event,
    recipient: repository.Recipient,
    complaint_id: uuid.UUID,
    trigger_event_id: uuid.UUID,
    message: Message,
) -> list[repository.NewNotification]:
    """One message to one reporter, once per trigger and channel; none for an anonymous
    walk-in without phone or email (nothing to send to)."""
    route = first_channel(recipient.contact)
    if route is None:
        return []
    channel, destination = route
    return [
        repository.NewNotification(
            notification_id=notification_id_for(trigger_event_id, channel),
            complaint_id=complaint_id,
            correlation_id=event.correlation_id,
            trigger_event_id=trigger_event_id,
            trigger_type=event.event_type,
            channel=channel,
            destination=destination,
            template=message.template,
            language=recipient.language,
            tracking_code=recipient.tracking_code,
            context=message.context,
        )
    ]


async def deliver_reply(
    event: Event, conn: asyncpg.Connection, keys: Keystore
) -> Sequence[EventEnvelope]:
    assert isinstance(event, CitizenReplyRequested)
    payload = event.payload
    to = await keys.reveal(conn, payload.to)
    if to is None:
        # The citizen was erased (UU PDP) before we could answer: there is nobody to send to.
        log.info("reply not queued: recipient erased", extra={"reply_id": str(payload.reply_id)})
        return ()
    channel = reply_channel(payload.channel, to)
    if channel == OutboundChannel.WHATSAPP and payload.in_reply_to:
        # The citizen just wrote to us; the reply rides inside the 24-hour window.
        await repository.saw_whatsapp_message(
            conn, AddressDigests(keys.identity_key), to, event.occurred_at
        )
    await repository.record_notification(
        conn,
        repository.NewNotification(
            notification_id=notification_id_for(event.event_id, channel),
            complaint_id=event.complaint_id,
            correlation_id=event.correlation_id,
            trigger_event_id=event.event_id,
            trigger_type=event.event_type,
            channel=channel,
            destination=payload.to,  # kept sealed; the sender opens it to send
            template=REPLY,
            language=payload.language,
            tracking_code=payload.tracking_code,
            context={"purpose": payload.purpose},
            reply_text=payload.text,
            exempt_from_limits=True,  # the citizen is talking to us: answer now
        ),
    )
    return ()


async def record_opt_out(
    event: Event, conn: asyncpg.Connection, keys: Keystore
) -> Sequence[EventEnvelope]:
    """A WhatsApp citizen's BERHENTI / MULAI, taken in by intake: the same opt-out store as an
    SMS citizen's, so later notifications to that number are suppressed on every channel
    (replies the citizen asks for still go). The latest request per number wins."""
    assert isinstance(event, CitizenOptOutRequested)
    payload = event.payload
    address = await keys.reveal(conn, payload.address)
    if address is None:
        # The citizen was erased (UU PDP) before this was read: the number is unknown now.
        log.info("opt-out not applied: address erased", extra={"channel": payload.channel})
        return ()
    applied = await repository.request_opt_out(
        conn, AddressDigests(keys.identity_key), address, payload.opted_out, payload.requested_at
    )
    log.info(
        "opt-out requested",
        extra={"channel": payload.channel, "opted_out": payload.opted_out, "applied": applied},
    )
    return ()


async def record_whatsapp_status(
    event: Event, conn: asyncpg.Connection, keys: Keystore
) -> Sequence[EventEnvelope]:
    assert isinstance(event, WhatsAppStatusReported)
    payload = event.payload
    # Intake names the message by the keyed ref of its wamid, as the sender recorded it; an
    # event published before that carries the wamid itself, which is hashed here.
    message_ref = keys.message_ref(payload.provider_message_id)
    row = await repository.notification_for_status(conn, message_ref, payload.callback_data)
    if row is None:
        return ()  # not a message of ours (another system shares the number) or long purged
    outgoing: list[EventEnvelope] = []
    if row["status"] in ("sending", "pending") and payload.status != "failed":
        # The provider accepted the message but the sender never recorded it: it crashed, or
        # the answer timed out and a retry is scheduled. The callback proves it went out, so
        # it must not be sent again.
        await repository.record_sent_by_callback(
            conn, row["notification_id"], message_ref, payload.status_at
        )
        outgoing += citizen_notified(row)
    new_status = merged_status(row["delivery_status"], payload.status)
    if new_status is None:
        return outgoing
    await repository.set_delivery_status(conn, row["notification_id"], new_status)
    fallback_channel: OutboundChannel | None = None
    if new_status == "failed":
        reason = "whatsapp status failed: " + (",".join(payload.error_codes) or "no code")
        # A retry still scheduled for it (its answer had timed out) must not go out as well.
        await repository.give_up(
            conn, row["notification_id"], reason, while_in=("pending", "sending")
        )
        fallback_channel = await start_fallback(conn, row, reason=reason)
    if new_status != "sent":
        outgoing += status_changed(row, new_status, fallback_channel)
    return outgoing


async def start_fallback(
    conn: asyncpg.Connection, row: NotificationRow, *, reason: str
) -> OutboundChannel | None:
    """Queue the same message on the next channel that reaches the citizen; once per channel."""
    recipient = await repository.recipient(conn, row["complaint_id"])
    contact = (
        recipient.contact
        if recipient is not None
        else Contact(
            Channel.WHATSAPP,
            row["destination"] if row["channel"] != "email" else None,
            row["destination"] if row["channel"] == "email" else None,
        )
    )
    route = fallback_for(OutboundChannel(row["channel"]), contact)
    # Counted in the caller's transaction: a rolled-back batch that is retried counts again.
    UNDELIVERABLE.labels(row["channel"], route[0].value if route else "none").inc()
    if route is None:
        log.warning("no fallback channel left", extra={"channel": row["channel"], "why": reason})
        return None
    channel, destination = route
    template, context = fallback_message(
        row["template"], row["reply_text"], _context(row), row["tracking_code"]
    )
    await repository.record_notification(
        conn,
        repository.NewNotification(
            notification_id=notification_id_for(row["trigger_event_id"], channel),
            complaint_id=row["complaint_id"],
            correlation_id=row["correlation_id"] or row["complaint_id"],
            trigger_event_id=row["trigger_event_id"],
            trigger_type=row["trigger_type"],
            channel=channel,
            destination=destination,
            template=template,
            language=Language(row["language"]),
            tracking_code=row["tracking_code"],
            context=context,
            reply_text=row["reply_text"],
            exempt_from_limits=row["exempt_from_limits"],
            fallback_of=row["notification_id"],
        ),
    )
    log.info("fallback queued", extra={"from_channel": row["channel"], "to_channel": channel})
    return channel


def _context(row: NotificationRow) -> dict[str, object]:
    value = row["context"]
    return json.loads(value) if isinstance(value, str) else dict(value or {})
