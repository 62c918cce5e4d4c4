"""End-to-end pipeline benchmark against a raw Kafka baseline, in one run on one machine.

    python -m bench.pipeline [--n 100000] [--rate 200] [--rate-seconds 30] [--http-n 20000]

1. Baselines, raw aiokafka pass-through workers (`bench.passthrough`: consume a batch,
   produce it on with acks=all and idempotence, commit; no processing), same partitions, same
   broker:
   a. three hops (intake topic → triage → triaged → routing → cases → notifier →
      notifications), one message per hop;
   b. the pipeline's own topology (`same_topology`): the services' topics, each read by the
      same consumer groups, with the same fan-out (one complaint in; triaged, assigned, and
      two notifications on). The pipeline/baseline ratio is computed against this one.
2. Core pipeline at saturation: N `ComplaintReceived` events written straight to the intake
   output topic; done when the notifier has published the citizen notification for the
   complaint's final step (case assigned, or rejected/held/duplicate).
3. Core pipeline at a fixed offered rate (default 200/s): latency percentiles from the
   acknowledgement of the write to the recorded notification.
4. HTTP intake: complaints POSTed to intake's API at saturation (accepted/s, ack latency).

Every phase starts from empty topics (a fresh topic prefix) and a fresh database. Prints the
figures and the pipeline/baseline ratio, writes a JSON result and a PNG plot of throughput and
latency over time to bench/results/. For each phase it also reports (`bench.accounting`) the
CPU per complaint of each service, Kafka, PostgreSQL, the provider stand-ins, the load
generator, the rest of the machine (`other`: on a shared machine, someone else) and the whole
machine, and the Kafka messages produced per topic and consumed per group and topic per
complaint (from the phase's topics' end offsets and its groups' committed offsets). A phase's
topics are deleted once it is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from tqdm import tqdm

from bench.accounting import (
    cpu_ms_per_unit,
    drop_topics,
    infrastructure_meter,
    kafka_offsets,
    messages_per_unit,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SERVICES = ("intake", "triage", "routing", "notifier")
FINAL_TRIGGERS = {
    "CaseAssigned",
    "ComplaintRejected",
    "ComplaintNeedsReview",
    "ComplaintDuplicateDetected",
}

WORDS = (
    "sertifikat tanah jalan jembatan sekolah ijazah puskesmas obat bansos listrik air pdam "
    "sampah limbah gaji upah pungli preman ktp akta desa kelurahan kecamatan kabupaten kota "
    "warga petugas kantor loket antrian berkas biaya bulan tahun minggu hari pagi malam rusak "
    "hilang tertahan ditolak lambat mahal kotor banjir longsor gelap sempit retak bocor macet "
    "pasar terminal stasiun pelabuhan rumah sakit dokter bidan guru murid orang tua pedagang "
    "nelayan petani buruh pensiunan lansia disabilitas anak ibu bapak keluarga tetangga rt rw"
).split()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def fake_nik(index: int) -> str:
    province = random.choice(["31", "32", "33", "35", "36", "51", "73"])
    regency = f"{random.randint(1, 20):02d}"
    district = f"{random.randint(1, 30):02d}"
    day = random.randint(1, 28) + (40 if index % 2 else 0)
    birth = f"{day:02d}{random.randint(1, 12):02d}{random.randint(50, 99):02d}"
    return f"{province}{regency}{district}{birth}{(index % 9999) + 1:04d}"


def fake_description(index: int) -> str:
    words = " ".join(random.choices(WORDS, k=18))
    return f"Laporan {index}: {words} sejak {random.randint(1, 28)} {random.randint(1, 12)} 2026."


def complaint_event(index: int) -> tuple[uuid.UUID, bytes]:
    from schemas.events import (
        Channel,
        ComplaintReceived,
        ComplaintReceivedPayload,
        Reporter,
        serialize_event,
    )

    complaint_id = uuid.uuid4()
    event = ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="bench",
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-BNCH-{index:08d}",
            channel=Channel.WEB,
            reporter=Reporter(
                name=f"Warga {index}", nik=fake_nik(index), phone=f"+62812{index:08d}"
            ),
            description=fake_description(index),
            received_at=datetime.now(UTC),
        ),
    )
    return complaint_id, serialize_event(event)


@dataclass
class Stack:
    bootstrap: str
    admin_database_url: str
    standins_pid: int | None = None  # the provider stand-ins' process, once started


@dataclass
class PhaseResult:
    name: str
    count: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    completions: list[float] = field(default_factory=list)  # seconds since phase start
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {
            "count": self.count,
            "seconds": round(self.seconds, 2),
            "throughput_per_s": round(self.throughput, 1),
            "latency_ms": {
                "p50": round(percentile(lat, 50), 1),
                "p95": round(percentile(lat, 95), 1),
                "p99": round(percentile(lat, 99), 1),
            }
            if lat
            else None,
            **self.extra,
        }


async def stack_from_env() -> Stack:
    bootstrap = os.environ.get("LAPOR_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("LAPOR_DATABASE_URL")
    if bootstrap and database_url:
        return Stack(bootstrap, database_url)
    from ops import infra

    # infra.up() runs its own event loop for the readiness check: keep it off ours.
    config = await asyncio.to_thread(infra.up)
    return Stack(config.kafka_bootstrap, config.database_url)


async def fresh_database(stack: Stack, name: str) -> str:
    admin = await asyncpg.connect(stack.admin_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return f"{stack.admin_database_url.rpartition('/')[0]}/{name}"


async def drop_database(stack: Stack, name: str) -> None:
    """Drop a phase's database once its services have stopped (PostgreSQL stops an autovacuum
    worker in it by itself; WITH (FORCE) would need the right to signal it)."""
    admin = await asyncpg.connect(stack.admin_database_url)
    try:
        for attempt in range(5):
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                return
            except asyncpg.ObjectInUseError:
                await asyncio.sleep(1 + attempt)
        print(f"database {name} still in use: left in place")
    finally:
        await admin.close()


def use_prefix(prefix: str) -> None:
    os.environ["LAPOR_TOPIC_PREFIX"] = prefix


# --------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class PassThrough:
    """A baseline's raw Kafka workers: each a process (`bench.passthrough`) in its consumer
    group, with the topics it reads and where each record goes on to; the load goes into
    `first`, and a complaint is through when the sink sees it on `last` (from `final_source`,
    when only that hop's records end it)."""

    name: str
    desc: str
    workers: dict[str, tuple[str, dict[str, list[str]]]]  # label -> (group, routes)
    first: str
    last: str
    final_source: str | None = None


def three_hops(prefix: str) -> PassThrough:
    hops = [f"{prefix}hop{index}" for index in range(4)]
    return PassThrough(
        "baseline",
        "baseline (raw Kafka, 3 hops)",
        {f"hop{i + 1}": (f"{hops[i]}-passthrough", {hops[i]: [hops[i + 1]]}) for i in range(3)},
        hops[0],
        hops[-1],
    )


def same_topology() -> PassThrough:
    """The pipeline's own topology under the current topic prefix: the services' topics, each
    read by the same consumer groups (as each service's `consumes`; triage's faust app in its
    group), each record passed on where the pipeline's fan-out sends a complaint (accepted,
    assigned, told twice). Kept by hand: compare its `messages_per_complaint` with the
    pipeline's."""
    from schemas.topics import (
        CASES,
        COMPLAINTS_INTAKE,
        COMPLAINTS_TRIAGED,
        NOTIFICATIONS,
        WHATSAPP_STATUSES,
        consumer_group,
    )

    intake, triaged, cases = COMPLAINTS_INTAKE.name, COMPLAINTS_TRIAGED.name, CASES.name
    notifications, statuses = NOTIFICATIONS.name, WHATSAPP_STATUSES.name
    topology: dict[str, dict[str, list[str]]] = {
        "intake": {triaged: [], cases: [], notifications: []},
        "triage": {intake: [triaged]},
        "routing": {triaged: [cases], intake: []},
        # The receipt from the intake topic, the assignment from the cases topic.
        "notifier": {intake: [notifications], triaged: [], cases: [notifications], statuses: []},
    }
    return PassThrough(
        "baseline_same_topology",
        "baseline (raw Kafka, pipeline topology)",
        {service: (consumer_group(service), routes) for service, routes in topology.items()},
        intake,
        notifications,
        final_source=cases,
    )


async def run_baseline(stack: Stack, n: int, topology: PassThrough, prefix: str) -> PhaseResult:
    from services.messaging.kafka import ensure_named_topics, make_producer

    topics = {topic for _, routes in topology.workers.values() for topic in routes}
    topics |= {t for _, routes in topology.workers.values() for ts in routes.values() for t in ts}
    await ensure_named_topics(stack.bootstrap, [(topic, 6, {}) for topic in sorted(topics)])
    meter = infrastructure_meter(stack.bootstrap, None)
    workers = {}
    for label, (group, routes) in topology.workers.items():
        specs = [f"{source}={','.join(targets)}" for source, targets in routes.items()]
        workers[label] = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bench.passthrough", stack.bootstrap, group, *specs],
            cwd=ROOT,
        )
        meter.add_process(label, workers[label].pid)
    sink = AIOKafkaConsumer(
        topology.last, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest"
    )
    await sink.start()
    await asyncio.sleep(3)  # let the workers join their groups
    payloads = [complaint_event(i) for i in range(n)]
    producer = make_producer(stack.bootstrap, f"bench-{topology.name}")
    await producer.start()
    sent_at: dict[bytes, float] = {}
    offsets_before = await kafka_offsets(stack.bootstrap, prefix)
    cpu_before = meter.snapshot()
    started = time.monotonic()

    async def produce() -> None:
        for complaint_id, value in payloads:
            key = str(complaint_id).encode()
            future = await producer.send(topology.first, value, key=key)
            future.add_done_callback(lambda _, key=key: sent_at.__setitem__(key, time.monotonic()))
        await producer.flush()

    producer_task = asyncio.create_task(produce())
    result = PhaseResult(topology.name, n, 0.0)
    final = topology.final_source.encode() if topology.final_source else None
    with tqdm(total=n, desc=topology.desc, unit="msg") as bar:
        # Counted by distinct key: while the hops still write, the sink's getmany has handed
        # back records it had already returned (seen: 36,757 records for 10,000 messages),
        # which ended the phase early and overstated the baseline.
        received: set[bytes | None] = set()
        while len(received) < n:
            batch = await sink.getmany(timeout_ms=1000)
            now = time.monotonic()
            for records in batch.values():
                for record in records:
                    if record.key in received:
                        continue
                    if final is not None and dict(record.headers).get("source") != final:
                        continue
                    received.add(record.key)
                    result.completions.append(now - started)
                    if record.key in sent_at:
                        result.latencies_ms.append((now - sent_at[record.key]) * 1000)
                    bar.update(1)
    result.seconds = time.monotonic() - started
    cpu_after = meter.snapshot()
    # Kafka's own cost on this box: what any pipeline pays per message before it does any work.
    per = "cpu_ms_per_message" if final is None else "cpu_ms_per_complaint"
    result.extra[per] = cpu_ms_per_unit(cpu_before, cpu_after, n)
    await producer_task
    await producer.stop()
    await sink.stop()
    for worker in workers.values():
        worker.terminate()
        await worker.wait()
    messages = messages_per_unit(
        offsets_before, await kafka_offsets(stack.bootstrap, prefix), prefix, n
    )
    result.extra["messages_per_complaint"] = messages
    await drop_topics(stack.bootstrap, prefix)
    return result


