"""The WhatsApp inbox: the webhook persists messages here and answers 200 at once; this
worker then runs the conversation for each message in arrival order.

One worker leads per service (advisory lock), so one citizen's messages are handled in
order. Each message is handled in its own savepoint and marked processed in the same
transaction as its effects (draft, complaint, outbox), so a crash replays it and nothing is
done twice. A message whose handling raises is marked failed and logged, never retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import asyncpg

from schemas.events import Channel, EventEnvelope, Language
from schemas.events.intake import CitizenReplyRequested, CitizenReplyRequestedPayload
from services.intake import filing, repository, throttle
from services.intake.domain import ownership
from services.intake.domain.complaints import PRODUCER, complaint_received, reporter_identity
from services.intake.domain.conversation import (
    WINDOW,
    Draft,
    FollowUp,
    Outcome,
    follow_up,
    follow_up_reply,
    handle_message,
    status_request,
    status_words,
)
from services.intake.domain.tracking import (
    InvalidTrackingCode,
    new_tracking_code,
    normalise_tracking_code,
)
from services.intake.domain.whatsapp import WHATSAPP_NAMESPACE, InboundMessage
from services.intake.settings import IntakeSettings
from services.messaging import outbox
from services.messaging.database import TRANSIENT_ERRORS
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import default_keystore

log = logging.getLogger(__name__)
INBOX_RETENTION_DAYS = 8  # Meta retries undelivered webhooks for up to 7 days


async def store_messages(conn: asyncpg.Connection, messages: Sequence[InboundMessage]) -> int:
    """Insert messages not seen before; returns how many were new."""
    if not messages:
        return 0
    new = await conn.fetchval(
        "WITH inserted AS (INSERT INTO whatsapp_inbox (message_id, wa_id, message)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])"
        " ON CONFLICT (message_id) DO NOTHING RETURNING 1) SELECT count(*) FROM inserted",
        [m.message_id for m in messages],
        [m.wa_id for m in messages],
        [m.model_dump_json() for m in messages],
    )
    return int(new)


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


async def enqueue_replies(
    conn: asyncpg.Connection,
    message: InboundMessage,
    outcome: Outcome,
    tracking_code: str | None,
) -> None:
    """The replies, their address sealed under the key of the citizen's WhatsApp number (the
    conversation may not know their NIK yet)."""
    keys = default_keystore()
    identity = identity_of(None, message.wa_id, None)
    events = [
        await keys.seal(conn, event, identity=identity)
        for event in reply_events(message, outcome, tracking_code)
    ]
    await outbox.enqueue(conn, events)


async def process_follow_up(
    conn: asyncpg.Connection,
    message: InboundMessage,
    addition: FollowUp,
    settings: IntakeSettings,
) -> str:
    """An addition to a filed report by its owner's WhatsApp number: ComplaintUpdated."""
    language = Language.INDONESIAN
    record = None
    try:
        code = normalise_tracking_code(addition.code_text)
    except InvalidTrackingCode:
        reply, outcome = follow_up_reply(language, "follow_up_format"), "follow_up_invalid"
    else:
        record = await repository.complaint_record(conn, code)
        if record is None or not ownership.phone_matches(record.contact_phone, "+" + message.wa_id):
            record = None
            reply, outcome = follow_up_reply(language, "follow_up_unknown"), "follow_up_unknown"
        elif not addition.text and addition.attachment is None:
            reply, outcome = follow_up_reply(language, "follow_up_format"), "follow_up_invalid"
        else:
            language = Language(record.details.get("reporter", {}).get("language", "id"))
            try:
                await filing.add_update(
                    conn,
                    record,
                    settings,
                    text=addition.text,
                    attachments=[(addition.attachment, b"")] if addition.attachment else [],
                    idempotency_key=f"whatsapp:{message.message_id}",
                    fingerprint=message.message_id,
                )
                reply = follow_up_reply(language, "follow_up_done", code=record.tracking_code)
                outcome = "follow_up_added"
            except filing.UpdateRefused as error:
                reply = follow_up_reply(language, "follow_up_refused", reason=error)
                outcome = "follow_up_refused"
    complaint_id = (
        record.complaint_id
        if record
        else uuid.uuid5(WHATSAPP_NAMESPACE, f"draft:{message.message_id}")
    )
    result = Outcome(None, (reply,), language, complaint_id)
    await enqueue_replies(conn, message, result, None)
    return outcome


