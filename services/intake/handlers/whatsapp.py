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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

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
from services.intake.handlers.filing import FileComplaint, Filed, FilingOutcome, file_complaints
from services.intake.handlers.follow_ups import UpdateRefused, add_update
from services.intake.handlers.satisfaction import rate
from services.intake.settings import IntakeSettings
from services.messaging import outbox
from services.messaging.database import TRANSIENT_ERRORS
from services.messaging.worker import claim_shard
from services.personal_data.field_crypto import identity_of, seal_model
from services.personal_data.keystore import Keystore

log = logging.getLogger(__name__)


async def accept_notification(conn: asyncpg.Connection, batch: WebhookBatch, keys: Keystore) -> int:
    """Persist a webhook's messages in the inbox and its status callbacks in the outbox (as
    `WhatsAppStatusReported`), in one transaction; returns how many messages were new."""
    (new,) = await accept_notifications(conn, [batch], keys)
    return new


async def accept_notifications(
    conn: asyncpg.Connection, batches: Sequence[WebhookBatch], keys: Keystore
) -> list[int]:
    """`accept_notification` for several webhooks at once (one statement for all their
    messages); how many of each one's messages were new (a message two of them carry
    counts for the first)."""
    messages = [message for batch in batches for message in batch.messages]
    statuses = [status for batch in batches for status in batch.statuses]
    if statuses:
        async with conn.transaction():
            new = await whatsapp_inbox.store_new_messages(conn, keys, messages)
            # The recipient is sealed under the key of that WhatsApp number.
            sealed = [
                await keys.seal(
                    conn,
                    status_event(status, keys),
                    identity=identity_of(None, status.recipient, None),
                )
                for status in statuses
            ]
            await outbox.enqueue(conn, sealed)
    else:  # one statement: no transaction of its own to open and commit
        new = await whatsapp_inbox.store_new_messages(conn, keys, messages)
    counts = []
    for batch in batches:
        refs = {keys.message_ref(message.message_id) for message in batch.messages}
        counts.append(len(refs & new))
        new -= refs
    return counts


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


INBOX_WORKER = "intake-whatsapp-inbox"  # names the shards' advisory locks
Document = tuple[InboundMessage, bytes] | DocumentRefused


AfterFiling = Callable[[FilingOutcome], Awaitable[str]]
DEFERRED = "deferred"  # the outcome of a message whose filing waits for the batch's others


@dataclass
class InboxBatch:
    """One inbox batch's unit of work: the senders' drafts and keys, read when it starts;
    its complaints, filed together (`file`); and the events its messages publish, written
    with the drafts when it ends (`flush`). A careful batch files each at once."""

    keys: Keystore
    settings: IntakeSettings
    conversations: whatsapp_inbox.Conversations
    careful: bool = False
    events: list[EventEnvelope] = field(default_factory=list)
    filings: list[tuple[InboundMessage, FileComplaint, AfterFiling]] = field(default_factory=list)
    filed: dict[str, str] = field(default_factory=dict)  # deferred outcomes by message ref

    async def file(
        self,
        conn: asyncpg.Connection,
        message: InboundMessage,
        command: FileComplaint,
        after: AfterFiling,
    ) -> str:
        """File `command`, then `after` (the replies, by the filing's outcome): at once in a
        careful batch, else with the batch's other filings (the message's outcome is then
        `DEFERRED` until `file_pending`)."""
        if self.careful:
            (filed,) = await self._file(conn, [command])
            return await after(filed)
        self.filings.append((message, command, after))
        return DEFERRED

    def waits_for_filing(self, message: InboundMessage) -> bool:
        """Whether the sender has a filing pending (their next message must wait for it)."""
        return any(waiting.wa_id == message.wa_id for waiting, _, _ in self.filings)

    async def file_pending(self, conn: asyncpg.Connection) -> None:
        """File the pending complaints in one group, then each one's replies, in order."""
        filings, self.filings = self.filings, []
        if not filings:
            return
        outcomes = await self._file(conn, [command for _, command, _ in filings])
        for (message, _, after), filed in zip(filings, outcomes, strict=True):
            self.filed[message.message_id] = await after(filed)

    async def _file(
        self, conn: asyncpg.Connection, commands: list[FileComplaint]
    ) -> list[FilingOutcome]:
        return await file_complaints(conn, commands, settings=self.settings, keys=self.keys)

    async def flush(self, conn: asyncpg.Connection) -> None:
        await self.file_pending(conn)
        await self.conversations.flush(conn)
        await outbox.enqueue(conn, self.events)
        self.events = []


