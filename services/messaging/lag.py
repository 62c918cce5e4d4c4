"""Consumer lag and throughput per service, read from the broker (what `lapor status` prints).

Lag is the distance between each partition's end offset and the group's committed offset;
throughput is how fast the committed offsets advance between two samples.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.topics import consumer_group


@dataclass(frozen=True)
class GroupProgress:
    service: str
    committed: dict[TopicPartition, int]
    end: dict[TopicPartition, int]

    @property
    def lag(self) -> int:
        return sum(max(0, self.end[tp] - offset) for tp, offset in self.committed.items())

    def lag_by_topic(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for tp, offset in self.committed.items():
            totals[tp.topic] = totals.get(tp.topic, 0) + max(0, self.end[tp] - offset)
        return totals


async def group_progress(bootstrap: str, services: list[str]) -> dict[str, GroupProgress]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        result = {}
        for service in services:
            offsets = await admin.list_consumer_group_offsets(consumer_group(service))
            committed = {
                tp: meta.offset
                for tp, meta in offsets.items()
                if meta.offset >= 0 and not tp.topic.startswith(consumer_group(service))
            }
            end = await consumer.end_offsets(list(committed)) if committed else {}
            result[service] = GroupProgress(service, committed, end)
        return result
    finally:
        await consumer.stop()
        await admin.close()


async def throughput(
    bootstrap: str, services: list[str], window_seconds: float = 2.0
) -> tuple[dict[str, GroupProgress], dict[str, float]]:
    """Progress now, and events per second each group committed over the window."""
    first = await group_progress(bootstrap, services)
    started = time.monotonic()
    await asyncio.sleep(window_seconds)
    second = await group_progress(bootstrap, services)
    elapsed = time.monotonic() - started
    rates = {}
    for service in services:
        before, after = first[service].committed, second[service].committed
        advanced = sum(offset - before.get(tp, offset) for tp, offset in after.items())
        rates[service] = advanced / elapsed
    return second, rates
