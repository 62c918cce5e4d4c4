"""How long each service takes from process start to its first processed event.

Run: `.venv/bin/python bench/first_event.py` (with LAPOR_KAFKA_BOOTSTRAP and
LAPOR_DATABASE_URL; `--services triage` to pick, `--keep` to keep the database).

It creates a database of its own and starts the four services once in it (their migrations;
not measured). Then, for each service alone, under a topic prefix of its own (so its consumer
group is new, as in a fresh deployment or a bench phase), with the topics already created:
start the process as the e2e tests do (`tests.support.ServiceProcess`) and at once produce
one event on a topic it reads: a ComplaintReceived for triage and the notifier, a
ComplaintAccepted for routing and intake. Printed, in seconds from the process start: when
`/readyz` first answered 200, when the service's consumer group first committed an offset past
the event (processed: offsets are committed only after the effect is durable), and for triage
when its decision was on the triaged topic. Speed is printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.events import (
    ComplaintReceived,
    EventEnvelope,
    parse_event,
)
from schemas.topics import COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, TopicSpec, consumer_group
from services.messaging.kafka import ensure_topics, event_record, make_producer
from services.triage.handlers.stages import decide
from tests.support import ServiceProcess, received_event

SERVICES = ("intake", "triage", "routing", "notifier")
WITHIN = 120.0
POLL = 0.05


def received() -> ComplaintReceived:
    return received_event(
        "Jembatan penghubung dua desa di Kecamatan Cibiru retak parah dan bergoyang setiap kali"
        " dilewati mobil, warga takut melintas.",
        "3273011501900001",
    )


def first_event(service: str) -> tuple[EventEnvelope, TopicSpec]:
    """The event `service` is given, and the topic it goes on."""
    complaint = received()
    if service in ("triage", "notifier"):
        return complaint, COMPLAINTS_INTAKE
    return decide(complaint), COMPLAINTS_TRIAGED


async def until(check: Callable[[], Awaitable[bool]], started: float) -> float | None:
    """Seconds from `started` until `check` holds (None: not within `WITHIN`)."""
    while time.perf_counter() - started < WITHIN:
        with contextlib.suppress(Exception):
            if await check():
                return time.perf_counter() - started
        await asyncio.sleep(POLL)
    return None


@dataclass
class Timings:
    ready: float | None = None
    committed: float | None = None
    decision: float | None = None


async def measure(service: str, env: dict[str, str], log_dir: Path) -> Timings:
    prefix = f"bfe{uuid.uuid4().hex[:6]}."
    os.environ["LAPOR_TOPIC_PREFIX"] = prefix
    bootstrap = env["LAPOR_KAFKA_BOOTSTRAP"]
    await ensure_topics(bootstrap)
    event, spec = first_event(service)
    producer = make_producer(bootstrap, "bench-first-event")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await producer.start()
    await admin.start()
    process = ServiceProcess(service, {**env, "LAPOR_TOPIC_PREFIX": prefix}, log_dir)
    started = time.perf_counter()
    process.start()
    try:
        topic, key, value, headers = event_record(event)
        sent = await (await producer.send(topic, value=value, key=key, headers=headers))
        place = TopicPartition(spec.name, sent.partition)
        group = consumer_group(service)

        async def ready() -> bool:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{process.url}/readyz", timeout=1)).status_code == 200

        async def committed() -> bool:
            offsets = await admin.list_consumer_group_offsets(group, partitions=[place])
            found = offsets.get(place)
            return found is not None and found.offset > sent.offset

        checks = [until(ready, started), until(committed, started)]
        if service == "triage":
            checks.append(until(decided(bootstrap, str(event.complaint_id)), started))
        found = await asyncio.gather(*checks)
        return Timings(*found)
    finally:
        process.terminate()
        await producer.stop()
        await admin.close()


def decided(bootstrap: str, complaint_id: str) -> Callable[[], Awaitable[bool]]:
    """A check that holds once the complaint's decision is on the triaged topic."""
    consumer: AIOKafkaConsumer | None = None

    async def check() -> bool:
        nonlocal consumer
        if consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            await consumer.start()
            consumer.assign(
                [
                    TopicPartition(COMPLAINTS_TRIAGED.name, p)
                    for p in range(COMPLAINTS_TRIAGED.partitions)
                ]
            )
            await consumer.seek_to_beginning()
        batches = await consumer.getmany(timeout_ms=int(POLL * 1000))
        for records in batches.values():
            for record in records:
                if str(parse_event(record.value).complaint_id) == complaint_id:
                    await consumer.stop()
                    return True
        return False

    return check


async def migrated(env: dict[str, str], log_dir: Path) -> None:
    """Start every service once in the fresh database (its migrations), then stop it."""
    os.environ["LAPOR_TOPIC_PREFIX"] = f"bfe{uuid.uuid4().hex[:6]}."
    await ensure_topics(env["LAPOR_KAFKA_BOOTSTRAP"])
    processes = [
        ServiceProcess(s, {**env, "LAPOR_TOPIC_PREFIX": os.environ["LAPOR_TOPIC_PREFIX"]}, log_dir)
        for s in SERVICES
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            await process.wait_ready()
    finally:
        for process in processes:
            process.terminate()


def seconds(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.2f}"


async def run(args: argparse.Namespace) -> None:
    base = os.environ["LAPOR_DATABASE_URL"]
    name = f"lapor_bench_first_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": os.environ["LAPOR_KAFKA_BOOTSTRAP"],
        "LAPOR_DATABASE_URL": f"{base.rpartition('/')[0]}/{name}",
    }
    log_dir = Path(tempfile.mkdtemp(prefix="lapor-first-event-"))
    try:
        await migrated(env, log_dir)
        print(f"seconds from process start (logs in {log_dir}):")
        print("service   /readyz  first event processed (offset committed)  decision out")
        for service in args.services:
            timings = await measure(service, env, log_dir)
            print(
                f"{service:<9} {seconds(timings.ready)}   {seconds(timings.committed)}"
                f"                                   {seconds(timings.decision)}"
            )
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", nargs="+", choices=SERVICES, default=list(SERVICES))
    parser.add_argument("--keep", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
