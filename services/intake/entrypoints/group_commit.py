"""Group commit, the one loop behind the web API's filings (`group_filing`) and the WhatsApp
webhook's persist-then-200 (`whatsapp_webhook`): concurrent requests each hand an item over
and wait; the loop commits whatever has queued up (up to `max_batch`) in one call (one
transaction, one statement per table), and answers each request only after the commit, so an
answer still means durably stored.

Nothing waits for a timer: while one group commits the next one gathers, so a lone request
is committed at once and a busy intake commits hundreds at a time. If a group fails for any
reason other than the database being down, each of its items is committed again as a group
of one, so one odd request cannot fail its neighbours. Without its loop running (in-process
tests, tools) each item is committed on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import asyncpg

from services.messaging.database import TRANSIENT_ERRORS

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class Request(Generic[Item, Result]):
    item: Item
    answer: asyncio.Future[Result] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[Item, Result]):
    """Subclasses say how a group is committed (`commit`: one result per item, in order) and
    may hold items back for the next group (`split`)."""

    name = "group commit"

    def __init__(self, pool: Callable[[], asyncpg.Pool], *, max_batch: int = 256) -> None:
        self.pool = pool
        self.max_batch = max_batch
        self._queue: asyncio.Queue[Request[Item, Result]] = asyncio.Queue()
        self.running = False
        self.batches = 0  # transactions that committed a group (for tests and metrics)

    async def commit(self, conn: asyncpg.Connection, items: list[Item]) -> list[Result]:
        raise NotImplementedError

    def split(self, items: list[Item]) -> list[bool]:
        """Which of the gathered items go into this group (False: the next one)."""
        return [True] * len(items)

    async def submit(self, item: Item) -> Result:
        request: Request[Item, Result] = Request(item)
        if not self.running:
            await self._commit_alone(request)
        else:
            self._queue.put_nowait(request)
        return await request.answer

    async def run(self, stop: asyncio.Event) -> None:
        self.running = True
        try:
            while not stop.is_set():
                getter = asyncio.ensure_future(self._queue.get())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait([getter, stopper], return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not getter.done():
                    getter.cancel()
                    break
                batch = [getter.result()]
                while len(batch) < self.max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._commit_batch(batch)
        finally:
            self.running = False
            while not self._queue.empty():  # accepted while stopping: still committed, one by one
                await self._commit_alone(self._queue.get_nowait())

    async def _commit_batch(self, batch: list[Request[Item, Result]]) -> None:
        taken = self.split([request.item for request in batch])
        group = [request for request, take in zip(batch, taken, strict=True) if take]
        for request, take in zip(batch, taken, strict=True):
            if not take:
                self._queue.put_nowait(request)
        self.batches += 1
        delay = 0.2
        while True:
            try:
                async with self.pool().acquire() as conn:
                    results = await self.commit(conn, [request.item for request in group])
                break
            except TRANSIENT_ERRORS as error:
                log.warning(
                    f"{self.name}: database unavailable; retrying", extra={"error": repr(error)}
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:
                log.exception(f"{self.name} failed; committing its requests one by one")
                for request in group:
                    await self._commit_alone(request)
                return
        for request, result in zip(group, results, strict=True):
            if not request.answer.done():
                request.answer.set_result(result)

    async def _commit_alone(self, request: Request[Item, Result]) -> None:
        """A group of one, answering the request with the result or the error."""
        if request.answer.done():
            return
        try:
            async with self.pool().acquire() as conn:
                (result,) = await self.commit(conn, [request.item])
            request.answer.set_result(result)
        except Exception as error:
            with contextlib.suppress(asyncio.InvalidStateError):
                request.answer.set_exception(error)
