"""Triage's faust-streaming application (the Kafka adapter and entrypoint wiring).

Three agents, each with concurrency=1, because faust tables are sharded by the partition of
the stream that writes them and each check needs its state keyed differently:

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
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
import faust
import mode
from faust.types import TransportT
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from schemas.events import ComplaintReceived, parse_event, serialize_event
from schemas.topics import (
    COMPLAINTS_INTAKE,
    COMPLAINTS_TRIAGED,
    DEFAULT_PARTITIONS,
    consumer_group,
    dead_letter_topic,
    topic_prefix,
)
from services.messaging.consumer import decode
from services.messaging.database import TRANSIENT_ERRORS, create_pool, migrate
from services.messaging.deadletter import DeadLetter, dead_letter_headers
from services.messaging.faust_transport import IdempotentTransport, pending_sends
from services.messaging.kafka import event_headers, make_producer
from services.messaging.outbox import OutboxRelay
from services.runtime.lifecycle import Settings
from services.runtime.observability import (
    EVENTS_DEAD_LETTERED,
    EVENTS_IN,
    EVENTS_OUT,
    correlation_id_var,
)
from services.triage import personal, review
from services.triage.domain.duplicates import ReporterFindings
from services.triage.handlers import (
    area_of,
    check_reporter_of,
    decide,
    findings_json,
    reporter_of,
)

SERVICE = "triage"
DEFAULT_PORT = 8001
log = logging.getLogger(__name__)


class TriageApp(faust.App):
    def _new_transport(self) -> TransportT:
        return IdempotentTransport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> TransportT:
        return IdempotentTransport(self.conf.broker_producer, self)


settings = Settings()
app = TriageApp(
    consumer_group(SERVICE),
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",
    topic_partitions=DEFAULT_PARTITIONS,
    topic_replication_factor=1,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    producer_max_request_size=8 * 1024 * 1024,
    web_host=settings.http_host,
    web_port=settings.http_port or DEFAULT_PORT,
    web_in_thread=False,
    table_standby_replicas=0,
    # Tables use the memory store (state lives in changelog topics); faust still wants a dir.
    datadir=tempfile.mkdtemp(prefix="lapor-triage-"),
    broker_commit_every=500,
    broker_commit_interval=1.0,
    # A SIGKILLed instance holds its partitions until its session expires; faust's 60 s
    # default left the group idle that long after every crash.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
    broker_rebalance_timeout=30.0,
)

_raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
_internal = {**_raw, "partitions": DEFAULT_PARTITIONS, "internal": True, "replicas": 1}
intake_topic = app.topic(COMPLAINTS_INTAKE.name, **_raw)
triaged_topic = app.topic(COMPLAINTS_TRIAGED.name, **_raw)
dead_letters = app.topic(dead_letter_topic(SERVICE).name, **_raw)
by_reporter_topic = app.topic(f"{topic_prefix()}lapor-triage-by-reporter", **_internal)
by_area_topic = app.topic(f"{topic_prefix()}lapor-triage-by-area", **_internal)

# Written by `by_reporter` (keyed by reporter hash; never a raw NIK or phone).
repeats = app.Table("reporter-repeats", key_type=str, value_type=str)
daily = app.Table("reporter-daily", key_type=str, value_type=str)
banned = app.Table("reporter-banned", key_type=str, value_type=str)
# Written by `by_area` (keyed by region|category|bucket, and by complaint id).
candidates = app.Table("area-candidates", key_type=str, value_type=str)
decisions = app.Table("decisions", key_type=str, value_type=str)


def internal_topics() -> list[tuple[str, int, dict[str, str]]]:
    """The re-keying and changelog topics faust would create during start-up. They are
    created before faust starts, because its partition assignor can run before their metadata
    arrives and then ignores them for the whole generation (seen: a stage never assigned)."""
    topics = [
        (by_reporter_topic.get_topic_name(), DEFAULT_PARTITIONS, {}),
        (by_area_topic.get_topic_name(), DEFAULT_PARTITIONS, {}),
    ]
    for table in (repeats, daily, banned, candidates, decisions):
        name = table.changelog_topic.get_topic_name()
        topics.append((name, DEFAULT_PARTITIONS, {"cleanup.policy": "compact"}))
    return topics


FINDINGS_HEADER = "x-triage-reporter-findings"
COMMAND_HEADER = "x-triage-command"
BAN_COMMAND = b"ban"
# The key of the reporter hash. Rotating it forgets every reporter's history (by design).
REPORTER_KEY = os.environ.get("LAPOR_TRIAGE_REPORTER_KEY", "lapor-dev-reporter-key").encode()
REVIEWERS = review.parse_reviewers(os.environ.get("LAPOR_TRIAGE_REVIEWERS", ""))
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DB_SCHEMA = "triage"
DB_RETRIES = 30


class Backoffice(mode.Service):
    """The review queue's PostgreSQL pool and the outbox relay that publishes its decisions."""

    def __init__(self, **kwargs: Any) -> None:
        self.pool: asyncpg.Pool | None = None
        self.ready = asyncio.Event()
        self.stopping = asyncio.Event()
        self.running: asyncio.Task[None] | None = None
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        self.running = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.pool = await create_pool(settings.database_url, DB_SCHEMA, max_size=4)
                await migrate(self.pool, DB_SCHEMA, MIGRATIONS)
                break
            except TRANSIENT_ERRORS as error:
                log.warning("review database unavailable; retrying", extra={"error": repr(error)})
                await asyncio.sleep(2)
        if self.pool is None:
            return
        producer = make_producer(settings.kafka_bootstrap, f"{SERVICE}-outbox")
        await producer.start()
        self.ready.set()
        try:
            await OutboxRelay(self.pool, producer, SERVICE, DB_SCHEMA).run(self.stopping)
        finally:
            await producer.stop()

    async def on_stop(self) -> None:
        """Let the relay drain the outbox before the pool closes."""
        self.stopping.set()
        if self.running is not None:
            try:
                await asyncio.wait_for(self.running, timeout=15)
            except Exception:
                log.exception("review back office did not stop cleanly")
        if self.pool is not None:
            await self.pool.close()


