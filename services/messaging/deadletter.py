"""Dead letters: a message a service cannot process goes, unchanged, to that service's
dead-letter topic, with the reason and its origin in headers, so it can be inspected and
replayed after a fix. The pipeline keeps flowing past it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.topics import dead_letter_topic
from services.observability import EVENTS_DEAD_LETTERED, scrub

log = logging.getLogger(__name__)

MAX_REASON_BYTES = 2000


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str


def dead_letter_headers(letter: DeadLetter, service: str) -> list[tuple[str, bytes]]:
    """The reason and the origin of a letter, as the headers it carries on the dead-letter
    topic (also used by triage, whose faust agents send through faust)."""
    return [
        ("x-error", letter.reason.encode()[:MAX_REASON_BYTES]),
        ("x-source-topic", letter.topic.encode()),
        ("x-source-partition", str(letter.partition).encode()),
        ("x-source-offset", str(letter.offset).encode()),
        ("x-service", service.encode()),
    ]


class DeadLetterPublisher:
    def __init__(self, producer: AIOKafkaProducer, service: str) -> None:
        self.producer = producer
        self.service = service
        self.topic = dead_letter_topic(service).name

    async def publish(self, letters: list[DeadLetter]) -> None:
        """Send and wait for the broker's acknowledgement of every letter."""
        futures = []
        for letter in letters:
            headers = dead_letter_headers(letter, self.service)
            futures.append(
                await self.producer.send(
                    self.topic, value=letter.value or b"", key=letter.key, headers=headers
                )
            )
            # The reason names the failure, never the payload, so it is safe to log.
            log.warning(
                "dead-lettered message",
                extra={
                    "source_topic": letter.topic,
                    "partition": letter.partition,
                    "offset": letter.offset,
                    "reason": letter.reason[:300],
                },
            )
        await asyncio.gather(*futures)
        EVENTS_DEAD_LETTERED.labels(self.service).inc(len(letters))


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class StoredLetter:
    """A dead letter as it sits on the dead-letter topic."""

    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        return self.headers.get("x-error", "")

    @property
    def source(self) -> str:
        topic = self.headers.get("x-source-topic", "?")
        partition = self.headers.get("x-source-partition", "?")
        return f"{topic}[{partition}]@{self.headers.get('x-source-offset', '?')}"


async def read_dead_letters(bootstrap: str, service: str) -> list[StoredLetter]:
    """Every letter currently retained on a service's dead-letter topic, oldest first."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    spec = dead_letter_topic(service)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        if spec.name not in await consumer.topics():
            return []
        assigned = [TopicPartition(spec.name, partition) for partition in range(spec.partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        end = await consumer.end_offsets(assigned)
        letters: list[StoredLetter] = []
        while [tp for tp in assigned if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                letters.extend(
                    StoredLetter(
                        offset=record.offset,
                        timestamp_ms=record.timestamp,
                        key=record.key,
                        value=record.value or b"",
                        headers={
                            name: raw.decode(errors="replace") for name, raw in record.headers
                        },
                    )
                    for record in records
                )
        return sorted(letters, key=lambda letter: letter.offset)
    finally:
        await consumer.stop()


def masked_payload(value: bytes) -> Any:
    """A letter's payload for people to read (`lapor dlq show`, the admin pages): the event
    with every personal field masked, or, when it is not a valid event, its first 2000
    characters with NIKs, phone numbers and email addresses scrubbed."""
    from pydantic import ValidationError

    from schemas.events import parse_event
    from schemas.personal_data import masked

    try:
        return masked(parse_event(value))
    except (ValidationError, ValueError):
        return scrub(value[:2000].decode("utf-8", errors="replace"))


async def replay_dead_letters(
    producer: AIOKafkaProducer, letters: list[StoredLetter]
) -> list[StoredLetter]:
    """Send letters back to their source topics, unchanged, after a fix.

    Idempotent: an event keeps its event id, so a consumer that already processed it (or a
    second replay) changes nothing. Letters whose source is unknown are skipped.
    """
    replayed = []
    futures = []
    for letter in letters:
        source = letter.headers.get("x-source-topic")
        if not source:
            continue
        futures.append(
            await producer.send(
                source,
                value=letter.value,
                key=letter.key,
                headers=[("x-replayed-from-offset", str(letter.offset).encode())],
            )
        )
        replayed.append(letter)
    await asyncio.gather(*futures)
    return replayed
