"""Load on a running intake: accepted complaints per second and latency percentiles.

Two scenarios, each with `--requests` requests from `--concurrency` concurrent clients:

- web: `POST /v1/complaints` (JSON); a 202 means the complaint and its event are committed.
- whatsapp: signed `POST /webhooks/whatsapp` notifications, each carrying one one-message
  report (`LAPOR#...`); a 200 means the message is persisted. The script then reads the
  intake topic from Kafka until every one of those reports is out as `ComplaintReceived`,
  which measures the whole path (webhook, inbox worker, outbox relay, broker).

Usage (intake running with LAPOR_INTAKE_WHATSAPP_APP_SECRET=bench-secret, and the per-IP
limit lifted for this one client: LAPOR_INTAKE_RATE_LIMIT_PER_IP_PER_MINUTE=100000000
LAPOR_INTAKE_RATE_LIMIT_PER_IP_BURST=1000000):

    .venv/bin/python bench/intake_load.py --url http://127.0.0.1:8000 \
        --requests 2000 --concurrency 32 --app-secret bench-secret

`--intake-pid` (intake on this machine) also prints the CPU intake and the load generator
spent per request of the measured run (the warm-up left out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.events import parse_event
from schemas.topics import COMPLAINTS_INTAKE
from services.intake.domain.whatsapp import sign

NIK = "3171015501900001"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU a process has used so far (this one when `pid` is None)."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, latencies: list[float], elapsed: float, failures: int) -> None:
    ms = [value * 1000 for value in latencies]
    print(
        f"{name:<9} accepted={len(latencies):>6}  failed={failures:>4}"
        f"  rate={len(latencies) / elapsed:8.1f}/s"
        f"  p50={percentile(ms, 0.50):7.1f}ms  p95={percentile(ms, 0.95):7.1f}ms"
        f"  p99={percentile(ms, 0.99):7.1f}ms  max={max(ms):7.1f}ms"
        f"  mean={statistics.fmean(ms):7.1f}ms"
    )


async def run(
    requests: int,
    concurrency: int,
    send: Callable[[int], Awaitable[bool]],
    intake_pid: int | None = None,
) -> tuple[list[float], float, int]:
    """Send `requests` requests from `concurrency` workers; with `intake_pid`, print the CPU
    the intake process and this load generator spent per request."""
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)

    async def worker() -> None:
        nonlocal failures
        while not queue.empty():
            index = queue.get_nowait()
            started = time.perf_counter()
            if await send(index):
                latencies.append(time.perf_counter() - started)
            else:
                failures += 1

    cpu_before = cpu_seconds(intake_pid), cpu_seconds(None)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if intake_pid is not None:
        intake_cpu = cpu_seconds(intake_pid) - cpu_before[0]
        own_cpu = cpu_seconds(None) - cpu_before[1]
        print(
            f"CPU per request: intake {intake_cpu * 1000 / requests:.2f} ms,"
            f" load generator {own_cpu * 1000 / requests:.2f} ms"
            f"  (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
        )
    return latencies, elapsed, failures


async def post(client: aiohttp.ClientSession, path: str, **kwargs: Any) -> int:
    """The status of a POST; a dropped connection or a timeout counts as a failure (0)."""
    try:
        async with client.post(path, **kwargs) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def web(client: aiohttp.ClientSession, args: argparse.Namespace) -> None:
    run_id = uuid.uuid4().hex[:8]
    offset = int(time.time()) % 90_000 * 1000  # fresh phone numbers per run

    async def send(index: int) -> bool:
        status = await post(
            client,
            "/v1/complaints",
            headers={"Idempotency-Key": f"bench-{run_id}-{index}"},
            json={
                "name": "Siti Aminah",
                # A reporter per request: intake allows a phone or NIK 5 complaints an hour.
                "nik": f"317101{1 + index // 9999 % 28:02d}0190{index % 9999 + 1:04d}",
                "phone": f"0813{offset + index:08d}",
                "description": f"Sertifikat tanah nomor {index} tidak terbit sejak 2019 ({run_id})",
            },
        )
        return status == 202

    await run(args.requests // 10, args.concurrency, send)  # warm-up, not reported
    latencies, elapsed, failures = await run(args.requests, args.concurrency, send, args.intake_pid)
    report("web", latencies, elapsed, failures)


async def whatsapp(client: aiohttp.ClientSession, args: argparse.Namespace) -> None:
    # Valid Indonesian mobile numbers (62812 + 8 digits), fresh per run.
    offset = int(time.time()) % 90_000 * 1000
    wa_ids = [f"62812{offset + index:08d}" for index in range(args.requests)]

    async def send(index: int) -> bool:
        wa_id = wa_ids[index]
        body = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": "1"},
                                "contacts": [{"profile": {"name": "Warga"}, "wa_id": wa_id}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": f"wamid.bench.{wa_id}",
                                        "timestamp": str(int(time.time())),
                                        "type": "text",
                                        "text": {
                                            "body": f"LAPOR#Siti Aminah#{NIK}#Jakarta Pusat#"
                                            f"Jalan rusak parah di depan sekolah nomor {index}."
                                        },
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        raw = json.dumps(body).encode()
        status = await post(
            client,
            "/webhooks/whatsapp",
            data=raw,
            headers={
                "content-type": "application/json",
                "X-Hub-Signature-256": sign(args.app_secret, raw),
            },
        )
        return status == 200

    import asyncpg
    from aiokafka import AIOKafkaConsumer

    from services.personal_data.keystore import Keystore

    # The reporter's phone travels sealed (docs/personal-data.md): open it to match.
    keys = Keystore.from_env()
    conn = await asyncpg.connect(args.database_url)
    consumer = AIOKafkaConsumer(
        COMPLAINTS_INTAKE.name,
        bootstrap_servers=args.kafka,
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        await consumer.seek_to_end()
        started = time.perf_counter()
        latencies, elapsed, failures = await run(
            args.requests, args.concurrency, send, args.intake_pid
        )
        report("whatsapp", latencies, elapsed, failures)
        expected = {f"+{wa_id}" for wa_id in wa_ids}
        seen: set[str] = set()
        deadline = time.monotonic() + args.drain_timeout
        while seen != expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = parse_event(record.value)
                    if event.event_type == "ComplaintReceived":
                        phone = await keys.reveal(conn, event.payload.reporter.phone)  # type: ignore[union-attr]
                        if phone in expected:
                            seen.add(phone)
        total = time.perf_counter() - started
        print(
            f"whatsapp  filed on Kafka={len(seen)}/{len(expected)}"
            f"  end-to-end rate={len(seen) / total:8.1f}/s  (webhook to ComplaintReceived,"
            f" {total:.1f}s in all)"
        )
    finally:
        await consumer.stop()
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--app-secret", default=os.environ.get("LAPOR_INTAKE_WHATSAPP_APP_SECRET"))
    parser.add_argument(
        "--kafka", default=os.environ.get("LAPOR_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LAPOR_DATABASE_URL", "postgresql://lapor@127.0.0.1:55432/lapor"),
        help="Where the keystore is (to open the sealed phone numbers)",
    )
    parser.add_argument("--only", choices=("web", "whatsapp"))
    parser.add_argument(
        "--intake-pid",
        type=int,
        help="The intake's process id (same machine): print its CPU per request",
    )
    args = parser.parse_args()
    # aiohttp, not httpx: httpx spends about 10 ms of CPU per request, which on a small box the
    # load generator then takes from the intake it measures (see bench/pipeline.py).
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(args.url, connector=connector, timeout=timeout) as client:
        print(f"intake at {args.url}: {args.requests} requests, {args.concurrency} concurrent")
        if args.only in (None, "web"):
            await web(client, args)
        if args.only in (None, "whatsapp"):
            if not args.app_secret:
                print("whatsapp  skipped: give --app-secret (the intake's app secret)")
            else:
                await whatsapp(client, args)


if __name__ == "__main__":
    asyncio.run(main())
