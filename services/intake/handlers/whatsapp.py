"""The WhatsApp channel's use cases: taking a webhook notification in, and handling each
inbox message (the guided conversation, `LAPOR#` reports, `TAMBAH#` additions, `STATUS#`,
BERHENTI / MULAI: `CitizenOptOutRequested` for the notifier, which keeps the opt-outs; PUAS /
TIDAK PUAS after a closing: `SatisfactionRated`, see `handlers.satisfaction`).

Each message is handled in its own savepoint and marked processed in the same transaction as
its effects (draft, complaint, outbox), so a crash replays it and nothing is done twice. A
message whose handling raises is marked failed and logged, never retried forever.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import asyncpg

from schemas.events import Channel, EventEnvelope, Language
from schemas.events.intake import (
    CitizenOptOutRequested,
    CitizenOptOutRequestedPayload,
    CitizenReplyRequested,
    CitizenReplyRequestedPayload,
    WhatsAppStatusReported,
    WhatsAppStatusReportedPayload,
)
from services.intake.adapters import (
    reporter_limits,
    repository,
    satisfaction,
    views,
    whatsapp_inbox,
)
from services.intake.domain import ownership
from services.intake.domain.citizen_status import citizen_view, language_of, status_reply
from services.intake.domain.complaints import PRODUCER
from services.intake.domain.conversation import (
    WINDOW,
    FollowUp,
    Outcome,
    follow_up,
    follow_up_reply,
    handle_message,
    status_request,
    wa_phone,
)
from services.intake.domain.documents import DocumentRefused, refusal_text
from services.intake.domain.satisfaction import (
    ANSWER_WINDOW,
    Answer,
    contact_subject,
    parse_answer,
)
from services.intake.domain.satisfaction import reply as satisfaction_reply
from services.intake.domain.tracking import (
    InvalidTrackingCode,
    new_tracking_code,
    normalise_tracking_code,
)
from services.intake.domain.whatsapp import (
    WHATSAPP_NAMESPACE,
    InboundMessage,
    StatusCallback,
    WebhookBatch,
    status_event_ids,
)
from services.intake.handlers import whatsapp_documents
from services.intake.handlers.filing import FileComplaint, Filed, file_complaints
from services.intake.handlers.follow_ups import UpdateRefused, add_update
from services.intake.handlers.satisfaction import rate
from services.intake.settings import IntakeSettings
from services.messaging import outbox
from services.messaging.database import TRANSIENT_ERRORS
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore

log = logging.getLogger(__name__)


async def accept_notification(conn: asyncpg.Connection, batch: WebhookBatch, keys: Keystore) -> int:
    """Persist a webhook's messages in the inbox and its status callbacks in the outbox (as
    `WhatsAppStatusReported`), in one transaction; returns how many messages were new."""
    async with conn.transaction():
        new = await whatsapp_inbox.store_messages(conn, keys, batch.messages)
        # The recipient is sealed under the key of that WhatsApp number.
        statuses = [
            await keys.seal(
                conn, status_event(status, keys), identity=identity_of(None, status.recipient, None)
            )
            for status in batch.statuses
        ]
        await outbox.enqueue(conn, statuses)
    return new


def status_event(status: StatusCallback, keys: Keystore) -> WhatsAppStatusReported:
    """The status of a message the notifier sent, named by the keyed ref of its wamid (the
    notifier keeps the same ref for what it sent)."""
    event_id, correlation_id = status_event_ids(status)
    return WhatsAppStatusReported(
        event_id=event_id,
        complaint_id=None,
        correlation_id=correlation_id,
        producer=PRODUCER,
        payload=WhatsAppStatusReportedPayload(
            provider_message_id=keys.message_ref(status.provider_message_id),
            status=status.status,
            status_at=status.status_at,
            recipient=status.recipient,
            error_codes=status.error_codes,
            callback_data=(status.callback_data or "")[:512] or None,
        ),
    )


async def process_inbox_batch(
    conn: asyncpg.Connection, settings: IntakeSettings, keys: Keystore, batch_size: int
) -> int:
    """Handle up to `batch_size` inbox messages in arrival order; returns how many."""
    async with conn.transaction():
        # A batch at a time: bounded memory however deep the inbox.
        rows = await whatsapp_inbox.lock_unprocessed(conn, batch_size)
        for row in rows:
            try:
                async with conn.transaction():
                    outcome = await process_within_limit(
                        conn,
                        inbox_message(keys, row["message"]),
                        row["earlier"],
                        settings,
                        keys,
                    )
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                # No traceback: exception texts may quote the citizen's message.
                log.error(
                    "whatsapp message failed",
                    extra={"error": type(error).__name__, "message_id": row["message_id"]},
                )
                outcome = f"failed: {type(error).__name__}"
            await whatsapp_inbox.mark_processed(conn, row["message_id"], outcome)
        return len(rows)


def inbox_message(keys: Keystore, stored: str) -> InboundMessage:
    """A stored message as the handlers see it: its wamid replaced by `Keystore.message_ref`,
    so the idempotency keys, the ids derived from it and `in_reply_to` never carry the wamid
    (which encodes the sender's number)."""
    message = InboundMessage.model_validate_json(stored)
    return message.model_copy(update={"message_id": keys.message_ref(message.message_id)})


async def forget_expired(conn: asyncpg.Connection) -> None:
    """Housekeeping: expired drafts, old inbox ids, and the flood limits' old counters."""
    await whatsapp_inbox.forget_expired(conn)
    await reporter_limits.forget_old(conn)


async def process_within_limit(
    conn: asyncpg.Connection,
    message: InboundMessage,
    earlier: int,
    settings: IntakeSettings,
    keys: Keystore,
) -> str:
    """A sender over `whatsapp_messages_per_sender_per_hour` (counting `earlier`, their
    messages of the hour before this one) is told once, then not answered: the webhook still
    takes and stores everything (a refusal would make Meta retry), the flood just ends here."""
    limit = settings.whatsapp_messages_per_sender_per_hour
    if limit <= 0 or earlier < limit:
        return await process_message(conn, message, settings, keys)
    reporter_limits.LIMITED.labels("whatsapp_sender").inc()
    if earlier == limit:
        stored = await whatsapp_inbox.draft_language(conn, keys, message.wa_id)
        language = Language(stored or Language.INDONESIAN)
        reply = follow_up_reply(language, "too_many_messages")
        await enqueue_replies(conn, keys, message, _single_reply(message, reply, language), None)
    return "limited: messages"


async def process_message(
    conn: asyncpg.Connection, message: InboundMessage, settings: IntakeSettings, keys: Keystore
) -> str:
    data = b""
    if whatsapp_documents.carries_document(message):
        try:  # a transient failure propagates: the worker tries the message again
            message, data = await whatsapp_documents.receive_document(message, settings)
        except DocumentRefused as refused:
            return await refuse_document(conn, keys, message, refused, settings)
    addition = follow_up(message)
    if addition is not None:
        return await process_follow_up(conn, message, addition, settings, keys, data)
    code_text = status_request(message)
    if code_text is not None:
        return await process_status_request(conn, message, code_text, keys)
    if data:
        await whatsapp_documents.stage(conn, keys, message, data)
        return await process_conversation(conn, message, settings, keys)
    answer = parse_answer(message.text)
    if answer is not None:
        outcome = await process_satisfaction(conn, message, answer, settings, keys)
        if outcome is not None:
            return outcome
    return await process_conversation(conn, message, settings, keys)


async def process_satisfaction(
    conn: asyncpg.Connection,
    message: InboundMessage,
    answer: Answer,
    settings: IntakeSettings,
    keys: Keystore,
) -> str | None:
    """PUAS / TIDAK PUAS (or a score) for the sender's most recently closed complaint within
    its 10 days: SatisfactionRated, and a thank-you (or "already recorded"). None when there
    is no such complaint, or a bare number may be a choice in an open conversation: then
    the message is a conversation, as before."""
    phone = wa_phone(message.wa_id)
    if phone is None:
        return None
    if answer.bare_score and await whatsapp_inbox.draft_language(conn, keys, message.wa_id):
        return None
    subject = contact_subject(settings.reporter_hash_key, phone)
    since = message.sent_at - ANSWER_WINDOW
    closed = await satisfaction.latest_closed_for(conn, subject, since)
    if closed is None:
        return None
    recorded = await rate(conn, closed, answer, Channel.WHATSAPP, message.sent_at)
    language = language_of(closed.language)
    key = "thanks" if recorded else "already"
    text = satisfaction_reply(language, key, closed.tracking_code)
    outcome = Outcome(None, (text,), language, closed.complaint_id)
    await enqueue_replies(conn, keys, message, outcome, None)
    return "satisfaction_recorded" if recorded else "satisfaction_already_recorded"


async def refuse_document(
    conn: asyncpg.Connection,
    keys: Keystore,
    message: InboundMessage,
    refused: DocumentRefused,
    settings: IntakeSettings,
) -> str:
    """Tell the citizen, in their language, why their document was not kept (within their
    open conversation's thread when there is one; the draft stays as it was)."""
    draft = await whatsapp_inbox.lock_draft(conn, keys, message.wa_id)
    language = draft.language if draft else await _reply_language(conn, keys, message, None)
    reply = refusal_text(
        refused,
        language,
        max_bytes=settings.max_attachment_bytes,
        max_count=settings.max_attachments,
    )
    result = _single_reply(message, reply, language)
    if draft is not None:
        result = Outcome(None, (reply,), language, draft.complaint_id)
    await enqueue_replies(conn, keys, message, result, None)
    return f"document_refused: {refused.reason.value}"


async def process_conversation(
    conn: asyncpg.Connection, message: InboundMessage, settings: IntakeSettings, keys: Keystore
) -> str:
    """One step of the guided conversation; files the complaint when it is complete."""
    draft = await whatsapp_inbox.lock_draft(conn, keys, message.wa_id)
    code = new_tracking_code()
    outcome = handle_message(draft, message, code)
    filed_code: str | None = None
    limited = False
    if outcome.submission is not None:
        attachments = outcome.submission.attachments
        (filed,) = await file_complaints(
            conn,
            [
                FileComplaint(
                    outcome.submission,
                    idempotency_key=f"whatsapp:{message.message_id}",
                    fingerprint=None,
                    uploads=await whatsapp_documents.staged_uploads(
                        conn, keys, message.wa_id, attachments
                    ),
                    complaint_id=outcome.complaint_id,
                    tracking_code=code,
                    # The same per-phone / per-NIK limit as the web: a flood of LAPOR# files five.
                    limited_phone="+" + message.wa_id,
                )
            ],
            settings=settings,
            keys=keys,
        )
        if isinstance(filed, Filed):
            filed_code = None if filed.replayed else code
            await repository.drop_staged_whatsapp_media(
                conn,
                whatsapp_inbox.sender_of(keys, message.wa_id),
                [a.attachment_id for a in attachments],
            )
        else:
            limited = True
            reply = follow_up_reply(outcome.language, "too_many_reports")
            outcome = Outcome(None, (reply,), outcome.language, outcome.complaint_id)
    if outcome.draft is None:
        await whatsapp_inbox.drop_draft(conn, keys, message.wa_id)
    else:
        expires_at = outcome.draft.last_message_at + WINDOW
        await whatsapp_inbox.save_draft(conn, keys, message.wa_id, outcome.draft, expires_at)
    await enqueue_replies(conn, keys, message, outcome, filed_code)
    if outcome.opt_out is not None:
        await enqueue_opt_out(conn, keys, message, outcome.opt_out)
        return "opted_out" if outcome.opt_out else "opted_in"
    if filed_code:
        return "filed"
    if limited:
        return "limited: reports"
    return outcome.draft.step.value if outcome.draft else "closed"


async def process_follow_up(
    conn: asyncpg.Connection,
    message: InboundMessage,
    addition: FollowUp,
    settings: IntakeSettings,
    keys: Keystore,
    data: bytes = b"",
) -> str:
    """An addition to a filed report by its owner's WhatsApp number: ComplaintUpdated, with
    the message's document (`data`, downloaded and checked) when it carries one."""
    code = _tracking_code(addition.code_text)
    record = await _owned_record(conn, message, code, keys)
    language = await _reply_language(conn, keys, message, record)
    if code is None or (record is not None and not addition.text and addition.attachment is None):
        reply, outcome = follow_up_reply(language, "follow_up_format"), "follow_up_invalid"
    elif record is None:
        reply, outcome = follow_up_reply(language, "follow_up_unknown"), "follow_up_unknown"
    else:
        reply, outcome = await _add_to_report(conn, message, addition, record, settings, keys, data)
    result = _single_reply(message, reply, language)
    if record is not None:
        result = Outcome(None, (reply,), language, record.complaint_id)
    await enqueue_replies(conn, keys, message, result, None)
    return outcome


def _tracking_code(text: str) -> str | None:
    try:
        return normalise_tracking_code(text)
    except InvalidTrackingCode:
        return None


async def _owned_record(
    conn: asyncpg.Connection, message: InboundMessage, code: str | None, keys: Keystore
) -> repository.ComplaintRecord | None:
    """The report with this code when the sender's WhatsApp number is its contact on file."""
    record = await repository.complaint_record(conn, code, keys) if code else None
    if record is None or not ownership.phone_matches(record.contact_phone, "+" + message.wa_id):
        return None
    return record


async def _reply_language(
    conn: asyncpg.Connection,
    keys: Keystore,
    message: InboundMessage,
    record: repository.ComplaintRecord | None,
) -> Language:
    """The citizen's language: their own report's, else their open conversation's, else
    Bahasa Indonesia."""
    if record is not None:
        return language_of(record.details.get("reporter", {}).get("language"))
    return language_of(await whatsapp_inbox.draft_language(conn, keys, message.wa_id))


async def _add_to_report(
    conn: asyncpg.Connection,
    message: InboundMessage,
    addition: FollowUp,
    record: repository.ComplaintRecord,
    settings: IntakeSettings,
    keys: Keystore,
    data: bytes,
) -> tuple[str, str]:
    """The reply and the outcome of adding a follow-up to its report."""
    language = Language(record.details.get("reporter", {}).get("language", "id"))
    try:
        await add_update(
            conn,
            record,
            settings,
            keys=keys,
            text=addition.text,
            attachments=[(addition.attachment, data)] if addition.attachment else [],
            idempotency_key=f"whatsapp:{message.message_id}",
            fingerprint=message.message_id,
        )
    except UpdateRefused as error:
        return follow_up_reply(language, "follow_up_refused", reason=error), "follow_up_refused"
    reply = follow_up_reply(language, "follow_up_done", code=record.tracking_code)
    return reply, "follow_up_added"


async def process_status_request(
    conn: asyncpg.Connection, message: InboundMessage, code_text: str, keys: Keystore
) -> str:
    """`STATUS#<code>`: the public status (no personal data), as on the web, in the
    citizen's language: a secret report shows its status and steps only, even to its owner
    (anyone may send STATUS# with a code)."""
    code = _tracking_code(code_text)
    view = await views.status_view(conn, code) if code else None
    record = await _owned_record(conn, message, code, keys) if view else None
    language = await _reply_language(conn, keys, message, record)
    if view is None:
        result = _single_reply(message, follow_up_reply(language, "status_unknown"), language)
    else:
        reply = status_reply(citizen_view(view, language))
        complaint_id = await views.complaint_id_of(conn, str(view["tracking_code"]))
        assert complaint_id is not None
        result = Outcome(None, (reply,), language, complaint_id)
    await enqueue_replies(conn, keys, message, result, None)
    return "status" if view else "status_unknown"


def _single_reply(message: InboundMessage, reply: str, language: Language) -> Outcome:
    """One reply not tied to a filed complaint (its id derives from the message)."""
    complaint_id = uuid.uuid5(WHATSAPP_NAMESPACE, f"draft:{message.message_id}")
    return Outcome(None, (reply,), language, complaint_id)


def reply_events(
    message: InboundMessage, outcome: Outcome, tracking_code: str | None
) -> list[EventEnvelope]:
    events: list[EventEnvelope] = []
    message_uuid = uuid.uuid5(outcome.complaint_id, message.message_id)
    for index, text in enumerate(outcome.replies):
        event_id = uuid.uuid5(message_uuid, f"reply:{index}")
        final = tracking_code is not None and index == len(outcome.replies) - 1
        events.append(
            CitizenReplyRequested(
                event_id=event_id,
                complaint_id=outcome.complaint_id,
                correlation_id=outcome.complaint_id,
                producer=PRODUCER,
                payload=CitizenReplyRequestedPayload(
                    reply_id=event_id,
                    channel=Channel.WHATSAPP,
                    to=message.wa_id,
                    text=text[:4096],
                    language=outcome.language,
                    purpose="receipt" if final else "conversation",
                    in_reply_to=message.message_id,
                    tracking_code=tracking_code,
                ),
            )
        )
    return events


def opt_out_event(message: InboundMessage, opted_out: bool) -> CitizenOptOutRequested:
    """BERHENTI / MULAI for the notifier; ids derived from the message, so a replay repeats
    the same event and the notifier's idempotency table absorbs it."""
    correlation_id = uuid.uuid5(WHATSAPP_NAMESPACE, f"opt-out:{message.message_id}")
    return CitizenOptOutRequested(
        event_id=uuid.uuid5(correlation_id, "CitizenOptOutRequested"),
        complaint_id=None,
        correlation_id=correlation_id,
        producer=PRODUCER,
        payload=CitizenOptOutRequestedPayload(
            channel=Channel.WHATSAPP,
            address=message.wa_id,
            opted_out=opted_out,
            requested_at=message.sent_at,
        ),
    )


async def enqueue_opt_out(
    conn: asyncpg.Connection, keys: Keystore, message: InboundMessage, opted_out: bool
) -> None:
    """The opt-out (or back in), its address sealed as the replies' are, through the outbox in
    the transaction that marks the message processed."""
    identity = identity_of(None, message.wa_id, None)
    event = await keys.seal(conn, opt_out_event(message, opted_out), identity=identity)
    await outbox.enqueue(conn, [event])


async def enqueue_replies(
    conn: asyncpg.Connection,
    keys: Keystore,
    message: InboundMessage,
    outcome: Outcome,
    tracking_code: str | None,
) -> None:
    """The replies, their address sealed under the key of the citizen's WhatsApp number (the
    conversation may not know their NIK yet)."""
    identity = identity_of(None, message.wa_id, None)
    events: Sequence[EventEnvelope] = [
        await keys.seal(conn, event, identity=identity)
        for event in reply_events(message, outcome, tracking_code)
    ]
    await outbox.enqueue(conn, events)