async def process_inbox_batch(
    conn: asyncpg.Connection,
    settings: IntakeSettings,
    keys: Keystore,
    batch_size: int,
    shard: int = 0,
    shards: int = 1,
) -> int | None:
    """Handle up to `batch_size` of the shard's inbox messages in arrival order; returns how
    many (`batch_size` when there are more), None when another worker holds the shard.

    The batch is handled in one transaction (the shard claimed in it): when a message
    raises, that transaction rolls back and the batch is handled again, each message in a
    savepoint. It stops before a document not downloaded yet: the documents are downloaded
    outside the transaction, and the batch starts again."""
    where = (batch_size, shard, shards)
    documents: dict[str, Document] = {}
    while True:
        try:
            handled, wanted = await _handle_batch(conn, settings, keys, documents, where)
        except TRANSIENT_ERRORS:
            raise
        except Exception:  # the careful pass below says which message failed
            handled, wanted = await _handle_batch(
                conn, settings, keys, documents, where, careful=True
            )
        if not wanted:
            return handled
        if handled:
            return batch_size  # the rest, with its documents, in the next batch
        documents.update(await fetch_documents(settings, wanted))


async def fetch_documents(
    settings: IntakeSettings, wanted: dict[str, InboundMessage]
) -> dict[str, Document]:
    """These messages' documents, downloaded (or refused), by inbox message id; a transient
    failure raises `MediaTemporarilyUnavailable` (the shard waits a poll)."""
    fetched: dict[str, Document] = {}
    for message_id, message in wanted.items():
        try:
            fetched[message_id] = await whatsapp_documents.receive_document(message, settings)
        except DocumentRefused as refused:
            fetched[message_id] = refused
    return fetched


async def _handle_batch(
    conn: asyncpg.Connection,
    settings: IntakeSettings,
    keys: Keystore,
    documents: dict[str, Document],
    where: tuple[int, int, int],
    *,
    careful: bool = False,
) -> tuple[int | None, dict[str, InboundMessage]]:
    """How many were handled (None: the shard is another worker's), and the messages whose
    documents must be downloaded before the rest of the batch."""
    batch_size, shard, shards = where
    async with conn.transaction():
        if not await claim_shard(conn, INBOX_WORKER, shard):
            return None, {}
        rows = await whatsapp_inbox.lock_unprocessed(conn, batch_size, shard, shards)
        messages = _parsed(keys, rows)
        wanted = _wanted(rows, messages, documents)
        ready = next((i for i, row in enumerate(rows) if row["message_id"] in wanted), len(rows))
        wa_ids = [message.wa_id for message in messages[:ready] if message is not None]
        conversations = await whatsapp_inbox.Conversations.lock(conn, keys, wa_ids)
        batch = InboxBatch(keys, settings, conversations, careful)
        outcomes = []
        for row, message in zip(rows[:ready], messages, strict=False):
            handle = _carefully if careful else _handle
            document = documents.get(row["message_id"])
            outcome = await handle(conn, batch, row, message, document)
            outcomes.append((row["message_id"], message, outcome))
        await batch.flush(conn)
        await whatsapp_inbox.mark_processed(
            conn,
            [
                (message_id, batch.filed[message.message_id] if outcome == DEFERRED else outcome)
                for message_id, message, outcome in outcomes
            ],
        )
        return ready, wanted