# --------------------------------------------------------------------------- pipeline


class Pipeline:
    def __init__(self, stack: Stack, database_url: str, log_dir: Path) -> None:
        self.stack = stack
        self.database_url = database_url
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def start(self) -> None:
        for service in SERVICES:
            port = free_port()
            self.ports[service] = port
            env = {
                **os.environ,
                "LAPOR_KAFKA_BOOTSTRAP": self.stack.bootstrap,
                "LAPOR_DATABASE_URL": self.database_url,
                "LAPOR_HTTP_PORT": str(port),
                "LAPOR_LOG_LEVEL": "WARNING",
                # The HTTP phase is one client at saturation: lift intake's per-IP limit.
                "LAPOR_INTAKE_RATE_LIMIT_PER_IP_PER_MINUTE": "100000000",
                "LAPOR_INTAKE_RATE_LIMIT_PER_IP_BURST": "1000000",
            }
            log = (self.log_dir / f"{service}.log").open("ab")
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for service, port in self.ports.items():
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.5)
                else:
                    raise RuntimeError(f"{service} not ready; see {self.log_dir}")

    def peak_rss_mb(self) -> dict[str, float]:
        peaks = {}
        for service, process in self.processes.items():
            try:
                status = Path(f"/proc/{process.pid}/status").read_text()
            except FileNotFoundError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[service] = round(int(line.split()[1]) / 1024, 1)
        return peaks

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


