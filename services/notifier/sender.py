"""The sender: a background job that works through the notifications table (the queue of
pending sends), so provider latency and retries never block the consumer loop.

One cycle:
1. claim due rows (`pending` whose time has come, or `sending` whose lease expired after a
   crash) with FOR UPDATE SKIP LOCKED, marking them `sending` with a lease; several instances
   share the work without sending a row twice;
2. for each row: opt-out and rate-limit checks, render the template (WhatsApp: free text inside
   the 24-hour window, else the named template message), call the channel adapter;
3. record the outcomes: the batch's sent messages together, in one transaction (one UPDATE of
   all the rows to `sent` with the provider's message ids, one outbox insert of their
   CitizenNotified events), as are its suppressed (opt-out, erased) and rate-limited rows; a
   failed send on its own, as it is rare: back to `pending` with exponential backoff and jitter
   (Retry-After honoured), or `undeliverable` (permanent error or retries exhausted) with the
   fallback channel queued and a dead letter published. A slow batch is recorded as it goes
   (every `record_every`, well inside the lease), not only at its end.

The remaining crash window: the process dies after the provider accepted a message and before
step 3 commits (at most `record_every` later). The row's lease then expires and it is sent
again, unless
- SMS: the gateway honours the Idempotency-Key (the notification id) and answers the repeat
  without sending it;
- WhatsApp: a status callback carrying our biz_opaque_callback_data (the notification id)
  arrives before the lease expires, and marks the row sent (handlers.record_whatsapp_status).
Email has no such key: a crash inside that window can send one email twice (same Message-ID,
which mail clients thread together).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from schemas.events import Language
from services.messaging import outbox
from services.messaging.database import TRANSIENT_ERRORS
from services.messaging.deadletter import DeadLetter, DeadLetterPublisher
from services.messaging.worker import WORKER_RETRIED_ERRORS, Worker, run_worker
from services.notifier.channels import (
    ChannelAdapter,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
)
from services.notifier.domain import (
    REPLY,
    OutboundChannel,
    RateLimit,
    RetryPolicy,
    address_digest,
    inside_whatsapp_window,
    wa_id,
)
from services.notifier.handlers import citizen_notified, start_fallback, status_changed
from services.notifier.observability import NOTIFICATIONS_SENT, SEND_ATTEMPTS
from services.notifier.repository import WAKE_CHANNEL
from services.notifier.templates import render, render_reply, whatsapp_template
from services.personal_data.field_crypto import open_value, sealed_key_ids_in
from services.personal_data.keystore import Keystore, default_keystore

log = logging.getLogger(__name__)


@dataclass
class BatchFacts:
    opted_out: set[str]
    last_inbound: dict[str, datetime | None]
    recent_sends: dict[str, list[datetime]]
    # Stored destinations are sealed (per-reporter key); the address in the clear, or None
    # when the reporter was erased. Opened here, in memory, only to send.
    addresses: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    row: asyncpg.Record
    provider_id: str
    mode: str  # 'text' or 'template'


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


@dataclass
class SenderConfig:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    lease: timedelta = timedelta(seconds=30)
    whatsapp_window: timedelta = timedelta(hours=24)
    batch_size: int = 100
    concurrency: int = 16
    poll_interval: float = 1.0
    # How often a batch still sending records what it has sent so far (capped at a quarter of
    # the lease): a sent row left unrecorded past its lease would be claimed and sent again.
    record_every: timedelta = timedelta(seconds=1)


class Sender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        adapters: Mapping[OutboundChannel, ChannelAdapter],
        dead_letters: DeadLetterPublisher | None,
        config: SenderConfig | None = None,
        keys: Keystore | None = None,
    ) -> None:
        self.pool = pool
        self.keys = keys or default_keystore()
        self.adapters = dict(adapters)
        self.dead_letters = dead_letters
        self.config = config or SenderConfig()
        self._slots = asyncio.Semaphore(self.config.concurrency)

    def worker(self) -> Worker:
        """The shared worker loop's view of the sender: no leader (every instance works, the
        claim divides the rows), woken by each recorded send, batch after batch until one
        comes back short."""
        return Worker(
            name="sender",
            work=self.run_once,
            poll=self.config.poll_interval,
            batch_size=self.config.batch_size,
            listen=WAKE_CHANNEL,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await run_worker(self.pool, self.worker(), stop)

    async def run_once(self) -> int:
        """Claim and work one batch of due sends; returns how many rows were claimed."""
        rows = await self.pool.fetch(
            "UPDATE notifications SET status = 'sending', attempts = attempts + 1,"
            " claimed_until = now() + make_interval(secs => $2)"
            " WHERE notification_id IN (SELECT notification_id FROM notifications"
            "  WHERE (status = 'pending' AND next_attempt_at <= now())"
            "     OR (status = 'sending' AND claimed_until < now())"
            "  ORDER BY next_attempt_at, created_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
            " RETURNING *",
            self.config.batch_size,
            self.config.lease.total_seconds(),
        )
        if not rows:
            return 0
        facts = await self._facts(rows)
        # One citizen's messages go one after another, in order, so the rate limit sees each
        # send; different citizens are served concurrently.
        by_destination: dict[str, list[asyncpg.Record]] = {}
        for row in sorted(rows, key=lambda r: (r["next_attempt_at"], r["created_at"])):
            by_destination.setdefault(row["destination"], []).append(row)
        outcomes = Outcomes()
        done = asyncio.Event()
        recorder = asyncio.create_task(self._record_while_sending(outcomes, done))
        try:
            # Every group runs to its end (no early exit on one group's error), so no send
            # is left out of the final recording.
            results = await asyncio.gather(
                *(self._work_in_order(group, facts, outcomes) for group in by_destination.values()),
                return_exceptions=True,
            )
        finally:
            done.set()
            await recorder  # records whatever is left
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(rows)

    async def _record_while_sending(self, outcomes: Outcomes, done: asyncio.Event) -> None:
        every = min(self.config.record_every, self.config.lease / 4).total_seconds()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), every)
            await self._record(outcomes.take())
            if done.is_set():
                return

    async def _facts(self, rows: list[asyncpg.Record]) -> BatchFacts:
        """Opt-outs, WhatsApp windows and recent sends of the batch's addresses, in three
        queries for the whole batch rather than three per message."""
        destinations = sorted({row["destination"] for row in rows})
        async with self.pool.acquire() as conn:
            keys = await self.keys.keys(conn, sealed_key_ids_in(destinations))
            addresses = {d: open_value(d, keys) for d in destinations}
            readable = {d: a for d, a in addresses.items() if a is not None}
            digests = {d: address_digest(a) for d, a in readable.items()}
            wa_digests = {d: address_digest(wa_id(a)) for d, a in readable.items()}
            opted = {
                r["address_digest"]
                for r in await conn.fetch(
                    "SELECT address_digest FROM opt_outs WHERE address_digest = ANY($1::text[])",
                    list(digests.values()),
                )
            }
            windows = {
                r["address_digest"]: r["last_inbound_at"]
                for r in await conn.fetch(
                    "SELECT address_digest, last_inbound_at FROM whatsapp_windows"
                    " WHERE address_digest = ANY($1::text[])",
                    list(wa_digests.values()),
                )
            }
            recent: dict[str, list[datetime]] = {}
            for r in await conn.fetch(
                "SELECT destination, sent_at FROM notifications"
                " WHERE destination = ANY($1::text[]) AND sent_at > now() - $2::interval"
                " AND NOT exempt_from_limits",
                destinations,
                self.config.rate_limit.window,
            ):
                recent.setdefault(r["destination"], []).append(r["sent_at"])
        return BatchFacts(
            opted_out={d for d in readable if digests[d] in opted},
            last_inbound={d: windows.get(wa_digests[d]) for d in readable},
            recent_sends=recent,
            addresses=addresses,
        )

    async def _work_in_order(
        self, rows: list[asyncpg.Record], facts: BatchFacts, outcomes: Outcomes
    ) -> None:
        async with self._slots:
            for row in rows:
                try:
                    await self._send(row, facts, outcomes)
                except WORKER_RETRIED_ERRORS as error:
                    # The outcome was not recorded: the lease expires and the row is retried.
                    log.warning("send outcome not recorded", extra={"error": repr(error)})

    async def _send(self, row: asyncpg.Record, facts: BatchFacts, outcomes: Outcomes) -> None:
        channel = OutboundChannel(row["channel"])
        destination = row["destination"]
        now = datetime.now(UTC)
        limited = not row["exempt_from_limits"]
        address = facts.addresses.get(destination, destination)
        if address is None:
            # The citizen was erased (UU PDP): their address cannot be read any more, and
            # nothing may be sent. Not an error, so no retry, no fallback, no dead letter.
            outcomes.suppressed.append(
                Suppressed(row["notification_id"], "recipient erased", erased=True)
            )
            log.info("notification suppressed: recipient erased", extra={"channel": channel.value})
            return
        if limited and destination in facts.opted_out:
            outcomes.suppressed.append(Suppressed(row["notification_id"], "opted out", False))
            return
        if limited:
            wait = self.config.rate_limit.wait(facts.recent_sends.get(destination, []), now)
            if wait is not None:
                outcomes.deferred.append(Deferred(row["notification_id"], wait.total_seconds()))
                return
        message = self._compose(row, channel, address, facts.last_inbound.get(destination), now)
        adapter = self.adapters.get(channel)
        SEND_ATTEMPTS.labels(channel.value).inc()
        try:
            if adapter is None:
                raise PermanentSendError(f"channel {channel.value} is not configured")
            provider_id = await adapter.send(message)
        except TransientSendError as error:
            await self._transient(row, error)
        except PermanentSendError as error:
            await self._undeliverable(row, error.reason)
        else:
            if limited:
                facts.recent_sends.setdefault(destination, []).append(now)
            outcomes.sent.append(Sent(row, provider_id, "template" if message.template else "text"))

    def _compose(
        self,
        row: asyncpg.Record,
        channel: OutboundChannel,
        address: str,
        last_inbound: datetime | None,
        now: datetime,
    ) -> OutboundMessage:
        language = Language(row["language"])
        context = json.loads(row["context"])
        if row["template"] == REPLY:
            rendered = render_reply(row["reply_text"] or "", language)
            context = {**context, "text": rendered.text}
        else:
            rendered = render(row["template"], language, context)
        template = None
        if channel == OutboundChannel.WHATSAPP and not inside_whatsapp_window(
            last_inbound, now, self.config.whatsapp_window
        ):
            template = whatsapp_template(row["template"], language, context)
        return OutboundMessage(
            notification_id=row["notification_id"],
            to=address,
            rendered=rendered,
            template=template,
        )

    async def _record(self, outcomes: Outcomes) -> None:
        """Record outcomes together; a send whose outcome is not recorded keeps its lease and
        is retried when it expires."""
        if not outcomes:
            return
        try:
            await self._record_together(outcomes)
            return
        except TRANSIENT_ERRORS as error:
            log.warning("send outcomes not recorded", extra={"error": repr(error)})
            return
        except Exception as error:
            # One row refused (by the database, or in building its event) must not leave the
            # whole batch unrecorded, and so sent again when the leases expire: record them
            # one by one instead.
            log.warning("send outcomes not recorded together", extra={"error": repr(error)})
        for single in outcomes.one_by_one():
            try:
                await self._record_together(single)
            except TRANSIENT_ERRORS as error:
                log.warning("send outcomes not recorded", extra={"error": repr(error)})
                return
            except Exception as error:
                log.warning("send outcome not recorded", extra={"error": repr(error)})

    async def _record_together(self, outcomes: Outcomes) -> None:
        """One transaction, one statement per kind of outcome. Rows in id order, so two
        transactions that share rows lock them in the same order."""
        sent = sorted(outcomes.sent, key=lambda s: s.row["notification_id"])
        suppressed = sorted(outcomes.suppressed, key=lambda s: s.notification_id)
        deferred = sorted(outcomes.deferred, key=lambda d: d.notification_id)
        async with self.pool.acquire() as conn, conn.transaction():
            if sent:
                # `status = 'sending'`: a status callback may have recorded the row first, and
                # it must not be recorded (nor announced) twice.
                updated = await conn.fetch(
                    "UPDATE notifications AS n SET status = 'sent',"
                    " provider_message_id = s.provider_message_id, sent_at = now(),"
                    " delivery_status = coalesce(n.delivery_status, 'sent'), wa_mode = s.wa_mode,"
                    " reply_text = NULL, claimed_until = NULL, last_error = NULL"
                    " FROM unnest($1::uuid[], $2::text[], $3::text[])"
                    "  AS s(notification_id, provider_message_id, wa_mode)"
                    " WHERE n.notification_id = s.notification_id AND n.status = 'sending'"
                    " RETURNING n.*",
                    [s.row["notification_id"] for s in sent],
                    [s.provider_id for s in sent],
                    [
                        s.mode if s.row["channel"] == OutboundChannel.WHATSAPP else None
                        for s in sent
                    ],
                )
                await outbox.enqueue(conn, [e for row in updated for e in citizen_notified(row)])
            if suppressed:
                await conn.execute(
                    "UPDATE notifications AS n SET status = 'suppressed', claimed_until = NULL,"
                    " reply_text = CASE WHEN s.erased THEN NULL ELSE n.reply_text END,"
                    " last_error = s.reason"
                    " FROM unnest($1::uuid[], $2::text[], $3::bool[])"
                    "  AS s(notification_id, reason, erased)"
                    " WHERE n.notification_id = s.notification_id",
                    [s.notification_id for s in suppressed],
                    [s.reason for s in suppressed],
                    [s.erased for s in suppressed],
                )
            if deferred:
                # Held by the rate limit: not an attempt, so it does not count as one.
                await conn.execute(
                    "UPDATE notifications AS n SET status = 'pending',"
                    " attempts = n.attempts - 1, claimed_until = NULL,"
                    " next_attempt_at = now() + make_interval(secs => s.wait_seconds)"
                    " FROM unnest($1::uuid[], $2::float8[]) AS s(notification_id, wait_seconds)"
                    " WHERE n.notification_id = s.notification_id",
                    [d.notification_id for d in deferred],
                    [d.wait_seconds for d in deferred],
                )
        for s in sent:
            NOTIFICATIONS_SENT.labels(s.row["channel"], s.mode).inc()

    async def _transient(self, row: asyncpg.Record, error: TransientSendError) -> None:
        policy = self.config.retry
        if policy.exhausted(row["attempts"]):
            await self._undeliverable(row, f"retries exhausted: {error.reason}")
            return
        delay = policy.delay(row["attempts"], error.retry_after)
        await self.pool.execute(
            "UPDATE notifications SET status = 'pending', claimed_until = NULL, last_error = $2,"
            " next_attempt_at = now() + make_interval(secs => $3)"
            " WHERE notification_id = $1 AND status = 'sending'",
            row["notification_id"],
            error.reason,
            delay,
        )
        log.info(
            "send failed; will retry",
            extra={"channel": row["channel"], "attempt": row["attempts"], "reason": error.reason},
        )

    async def _undeliverable(self, row: asyncpg.Record, reason: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            updated = await conn.fetchrow(
                "UPDATE notifications SET status = 'undeliverable', claimed_until = NULL,"
                " last_error = $2 WHERE notification_id = $1 AND status = 'sending' RETURNING *",
                row["notification_id"],
                reason,
            )
            if updated is None:
                return
            fallback = await start_fallback(conn, updated, reason=reason)
            await outbox.enqueue(conn, status_changed(updated, "undeliverable", fallback))
        log.warning(
            "notification undeliverable",
            extra={"channel": row["channel"], "reason": reason, "fallback": str(fallback)},
        )
        if self.dead_letters is not None and fallback is None:
            # Nobody was reached on any channel: park it where operators look.
            await self.dead_letters.publish([dead_letter(row, reason)])


def dead_letter(row: asyncpg.Record, reason: str) -> DeadLetter:
    """What could not be sent, without who it was for or what it said."""
    value = json.dumps(
        {
            "notification_id": str(row["notification_id"]),
            "complaint_id": str(row["complaint_id"]),
            "trigger_event_id": str(row["trigger_event_id"]),
            "trigger_event_type": row["trigger_type"],
            "channel": row["channel"],
            "template": row["template"],
            "attempts": row["attempts"],
        }
    ).encode()
    return DeadLetter(
        topic="notifier.notifications",  # the source is the sends table, not a topic
        partition=-1,
        offset=-1,
        key=str(row["complaint_id"]).encode(),
        value=value,
        reason=f"notification undeliverable: {reason}",
    )
