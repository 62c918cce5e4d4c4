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

Every table is backed by its changelog topic, so a restart or a rebalance recovers the state.
Each agent sends and awaits the broker's acknowledgement before its source offset may be
committed, so a crash redelivers rather than drops, and the stores absorb the repeat.

Caveats honoured: concurrency=1 (faust loses messages above 1), and every exception is caught
per event and dead-lettered, because an exception in a faust agent acks the message.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import faust
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
from services.messaging.kafka import event_headers
from services.messaging.observability import (
    EVENTS_DEAD_LETTERED,
    EVENTS_IN,
    EVENTS_OUT,
    correlation_id_var,
)
from services.messaging.runtime import Settings
from services.triage.duplicates import ReporterFindings
from services.triage.handlers import (
    area_of,
    check_reporter_of,
    decide,
    findings_json,
    reporter_of,
)
from services.triage.kafka_transport import IdempotentTransport

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

FINDINGS_HEADER = "x-triage-reporter-findings"
# The key of the reporter hash. Rotating it forgets every reporter's history (by design).
REPORTER_KEY = os.environ.get("LAPOR_TRIAGE_REPORTER_KEY", "lapor-dev-reporter-key").encode()


def _headers(message: Any) -> dict[str, bytes]:
    raw = message.headers or ()
    items = raw.items() if isinstance(raw, Mapping) else raw
    return {str(key): bytes(value) for key, value in items}


async def _send(
    topic: faust.TopicT, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    """Send and wait for the broker's acknowledgement before the source offset may be acked."""
    delivery = await topic.send(key=key, value=value, headers=headers)
    await delivery


async def dead_letter(message: Any, reason: str) -> None:
    headers = [
        ("x-error", reason.encode()[:2000]),
        ("x-source-topic", message.topic.encode()),
        ("x-source-partition", str(message.partition).encode()),
        ("x-source-offset", str(message.offset).encode()),
        ("x-service", SERVICE.encode()),
    ]
    await _send(dead_letters, message.key, message.value or b"", headers)
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
    """Stage 2: the reporter's repeats, daily count and ban; re-key by region and category."""
    item = _complaint(message)
    findings = check_reporter_of(item, REPORTER_KEY, repeats, daily, banned)
    headers = [*event_headers(item), (FINDINGS_HEADER, findings_json(findings).encode())]
    await _send(by_area_topic, area_of(item).encode(), message.value, headers)


async def decide_stage(message: Any) -> None:
    """Stage 3: near duplicates in the area, the decision, remembered by complaint id."""
    item = _complaint(message)
    raw_findings = _headers(message).get(FINDINGS_HEADER)
    findings = ReporterFindings.from_json(json.loads(raw_findings)) if raw_findings else None
    token = correlation_id_var.set(str(item.correlation_id))
    try:
        decision = decide(item, findings, candidates, decisions)
        key = str(item.complaint_id).encode()
        await _send(triaged_topic, key, serialize_event(decision), event_headers(decision))
        EVENTS_OUT.labels(SERVICE, triaged_topic.get_topic_name()).inc()
        log.info("complaint triaged", extra={"decision": decision.event_type})
    finally:
        correlation_id_var.reset(token)


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
