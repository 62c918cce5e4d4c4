"""Smoke test of what Lapor relies on from the broker and aiokafka: admin topic creation,
idempotent produce with acks=all, and group consumption with manual commits."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.messaging.kafka import make_producer
from tests.support import eventually

pytestmark = pytest.mark.integration


async def test_admin_idempotent_produce_and_manual_commit(stack) -> None:
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
        assert topic in await eventually(admin.list_topics)
    finally:
        await admin.close()

    producer = make_producer(stack.kafka_bootstrap, "smoke")
    await producer.start()
    try:
        for index in range(30):
            await producer.send_and_wait(topic, f"m{index}".encode(), key=f"k{index % 3}".encode())
        # The broker granted an idempotent producer id and tracks per-partition sequences.
        txn_manager = producer._txn_manager
        assert txn_manager is not None and txn_manager.has_pid()
        assert sum(txn_manager.sequence_number(tp) for tp in txn_manager._sequence_numbers) == 30
    finally:
        await producer.stop()

    group = f"smoke-group-{uuid.uuid4().hex[:6]}"

    async def consume(limit: int) -> list[bytes]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=stack.kafka_bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        seen: list[bytes] = []
        try:
            while len(seen) < limit:
                batches = await consumer.getmany(timeout_ms=1000, max_records=limit - len(seen))
                for records in batches.values():
                    seen.extend(record.value for record in records)
                if batches:
                    await consumer.commit()
            for partition in range(3):
                await consumer.committed(TopicPartition(topic, partition))
        finally:
            await consumer.stop()
        return seen

    first = await consume(30)
    assert sorted(first) == sorted(f"m{index}".encode() for index in range(30))
    # A new member of the same group starts after the committed offsets: nothing is left.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        leftovers = await consumer.getmany(timeout_ms=3000)
        assert sum(len(records) for records in leftovers.values()) == 0
    finally:
        await consumer.stop()
