"""The WhatsApp inbox worker: the webhook persists messages and answers 200 at once; this
worker then handles each message in arrival order (`handlers.whatsapp`).

It runs on the shared worker loop (`services.messaging.worker`): one instance leads per
service (advisory lock), so one citizen's messages are handled in order; it works in batches
until a batch comes back short, and the webhook wakes it when new messages arrive. A
document the Graph API could not serve this time rolls the batch back and it is tried again
at the next poll (Meta keeps media for 7 days). Its
housekeeping (expired drafts, old inbox ids, old limit counters) rides along every minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg

from services.intake.adapters.whatsapp_media import MediaTemporarilyUnavailable
from services.intake.handlers import whatsapp
from services.intake.settings import IntakeSettings
from services.messaging.worker import Worker, run_worker
from services.personal_data.keystore import Keystore

HOUSEKEEPING_SECONDS = 60.0
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
        self.worker = Worker(
            name="whatsapp inbox",
            work=self.work,
            poll=poll,
            batch_size=batch_size,
            leader_lock="lapor-intake-whatsapp-inbox",
        )

    async def run(self, stop: asyncio.Event) -> None:
        await run_worker(self.pool, self.worker, stop, self.wake)

    async def work(self) -> int:
        try:
            handled = await self.process_batch()
        except MediaTemporarilyUnavailable as error:
            # The batch rolled back; the message is tried again at the next poll.
            log.warning("whatsapp media not fetched; retrying", extra={"error": str(error)})
            handled = 0
        if self.clock() >= self.next_housekeeping:
            await self.forget_expired()
            self.next_housekeeping = self.clock() + HOUSEKEEPING_SECONDS
        return handled

    async def process_batch(self) -> int:
        async with self.pool().acquire() as conn:
            return await whatsapp.process_inbox_batch(
                conn, self.settings, self.keys, self.batch_size
            )

    async def forget_expired(self) -> None:
        async with self.pool().acquire() as conn:
            await whatsapp.forget_expired(conn)
