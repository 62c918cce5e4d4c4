"""The sender's work: a background job (its loop is in `entrypoints.sender`) goes through the
notifications table (the queue of pending sends), so provider latency and retries never block
the consumer loop.

One cycle (`Sender.run_once`):
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
  arrives before the lease expires, and marks the row sent (events.record_whatsapp_status).
Email has no such key: a crash inside that window can send one email twice (same Message-ID,
which mail clients thread together).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from services.messaging import outbox
from services.messaging.database import TRANSIENT_ERRORS
from services.messaging.deadletter import DeadLetter, DeadLetterPublisher
from services.messaging.worker import WORKER_RETRIED_ERRORS
from services.notifier.adapters import repository
from services.notifier.adapters.channels import (
    ChannelAdapter,
    PermanentSendError,
    TransientSendError,
)
from services.notifier.domain.events import NotificationRow, citizen_notified, status_changed
from services.notifier.domain.rules import (
    AddressDigests,
    OutboundChannel,
    RateLimit,
    RetryPolicy,
    wa_id,
)
from services.notifier.domain.sending import (
    BatchFacts,
    Outcomes,
    Sent,
    Suppressed,
    compose,
    held_back,
)
from services.notifier.handlers.events import start_fallback
from services.notifier.observability import notifications_sent, send_attempts
from services.personal_data.field_crypto import open_value, sealed_key_ids_in
from services.personal_data.keystore import Keystore

log = logging.getLogger(__name__)


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
    # Intake's public address: the closing message links to the report's rating page there.
    citizen_base_url: str | None = None


class Sender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        adapters: Mapping[OutboundChannel, ChannelAdapter],
        dead_letters: DeadLetterPublisher | None,
        config: SenderConfig,
        keys: Keystore,
    ) -> None:
        self.pool = pool
        self.keys = keys
        self.digests = AddressDigests(keys.identity_key)
        self.adapters = dict(adapters)
        self.dead_letters = dead_letters
        self.config = config
        self._slots = asyncio.Semaphore(self.config.concurrency)
        # Until a batch finds no legacy digest left (then never again): re-key as we go.
        self._legacy_digests_left = True

    async def run_once(self) -> int:
        """Claim and work one batch of due sends; returns how many rows were claimed."""
        rows = await repository.claim_due(self.pool, self.config.batch_size, self.config.lease)
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
        replies = sorted({row["reply_text"] for row in rows if row["reply_text"]})
        async with self.pool.acquire() as conn:
            keys = await self.keys.keys(conn, sealed_key_ids_in([*destinations, *replies]))
            addresses = {d: open_value(d, keys) for d in destinations}
            readable = {d: a for d, a in addresses.items() if a is not None}
            digests = {d: self.digests.keyed(a) for d, a in readable.items()}
            wa_digests = {d: self.digests.keyed(wa_id(a)) for d, a in readable.items()}
            if self._legacy_digests_left:
                self._legacy_digests_left = await repository.legacy_digests_left(conn)
            legacy = self._legacy_digests_left
            opted = await repository.opted_out_among(
                conn, self.digests.pairs(readable.values(), legacy=legacy)
            )
            windows = await repository.last_inbound_at(
                conn, self.digests.pairs((wa_id(a) for a in readable.values()), legacy=legacy)
            )
            recent = await repository.recent_sends(
                conn, destinations, self.config.rate_limit.window
            )
        return BatchFacts(
            opted_out={d for d in readable if digests[d] in opted},
            last_inbound={d: windows.get(wa_digests[d]) for d in readable},
            recent_sends=recent,
            addresses=addresses,
            texts={reply: open_value(reply, keys) for reply in replies},
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
        held = held_back(row, facts, self.config.rate_limit, now)
        if isinstance(held, Suppressed):
            outcomes.suppressed.append(held)
            if held.erased:
                # Not an error, so no retry, no fallback, no dead letter.
                log.info(
                    "notification suppressed: recipient erased", extra={"channel": channel.value}
                )
            return
        if held is not None:
            outcomes.deferred.append(held)
            return
        address = facts.addresses.get(destination, destination)
        assert address is not None  # held_back suppresses an erased recipient
        message = compose(
            row,
            address,
            facts.last_inbound.get(destination),
            now,
            self.config.whatsapp_window,
            self.config.citizen_base_url,
            facts.texts.get(row["reply_text"], row["reply_text"]),
        )
        adapter = self.adapters.get(channel)
        send_attempts(channel.value).inc()
        try:
            if adapter is None:
                raise PermanentSendError(f"channel {channel.value} is not configured")
            provider_id = await adapter.send(message)
            if channel == OutboundChannel.WHATSAPP:
                # Kept as intake names it in status events: the wamid encodes the number.
                provider_id = self.keys.message_ref(provider_id)
        except TransientSendError as error:
            await self._transient(row, error)
        except PermanentSendError as error:
            await self._undeliverable(row, error.reason)
        else:
            if not row["exempt_from_limits"]:
                facts.recent_sends.setdefault(destination, []).append(now)
            outcomes.sent.append(Sent(row, provider_id, "template" if message.template else "text"))

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
                updated = await repository.record_sent(conn, sent)
                await outbox.enqueue(conn, [e for row in updated for e in citizen_notified(row)])
            await repository.record_suppressed(conn, suppressed)
            await repository.record_deferred(conn, deferred)
        for s in sent:
            notifications_sent(s.row["channel"], s.mode).inc()

    async def _transient(self, row: asyncpg.Record, error: TransientSendError) -> None:
        policy = self.config.retry
        if policy.exhausted(row["attempts"]):
            await self._undeliverable(row, f"retries exhausted: {error.reason}")
            return
        delay = policy.delay(row["attempts"], error.retry_after)
        await repository.retry_later(self.pool, row["notification_id"], error.reason, delay)
        log.info(
            "send failed; will retry",
            extra={"channel": row["channel"], "attempt": row["attempts"], "reason": error.reason},
        )

    async def _undeliverable(self, row: asyncpg.Record, reason: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            updated = await repository.give_up(conn, row["notification_id"], reason)
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


def dead_letter(row: NotificationRow, reason: str) -> DeadLetter:
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