backoffice = Backoffice()


@app.task
async def start_backoffice() -> None:
    await app.add_runtime_dependency(backoffice)  # stopped with the app


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


async def dead_letter(message: Any, reason: str) -> None:
    letter = DeadLetter(
        message.topic, message.partition, message.offset, message.key, message.value, reason
    )
    await _send(
        dead_letters, message.key, message.value or b"", dead_letter_headers(letter, SERVICE)
    )
    EVENTS_DEAD_LETTERED.labels(SERVICE).inc()
    log.warning(
        "dead-lettered message",
        extra={"source_topic": message.topic, "offset": message.offset, "reason": reason[:300]},
    )


def _complaint(message: Any) -> ComplaintReceived:
    """The ComplaintReceived on an internal topic (stage 1 only forwards those)."""
    item = parse_event(message.value)
    if not isinstance(item, ComplaintReceived):
        raise TypeError(f"unexpected {item.event_type} on {message.topic}")
    return item


async def route_to_reporter(message: Any) -> None:
    """Stage 1: validate the envelope and re-key the complaint by its reporter."""
    EVENTS_IN.labels(SERVICE, message.topic).inc()
    item = decode(message)
    if isinstance(item, str):
        await dead_letter(message, item)
        return
    if not isinstance(item, ComplaintReceived):
        return  # ComplaintUpdated and conversation events: nothing to decide
    key = reporter_of(item, REPORTER_KEY).encode()
    await _send(by_reporter_topic, key, message.value, event_headers(item))


async def check_reporter_stage(message: Any) -> None:
    """Stage 2: the reporter's repeats, daily count and ban; re-key by region and category.
    A reviewer's ban arrives here too, as a command keyed by the reporter: the `banned` table
    is written only by this stage, on the partition that owns the reporter."""
    if _headers(message).get(COMMAND_HEADER) == BAN_COMMAND:
        reporter = (message.key or b"").decode()
        ban = json.loads(message.value)
        if ban.get("banned"):
            banned[reporter] = json.dumps({"by": ban.get("by"), "note": ban.get("note")})
        elif reporter in banned:
            del banned[reporter]
        log.info("reporter ban applied", extra={"banned": bool(ban.get("banned"))})
        return
    item = _complaint(message)
    findings = check_reporter_of(item, REPORTER_KEY, repeats, daily, banned)
    headers = [*event_headers(item), (FINDINGS_HEADER, findings_json(findings).encode())]
    await _send(by_area_topic, area_of(item).encode(), message.value, headers)


async def decide_stage(message: Any) -> None:
    """Stage 3: near duplicates in the area, the decision, remembered by complaint id."""
    item = await personal.readable(_complaint(message), _pool)  # NIK/phone checks need them
    raw_findings = _headers(message).get(FINDINGS_HEADER)
    findings = ReporterFindings.from_json(json.loads(raw_findings)) if raw_findings else None
    token = correlation_id_var.set(str(item.correlation_id))
    try:
        decision = decide(item, findings, candidates, decisions)
        if decision.event_type == "ComplaintNeedsReview":
            await _queue_for_review(item, decision, findings.reporter if findings else None)
        key = str(item.complaint_id).encode()
        await _send(triaged_topic, key, serialize_event(decision), event_headers(decision))
        EVENTS_OUT.labels(SERVICE, triaged_topic.get_topic_name()).inc()
        log.info("complaint triaged", extra={"decision": decision.event_type})
    finally:
        correlation_id_var.reset(token)


