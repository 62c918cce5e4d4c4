"""Notifications per second, end to end: events published to Kafka → the notifier process
(consumer, PostgreSQL, sender) → messages accepted by a local WhatsApp Cloud API stand-in and a
local SMS gateway stand-in.

    LAPOR_KAFKA_BOOTSTRAP=127.0.0.1:19092 \\
    LAPOR_DATABASE_URL=postgresql://lapor@127.0.0.1:55432/lapor \\
    .venv/bin/python bench/notifier_throughput.py --complaints 1000

Each complaint yields two messages (received + assigned): a web complaint with a phone, told
by SMS, as the pipeline bench files them; every fourth is a WhatsApp complaint, told of its
assignment on WhatsApp (its receipt came from the conversation). Prints the notifier's own
CPU per complaint (from /proc, over the run). It uses its own database and topic prefix, and
drops the database at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
RUN = uuid.uuid4().hex[:8]
os.environ["LAPOR_TOPIC_PREFIX"] = f"bench{RUN}."

from bench.accounting import process_seconds  # noqa: E402
from ops.standins import SmsGatewayStandIn, WhatsAppCloudStandIn  # noqa: E402
from schemas.events import (  # noqa: E402
    CaseAssigned,
    CaseAssignedPayload,
    Channel,
    ComplaintReceived,
    ComplaintReceivedPayload,
    EventEnvelope,
    Reporter,
)
from services.messaging.kafka import ensure_topics, make_producer, publish  # noqa: E402
from tests.support import ServiceProcess, free_port  # noqa: E402


def events_for(index: int) -> list[EventEnvelope]:
    complaint_id = uuid.uuid4()
    code = f"LPR-B{index:06d}"
    channel = Channel.WHATSAPP if index % 4 == 0 else Channel.WEB
    received = ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="bench",
        payload=ComplaintReceivedPayload(
            tracking_code=code,
            channel=channel,
            reporter=Reporter(name="Bench", phone=f"+62813{index:08d}"),
            description="Sertifikat tanah tidak terbit",
            received_at=datetime.now(UTC),
        ),
    )
    assigned = CaseAssigned(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="bench",
        payload=CaseAssignedPayload(
            case_id=uuid.uuid4(),
            tracking_code=code,
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
            rule_id="land-national",
            due_at=datetime.now(UTC) + timedelta(days=14),
        ),
    )
    return [received, assigned]


def messages_for(index: int) -> int:
    """A WhatsApp complaint's receipt came from its conversation: only the assignment."""
    return 1 if index % 4 == 0 else 2


async def count_rows(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM notifier.notifications"))
    finally:
        await conn.close()


async def main(complaints: int, idle_seconds: float) -> None:
    bootstrap = os.environ.get("LAPOR_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    admin_url = os.environ.get("LAPOR_DATABASE_URL", "postgresql://lapor@127.0.0.1:55432/lapor")
    database = f"lapor_bench_{RUN}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    database_url = f"{admin_url.rpartition('/')[0]}/{database}"
    await ensure_topics(bootstrap)

    whatsapp, sms = WhatsAppCloudStandIn(), SmsGatewayStandIn()
    await whatsapp.serve(free_port())
    await sms.serve(free_port())
    log_dir = Path(tempfile.mkdtemp(prefix="notifier-bench-"))
    notifier = ServiceProcess(
        "notifier",
        {
            "LAPOR_KAFKA_BOOTSTRAP": bootstrap,
            "LAPOR_DATABASE_URL": database_url,
            "LAPOR_LOG_LEVEL": "WARNING",
            "LAPOR_NOTIFIER_WHATSAPP_API_URL": whatsapp.url,
            "LAPOR_NOTIFIER_WHATSAPP_PHONE_NUMBER_ID": whatsapp.phone_number_id,
            "LAPOR_NOTIFIER_WHATSAPP_TOKEN": whatsapp.token,
            "LAPOR_NOTIFIER_SMS_GATEWAY_URL": f"{sms.url}/sms",
            "LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN": sms.token,
        },
        log_dir,
    )
    producer = make_producer(bootstrap, "notifier-bench")
    try:
        notifier.start()
        await notifier.wait_ready()
        await producer.start()
        # As in the pipeline, a complaint's assignment comes well after its receipt.
        pairs = [events_for(index) for index in range(complaints)]
        batch = [received for received, _ in pairs] + [assigned for _, assigned in pairs]
        expected = sum(messages_for(index) for index in range(complaints))
        assert notifier.process is not None
        # What it costs doing nothing (polling Kafka and its queues), which a slow run spreads
        # over few complaints.
        idle_before = process_seconds(notifier.process.pid)
        await asyncio.sleep(idle_seconds)
        idle = (process_seconds(notifier.process.pid) - idle_before) / idle_seconds
        print(f"notifier idle: {idle * 1000:.1f} ms of CPU per second")
        cpu_before = process_seconds(notifier.process.pid)
        started = time.perf_counter()
        await publish(producer, batch)
        published = time.perf_counter()
        progress = time.perf_counter()
        while len(whatsapp.received) + len(sms.received) < expected:
            if notifier.process is not None and notifier.process.poll() is not None:
                raise SystemExit(f"notifier exited:\n{notifier.log_tail()}")
            await asyncio.sleep(0.05)
            if time.perf_counter() - progress > 5:
                progress = time.perf_counter()
                queued = await count_rows(database_url)
                sent = len(whatsapp.received) + len(sms.received)
                print(f"  {progress - started:5.1f}s: {queued} queued, {sent} sent", flush=True)
        elapsed = time.perf_counter() - started
        cpu = process_seconds(notifier.process.pid) - cpu_before
        print(f"events published: {len(batch)} in {published - started:.2f}s")
        print(
            f"messages accepted: whatsapp {len(whatsapp.received)}, sms {len(sms.received)}"
            f" in {elapsed:.2f}s"
        )
        print(f"notifications per second, end to end: {expected / elapsed:.0f}")
        print(
            f"notifier CPU: {cpu * 1000 / complaints:.2f} ms per complaint,"
            f" {cpu * 1000 / expected:.2f} ms per message"
        )
    finally:
        await producer.stop()
        notifier.terminate()
        await whatsapp.stop()
        await sms.stop()
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.complaints, args.idle_seconds))
