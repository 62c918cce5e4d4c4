"""Group commit for the web API's filings: concurrent `POST /v1/complaints` requests are filed
together, in one transaction with a handful of statements, instead of one transaction (and
about eighteen round trips) each.

A request hands its validated submission to `GroupFiler.file` and waits. The filer's loop takes
whatever has queued up (up to `max_batch`) and, in one transaction:
1. finds the idempotency keys already used (those requests are replays);
2. applies the per-phone / per-NIK limit to the rest, in request order, with one lock statement
   over every subject, one read of the window and one insert of the admitted events;
3. finds or creates every reporter's data key (`Keystore.keys_for`) and seals each complaint;
4. inserts the complaints, their timeline rows and their `ComplaintReceived` outbox rows.
It answers every request only after the commit, so a 202 still means durably stored.

Nothing waits for a timer: while one batch commits the next one gathers, so a lone request
is filed at once and a busy intake files hundreds per commit. If the batch fails for any reason
other than the database being down, each request is filed again on its own through the
one-by-one path (`filing.file_complaint`), so one odd request cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from schemas.events import ComplaintReceived
from services.intake import filing, repository, throttle
from services.intake.domain.complaints import Submission, complaint_received, reporter_identity
from services.intake.domain.tracking import new_tracking_code
from services.intake.settings import IntakeSettings
from services.messaging import outbox
from services.messaging.database import TRANSIENT_ERRORS
from services.personal_data.field_crypto import seal_model
from services.personal_data.keystore import Keystore, default_keystore

log = logging.getLogger(__name__)


@dataclass
class Request:
    submission: Submission
    idempotency_key: str | None
    fingerprint: str
    answer: asyncio.Future[filing.Filed | float] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupFiler:
    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        settings: IntakeSettings,
        *,
        keys: Keystore | None = None,
        max_batch: int = 256,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.keys = keys
        self.max_batch = max_batch
        self._queue: asyncio.Queue[Request] = asyncio.Queue()
        self.running = False
        self.batches = 0  # transactions that filed a group (for tests and metrics)

    async def file(
        self,
        submission: Submission,
        *,
        idempotency_key: str | None,
        fingerprint: str,
    ) -> filing.Filed | float:
        """The filed complaint, or the seconds to wait when a limit refuses it."""
        request = Request(submission, idempotency_key, fingerprint)
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
        # Two requests with one idempotency key: the later one waits for the next batch,
        # where it finds the first one's complaint and becomes its replay.
        now_batch, later = [], []
        seen_keys: set[str] = set()
        for request in batch:
            key = request.idempotency_key
            (later if key is not None and key in seen_keys else now_batch).append(request)
            if key is not None:
                seen_keys.add(key)
        for request in later:
            self._queue.put_nowait(request)
        delay = 0.2
        self.batches += 1
        while True:
            try:
                answers = await self._in_one_transaction(now_batch)
                break
            except TRANSIENT_ERRORS as error:
                log.warning(
                    "group filing: database unavailable; retrying", extra={"error": repr(error)}
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:
                log.exception("group filing failed; filing its requests one by one")
                for request in now_batch:
                    await self._file_alone(request)
                return
        for request, answer in zip(now_batch, answers, strict=True):
            if isinstance(answer, Exception):
                await self._file_alone(request)
            elif not request.answer.done():
                request.answer.set_result(answer)

    async def _in_one_transaction(
        self, batch: list[Request]
    ) -> list[filing.Filed | float | Exception]:
        answers: list[filing.Filed | float | Exception | None] = [None] * len(batch)
        keys = self.keys or default_keystore()
        async with self.pool().acquire() as conn, conn.transaction():
            existing = await repository.find_by_idempotency_keys(
                conn, [r.idempotency_key for r in batch if r.idempotency_key]
            )
            fresh: list[int] = []
            for index, request in enumerate(batch):
                stored = existing.get(request.idempotency_key or "")
                if stored is not None:
                    answers[index] = filing.replay(stored, request.fingerprint)
                else:
                    fresh.append(index)

            waits = await throttle.admit_many(
                conn,
                throttle.COMPLAINT,
                [self._subjects(batch[i].submission) for i in fresh],
                self.settings.complaints_per_reporter_per_hour,
            )
            admitted = []
            for index, wait in zip(fresh, waits, strict=True):
                if wait > 0:
                    answers[index] = wait
                else:
                    admitted.append(index)

            received_at = datetime.now(UTC)
            events: dict[int, ComplaintReceived] = {}
            for index in admitted:
                events[index] = complaint_received(
                    batch[index].submission, uuid.uuid4(), new_tracking_code(), received_at
                )
            identities = {i: reporter_identity(batch[i].submission) for i in admitted}
            data_keys = await keys.keys_for(
                conn, [identity for identity in identities.values() if identity]
            )
            for index in admitted:
                identity = identities[index]
                # No identity (not possible for the web API, which requires NIK and phone):
                # let the one-by-one path give it its own key.
                if identity is None:
                    answers[index] = RuntimeError("no reporter identity")
                    continue
                events[index] = seal_model(events[index], data_keys[identity])
            to_store = [i for i in admitted if answers[i] is None]
            stored_ids = await repository.record_complaints(
                conn,
                [(events[i], batch[i].idempotency_key, batch[i].fingerprint) for i in to_store],
            )
            for index in to_store:
                event = events[index]
                if event.complaint_id in stored_ids:
                    answers[index] = filing.Filed(
                        event.payload.tracking_code, event.complaint_id, replayed=False
                    )
                else:  # a twin filed elsewhere meanwhile, or a tracking-code clash
                    answers[index] = RuntimeError("not stored in the batch")
            await outbox.enqueue(
                conn, [events[i] for i in to_store if events[i].complaint_id in stored_ids]
            )
        assert all(answer is not None for answer in answers)
        return answers  # type: ignore[return-value]

    def _subjects(self, submission: Submission) -> list[str]:
        return throttle.reporter_subjects(self.settings, phone=submission.phone, nik=submission.nik)

    async def _file_alone(self, request: Request) -> None:
        """The one-by-one path: the same checks, each request in its own transactions."""
        if request.answer.done():
            return
        try:
            async with self.pool().acquire() as conn:
                wait = await throttle.admit_complaint(
                    conn,
                    self.settings,
                    phone=request.submission.phone,
                    nik=request.submission.nik,
                    idempotency_key=request.idempotency_key,
                )
                if wait:
                    request.answer.set_result(wait)
                    return
                filed = await filing.file_complaint(
                    conn,
                    request.submission,
                    idempotency_key=request.idempotency_key,
                    fingerprint=request.fingerprint,
                    keys=self.keys,
                )
            request.answer.set_result(filed)
        except Exception as error:
            with contextlib.suppress(asyncio.InvalidStateError):
                request.answer.set_exception(error)