def _parsed(keys: Keystore, rows: Sequence[asyncpg.Record]) -> list[InboundMessage | None]:
    """The stored messages; None for one that does not parse (it is marked failed)."""
    parsed: list[InboundMessage | None] = []
    for row in rows:
        try:
            parsed.append(inbox_message(keys, row["message"]))
        except ValueError:
            parsed.append(None)
    return parsed


def _wanted(
    rows: Sequence[asyncpg.Record],
    messages: Sequence[InboundMessage | None],
    documents: dict[str, Document],
) -> dict[str, InboundMessage]:
    """The batch's messages carrying a document not downloaded yet, by inbox message id."""
    return {
        row["message_id"]: message
        for row, message in zip(rows, messages, strict=True)
        if message is not None
        and whatsapp_documents.carries_document(message)
        and row["message_id"] not in documents
    }


async def _handle(
    conn: asyncpg.Connection,
    batch: InboxBatch,
    row: asyncpg.Record,
    message: InboundMessage | None,
    document: Document | None,
) -> str:
    if message is None:
        raise ValueError("the stored message does not parse")
    if batch.waits_for_filing(message):
        await batch.file_pending(conn)  # the sender's filing first: their replies in order
    earlier = row["earlier"]
    return await process_within_limit(conn, message, earlier, batch.settings, batch, document)


async def _carefully(
    conn: asyncpg.Connection,
    batch: InboxBatch,
    row: asyncpg.Record,
    message: InboundMessage | None,
    document: Document | None,
) -> str:
    """One message in its own savepoint, its effects written in it: one that raises is
    marked failed and logged, and leaves nothing behind."""
    drafts = dict(batch.conversations.drafts)
    try:
        async with conn.transaction():
            outcome = await _handle(conn, batch, row, message, document)
            await batch.flush(conn)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        # No traceback: exception texts may quote the citizen's message.
        log.error(
            "whatsapp message failed",
            extra={"error": type(error).__name__, "message_id": row["message_id"]},
        )
        batch.conversations.restore(drafts)
        batch.events = []
        outcome = f"failed: {type(error).__name__}"
    return outcome


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
    batch: InboxBatch,
    document: Document | None = None,
) -> str:
    """A sender over `whatsapp_messages_per_sender_per_hour` (counting `earlier`, their
    messages of the hour before this one) is told once, then not answered: the webhook still
    takes and stores everything (a refusal would make Meta retry), the flood just ends here."""
    limit = settings.whatsapp_messages_per_sender_per_hour
    if limit <= 0 or earlier < limit:
        return await process_in_batch(conn, message, settings, batch, document)
    reporter_limits.LIMITED.labels("whatsapp_sender").inc()
    if earlier == limit:
        stored = batch.conversations.language(message.wa_id)
        language = Language(stored or Language.INDONESIAN)
        reply = follow_up_reply(language, "too_many_messages")
        enqueue_replies(batch, message, _single_reply(message, reply, language), None)
    return "limited: messages"


async def process_message(
    conn: asyncpg.Connection, message: InboundMessage, settings: IntakeSettings, keys: Keystore
) -> str:
    """One message on its own, not counted against the sender's limit (a batch of one,
    written at once), inside the caller's transaction."""
    conversations = await whatsapp_inbox.Conversations.lock(conn, keys, [message.wa_id])
    batch = InboxBatch(keys, settings, conversations, careful=True)
    outcome = await process_in_batch(conn, message, settings, batch)
    await batch.flush(conn)
    return outcome


