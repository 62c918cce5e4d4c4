"""Triage's stream topology: the faust topics, tables and three agents, each concurrency=1,
because faust tables are sharded by the partition of the stream that writes them and each
check needs its state keyed differently:

1. `triage` reads lapor.complaints.intake.v1 (keyed by complaint id), dead-letters what does
   not parse, ignores what is not a ComplaintReceived, and re-keys the complaint by reporter
   (a keyed hash of NIK, else phone, else email) onto `lapor-triage-by-reporter`;
2. `by_reporter` keeps the reporter's state (tables `reporter-repeats`, `reporter-daily`,
   `reporter-banned`): exact repeats, the daily limit, the ban list. It puts its findings in
   a header and re-keys the complaint by region and category onto `lapor-triage-by-area`;
3. `by_area` keeps the near-duplicate candidates of each region, category and time bucket
   (table `area-candidates`) and every decision by complaint id (table `decisions`), so a
   redelivered complaint re-emits the same decision (same event id) instead of deciding twice,
   and publishes it on lapor.complaints.triaged.v1.

A reviewer's ban (`POST /v1/review/{id}/ban|unban`) travels to stage 2 as a command on
`lapor-triage-by-reporter`, keyed by the reporter, since only that stage writes `reporter-banned`.

Every table is backed by its changelog topic, so a restart or a rebalance recovers the state.
Sends are not awaited one by one: the consumer waits for all of them before it commits a
source offset (`faust_transport.PendingSends`), so a crash redelivers rather than drops, and
the stores absorb the repeat.

Caveats honoured: concurrency=1 (faust loses messages above 1), and every exception is caught
per event and dead-lettered, because an exception in a faust agent acks the message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import faust

from schemas.events import ComplaintReceived, EventEnvelope, parse_event, serialize_event
from schemas.topics import (
    COMPLAINTS_INTAKE,
    COMPLAINTS_TRIAGED,
    DEFAULT_PARTITIONS,
    dead_letter_topic,
    topic_prefix,
)
from services.messaging.consumer import decode
from services.messaging.database import TRANSIENT_ERRORS
from services.messaging.deadletter import DeadLetter, dead_letter_headers
from services.messaging.faust_transport import pending_sends
from services.messaging.kafka import event_headers
from services.observability import (
    EVENTS_DEAD_LETTERED,
    EVENTS_IN,
    EVENTS_OUT,
    correlation_id_var,
)
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.adapters.repository import ReviewRepository
from services.triage.domain.duplicates import ReporterFindings
from services.triage.domain.review import Ban
from services.triage.domain.sealing import Keys
from services.triage.entrypoints.backoffice import Backoffice
from services.triage.handlers import review
from services.triage.handlers.stages import (
    area_of,
    check_reporter_of,
    decide,
    findings_json,
    keys_needed,
    reporter_of,
    resembling_complaints,
)
from services.triage.settings import SERVICE

log = logging.getLogger(__name__)

FINDINGS_HEADER = "x-triage-reporter-findings"
COMMAND_HEADER = "x-triage-command"
BAN_COMMAND = b"ban"
DB_RETRIES = 30

_RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
_INTERNAL = {**_RAW, "partitions": DEFAULT_PARTITIONS, "internal": True, "replicas": 1}


@dataclass(frozen=True)
class Topics:
    intake: faust.TopicT
    triaged: faust.TopicT
    dead_letters: faust.TopicT
    by_reporter: faust.TopicT
    by_area: faust.TopicT

    @classmethod
    def declare(cls, app: faust.App) -> Topics:
        return cls(
            intake=app.topic(COMPLAINTS_INTAKE.name, **_RAW),
            triaged=app.topic(COMPLAINTS_TRIAGED.name, **_RAW),
            dead_letters=app.topic(dead_letter_topic(SERVICE).name, **_RAW),
            by_reporter=app.topic(f"{topic_prefix()}lapor-triage-by-reporter", **_INTERNAL),
            by_area=app.topic(f"{topic_prefix()}lapor-triage-by-area", **_INTERNAL),
        )


@dataclass(frozen=True)
class Tables:
    # Written by `by_reporter` (keyed by reporter hash; never a raw NIK or phone).
    repeats: faust.TableT
    daily: faust.TableT
    banned: faust.TableT
    # Written by `by_area` (keyed by region|category|bucket, and by complaint id).
    candidates: faust.TableT
    decisions: faust.TableT

    @classmethod
    def declare(cls, app: faust.App) -> Tables:
        def table(name: str) -> faust.TableT:
            return app.Table(name, key_type=str, value_type=str)

        return cls(
            repeats=table("reporter-repeats"),
            daily=table("reporter-daily"),
            banned=table("reporter-banned"),
            candidates=table("area-candidates"),
            decisions=table("decisions"),
        )

    def all(self) -> tuple[faust.TableT, ...]:
        return (self.repeats, self.daily, self.banned, self.candidates, self.decisions)


def _headers(message: Any) -> dict[str, bytes]:
    raw = message.headers or ()
    items = raw.items() if isinstance(raw, Mapping) else raw
    return {str(key): bytes(value) for key, value in items}


async def _send(
    topic: faust.TopicT, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    """Hand the send to the producer; the consumer settles it before committing the source."""
    delivery = await topic.send(key=key, value=value, headers=headers)
    await pending_sends.add(delivery)


def _complaint(message: Any) -> ComplaintReceived:
    """The ComplaintReceived on an internal topic (stage 1 only forwards those)."""
    item = parse_event(message.value)
    if not isinstance(item, ComplaintReceived):
        raise TypeError(f"unexpected {item.event_type} on {message.topic}")
    return item


class TriageStream:
    """The three stages on `app`: their topics, tables and agents, and the ban command."""

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
        self.tables = Tables.declare(app)

    def add_agents(self) -> None:
        app, topics = self.app, self.topics

        @app.agent(topics.intake, concurrency=1)
        async def triage(stream: faust.StreamT) -> None:
            await self._each_event(stream, self.route_to_reporter)

        @app.agent(topics.by_reporter, concurrency=1)
        async def by_reporter(stream: faust.StreamT) -> None:
            await self._each_event(stream, self.check_reporter_stage)

        @app.agent(topics.by_area, concurrency=1)
        async def by_area(stream: faust.StreamT) -> None:
            await self._each_event(stream, self.decide_stage)

    def internal_topics(self) -> list[tuple[str, int, dict[str, str]]]:
        """The re-keying and changelog topics faust would create during start-up. They are
        created before faust starts, because its partition assignor can run before their
        metadata arrives and then ignores them for the whole generation (seen: a stage never
        assigned)."""
        topics = [
            (self.topics.by_reporter.get_topic_name(), DEFAULT_PARTITIONS, {}),
            (self.topics.by_area.get_topic_name(), DEFAULT_PARTITIONS, {}),
        ]
        for table in self.tables.all():
            name = table.changelog_topic.get_topic_name()
            topics.append((name, DEFAULT_PARTITIONS, {"cleanup.policy": "compact"}))
        return topics

    async def _each_event(
        self, stream: faust.StreamT, handle: Callable[[Any], Awaitable[None]]
    ) -> None:
        async for event in stream.events():
            try:
                await handle(event.message)
            except Exception as error:  # an exception would ack and drop the message
                log.exception("triage failed on a message")
                try:
                    reason = f"handler error: {type(error).__name__}: {error}"
                    await self.dead_letter(event.message, reason)
                except Exception:
                    log.exception(
                        "dead-letter publish failed; stopping so the message is redelivered"
                    )
                    raise

    async def dead_letter(self, message: Any, reason: str) -> None:
        letter = DeadLetter(
            message.topic, message.partition, message.offset, message.key, message.value, reason
        )
        headers = dead_letter_headers(letter, SERVICE)
        await _send(self.topics.dead_letters, message.key, message.value or b"", headers)
        EVENTS_DEAD_LETTERED.labels(SERVICE).inc()
        log.warning(
            "dead-lettered message",
            extra={"source_topic": message.topic, "offset": message.offset, "reason": reason[:300]},
        )

    async def route_to_reporter(self, message: Any) -> None:
        """Stage 1: validate the envelope and re-key the complaint by its reporter."""
        EVENTS_IN.labels(SERVICE, message.topic).inc()
        item = decode(message)
        if isinstance(item, str):
            await self.dead_letter(message, item)
            return
        if not isinstance(item, ComplaintReceived):
            return  # ComplaintUpdated and conversation events: nothing to decide
        key = reporter_of(item, self.reporter_key).encode()
        await _send(self.topics.by_reporter, key, message.value, event_headers(item))

    async def check_reporter_stage(self, message: Any) -> None:
        """Stage 2: the reporter's repeats, daily count and ban; re-key by region and category.
        A reviewer's ban arrives here too, as a command keyed by the reporter: the `banned`
        table is written only by this stage, on the partition that owns the reporter."""
        if _headers(message).get(COMMAND_HEADER) == BAN_COMMAND:
            self._apply_ban(message)
            return
        item = _complaint(message)
        tables = self.tables
        findings = check_reporter_of(
            item, self.reporter_key, tables.repeats, tables.daily, tables.banned
        )
        headers = [*event_headers(item), (FINDINGS_HEADER, findings_json(findings).encode())]
        # The area's category comes from the chronology: opened in memory; the sealed
        # original travels on.
        area = area_of(await self.personal_data.readable(item))
        await _send(self.topics.by_area, area.encode(), message.value, headers)

    def _apply_ban(self, message: Any) -> None:
        reporter = (message.key or b"").decode()
        ban = json.loads(message.value)
        banned = self.tables.banned
        if ban.get("banned"):
            banned[reporter] = json.dumps({"by": ban.get("by"), "note": ban.get("note")})
        elif reporter in banned:
            del banned[reporter]
        log.info("reporter ban applied", extra={"banned": bool(ban.get("banned"))})

    async def send_ban(self, ban: Ban) -> None:
        """A reviewer's ban to stage 2, on the broker before the reviewer hears "done"."""
        headers = [(COMMAND_HEADER, BAN_COMMAND)]
        await _send(self.topics.by_reporter, ban.reporter_key.encode(), ban.command(), headers)
        await pending_sends.settle()

    async def decide_stage(self, message: Any) -> None:
        """Stage 3: near duplicates in the area, the decision, remembered by complaint id."""
        # The chronology and the NIK/phone checks need the fields opened (in memory only).
        received = _complaint(message)
        item = await self.personal_data.readable(received)
        raw_findings = _headers(message).get(FINDINGS_HEADER)
        findings = ReporterFindings.from_json(json.loads(raw_findings)) if raw_findings else None
        token = correlation_id_var.set(str(item.correlation_id))
        try:
            candidates = self.tables.candidates
            known = await self.personal_data.data_keys(keys_needed(received, item, candidates))
            keys = Keys.of(received.payload.description, known)
            decision = decide(item, findings, candidates, self.tables.decisions, keys)
            if decision.event_type == "ComplaintNeedsReview":
                reporter = findings.reporter if findings else None
                similar = resembling_complaints(item, candidates, keys)
                await self._queue_for_review(item, received, decision, reporter, similar)
            key = str(item.complaint_id).encode()
            triaged = self.topics.triaged
            await _send(triaged, key, serialize_event(decision), event_headers(decision))
            EVENTS_OUT.labels(SERVICE, triaged.get_topic_name()).inc()
            log.info("complaint triaged", extra={"decision": decision.event_type})
        finally:
            correlation_id_var.reset(token)

    async def _queue_for_review(
        self,
        item: ComplaintReceived,
        received: ComplaintReceived,
        decision: EventEnvelope,
        reporter: str | None,
        similar: list[dict[str, Any]],
    ) -> None:
        """Into the review queue (the chronology as `received`, sealed; the complaints it
        resembles) before the decision is published; retried through short outages."""
        for attempt in range(DB_RETRIES):
            try:
                repository = ReviewRepository(await self.backoffice.wait_pool())
                await review.enqueue(
                    repository, item, decision, reporter, sealed=received, similar=similar
                )
                return
            except TRANSIENT_ERRORS as error:  # TimeoutError (pool not ready) included
                if attempt == DB_RETRIES - 1:
                    raise
                log.warning("review queue unavailable; retrying", extra={"error": repr(error)})
                await asyncio.sleep(1)
