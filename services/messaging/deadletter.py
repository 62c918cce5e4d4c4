"""Dead letters: a message a service cannot process goes, unchanged, to that service's
dead-letter topic, with the reason and its origin in headers, so it can be inspected and
replayed after a fix. The pipeline keeps flowing past it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from schemas.topics import dead_letter_topic
from services.messaging.observability import EVENTS_DEAD_LETTERED

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


class DeadLetterPublisher:
    def __init__(self, producer: AIOKafkaProducer, service: str) -> None:
        self.producer = producer
        self.service = service
        self.topic = dead_letter_topic(service).name

    async def publish(self, letters: list[DeadLetter]) -> None:
        """Send and wait for the broker's acknowledgement of every letter."""
        futures = []
        for letter in letters:
            headers = [
                ("x-error", letter.reason.encode()[:MAX_REASON_BYTES]),
                ("x-source-topic", letter.topic.encode()),
                ("x-source-partition", str(letter.partition).encode()),
                ("x-source-offset", str(letter.offset).encode()),
                ("x-service", self.service.encode()),
            ]
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
