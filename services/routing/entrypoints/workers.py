"""Routing's background jobs, each a periodic scan on the shared worker loop
(`services.messaging.worker`): the deadline scheduler, and SP4N-LAPOR! forwarding."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

from services.messaging.worker import Worker, run_worker
from services.routing.adapters.sp4n import Sp4nForwarder
from services.routing.domain import NO_CONTACTS, EscalationContacts
from services.routing.entrypoints.access import Clock, PoolGetter
from services.routing.handlers.deadlines import scan_deadlines

log = logging.getLogger(__name__)
Job = Callable[[asyncio.Event], Awaitable[None]]


def deadline_job(
    pool: PoolGetter,
    clock: Clock,
    interval: float = 30.0,
    contacts: EscalationContacts = NO_CONTACTS,
) -> Job:
    """A ServiceRuntime background job scanning deadlines every `interval` seconds;
    escalations carry `contacts`' Setwapres address and case links."""

    async def scan() -> int:
        fired = await scan_deadlines(pool(), clock(), contacts)
        if fired:
            log.info("deadline alerts fired", extra={"count": fired})
        return fired

    worker = Worker(name="deadline scheduler", work=scan, poll=interval, batch_size=None)

    async def deadline_scheduler(stop: asyncio.Event) -> None:
        await run_worker(pool, worker, stop)

    return deadline_scheduler


def sp4n_job(forwarder: Sp4nForwarder, clock: Clock, interval: float = 2.0) -> Job:
    """A ServiceRuntime background job forwarding what is due every `interval` seconds, on
    one HTTP client for the job's life."""

    async def sp4n_forwarder(stop: asyncio.Event) -> None:
        async with httpx.AsyncClient() as client:

            async def forward() -> int:
                return await forwarder.forward_due(clock(), client)

            worker = Worker(name="SP4N-LAPOR! forwarder", work=forward, poll=interval)
            await run_worker(forwarder.pool, worker, stop)

    return sp4n_forwarder
