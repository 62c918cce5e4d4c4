"""The WhatsApp inbox workers: the webhook persists messages and answers 200 at once; these
workers then handle each message (`handlers.whatsapp`), each sender's in arrival order.

They run on the shared worker loop (`services.messaging.worker`), sharded: the inbox is
divided by sender into `whatsapp_inbox_shards` shards, and `whatsapp_inbox_workers` tasks per
instance go round them, each batch of a shard claimed in its transaction (an advisory lock),
so one citizen's messages are handled by one worker at a time, in order, across every
instance; a worker that dies mid-batch rolls back and frees its shard for the next. They
work in batches until the shards come back short, then wait until the webhook wakes them
(gathering `LINGER_SECONDS` first) or the poll. A document the Graph API could not serve
this time leaves its shard waiting for the next poll (Meta keeps media for 7 days). The
housekeeping (expired drafts, old inbox ids, old limit counters) rides along every minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg

from services.intake.adapters import whatsapp_inbox
from services.intake.adapters.whatsapp_media import MediaTemporarilyUnavailable
from services.intake.handlers import whatsapp
from services.intake.settings import IntakeSettings
from services.messaging.worker import run_worker, sharded
from services.personal_data.keystore import Keystore

HOUSEKEEPING_SECONDS = 60.0
# In a surge the webhook wakes the workers at every message: gathering this long after a
# short round makes batches of many messages instead of rounds of one each.
LINGER_SECONDS = 0.05
log = logging.getLogger(__name__)


class InboxWorker:
    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        settings: IntakeSettings,
        keys: Keystore,
        *,
        batch_size: int = 100,
        poll: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.keys = keys
        self.batch_size = batch_size
        self.clock = clock
        self.wake = asyncio.Event()  # set by the webhook when new messages are stored
        self.next_housekeeping = 0.0
        self.worker = sharded(
            "whatsapp inbox",
            self.work_shard,
            shards=settings.whatsapp_inbox_shards,
            workers=settings.whatsapp_inbox_workers,
            batch_size=batch_size,
            poll=poll,
            linger=LINGER_SECONDS,
            pending=self.pending_shards,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await run_worker(self.pool, self.worker, stop, self.wake)

    async def pending_shards(self) -> set[int]:
        """The shards with messages to handle; every shard when housekeeping is due (it
        rides on a shard's batch)."""
        if self.clock() >= self.next_housekeeping:
            return set(range(self.settings.whatsapp_inbox_shards))
        return await whatsapp_inbox.shards_with_unprocessed(
            self.pool(), self.settings.whatsapp_inbox_shards
        )

    async def work_shard(self, shard: int) -> int | None:
        """One batch of one shard; None when another worker holds it."""
        try:
            handled = await self.process_batch(shard)
        except MediaTemporarilyUnavailable as error:
            # Nothing was handled; the shard is tried again at the next poll.
            log.warning("whatsapp media not fetched; retrying", extra={"error": str(error)})
            handled = 0
        if self.clock() >= self.next_housekeeping:
            self.next_housekeeping = self.clock() + HOUSEKEEPING_SECONDS
            await self.forget_expired()
        return handled

    async def process_batch(self, shard: int | None = None) -> int:
        """One batch of `shard`, or one round over every shard; how many were handled."""
        shards = range(self.settings.whatsapp_inbox_shards) if shard is None else [shard]
        handled = 0
        for each in shards:
            async with self.pool().acquire() as conn:
                handled += (
                    await whatsapp.process_inbox_batch(
                        conn,
                        self.settings,
                        self.keys,
                        self.batch_size,
                        each,
                        self.settings.whatsapp_inbox_shards,
                    )
                    or 0
                )
        return handled

    async def forget_expired(self) -> None:
        async with self.pool().acquire() as conn:
            await whatsapp.forget_expired(conn)
