"""Group commit for the web API's filings: concurrent `POST /v1/complaints` requests are filed
together, in one `file_complaints` call (one transaction, one statement per table), instead of
one transaction (and about eighteen round trips) each.

A request hands its filing command to `GroupFiler.file` and waits. The filer's loop takes
whatever has queued up (up to `max_batch`) and files it as one group; it answers every request
only after the commit, so a 202 still means durably stored.

Nothing waits for a timer: while one group commits the next one gathers, so a lone request
is filed at once and a busy intake files hundreds per commit. If the group fails for any
reason other than the database being down, each request is filed again as a group of one,
so one odd request cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from services.intake.handlers.filing import FileComplaint, FilingOutcome, file_complaints
from services.intake.settings import IntakeSettings
from services.messaging.database import TRANSIENT_ERRORS
from services.personal_data.keystore import Keystore

log = logging.getLogger(__name__)


@dataclass
class Request:
    command: FileComplaint
    answer: asyncio.Future[FilingOutcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupFiler:
    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        settings: IntakeSettings,
        keys: Keystore,
        *,
        max_batch: int = 256,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.keys = keys
        self.max_batch = max_batch
        self._queue: asyncio.Queue[Request] = asyncio.Queue()
        self.running = False
        self.batches = 0  # transactions that filed a group (for tests and metrics)

    async def file(self, command: FileComplaint) -> FilingOutcome:
        """The filed complaint, or the seconds to wait when a limit refuses it."""
        request = Request(command)
        if not self.running:  # no loop (in-process tests, tools): file it on its own
            await self._file_alone(request)
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
                await self._file_batch(batch)
        finally:
            self.running = False
            while not self._queue.empty():  # accepted while stopping: still filed, one by one
                await self._file_alone(self._queue.get_nowait())

    async def _file_batch(self, batch: list[Request]) -> None:
        group = self._defer_repeated_keys(batch)
        self.batches += 1
        delay = 0.2
        while True:
            try:
                async with self.pool().acquire() as conn:
                    outcomes = await self._file_group(conn, group)
                break
            except TRANSIENT_ERRORS as error:
                log.warning(
                    "group filing: database unavailable; retrying", extra={"error": repr(error)}
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:
                log.exception("group filing failed; filing its requests one by one")
                for request in group:
                    await self._file_alone(request)
                return
        for request, outcome in zip(group, outcomes, strict=True):
            if not request.answer.done():
                request.answer.set_result(outcome)

    def _defer_repeated_keys(self, batch: list[Request]) -> list[Request]:
        """Two requests with one idempotency key: the later one waits for the next group,
        where it finds the first one's complaint and becomes its replay."""
        group: list[Request] = []
        seen_keys: set[str] = set()
        for request in batch:
            key = request.command.idempotency_key
            if key is not None and key in seen_keys:
                self._queue.put_nowait(request)
            else:
                group.append(request)
            if key is not None:
                seen_keys.add(key)
        return group

    async def _file_group(
        self, conn: asyncpg.Connection, group: list[Request]
    ) -> list[FilingOutcome]:
        return await file_complaints(
            conn,
            [request.command for request in group],
            settings=self.settings,
            keys=self.keys,
        )

    async def _file_alone(self, request: Request) -> None:
        """A group of one, answering the request with the outcome or the error."""
        if request.answer.done():
            return
        try:
            async with self.pool().acquire() as conn:
                (outcome,) = await self._file_group(conn, [request])
            request.answer.set_result(outcome)
        except Exception as error:
            with contextlib.suppress(asyncio.InvalidStateError):
                request.answer.set_exception(error)
