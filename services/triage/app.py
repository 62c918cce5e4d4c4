"""Triage's faust-streaming application (the Kafka adapter and entrypoint wiring).

- Reads: lapor.complaints.intake.v1 (ComplaintReceived; ComplaintUpdated is acknowledged and
  left for the review flow).
- Writes: lapor.complaints.triaged.v1 (ComplaintAccepted, ComplaintRejected,
  ComplaintNeedsReview) and lapor.deadletter.triage.v1.
- State: the faust table `decisions` (complaint id → decision event), backed by its changelog
  topic, so a restart or rebalance re-emits the same decision (same event id) instead of
  deciding twice.

Caveats honoured: the agent runs with concurrency=1 (faust loses messages above 1), and every
exception is caught per event and dead-lettered, because an exception in a faust agent acks
the message.
"""

from __future__ import annotations

import logging
import tempfile
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
from services.triage.handlers import decide
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
intake_topic = app.topic(COMPLAINTS_INTAKE.name, **_raw)
triaged_topic = app.topic(COMPLAINTS_TRIAGED.name, **_raw)
dead_letters = app.topic(dead_letter_topic(SERVICE).name, **_raw)

# complaint id → the serialized decision event, so replays re-emit it unchanged.
decisions = app.Table("decisions", key_type=str, value_type=str)


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


async def handle_message(message: Any) -> None:
    EVENTS_IN.labels(SERVICE, message.topic).inc()
    item = decode(message)
    if isinstance(item, str):
        await dead_letter(message, item)
        return
    if not isinstance(item, ComplaintReceived):
        return  # ComplaintUpdated: nothing to decide yet
    token = correlation_id_var.set(str(item.correlation_id))
    try:
        key = str(item.complaint_id)
        stored = decisions.get(key)
        decision = parse_event(stored) if stored is not None else decide(item)
        if stored is None:
            decisions[key] = serialize_event(decision).decode()
        await _send(triaged_topic, key.encode(), serialize_event(decision), event_headers(decision))
        EVENTS_OUT.labels(SERVICE, triaged_topic.get_topic_name()).inc()
        log.info("complaint triaged", extra={"decision": decision.event_type})
    finally:
        correlation_id_var.reset(token)


@app.agent(intake_topic, concurrency=1)
async def triage(stream: faust.StreamT) -> None:
    async for event in stream.events():
        try:
            await handle_message(event.message)
        except Exception as error:  # an exception would ack and drop the message
            log.exception("triage failed on a message")
            try:
                await dead_letter(event.message, f"handler error: {type(error).__name__}: {error}")
            except Exception:
                log.exception("dead-letter publish failed; stopping so the message is redelivered")
                raise


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
