"""Triage's stream: one faust agent (concurrency=1) reads lapor.complaints.intake.v1 in batches
(`take_events(BATCH_SIZE, within=BATCH_SECONDS)`) and takes each batch through
`handlers.batch.triage_batch` in one PostgreSQL transaction, which also puts the decisions in
the outbox; the back office's outbox relay publishes them on lapor.complaints.triaged.v1.

A complaint costs one consumed and one produced Kafka message: no re-keying topics, no faust
tables and no changelog writes. The state keyed by reporter, area and complaint lives in
PostgreSQL (`adapters.state`), serialised per area and reporter by advisory locks, so two
instances never both accept near duplicates of one area.

Each event is parsed once: what does not parse is dead-lettered with the reason, what is not a
ComplaintReceived (ComplaintUpdated, conversation events) is passed over, the rest goes to the
batch. faust acks the batch's events when the agent asks for the next batch, i.e. after the
transaction committed, and commits offsets only after every dead letter sent is on the broker
(`faust_transport.PendingSends`). A database outage is retried (the batch is never dead-lettered
for it); a batch that fails otherwise is redone one complaint at a time, so only the complaint
that fails alone is dead-lettered.

Caveats honoured: concurrency=1 (faust loses messages above 1), and every exception is caught
per event and dead-lettered, because an exception in a faust agent acks its messages.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import EventT

from schemas.events import ComplaintReceived
from schemas.topics import COMPLAINTS_INTAKE, dead_letter_topic
from services.messaging.consumer import decode
from services.messaging.database import TRANSIENT_ERRORS
from services.messaging.deadletter import DeadLetter, dead_letter_headers
from services.messaging.faust_transport import pending_sends
from services.observability import EVENTS_DEAD_LETTERED, EVENTS_IN, HANDLE_SECONDS
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.entrypoints.backoffice import Backoffice
from services.triage.handlers.batch import BatchOutcome, triage_batch
from services.triage.settings import SERVICE

log = logging.getLogger(__name__)

# At most this many events per batch (one transaction); a batch closes after BATCH_SECONDS
# when fewer arrive, so a lone complaint waits that long at most.
BATCH_SIZE = 500
BATCH_SECONDS = 0.05
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)

_RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


class Stopping(Exception):
    """The app stops while the database is away: the batch must be read again, not acked."""


@dataclass(frozen=True)
class Topics:
    intake: faust.TopicT
    dead_letters: faust.TopicT

    @classmethod
    def declare(cls, app: faust.App) -> Topics:
        return cls(
            intake=app.topic(COMPLAINTS_INTAKE.name, **_RAW),
            dead_letters=app.topic(dead_letter_topic(SERVICE).name, **_RAW),
        )


Received = tuple[Any, ComplaintReceived]  # (the faust message, the event parsed from it)


class TriageStream:
    """The agent on `app` and what it does with each batch."""

    def __init__(
        self,
        app: faust.App,
        reporter_key: bytes,
        backoffice: Backoffice,
        personal_data: PersonalDataReader,
    ) -> None:
        self.app = app
        self.reporter_key = reporter_key
        self.backoffice = backoffice
        self.personal_data = personal_data
        self.topics = Topics.declare(app)

    def add_agents(self) -> None:
        @self.app.agent(self.topics.intake, concurrency=1)
        async def triage(stream: faust.StreamT) -> None:
            async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
                try:
                    await self.handle(events)
                except Stopping:
                    _forget(self.app, events)  # not acked: read again after the restart
                    return
                except Exception:
                    log.exception("dead-letter publish failed; stopping so the batch is re-read")
                    _forget(self.app, events)
                    raise

    async def handle(self, events: Sequence[EventT]) -> None:
        """Dead-letter what does not parse, decide the complaints, dead-letter what fails."""
        started = time.perf_counter()
        complaints: list[Received] = []
        for event in events:
            message = event.message
            EVENTS_IN.labels(SERVICE, message.topic).inc()
            item = decode(message)
            if isinstance(item, str):
                await self.dead_letter(message, item)
            elif isinstance(item, ComplaintReceived):
                complaints.append((message, item))
        if complaints:
            for message, error in await self._decide(complaints):
                await self.dead_letter(message, f"handler error: {type(error).__name__}: {error}")
        HANDLE_SECONDS.labels(SERVICE).observe(time.perf_counter() - started)  # per batch

    async def _decide(self, complaints: list[Received]) -> list[tuple[Any, Exception]]:
        """The batch in one transaction; if it fails other than on infrastructure, each
        complaint alone, so only the failing ones are returned (to be dead-lettered)."""
        try:
            outcome = await self._with_database(complaints)
        except (Stopping, *TRANSIENT_ERRORS):
            raise
        except Exception as error:
            if len(complaints) == 1:
                log.exception("triage failed on a complaint")
                return [(complaints[0][0], error)]
            failed: list[tuple[Any, Exception]] = []
            for one in complaints:
                failed += await self._decide([one])
            return failed
        _log_decisions(outcome)
        by_event = {id(event): message for message, event in complaints}
        return [(by_event[id(event)], error) for event, error in outcome.failed]

    async def _with_database(self, complaints: list[Received]) -> BatchOutcome:
        """`triage_batch`, retried through database outages until the app stops."""
        events = [event for _, event in complaints]
        for attempt in itertools.count():
            try:
                pool = await self.backoffice.wait_pool()
                async with pool.acquire() as conn:
                    outcome = await triage_batch(
                        conn, self.personal_data, self.reporter_key, events
                    )
                return outcome
            except TRANSIENT_ERRORS as error:
                if self.app.should_stop or self.backoffice.stopping.is_set():
                    raise Stopping from error
                log.warning("triage database unavailable; retrying", extra={"error": repr(error)})
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
        raise AssertionError("unreachable")  # pragma: no cover

    async def dead_letter(self, message: Any, reason: str) -> None:
        letter = DeadLetter(
            message.topic, message.partition, message.offset, message.key, message.value, reason
        )
        headers = dead_letter_headers(letter, SERVICE)
        delivery = await self.topics.dead_letters.send(
            key=message.key, value=message.value or b"", headers=headers
        )
        await pending_sends.add(delivery)  # settled before the source offset is committed
        EVENTS_DEAD_LETTERED.labels(SERVICE).inc()
        log.warning(
            "dead-lettered message",
            extra={"source_topic": message.topic, "offset": message.offset, "reason": reason[:300]},
        )


def _log_decisions(outcome: BatchOutcome) -> None:
    """One line per batch for the operators: how many of each decision, never whose."""
    taken = Counter(t.decision.event_type for t in outcome.triaged if t.fresh)
    replayed = sum(not t.fresh for t in outcome.triaged)
    log.info(
        "complaints triaged",
        extra={"decisions": dict(taken), "replayed": replayed, "failed": len(outcome.failed)},
    )


def _forget(app: faust.App, events: Sequence[EventT]) -> None:
    """Mark the batch's messages handled without acking them, so neither `take_events` nor a
    stop commits their offsets: the group reads them again from the last commit."""
    unacked = getattr(app.consumer, "_unacked_messages", set())
    for event in events:
        event.message.acked = True
        unacked.discard(event.message)
