"""One raw Kafka hop for the baseline: consume a batch, produce it on, commit. No processing.

    python -m bench.passthrough BOOTSTRAP SOURCE_TOPIC TARGET_TOPIC

Same client settings as the services: getmany batches, idempotent producer with acks=all,
offsets committed after the batch is acknowledged.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiokafka import AIOKafkaConsumer

from services.messaging.kafka import make_producer


async def main(bootstrap: str, source: str, target: str) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"{source}-passthrough",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    producer = make_producer(bootstrap, f"{source}-passthrough")
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            if not batches:
                continue
            futures = [
                await producer.send(target, record.value, key=record.key)
                for records in batches.values()
                for record in records
            ]
            await asyncio.gather(*futures)
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