class HopClock:
    """When each complaint's events were produced (the records' CreateTime, set by the
    producing relay), so the latency splits into the hops that make it up."""

    HOPS = ("triage", "routing", "notifier", "watcher")

    def __init__(self) -> None:
        self.triaged: dict[str, float] = {}
        self.assigned: dict[str, float] = {}
        self.spans: dict[str, list[float]] = {hop: [] for hop in self.HOPS}

    def saw(self, record: Any, event: dict[str, Any], triaged_topic: str) -> None:
        stamp = record.timestamp / 1000
        if record.topic == triaged_topic:
            self.triaged.setdefault(event["complaint_id"], stamp)
        elif event["event_type"] == "CaseAssigned":
            self.assigned.setdefault(event["complaint_id"], stamp)

    def done(self, complaint_id: str, acked: float, notified_record: Any, seen: float) -> None:
        notified = notified_record.timestamp / 1000
        triaged = self.triaged.get(complaint_id)
        assigned = self.assigned.get(complaint_id)
        if triaged is None:
            return
        self.spans["triage"].append(triaged - acked)
        if assigned is not None:
            self.spans["routing"].append(assigned - triaged)
        self.spans["notifier"].append(notified - (assigned or triaged))
        self.spans["watcher"].append(seen - notified)

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            hop: {q: round(percentile(spans, int(q[1:])) * 1000, 1) for q in ("p50", "p99")}
            for hop, spans in self.spans.items()
            if spans
        }