async def process_status_request(
    conn: asyncpg.Connection, message: InboundMessage, code_text: str
) -> str:
    """`STATUS#<code>`: the public status (no personal data), as on the web."""
    language = Language.INDONESIAN
    view = None
    try:
        view = await repository.status_view(conn, normalise_tracking_code(code_text))
    except InvalidTrackingCode:
        pass
    if view is None:
        reply = follow_up_reply(language, "status_unknown")
        complaint_id = uuid.uuid5(WHATSAPP_NAMESPACE, f"draft:{message.message_id}")
    else:
        status = status_words(str(view["status"]), language)
        if view.get("agency_name"):
            status += f" ({view['agency_name']})"
        reply = follow_up_reply(language, "status", code=view["tracking_code"], status=status)
        complaint_id = await conn.fetchval(
            "SELECT complaint_id FROM complaints WHERE tracking_code = $1", view["tracking_code"]
        )
    result = Outcome(None, (reply,), language, complaint_id)
    await enqueue_replies(conn, message, result, None)
    return "status" if view else "status_unknown"


async def process_message(
    conn: asyncpg.Connection, message: InboundMessage, settings: IntakeSettings | None = None
) -> str:
    addition = follow_up(message)
    if addition is not None:
        return await process_follow_up(conn, message, addition, settings or IntakeSettings())
    code_text = status_request(message)
    if code_text is not None:
        return await process_status_request(conn, message, code_text)
    row = await conn.fetchrow(
        "SELECT draft FROM whatsapp_conversations WHERE wa_id = $1 FOR UPDATE", message.wa_id
    )
    draft = Draft.model_validate_json(row["draft"]) if row else None
    code = new_tracking_code()
    outcome = handle_message(draft, message, code)
    filed_code: str | None = None
    limited = False
    if outcome.submission is not None:
        # The same per-phone / per-NIK limit as the web: a flood of LAPOR# files five.
        limited = bool(
            await throttle.admit_complaint(
                conn,
                settings or IntakeSettings(),
                phone="+" + message.wa_id,
                nik=outcome.submission.nik,
                idempotency_key=f"whatsapp:{message.message_id}",
            )
        )
        if limited:
            reply = follow_up_reply(outcome.language, "too_many_reports")
            outcome = Outcome(None, (reply,), outcome.language, outcome.complaint_id)
    if outcome.submission is not None:
        event = complaint_received(
            outcome.submission, outcome.complaint_id, code, datetime.now(UTC)
        )
        event = await default_keystore().seal(
            conn, event, identity=reporter_identity(outcome.submission)
        )
        if await repository.record_complaint(
            conn, event, idempotency_key=f"whatsapp:{message.message_id}"
        ):
            filed_code = code
    if outcome.draft is None:
        await conn.execute("DELETE FROM whatsapp_conversations WHERE wa_id = $1", message.wa_id)
    else:
        await conn.execute(
            "INSERT INTO whatsapp_conversations (wa_id, draft, expires_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (wa_id) DO UPDATE SET draft = excluded.draft,"
            " expires_at = excluded.expires_at, updated_at = now()",
            message.wa_id,
            outcome.draft.model_dump_json(),
            outcome.draft.last_message_at + WINDOW,
        )
    await enqueue_replies(conn, message, outcome, filed_code)
    if filed_code:
        return "filed"
    if limited:
        return "limited: reports"
    return outcome.draft.step.value if outcome.draft else "closed"


