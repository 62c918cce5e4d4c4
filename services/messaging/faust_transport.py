"""faust's aiokafka transport with an idempotent producer and a consumer that commits only
what its agents finished.

faust enables idempotence only for exactly-once transactions; Lapor wants acks=all and
idempotence everywhere without building correctness on Kafka transactions.

Two faust 0.15.3 behaviours let a rebalance commit the offset of a complaint no agent handled
(the 1-3 lost complaints of 40 the two-instance test used to catch):

1. When a rebalance starts, faust suspends flow control and its streams *skip* the messages
   still buffered, acking them "so the lag does not grow". faust then pops the revoked
   partitions' commit state and, while waiting for agents to finish, commits what was acked
   since: the skipped messages' offsets. The generation id has not changed yet, so a
   generation check alone does not see it.
2. `Consumer._new_offset` refuses to commit past an unacked head only when the gap is more than
   one offset (`min(acked) - committed > 1`), so a single unacked message right at the
   committed offset is committed over.

This consumer *forgets* a message acked while flow is suspended or from a stale generation (no
commit, and no wait for it in `wait_empty`; the rebalance's seek to the committed offset
delivers it again), and never commits past an unacked head.

That makes a dropped message safe but not yet live: faust's fetch loop can still drop one (a
fetch in flight while the rebalance seeks overwrites the read offset, and the re-read message
then looks older than it and is discarded), and faust records a commit that failed in a
rebalance as done. A watchdog compares each partition with the *broker's* committed offset and
re-reads it from there when it has messages beyond that offset and the commit has not moved
for `STALL_SECONDS` while the whole consumer was idle (no message in hand, none finished), or
while nothing at all finished for `HELD_TOO_LONG_SECONDS` (a message counted as in hand but
dropped by that fetch race would otherwise hold the watchdog off for good). A
redelivered complaint is absorbed by triage's `decisions` table (the same complaint id gives
the same decision event).

Sends are not awaited one by one (`PendingSends`): the consumer settles them all before it
commits, and stops instead of committing if one failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from time import monotonic
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faust.tables import TableManager
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode import Service

from services.messaging.consumer import FETCH_MAX_WAIT_MS, FETCH_MIN_BYTES

STALL_SECONDS = 8.0
# No message finished for this long: a message still counted as in hand was dropped by the
# fetch race, not being handled (a handler retries a database outage for at most ~30 s).
HELD_TOO_LONG_SECONDS = 45.0
WATCHDOG_INTERVAL = 2.0
log = logging.getLogger(__name__)


class PendingSends:
    """Sends whose broker acknowledgement nobody awaited yet.

    Agents hand a send to this set instead of waiting for each acknowledgement (a broker round
    trip per complaint per stage); the consumer settles the set before every offset commit, so
    an offset is committed only after everything sent while handling it is on the broker."""

    def __init__(self, window: int = 500) -> None:
        self.window = window
        self._pending: list[asyncio.Future[Any]] = []
        # Two commits may settle at once; the second must not pass while the first still waits.
        self._settling = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._pending)

    async def add(self, delivery: asyncio.Future[Any]) -> None:
        self._pending.append(delivery)
        if len(self._pending) >= self.window:
            await self.settle()  # bounds memory and how much a failed send can hold back

    async def settle(self) -> None:
        """Wait for every pending send; raise the first failure."""
        async with self._settling:
            while self._pending:
                batch, self._pending = self._pending, []
                results = await asyncio.gather(*batch, return_exceptions=True)
                failures = [result for result in results if isinstance(result, BaseException)]
                if failures:
                    raise failures[0]


pending_sends = PendingSends()


class IdempotentProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class CommitOnlyHandledConsumer(faust_aiokafka.Consumer):
    last_progress: float = 0.0  # monotonic time of the last message an agent finished

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return BatchingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def ack(self, message: Message) -> bool:
        if (
            not self.app.flow_control.is_active()
            or message.generation_id != self.app.consumer_generation_id
        ):
            # Skipped, not handled: forget it instead of committing it.
            message.acked = True
            self._unacked_messages.discard(message)
            return False
        self.last_progress = monotonic()
        return super().ack(message)

    def _idle(self) -> bool:
        """No agent holds a message and none finished one for STALL_SECONDS: only then can a
        partition with messages left be stalled rather than waiting its turn (re-reading a
        busy consumer's partitions would only add work)."""
        quiet = monotonic() - self.last_progress
        return quiet >= HELD_TOO_LONG_SECONDS or (
            not self._unacked_messages and quiet >= STALL_SECONDS
        )

    def _held_too_long(self) -> bool:
        return monotonic() - self.last_progress >= HELD_TOO_LONG_SECONDS

    async def _commit_offsets(
        self, offsets: Mapping[TP, int], start_new_transaction: bool = True
    ) -> bool:
        try:
            await pending_sends.settle()
        except Exception as error:
            # Committing now could skip a complaint whose forward failed: stop instead, and
            # let the restart redeliver from the last commit.
            log.error("a send failed; not committing", extra={"error": repr(error)})
            await self.crash(error)
            return False
        before = {tp: self._committed_offset.get(tp) for tp in offsets}
        committed = await super()._commit_offsets(offsets, start_new_transaction)
        if not committed:
            # faust records even a failed commit as done; undo that so the next one retries.
            for tp, offset in offsets.items():
                if self._committed_offset.get(tp) == offset:
                    self._committed_offset[tp] = before[tp]
        return committed

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if acked and committed is not None and min(acked) > committed:
            return None  # the message at the committed offset is not handled yet
        return super()._new_offset(tp)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """faust counts offsets it jumped over as acked (meant for compacted topics and
        transaction markers). Triage reads neither, so a jump here can only be messages it
        dropped (a stale read offset) or, when no commit is known yet, the very message being
        delivered: never count those as handled."""

    @Service.task
    async def _stalled_partition_watchdog(self) -> None:
        stuck_since: dict[TP, tuple[int | None, float]] = {}
        admin: AIOKafkaAdminClient | None = None
        try:
            async for _ in self.itertimer(WATCHDOG_INTERVAL, name="stalled-partitions"):
                if (
                    self.app.rebalancing
                    or not self.app.flow_control.is_active()
                    or not self._idle()
                ):
                    stuck_since.clear()
                    continue
                try:
                    if admin is None:
                        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap())
                        await admin.start()
                    for tp, committed in await self._stalled(admin, stuck_since):
                        log.warning(
                            "partition stalled behind its committed offset; reading it again",
                            extra={"topic": tp.topic, "partition": tp.partition},
                        )
                        # The broker's committed offset is the truth: faust records a commit
                        # that failed in a rebalance as done, and would never retry it.
                        self._committed_offset[tp] = committed
                        await self.seek(tp, committed or 0)
                except Exception as error:  # the broker may be restarting: look again later
                    log.warning("stall watchdog skipped a round", extra={"error": repr(error)})
        finally:
            if admin is not None:
                await admin.close()

    def _bootstrap(self) -> list[str]:
        return [f"{url.host}:{url.port or 9092}" for url in self.app.conf.broker]

    async def _stalled(
        self, admin: AIOKafkaAdminClient, stuck_since: dict[TP, tuple[int | None, float]]
    ) -> list[tuple[TP, int | None]]:
        acking = self.app.topics.acks_enabled_for
        partitions = [tp for tp in self.assignment() if acking(tp.topic)]
        if not partitions:
            return []
        ends = await self.highwaters(*partitions)
        on_broker = await admin.list_consumer_group_offsets(self.app.conf.id)
        # A partition whose message is in an agent's hands is not stalled, unless nothing at
        # all has finished for HELD_TOO_LONG_SECONDS: then that message was dropped on a fetch
        # (seen after a SIGKILL: two partitions held 5 minutes) and re-reading is the way out;
        # a repeat is absorbed by triage's decisions table.
        handling = (
            set()
            if self._held_too_long()
            else {message.tp for message in list(self._unacked_messages)}
        )
        now = monotonic()
        stalled = []
        for tp in partitions:
            meta = on_broker.get(TopicPartition(tp.topic, tp.partition))
            committed = meta.offset if meta is not None and meta.offset >= 0 else None
            end = ends.get(tp)
            if end is None or (committed or 0) >= end or tp in handling:
                stuck_since.pop(tp, None)
                continue
            mark = stuck_since.get(tp)
            if mark is None or mark[0] != committed:
                stuck_since[tp] = (committed, now)
            elif now - mark[1] >= STALL_SECONDS:
                stalled.append((tp, committed))
                del stuck_since[tp]
        return stalled


class BatchingConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """faust's consumer thread fetching as the shared consumer loop does (`consumer.py`):
    faust asks the broker to answer as soon as one byte is there, so at 200 complaints/s
    its thread sent a fetch for every message or two (a third of triage's CPU, and the
    broker's, in fetch round trips and thread hand-offs)."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka hands these to its fetcher at start(); faust offers no setting for them.
        consumer._fetch_min_bytes = FETCH_MIN_BYTES
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class IdempotentTransport(faust_aiokafka.Transport):
    Producer = IdempotentProducer
    Consumer = CommitOnlyHandledConsumer


class PromptTableManager(TableManager):  # type: ignore[misc]
    """faust's table manager without its fixed one-second pause at start when the app has
    no tables: the pause lets tables declared late register before recovery, and the
    consumer subscribes only after it, so every start (and the first event) waited a second
    for nothing (issue 16: a service processes its first event within 5 s of start)."""

    async def on_start(self) -> None:
        if len(self):
            await super().on_start()
            return
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()