async def watch_notifications(
    bootstrap: str,
    acked_at: dict[str, float],
    expected: int,
    result: PhaseResult,
    started: float,
    desc: str,
    stop_after_idle: float = 120.0,
) -> None:
    """Until every complaint's final notification is out; `acked_at` holds wall-clock times,
    as Kafka's record timestamps do."""
    from schemas.topics import CASES, COMPLAINTS_TRIAGED, NOTIFICATIONS

    consumer = AIOKafkaConsumer(
        NOTIFICATIONS.name,
        COMPLAINTS_TRIAGED.name,
        CASES.name,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    done: set[str] = set()
    outcomes: dict[str, int] = defaultdict(int)
    hops = HopClock()
    last_progress = time.monotonic()
    try:
        with tqdm(total=expected, desc=desc, unit="complaint") as bar:
            while len(done) < expected:
                batch = await consumer.getmany(timeout_ms=1000)
                now, wall = time.monotonic(), time.time()
                for partition, records in batch.items():
                    for record in records:
                        event = json.loads(record.value)
                        if partition.topic != NOTIFICATIONS.name:
                            hops.saw(record, event, COMPLAINTS_TRIAGED.name)
                            continue
                        # CitizenNotified carries its trigger; status changes do not count.
                        trigger = event["payload"].get("trigger_event_type")
                        complaint_id = event["complaint_id"]
                        if trigger not in FINAL_TRIGGERS or complaint_id in done:
                            continue
                        done.add(complaint_id)
                        outcomes[trigger] += 1
                        bar.update(1)
                        last_progress = now
                        result.completions.append(now - started)
                        if complaint_id in acked_at:
                            acked = acked_at[complaint_id]
                            result.latencies_ms.append((wall - acked) * 1000)
                            hops.done(complaint_id, acked, record, wall)
                if now - last_progress > stop_after_idle:
                    print(f"stalled: {len(done)}/{expected} complete after {stop_after_idle}s idle")
                    break
    finally:
        await consumer.stop()
    result.count = len(done)
    result.extra["outcomes"] = dict(outcomes)
    result.extra["latency_by_hop_ms"] = hops.summary()


async def drive_core(stack: Stack, n: int, rate: float | None, name: str, desc: str) -> PhaseResult:
    from schemas.topics import COMPLAINTS_INTAKE
    from services.messaging.kafka import make_producer

    events = [complaint_event(i) for i in range(n)]
    producer = make_producer(stack.bootstrap, f"bench-{name}")
    await producer.start()
    acked_at: dict[str, float] = {}
    result = PhaseResult(name, n, 0.0)
    started = time.monotonic()
    watcher = asyncio.create_task(
        watch_notifications(stack.bootstrap, acked_at, n, result, started, desc)
    )

    async def produce() -> None:
        for index, (complaint_id, value) in enumerate(events):
            if rate is not None:
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            key = str(complaint_id)
            future = await producer.send(COMPLAINTS_INTAKE.name, value, key=key.encode())
            future.add_done_callback(lambda _, key=key: acked_at.__setitem__(key, time.time()))
        await producer.flush()

    await produce()
    await watcher
    result.seconds = (max(result.completions) if result.completions else 0.0) or 1e-9
    await producer.stop()
    return result


async def drive_http(intake_url: str, n: int, concurrency: int = 64) -> PhaseResult:
    """POST complaints with `concurrency` keep-alive connections. aiohttp, not httpx: on this
    box httpx spent about 10 ms of CPU per request, which the load generator then took from the
    service it measures; aiohttp spends about 0.5 ms."""
    result = PhaseResult("http_intake", 0, 0.0)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(n):
        queue.put_nowait(index)
    errors = 0
    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(intake_url, connector=connector, timeout=timeout) as client:
        with tqdm(total=n, desc="HTTP intake (POST /v1/complaints)", unit="req") as bar:

            async def worker() -> None:
                nonlocal errors
                while not queue.empty():
                    index = queue.get_nowait()
                    body = {
                        "name": f"Warga {index}",
                        "nik": fake_nik(index),
                        "phone": f"0812{index:08d}",
                        "description": fake_description(index),
                    }
                    sent = time.monotonic()
                    try:
                        async with client.post("/v1/complaints", json=body) as response:
                            await response.read()
                            status = response.status
                    except (aiohttp.ClientError, TimeoutError):  # a dropped connection counts
                        errors += 1
                        bar.update(1)
                        continue
                    now = time.monotonic()
                    if status == 202:
                        result.count += 1
                        result.latencies_ms.append((now - sent) * 1000)
                        result.completions.append(now - started)
                    else:
                        errors += 1
                    bar.update(1)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.monotonic() - started
    result.extra["errors"] = errors
    return result


async def pipeline_phase(
    stack: Stack, label: str, log_root: Path, body: Any
) -> tuple[PhaseResult, dict[str, float]]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    use_prefix(prefix)
    from services.messaging.kafka import ensure_topics

    await ensure_topics(stack.bootstrap)
    database = f"lapor_bench_{uuid.uuid4().hex[:8]}"
    database_url = await fresh_database(stack, database)
    log_dir = log_root / label
    log_dir.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(stack, database_url, log_dir)
    pipeline.start()
    meter = infrastructure_meter(stack.bootstrap, stack.admin_database_url)
    for service, process in pipeline.processes.items():
        meter.add_process(service, process.pid)
    if stack.standins_pid is not None:
        meter.add_process("standins", stack.standins_pid)
    try:
        await pipeline.wait_ready()
        offsets_before = await kafka_offsets(stack.bootstrap, prefix)
        cpu_before = meter.snapshot()
        result = await body(pipeline)
        cpu_after = meter.snapshot()
        peaks = pipeline.peak_rss_mb()
    finally:
        pipeline.stop()
    # CPU per completed complaint: where the two cores go, by process (the services, Kafka,
    # PostgreSQL, the provider stand-ins, the load generator; `other` is the rest of the
    # machine's busy time), and the Kafka messages each complaint cost, by topic and group.
    if result.count:
        result.extra["cpu_ms_per_complaint"] = cpu_ms_per_unit(cpu_before, cpu_after, result.count)
        result.extra["messages_per_complaint"] = messages_per_unit(
            offsets_before, await kafka_offsets(stack.bootstrap, prefix), prefix, result.count
        )
    await drop_topics(stack.bootstrap, prefix)
    # Else autovacuum cleans this phase's dead rows (the outboxes, the sends) during the next
    # phase, and the next phase pays for it: PostgreSQL's CPU per complaint grew 0.72 ->
    # 1.26 ms over five runs in a row before the phases dropped their databases.
    await drop_database(stack, database)
    return result, peaks


# --------------------------------------------------------------------------- report


PHASES = ("baseline", "baseline_same_topology", "core_saturation", "core_fixed_rate", "http_intake")


def accounting_table(report: dict[str, Any]) -> str:
    """The report's CPU per complaint (per message for the 3-hop baseline) by process, and
    the Kafka messages per complaint, as text."""
    lines = ["", "CPU (ms) per complaint (3-hop baseline: per message), by process:"]
    for phase in PHASES:
        figures = report.get(phase, {})
        cpu = figures.get("cpu_ms_per_complaint") or figures.get("cpu_ms_per_message")
        if cpu:
            shown = ", ".join(f"{name} {value:.2f}" for name, value in cpu.items())
            lines.append(f"  {phase}: {shown}")
    lines.append("Kafka messages per complaint (produced by topic; consumed by group: topic):")
    for phase in PHASES:
        messages = report.get(phase, {}).get("messages_per_complaint")
        if not messages:
            continue
        lines.append(
            f"  {phase}: produced {messages['produced_total']}, "
            f"consumed {messages['consumed_total']}"
        )
        lines += [f"    produced {topic}: {n}" for topic, n in messages["produced"].items()]
        for group, topics in messages["consumed"].items():
            shown = ", ".join(f"{topic} {n}" for topic, n in topics.items())
            lines.append(f"    consumed by {group}: {shown}")
    return "\n".join(lines)


def plot(results: list[PhaseResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=False)
    for result in results:
        if not result.completions:
            continue
        per_second: dict[int, int] = defaultdict(int)
        for moment in result.completions:
            per_second[int(moment)] += 1
        seconds = sorted(per_second)
        top.plot(seconds, [per_second[s] for s in seconds], label=result.name)
        if result.latencies_ms and len(result.latencies_ms) == len(result.completions):
            buckets: dict[int, list[float]] = defaultdict(list)
            for moment, latency in zip(result.completions, result.latencies_ms, strict=True):
                buckets[int(moment)].append(latency)
            keys = sorted(buckets)
            bottom.plot(
                keys, [percentile(buckets[k], 99) for k in keys], label=f"{result.name} p99"
            )
            bottom.plot(
                keys,
                [statistics.median(buckets[k]) for k in keys],
                "--",
                label=f"{result.name} p50",
            )
    top.set_ylabel("completed per second")
    top.set_title("Lapor pipeline benchmark: throughput")
    top.legend()
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds since phase start")
    bottom.set_yscale("log")
    bottom.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


@contextlib.asynccontextmanager
async def provider_standins(stack: Stack) -> AsyncIterator[None]:
    """The notifier delivers to local stand-ins of WhatsApp, the SMS gateway and SMTP (their
    own process, so the load generator's loop does not slow their answers): without providers
    every notification would be undeliverable and the run would measure that. Stopped however
    the run ends (left running, they would hold the caller's output open)."""
    ports = {"whatsapp": free_port(), "sms": free_port(), "smtp": free_port()}
    standins = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "ops.standins", *map(str, ports.values())],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    os.environ.update(
        {
            "LAPOR_NOTIFIER_WHATSAPP_API_URL": f"http://127.0.0.1:{ports['whatsapp']}",
            "LAPOR_NOTIFIER_WHATSAPP_PHONE_NUMBER_ID": "1234567890",
            "LAPOR_NOTIFIER_WHATSAPP_TOKEN": "test-token",
            "LAPOR_NOTIFIER_SMS_GATEWAY_URL": f"http://127.0.0.1:{ports['sms']}/sms",
            "LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN": "test-token",
            "LAPOR_NOTIFIER_SMTP_HOST": "127.0.0.1",
            "LAPOR_NOTIFIER_SMTP_PORT": str(ports["smtp"]),
        }
    )
    stack.standins_pid = standins.pid
    try:
        yield
    finally:
        standins.terminate()
        await standins.wait()


async def run_baselines(stack: Stack, n: int) -> dict[str, PhaseResult]:
    prefix = f"bench-baseline-{uuid.uuid4().hex[:6]}."
    baselines = {"baseline": await run_baseline(stack, n, three_hops(prefix), prefix)}
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    use_prefix(prefix)
    baselines["baseline_same_topology"] = await run_baseline(stack, n, same_topology(), prefix)
    return baselines


async def run_pipeline_phases(
    stack: Stack, args: argparse.Namespace, log_root: Path
) -> list[tuple[str, PhaseResult, dict[str, float]]]:
    """(report key, result, peak RSS per service) of each pipeline phase; a phase whose size
    is 0 (`--n`, `--rate-seconds`, `--http-n`) is skipped."""
    rate_n = int(args.rate * args.rate_seconds)
    planned = [
        (
            "core_saturation",
            "saturation",
            args.n,
            lambda _: drive_core(stack, args.n, None, "core_saturation", "pipeline at saturation"),
        ),
        (
            "core_fixed_rate",
            "fixed-rate",
            rate_n,
            lambda _: drive_core(
                stack, rate_n, args.rate, "core_fixed_rate", f"pipeline at {args.rate:.0f}/s"
            ),
        ),
        (
            "http_intake",
            "http",
            args.http_n,
            lambda pipeline: drive_http(
                f"http://127.0.0.1:{pipeline.ports['intake']}", args.http_n
            ),
        ),
    ]
    phases: list[tuple[str, PhaseResult, dict[str, float]]] = []
    for key, label, size, body in planned:
        if size:
            phases.append((key, *await pipeline_phase(stack, label, log_root, body)))
    return phases


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=100_000, help="complaints at saturation (0 skips the phase)"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="offered rate for latency")
    parser.add_argument("--rate-seconds", type=float, default=30.0, help="0 skips the phase")
    parser.add_argument("--http-n", type=int, default=20_000, help="HTTP requests (0 skips)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="JSON, plot and logs")
    args = parser.parse_args()
    results_dir: Path = args.results_dir

    stack = await stack_from_env()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    os.makedirs(results_dir, exist_ok=True)
    report: dict[str, Any] = {
        "date": stamp,
        "machine": {"cores": os.cpu_count(), "platform": sys.platform},
        "args": {**vars(args), "results_dir": str(results_dir)},
    }
    async with provider_standins(stack):
        skip_baseline = args.skip_baseline or args.n == 0
        baselines = {} if skip_baseline else await run_baselines(stack, args.n)
        phases = await run_pipeline_phases(stack, args, results_dir / f"logs-{stamp}")
    results = [*baselines.values(), *(result for _, result, _ in phases)]
    for name, baseline in baselines.items():
        report[name] = baseline.summary()
    for name, result, peaks in phases:
        report[name] = {**result.summary(), "peak_rss_mb": peaks}
    if baselines:
        saturation = phases[0][1]
        # Against the same topology: what Kafka alone allows the pipeline's own message flow.
        report["ratio_pipeline_to_baseline"] = round(
            saturation.throughput / baselines["baseline_same_topology"].throughput, 3
        )
        report["ratio_pipeline_to_3hop_baseline"] = round(
            saturation.throughput / baselines["baseline"].throughput, 3
        )
    json_path = results_dir / f"pipeline-{stamp}.json"
    png_path = results_dir / f"pipeline-{stamp}.png"
    json_path.write_text(json.dumps(report, indent=2))
    plot(results, png_path)
    print(json.dumps(report, indent=2))
    print(accounting_table(report))
    print(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":
    asyncio.run(main())