async def process_in_batch(
    conn: asyncpg.Connection,
    message: InboundMessage,
    settings: IntakeSettings,
    batch: InboxBatch,
    document: Document | None = None,
) -> str:
    """One message of `batch`; `document` is its media, downloaded and checked before the
    batch's transaction (or why it was refused)."""
    data = b""
    if isinstance(document, DocumentRefused):
        return await refuse_document(conn, batch, message, document, settings)
    if document is not None:
        message, data = document
    addition = follow_up(message)
    if addition is not None:
        return await process_follow_up(conn, message, addition, settings, batch, data)
    code_text = status_request(message)
    if code_text is not None:
        return await process_status_request(conn, message, code_text, batch)
    if data:
        await whatsapp_documents.stage(conn, batch.keys, message, data)
        return await process_conversation(conn, message, settings, batch)
    answer = parse_answer(message.text)
    if answer is not None:
        outcome = await process_satisfaction(conn, message, answer, settings, batch)
        if outcome is not None:
            return outcome
    return await process_conversation(conn, message, settings, batch)


async def process_satisfaction(
    conn: asyncpg.Connection,
    message: InboundMessage,
    answer: Answer,
    settings: IntakeSettings,
    batch: InboxBatch,
) -> str | None:
    """PUAS / TIDAK PUAS (or a score) for the sender's most recently closed complaint within
    its 10 days: SatisfactionRated, and a thank-you (or "already recorded"). None when there
    is no such complaint, or a bare number may be a choice in an open conversation: then
    the message is a conversation, as before."""
    phone = wa_phone(message.wa_id)
    if phone is None:
        return None
    if answer.bare_score and batch.conversations.language(message.wa_id):
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
    enqueue_replies(batch, message, outcome, None)
    return "satisfaction_recorded" if recorded else "satisfaction_already_recorded"


async def refuse_document(
    conn: asyncpg.Connection,
    batch: InboxBatch,
    message: InboundMessage,
    refused: DocumentRefused,
    settings: IntakeSettings,
) -> str:
    """Tell the citizen, in their language, why their document was not kept (within their
    open conversation's thread when there is one; the draft stays as it was)."""
    draft = await batch.conversations.draft(conn, message.wa_id)
    language = draft.language if draft else _reply_language(batch, message, None)
    reply = refusal_text(
        refused,
        language,
        max_bytes=settings.max_attachment_bytes,
        max_count=settings.max_attachments,
    )
    result = _single_reply(message, reply, language)
    if draft is not None:
        result = Outcome(None, (reply,), language, draft.complaint_id)
    enqueue_replies(batch, message, result, None)
    return f"document_refused: {refused.reason.value}"


async def process_conversation(
    conn: asyncpg.Connection, message: InboundMessage, settings: IntakeSettings, batch: InboxBatch
) -> str:
    """One step of the guided conversation; files the complaint when it is complete (with
    the batch's other filings, `InboxBatch.file`)."""
    keys = batch.keys
    draft = await batch.conversations.draft(conn, message.wa_id)
    code = new_tracking_code()
    outcome = handle_message(draft, message, code)
    if outcome.submission is None:
        return await _converse(conn, batch, message, outcome, None)
    attachments = outcome.submission.attachments
    command = FileComplaint(
        outcome.submission,
        idempotency_key=f"whatsapp:{message.message_id}",
        fingerprint=None,
        uploads=await whatsapp_documents.staged_uploads(conn, keys, message.wa_id, attachments)
        if attachments
        else [],
        complaint_id=outcome.complaint_id,
        tracking_code=code,
        # The same per-phone / per-NIK limit as the web: a flood of LAPOR# files five.
        limited_phone="+" + message.wa_id,
    )

    async def after_filing(filed: FilingOutcome) -> str:
        if not isinstance(filed, Filed):
            reply = follow_up_reply(outcome.language, "too_many_reports")
            limited = Outcome(None, (reply,), outcome.language, outcome.complaint_id)
            await _converse(conn, batch, message, limited, None)
            return "limited: reports"
        if attachments:
            await repository.drop_staged_whatsapp_media(
                conn,
                whatsapp_inbox.sender_of(keys, message.wa_id),
                [a.attachment_id for a in attachments],
            )
        return await _converse(conn, batch, message, outcome, None if filed.replayed else code)

    return await batch.file(conn, message, command, after_filing)


