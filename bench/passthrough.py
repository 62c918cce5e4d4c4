"""One raw Kafka pass-through worker for the baselines: consume a batch, produce each record
on to the topics its source routes to, commit. No processing.

    python -m bench.passthrough BOOTSTRAP GROUP SOURCE=TARGET[,TARGET...] [SOURCE=...]

`SOURCE=` (no target) consumes the topic and produces nothing, as a service that only reads
it. Each record sent on carries the source record's key and value and a `source` header
naming the topic it came from (the sink tells a complaint's last hop by it).

Same client settings as the services: getmany batches, idempotent producer with acks=all,
offsets committed after the batch is acknowledged.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiokafka import AIOKafkaConsumer

from services.messaging.kafka import make_producer


def parse_routes(specs: list[str]) -> dict[str, list[str]]:
    routes: dict[str, list[str]] = {}
    for spec in specs:
        source, _, targets = spec.partition("=")
        routes.setdefault(source, []).extend(t for t in targets.split(",") if t)
    return routes


async def main(bootstrap: str, group: str, routes: dict[str, list[str]]) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = AIOKafkaConsumer(
        *routes,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    producer = make_producer(bootstrap, f"{group}-passthrough")
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            if not batches:
                continue
            futures = [
                await producer.send(
                    target,
                    record.value,
                    key=record.key,
                    headers=[("source", record.topic.encode())],
                )
                for records in batches.values()
                for record in records
                for target in routes[record.topic]
            ]
            await asyncio.gather(*futures)
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], parse_routes(sys.argv[3:])))