async def _pool() -> asyncpg.Pool:
    await asyncio.wait_for(backoffice.ready.wait(), timeout=60)
    assert backoffice.pool is not None
    return backoffice.pool


async def _queue_for_review(item: ComplaintReceived, decision: Any, reporter: str | None) -> None:
    """Into the review queue before the decision is published; retried through short outages."""
    for attempt in range(DB_RETRIES):
        try:
            await asyncio.wait_for(backoffice.ready.wait(), timeout=60)
            assert backoffice.pool is not None
            await review.enqueue(backoffice.pool, item, decision, reporter)
            return
        except TRANSIENT_ERRORS as error:  # TimeoutError (pool not ready) included
            if attempt == DB_RETRIES - 1:
                raise
            log.warning("review queue unavailable; retrying", extra={"error": repr(error)})
            await asyncio.sleep(1)


async def _each_event(stream: faust.StreamT, handle: Any) -> None:
    async for event in stream.events():
        try:
            await handle(event.message)
        except Exception as error:  # an exception would ack and drop the message
            log.exception("triage failed on a message")
            try:
                await dead_letter(event.message, f"handler error: {type(error).__name__}: {error}")
            except Exception:
                log.exception("dead-letter publish failed; stopping so the message is redelivered")
                raise


@app.agent(intake_topic, concurrency=1)
async def triage(stream: faust.StreamT) -> None:
    await _each_event(stream, route_to_reporter)


@app.agent(by_reporter_topic, concurrency=1)
async def by_reporter(stream: faust.StreamT) -> None:
    await _each_event(stream, check_reporter_stage)


@app.agent(by_area_topic, concurrency=1)
async def by_area(stream: faust.StreamT) -> None:
    await _each_event(stream, decide_stage)


def _reviewer(request: Any) -> str | None:
    return review.authenticate(request.headers.get("Authorization"), REVIEWERS)


class ReviewView(faust.web.View):
    async def _guard(self, request: Any) -> tuple[str | None, Any]:
        reviewer = _reviewer(request)
        if reviewer is None:
            return None, self.json({"detail": "reviewer token required"}, status=401)
        if not backoffice.ready.is_set():
            return None, self.json({"detail": "review queue not ready"}, status=503)
        return reviewer, None


@app.page("/v1/review")
class ReviewList(ReviewView):
    async def get(self, request: Any) -> Any:
        reviewer, refusal = await self._guard(request)
        if refusal is not None:
            return refusal
        assert backoffice.pool is not None
        try:
            status = request.query.get("status", "open")
            items = await review.list_items(backoffice.pool, status)
        except review.ReviewError as error:
            return self.json({"detail": error.message}, status=error.status)
        return self.json({"items": items, "reviewer": reviewer})


@app.page("/v1/review/{complaint_id}/{action}")
class ReviewAction(ReviewView):
    async def post(self, request: Any, complaint_id: str, action: str) -> Any:
        reviewer, refusal = await self._guard(request)
        if refusal is not None:
            return refusal
        assert backoffice.pool is not None and reviewer is not None
        try:
            if action == "claim":
                item = await review.claim(backoffice.pool, complaint_id, reviewer)
            elif action in ("ban", "unban"):
                body = await request.json() if request.can_read_body else {}
                note = str(body.get("note") or "") if isinstance(body, dict) else ""
                ban = await review.ban(
                    backoffice.pool, complaint_id, reviewer, action == "ban", note
                )
                headers = [(COMMAND_HEADER, BAN_COMMAND)]
                await _send(by_reporter_topic, ban.reporter_key.encode(), ban.command(), headers)
                await pending_sends.settle()  # on the broker before the reviewer hears "done"
                item = {"complaint_id": complaint_id, "reporter_banned": ban.banned}
            else:
                body = await request.json() if request.can_read_body else {}
                if not isinstance(body, dict):
                    raise review.ReviewError(422, "the body must be a JSON object")
                decision = review.ReviewDecision.parse(action, body)
                item = await review.decide(backoffice.pool, complaint_id, reviewer, decision)
        except review.ReviewError as error:
            return self.json({"detail": error.message}, status=error.status)
        except json.JSONDecodeError:
            return self.json({"detail": "the body is not valid JSON"}, status=422)
        return self.json(item)


@app.page("/healthz")
async def healthz(web: Any, request: Any) -> Any:
    return web.json({"status": "ok", "service": SERVICE})


@app.page("/readyz")
async def readyz(web: Any, request: Any) -> Any:
    ready = not app.rebalancing and bool(app.consumer.assignment())
    return web.json({"ready": ready, "service": SERVICE}, status=200 if ready else 503)


@app.page("/metrics")
async def metrics(web: Any, request: Any) -> Any:
    return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])


import services.triage.metrics  # noqa: E402, F401  (its sensor and lag timer register on `app`)