async def _converse(
    conn: asyncpg.Connection,
    batch: InboxBatch,
    message: InboundMessage,
    outcome: Outcome,
    filed_code: str | None,
) -> str:
    """The conversation's step done: the draft kept or dropped, the replies and opt-out."""
    if outcome.draft is None:
        batch.conversations.drop(message.wa_id)
    else:
        expires_at = outcome.draft.last_message_at + WINDOW
        batch.conversations.save(message.wa_id, outcome.draft, expires_at)
    enqueue_replies(batch, message, outcome, filed_code)
    if outcome.opt_out is not None:
        enqueue_opt_out(batch, message, outcome.opt_out)
        return "opted_out" if outcome.opt_out else "opted_in"
    if filed_code:
        return "filed"
    return outcome.draft.step.value if outcome.draft else "closed"


async def process_follow_up(
    conn: asyncpg.Connection,
    message: InboundMessage,
    addition: FollowUp,
    settings: IntakeSettings,
    batch: InboxBatch,
    data: bytes = b"",
) -> str:
    """An addition to a filed report by its owner's WhatsApp number: ComplaintUpdated, with
    the message's document (`data`, downloaded and checked) when it carries one."""
    code = _tracking_code(addition.code_text)
    record = await _owned_record(conn, message, code, batch.keys)
    language = _reply_language(batch, message, record)
    if code is None or (record is not None and not addition.text and addition.attachment is None):
        reply, outcome = follow_up_reply(language, "follow_up_format"), "follow_up_invalid"
    elif record is None:
        reply, outcome = follow_up_reply(language, "follow_up_unknown"), "follow_up_unknown"
    else:
        reply, outcome = await _add_to_report(
            conn, message, addition, record, settings, batch.keys, data
        )
    result = _single_reply(message, reply, language)
    if record is not None:
        result = Outcome(None, (reply,), language, record.complaint_id)
    enqueue_replies(batch, message, result, None)
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


def _reply_language(
    batch: InboxBatch, message: InboundMessage, record: repository.ComplaintRecord | None
) -> Language:
    """The citizen's language: their own report's, else their open conversation's, else
    Bahasa Indonesia."""
    if record is not None:
        return language_of(record.details.get("reporter", {}).get("language"))
    return language_of(batch.conversations.language(message.wa_id))


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
    conn: asyncpg.Connection, message: InboundMessage, code_text: str, batch: InboxBatch
) -> str:
    """`STATUS#<code>`: the public status (no personal data), as on the web, in the
    citizen's language: a secret report shows its status and steps only, even to its owner
    (anyone may send STATUS# with a code)."""
    code = _tracking_code(code_text)
    view = await views.status_view(conn, code) if code else None
    record = await _owned_record(conn, message, code, batch.keys) if view else None
    language = _reply_language(batch, message, record)
    if view is None:
        result = _single_reply(message, follow_up_reply(language, "status_unknown"), language)
    else:
        reply = status_reply(citizen_view(view, language))
        complaint_id = await views.complaint_id_of(conn, str(view["tracking_code"]))
        assert complaint_id is not None
        result = Outcome(None, (reply,), language, complaint_id)
    enqueue_replies(batch, message, result, None)
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


def enqueue_opt_out(batch: InboxBatch, message: InboundMessage, opted_out: bool) -> None:
    """The opt-out (or back in), its address sealed as the replies' are, through the outbox in
    the transaction that marks the message processed."""
    key = batch.conversations.key(message.wa_id)
    batch.events.append(seal_model(opt_out_event(message, opted_out), key))


def enqueue_replies(
    batch: InboxBatch, message: InboundMessage, outcome: Outcome, tracking_code: str | None
) -> None:
    """The replies, their address sealed under the key of the citizen's WhatsApp number (the
    conversation may not know their NIK yet), for the outbox in the transaction that marks
    the message processed."""
    key = batch.conversations.key(message.wa_id)
    for event in reply_events(message, outcome, tracking_code):
        batch.events.append(seal_model(event, key))
