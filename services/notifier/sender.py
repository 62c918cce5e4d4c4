"""The sender: a background job that works through the notifications table (the queue of
pending sends), so provider latency and retries never block the consumer loop.

One cycle:
1. claim due rows (`pending` whose time has come, or `sending` whose lease expired after a
   crash) with FOR UPDATE SKIP LOCKED, marking them `sending` with a lease; several instances
   share the work without sending a row twice;
2. for each row: opt-out and rate-limit checks, render the template (WhatsApp: free text inside
   the 24-hour window, else the named template message), call the channel adapter;
3. record the outcome in one transaction: `sent` with the provider's message id and a
   CitizenNotified in the outbox; or back to `pending` with exponential backoff and jitter
   (Retry-After honoured); or `undeliverable` (permanent error or retries exhausted) with the
   fallback channel queued and a dead letter published.

The remaining crash window: the process dies after the provider accepted a message and before
step 3 commits. The row's lease then expires and it is sent again, unless
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from schemas.events import Language
from services.messaging import outbox
from services.messaging.deadletter import DeadLetter, DeadLetterPublisher
from services.messaging.field_crypto import open_value, sealed_key_ids_in
from services.messaging.keystore import Keystore, default_keystore
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

log = logging.getLogger(__name__)


@dataclass
class BatchFacts:
    opted_out: set[str]
    last_inbound: dict[str, datetime | None]
    recent_sends: dict[str, list[datetime]]
    # Stored destinations are sealed (per-reporter key); the address in the clear, or None
    # when the reporter was erased. Opened here, in memory, only to send.
    addresses: dict[str, str | None] = field(default_factory=dict)


@dataclass
class SenderConfig:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    lease: timedelta = timedelta(seconds=30)
    whatsapp_window: timedelta = timedelta(hours=24)
    batch_size: int = 100
    concurrency: int = 16
    poll_interval: float = 1.0


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
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.config.concurrency)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._run_listening(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("sender lost the database; retrying", extra={"error": repr(error)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

    async def _run_listening(self, stop: asyncio.Event) -> None:
        async with self.pool.acquire() as listener:
            await listener.add_listener(WAKE_CHANNEL, self._on_wake)
            try:
                while not stop.is_set():
                    self._wake.clear()
                    worked = await self.run_once()
                    if worked < self.config.batch_size:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self.config.poll_interval)
            finally:
                with contextlib.suppress(Exception):
                    await listener.remove_listener(WAKE_CHANNEL, self._on_wake)

    def _on_wake(self, *_: object) -> None:
        self._wake.set()

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
        await asyncio.gather(
            *(self._work_in_order(group, facts) for group in by_destination.values())
        )
        return len(rows)

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

    async def _work_in_order(self, rows: list[asyncpg.Record], facts: BatchFacts) -> None:
        async with self._slots:
            for row in rows:
                try:
                    await self._send(row, facts)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    # The outcome was not recorded: the lease expires and the row is retried.
                    log.warning("send outcome not recorded", extra={"error": repr(error)})

    async def _send(self, row: asyncpg.Record, facts: BatchFacts) -> None:
        channel = OutboundChannel(row["channel"])
        destination = row["destination"]
        now = datetime.now(UTC)
        limited = not row["exempt_from_limits"]
        address = facts.addresses.get(destination, destination)
        if address is None:
            # The citizen was erased (UU PDP): their address cannot be read any more, and
            # nothing may be sent. Not an error, so no retry, no fallback, no dead letter.
            await self.pool.execute(
                "UPDATE notifications SET status = 'suppressed', claimed_until = NULL,"
                " reply_text = NULL, last_error = 'recipient erased' WHERE notification_id = $1",
                row["notification_id"],
            )
            log.info("notification suppressed: recipient erased", extra={"channel": channel.value})
            return
        if limited and destination in facts.opted_out:
            await self.pool.execute(
                "UPDATE notifications SET status = 'suppressed', claimed_until = NULL,"
                " last_error = 'opted out' WHERE notification_id = $1",
                row["notification_id"],
            )
            return
        if limited:
            wait = self.config.rate_limit.wait(facts.recent_sends.get(destination, []), now)
            if wait is not None:
                await self.pool.execute(
                    "UPDATE notifications SET status = 'pending', attempts = attempts - 1,"
                    " claimed_until = NULL, next_attempt_at = now() + make_interval(secs => $2)"
                    " WHERE notification_id = $1",
                    row["notification_id"],
                    wait.total_seconds(),
                )
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
            await self._sent(row, provider_id, "template" if message.template else "text")

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

    async def _sent(self, row: asyncpg.Record, provider_id: str, mode: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            updated = await conn.fetchrow(
                "UPDATE notifications SET status = 'sent', provider_message_id = $2,"
                " sent_at = now(), delivery_status = coalesce(delivery_status, 'sent'),"
                " wa_mode = $3, reply_text = NULL, claimed_until = NULL, last_error = NULL"
                " WHERE notification_id = $1 AND status = 'sending' RETURNING *",
                row["notification_id"],
                provider_id,
                mode if row["channel"] == OutboundChannel.WHATSAPP else None,
            )
            if updated is not None:  # a status callback may have recorded it first
                await outbox.enqueue(conn, citizen_notified(updated))
        NOTIFICATIONS_SENT.labels(row["channel"], mode).inc()

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
