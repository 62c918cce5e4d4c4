"""The sender's background job: the shared worker loop around `Sender.run_once`. No leader:
every instance works, and the claim (FOR UPDATE SKIP LOCKED) divides the rows; each recorded
send wakes it (LISTEN), and it works batch after batch until one comes back short."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from services.messaging.deadletter import DeadLetterPublisher
from services.messaging.worker import Worker, run_worker
from services.notifier.adapters.channels import build_adapters, http_session
from services.notifier.adapters.repository import WAKE_CHANNEL
from services.notifier.handlers.sending import Sender, SenderConfig
from services.notifier.settings import NotifierSettings
from services.runtime.lifecycle import ServiceRuntime


def sender_worker(sender: Sender) -> Worker:
    return Worker(
        name="sender",
        work=sender.run_once,
        poll=sender.config.poll_interval,
        batch_size=sender.config.batch_size,
        listen=WAKE_CHANNEL,
    )


def sender_job(
    runtime: ServiceRuntime, settings: NotifierSettings, config: SenderConfig
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The runtime's background job: the providers' HTTP session lives as long as it runs."""

    async def sender(stop: asyncio.Event) -> None:
        assert runtime.pool is not None and runtime.producer is not None
        assert runtime.keys is not None
        async with http_session(settings) as session:
            job = Sender(
                runtime.pool,
                build_adapters(settings, session),
                DeadLetterPublisher(runtime.producer, runtime.service),
                config,
                runtime.keys,
            )
            await run_worker(runtime.pool, sender_worker(job), stop)

    return sender