async def process_within_limit(
    conn: asyncpg.Connection, message: InboundMessage, earlier: int, settings: IntakeSettings
) -> str:
    """A sender over `whatsapp_messages_per_sender_per_hour` (counting `earlier`, their
    messages of the hour before this one) is told once, then not answered: the webhook still
    takes and stores everything (a refusal would make Meta retry), the flood just ends here."""
    limit = settings.whatsapp_messages_per_sender_per_hour
    if limit <= 0 or earlier < limit:
        return await process_message(conn, message, settings)
    throttle.LIMITED.labels("whatsapp_sender").inc()
    if earlier == limit:
        language = await conn.fetchval(
            "SELECT draft->>'language' FROM whatsapp_conversations WHERE wa_id = $1",
            message.wa_id,
        )
        language = Language(language or Language.INDONESIAN)
        reply = follow_up_reply(language, "too_many_messages")
        complaint_id = uuid.uuid5(WHATSAPP_NAMESPACE, f"draft:{message.message_id}")
        await enqueue_replies(conn, message, Outcome(None, (reply,), language, complaint_id), None)
    return "limited: messages"


class InboxWorker:
    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        settings: IntakeSettings | None = None,
        *,
        batch_size: int = 100,
        poll: float = 1.0,
    ) -> None:
        self.pool = pool
        self.settings = settings or IntakeSettings()
        self.batch_size = batch_size
        self.poll = poll
        self.wake = asyncio.Event()
        self.lock_key = zlib.crc32(b"lapor-intake-whatsapp-inbox")
        self.next_sweep = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._lead(stop)
            except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as error:
                log.warning("whatsapp inbox worker retrying", extra={"error": repr(error)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

    async def _lead(self, stop: asyncio.Event) -> None:
        async with self.pool().acquire() as leader:
            while not await leader.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0)
                if stop.is_set():
                    return
            try:
                while not stop.is_set():
                    self.wake.clear()
                    handled = await self.process_batch()
                    if time.monotonic() >= self.next_sweep:
                        await self.forget_expired()
                        self.next_sweep = time.monotonic() + 60
                    if handled < self.batch_size:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self.wake.wait(), self.poll)
            finally:
                with contextlib.suppress(Exception):
                    await leader.execute("SELECT pg_advisory_unlock($1)", self.lock_key)

    async def process_batch(self) -> int:
        async with self.pool().acquire() as conn, conn.transaction():
            # A batch at a time (bounded memory however deep the inbox), each with the count
            # of its sender's messages in the hour before it (the per-sender limit).
            rows = await conn.fetch(
                "SELECT i.message_id, i.message, (SELECT count(*) FROM whatsapp_inbox e"
                " WHERE e.wa_id = i.wa_id AND e.seq < i.seq"
                " AND e.received_at > i.received_at - interval '1 hour') AS earlier"
                " FROM whatsapp_inbox i WHERE i.processed_at IS NULL"
                " ORDER BY i.seq LIMIT $1 FOR UPDATE OF i",
                self.batch_size,
            )
            for row in rows:
                try:
                    async with conn.transaction():
                        outcome = await process_within_limit(
                            conn,
                            InboundMessage.model_validate_json(row["message"]),
                            row["earlier"],
                            self.settings,
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
                await conn.execute(
                    "UPDATE whatsapp_inbox SET processed_at = now(), message = NULL, outcome = $2"
                    " WHERE message_id = $1",
                    row["message_id"],
                    outcome,
                )
            return len(rows)

    async def forget_expired(self) -> None:
        """Drafts past the 24-hour window hold personal data nobody will finish: drop them.
        Processed inbox ids are kept as long as Meta may still retry (days), then dropped."""
        async with self.pool().acquire() as conn:
            await conn.execute("DELETE FROM whatsapp_conversations WHERE expires_at < now()")
            await conn.execute(
                "DELETE FROM whatsapp_inbox WHERE processed_at < now() - make_interval(days => $1)",
                INBOX_RETENTION_DAYS,
            )
            await throttle.forget_old(conn)  # the flood limits' counters, past their window
