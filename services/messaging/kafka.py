"""The Kafka producer every service uses, topic creation, and event headers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.events import EventEnvelope, serialize_event
from schemas.events.base import partition_key
from schemas.topics import TopicSpec, all_topics, topic_for_event

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]


def make_producer(bootstrap: str, client_id: str, *, linger_ms: int = 5) -> AIOKafkaProducer:
    """Idempotent producer: enable_idempotence implies acks=all and safe retries."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
        max_request_size=8 * 1024 * 1024,
        request_timeout_ms=30_000,
    )


def event_headers(event: EventEnvelope) -> Headers:
    return [
        ("event_type", event.event_type.encode()),  # type: ignore[attr-defined]
        ("event_id", str(event.event_id).encode()),
        ("correlation_id", str(event.correlation_id).encode()),
        ("schema_version", str(event.schema_version).encode()),
    ]


def event_record(event: EventEnvelope) -> tuple[str, bytes, bytes, Headers]:
    """(topic, key, value, headers) for an event, keyed by complaint id for per-complaint order."""
    topic = topic_for_event(event.event_type).name  # type: ignore[attr-defined]
    return topic, partition_key(event), serialize_event(event), event_headers(event)


async def publish(producer: AIOKafkaProducer, events: Iterable[EventEnvelope]) -> None:
    """Send events and wait until the broker has acknowledged every one."""
    futures = []
    for event in events:
        topic, key, value, headers = event_record(event)
        futures.append(await producer.send(topic, value=value, key=key, headers=headers))
    await asyncio.gather(*futures)


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec] | None = None) -> list[str]:
    """Create the declared topics that do not exist yet; returns the names created."""
    specs = list(specs if specs is not None else all_topics())
    return await ensure_named_topics(
        bootstrap, [(spec.name, spec.partitions, {}) for spec in specs]
    )


async def ensure_named_topics(
    bootstrap: str, topics: Iterable[tuple[str, int, dict[str, str]]]
) -> list[str]:
    """Create (name, partitions, configs) topics that do not exist yet, and wait until the
    broker lists them; returns the names created."""
    wanted = list(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="lapor-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in wanted if topic[0] not in existing]
        if not missing:
            return []
        try:
            await admin.create_topics(
                [
                    NewTopic(name, partitions, 1, topic_configs=configs)
                    for name, partitions, configs in missing
                ]
            )
        except TopicAlreadyExistsError:
            pass  # another instance won the race
        # Metadata for new topics propagates asynchronously; wait until all are listed.
        for _ in range(100):
            listed = set(await admin.list_topics())
            if all(name in listed for name, _, _ in missing):
                break
            await asyncio.sleep(0.1)
        return [name for name, _, _ in missing]
    finally:
        await admin.close()
