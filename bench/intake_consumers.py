"""Intake's Kafka consumers alone: the CPU intake spends per complaint to keep the citizen's
status read model from the downstream events (issue 16's floor: 0.3 ms).

Takes the newest `--complaints` complaints already filed in a running intake's database (file
them first, e.g. with bench/intake_load.py), publishes for each what the pipeline publishes
back to intake (ComplaintAccepted on the triaged topic, CaseAssigned on the cases topic,
CitizenNotified for both and one CitizenNotificationStatusChanged on the notifications topic,
which intake ignores), waits until intake's read model holds them all, and prints intake's
CPU per complaint and per event over that time. Run it in the intake's environment
(LAPOR_TOPIC_PREFIX, LAPOR_KAFKA_BOOTSTRAP) and give it the intake's database and process id:

    .venv/bin/python bench/intake_consumers.py --database-url postgresql://.../lapor \
        --intake-pid 1234 --complaints 5000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake_load import cpu_seconds
from schemas.events import CitizenNotified, Event, follow_up_ids
from schemas.events.notifier import (
    CitizenNotificationStatusChanged,
    CitizenNotificationStatusChangedPayload,
)
from services.messaging.kafka import event_record, make_producer
from tests.support import accepted_event, assigned_event, notified_event

HANDLED_PER_COMPLAINT = 4  # timeline entries; the delivery receipt is ignored


def downstream(complaint_id: uuid.UUID, code: str) -> list[Event]:
    """What triage, routing and the notifier publish back about one accepted complaint."""
    at = datetime.now(UTC)
    accepted = accepted_event(complaint_id, code, at)
    assigned = assigned_event(accepted, at + timedelta(seconds=1))
    notified = [
        notified_event(cause, code, at + timedelta(seconds=2)) for cause in (accepted, assigned)
    ]
    return [accepted, assigned, *notified, delivered(notified[0])]


def delivered(notified: CitizenNotified) -> Event:
    return CitizenNotificationStatusChanged(
        **follow_up_ids(notified, "notifier", "CitizenNotificationStatusChanged"),
        occurred_at=notified.occurred_at + timedelta(seconds=1),
        payload=CitizenNotificationStatusChangedPayload(
            notification_id=notified.payload.notification_id,
            tracking_code=notified.payload.tracking_code,
            channel=notified.payload.channel,
            status="delivered",
        ),
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="The intake's database")
    parser.add_argument("--intake-pid", type=int, required=True)
    parser.add_argument("--complaints", type=int, default=5000)
    parser.add_argument(
        "--kafka", default=os.environ.get("LAPOR_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    conn = await asyncpg.connect(args.database_url)
    rows = await conn.fetch(
        "SELECT complaint_id, tracking_code FROM intake.complaints"
        " WHERE status = 'received' ORDER BY received_at DESC LIMIT $1",
        args.complaints,
    )
    ids = [row["complaint_id"] for row in rows]
    records = [
        event_record(event)
        for row in rows
        for event in downstream(row["complaint_id"], row["tracking_code"])
    ]
    producer = make_producer(args.kafka, "bench-intake-consumers")
    await producer.start()
    cpu_before, started = cpu_seconds(args.intake_pid), time.perf_counter()
    futures = [
        await producer.send(topic, value=value, key=key, headers=headers)
        for topic, key, value, headers in records
    ]
    await asyncio.gather(*futures)
    await producer.stop()
    deadline = time.monotonic() + args.timeout
    done = 0
    while time.monotonic() < deadline:
        done = await conn.fetchval(
            "SELECT count(*) FROM intake.complaint_timeline"
            " WHERE complaint_id = ANY($1) AND event_type <> 'ComplaintReceived'",
            ids,
        )
        if done >= HANDLED_PER_COMPLAINT * len(ids):
            break
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started
    used = cpu_seconds(args.intake_pid) - cpu_before
    await conn.close()
    print(
        f"consumers {len(ids)} complaints ({len(records)} events) read in {elapsed:.1f} s"
        f" ({done}/{HANDLED_PER_COMPLAINT * len(ids)} timeline entries): intake CPU"
        f" {used * 1000 / max(1, len(ids)):.3f} ms per complaint,"
        f" {used * 1000 / max(1, len(records)):.3f} ms per event"
        f"  (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )


if __name__ == "__main__":
    asyncio.run(main())
