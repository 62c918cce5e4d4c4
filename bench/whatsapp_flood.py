"""A WhatsApp flood against a real intake process: is every message acknowledged within Meta's
latency budget, worked off later, exactly once, with intake's memory bounded?

    LAPOR_KAFKA_BOOTSTRAP=127.0.0.1:19092 \\
    LAPOR_DATABASE_URL=postgresql://lapor@127.0.0.1:55432/lapor \\
    .venv/bin/python -m bench.whatsapp_flood [--messages 50000] [--concurrency 64]

It starts intake as its own process on a fresh database and topic prefix, then posts
correctly signed Cloud API notifications, one message per POST, from many phones (each phone
greets with "halo", then sends a one-message report `LAPOR#Nama#NIK#Kota#Isi`), with bounded
concurrency, retrying any non-200 answer as Meta would. It reports:

- ack latency p50 / p95 / p99 / max (Meta wants a fast 200; the brief's budget is a median
  of at most 250 ms) and the acknowledged rate;
- the time until the inbox is worked off (every message processed) and until the outbox is
  empty (every reply and complaint published to Kafka);
- the exactly-once check: inbox rows = processed = sent, one complaint per LAPOR# message,
  no failed message;
- intake's peak resident memory (VmHWM) and its resident memory sampled during the run.

The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from services.intake.domain.whatsapp import sign
from services.personal_data.keystore import Keystore

APP_SECRET = "flood-app-secret"
LATENCY_BUDGET_MS = 250.0  # DOMAIN.md: answer fast, median <= 250 ms


@dataclass(frozen=True)
class Message:
    wa_id: str
    message_id: str
    text: str
    is_report: bool


def nik_for(index: int) -> str:
    """A structurally valid, distinct NIK per phone (Jakarta Pusat, born 1990)."""
    serial = index % 9999 + 1
    day = 1 + (index // 9999) % 28
    month = 1 + (index // (9999 * 28)) % 12
    return f"317101{day:02d}{month:02d}90{serial:04d}"


def flood(count: int, per_phone: int = 2, run: str = "") -> Iterator[Message]:
    """`count` messages from `count / per_phone` phones: a greeting first, then (last turn)
    a one-message report; one phone's turns are `phones` messages apart, so they arrive in
    order even at high concurrency."""
    phones = max(1, -(-count // per_phone))
    for index in range(count):
        phone, turn = index % phones, index // phones
        wa_id = f"62812{phone:08d}"
        if turn == per_phone - 1 and per_phone > 1:
            text = (
                f"LAPOR#Warga Flood {phone}#{nik_for(phone)}#Jakarta Pusat#Sertifikat tanah"
                f" nomor {phone} tidak terbit sejak 2019 padahal biaya sudah lunas."
            )
            yield Message(wa_id, f"wamid.flood{run}.{phone}.{turn}", text, True)
        else:
            text = "halo" if turn == 0 else f"Warga Flood {phone}"
            yield Message(wa_id, f"wamid.flood{run}.{phone}.{turn}", text, False)


def notification(message: Message) -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-FLOOD",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "628111000000",
                                "phone_number_id": "100000000000001",
                            },
                            "contacts": [{"profile": {"name": "Warga"}, "wa_id": message.wa_id}],
                            "messages": [
                                {
                                    "from": message.wa_id,
                                    "id": message.message_id,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": message.text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far, from /proc."""
    with contextlib.suppress(FileNotFoundError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process in MB, from /proc."""
    found = {"VmHWM": 0.0, "VmRSS": 0.0}
    with contextlib.suppress(FileNotFoundError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in found:
                found[name] = int(value.split()[0]) / 1024
    return found["VmHWM"], found["VmRSS"]


@dataclass
class FloodReport:
    sent: int = 0
    reports_sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # transport errors, by kind
    send_seconds: float = 0.0
    inbox_seconds: float | None = None
    outbox_seconds: float | None = None
    inbox_rows: int = 0
    processed: int = 0
    distinct_ids: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    complaints: int = 0
    complaints_per_report_max: int = 0
    out_of_order: int = 0  # phones whose later message was handled before an earlier one
    peak_rss_mb: float = 0.0
    cpu_seconds: float = 0.0  # intake's, from the first POST until the outbox was empty
    rss_samples_mb: list[float] = field(default_factory=list)

    def lost_or_doubled(self) -> list[str]:
        problems = []
        if self.inbox_rows != self.sent or self.distinct_ids != self.sent:
            problems.append(f"inbox holds {self.inbox_rows} rows for {self.sent} messages sent")
        if self.processed != self.sent:
            problems.append(f"{self.sent - self.processed} messages never processed")
        failed = sum(n for outcome, n in self.outcomes.items() if outcome.startswith("failed"))
        if failed:
            problems.append(f"{failed} messages failed")
        if self.out_of_order:
            problems.append(f"{self.out_of_order} phones' messages handled out of order")
        if self.complaints != self.reports_sent or self.complaints_per_report_max > 1:
            problems.append(
                f"{self.complaints} complaints for {self.reports_sent} LAPOR# messages"
                f" (most for one message: {self.complaints_per_report_max})"
            )
        return problems

    def lines(self) -> list[str]:
        ms = self.latencies_ms
        rate = self.sent / self.send_seconds if self.send_seconds else 0.0
        over = sum(1 for value in ms if value > LATENCY_BUDGET_MS)
        drain = f"{self.inbox_seconds:.1f} s" if self.inbox_seconds is not None else "NOT DONE"
        out = f"{self.outbox_seconds:.1f} s" if self.outbox_seconds is not None else "NOT DONE"
        rss = self.rss_samples_mb
        return [
            f"messages sent        {self.sent} ({self.reports_sent} LAPOR# reports),"
            f" {self.retries} retried, answers {dict(self.statuses)}"
            + (f", transport errors {dict(self.errors)}" if self.errors else ""),
            f"acknowledged in      {self.send_seconds:.1f} s = {rate:.0f} messages/s",
            f"ack latency          p50 {percentile(ms, 0.50):.1f} ms  p95"
            f" {percentile(ms, 0.95):.1f} ms  p99 {percentile(ms, 0.99):.1f} ms  max"
            f" {max(ms, default=float('nan')):.1f} ms  mean"
            f" {statistics.fmean(ms) if ms else float('nan'):.1f} ms"
            f"  ({over} over {LATENCY_BUDGET_MS:.0f} ms)",
            f"inbox worked off     {drain} after the first POST (rows {self.inbox_rows},"
            f" processed {self.processed}, distinct ids {self.distinct_ids})",
            f"outbox published     {out} after the first POST",
            f"outcomes             {dict(self.outcomes.most_common())}",
            f"complaints filed     {self.complaints} for {self.reports_sent} LAPOR# messages",
            f"intake CPU           {self.cpu_seconds:.1f} s ="
            f" {self.cpu_seconds / max(self.sent, 1) * 1000:.2f} ms per message (webhook and"
            " inbox workers together, until the outbox was empty)",
            f"intake memory        peak RSS (VmHWM) {self.peak_rss_mb:.1f} MB; RSS during the"
            f" run min {min(rss, default=0):.1f} / max {max(rss, default=0):.1f} MB",
            "exactly once         "
            + ("ok: nothing lost, nothing doubled" if not self.lost_or_doubled() else "FAILED"),
            *(f"  - {problem}" for problem in self.lost_or_doubled()),
        ]


class KeepAliveConnection:
    """A minimal HTTP/1.1 client for one keep-alive connection. The load generator shares
    the machine with intake, Kafka and PostgreSQL: a general-purpose client spent about
    10 ms of CPU per POST here, more than intake itself, and so skewed the latencies it
    measured."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                close = "close" in value
        if chunked:
            while size := int((await self.reader.readline()).strip() or b"0", 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def send_all(
    url: str,
    messages: list[Message],
    concurrency: int,
    report: FloodReport,
    app_secret: str = APP_SECRET,
    progress_every: int = 0,
) -> None:
    """POST every message with at most `concurrency` in flight (one keep-alive connection
    each); a non-200 or a transport error is retried after a short pause, as Meta retries,
    until it is acknowledged."""
    next_index = 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal next_index
        connection = KeepAliveConnection(url)
        try:
            while next_index < len(messages):
                message = messages[next_index]
                next_index += 1
                raw = notification(message)
                headers = {
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": sign(app_secret, raw),
                }
                while True:
                    sent_at = time.perf_counter()
                    try:
                        status = await asyncio.wait_for(
                            connection.post("/webhooks/whatsapp", raw, headers), 60
                        )
                    except (OSError, TimeoutError, ValueError, IndexError, EOFError) as error:
                        connection.close()
                        report.errors[type(error).__name__] += 1
                        status = 0
                    report.statuses[status] += 1
                    if status == 200:
                        report.latencies_ms.append((time.perf_counter() - sent_at) * 1000)
                        break
                    report.retries += 1
                    await asyncio.sleep(0.5)
                report.sent += 1
                report.reports_sent += message.is_report
                if progress_every and report.sent % progress_every == 0:
                    elapsed = time.perf_counter() - started
                    print(
                        f"  {report.sent} acknowledged, {report.sent / elapsed:.0f}/s",
                        flush=True,
                    )
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    report.send_seconds = time.perf_counter() - started


async def watch_until_worked_off(
    database_url: str,
    expected: int,
    started: float,
    report: FloodReport,
    pid: int | None,
    within: float,
    refs: list[str],
    sending: asyncio.Task[None] | None = None,
) -> None:
    """Poll the inbox and the outbox (and intake's memory) until every message is processed
    and every resulting event published, or `within` seconds have passed."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "intake"})
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if pid:
                report.rss_samples_mb.append(peak_rss_mb(pid)[1])
            row = await conn.fetchrow(
                "SELECT count(*) AS total, count(processed_at) AS done FROM whatsapp_inbox"
                " WHERE message_id = ANY($1::text[])",
                refs,
            )
            sending_done = sending is None or sending.done()
            if report.inbox_seconds is None and sending_done and row["done"] >= expected:
                report.inbox_seconds = time.perf_counter() - started
            if report.inbox_seconds is not None:
                if await conn.fetchval("SELECT count(*) FROM outbox") == 0:
                    report.outbox_seconds = time.perf_counter() - started
                    return
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def verify(
    database_url: str, report: FloodReport, refs: list[str], senders: list[str]
) -> None:
    """Counts (exactly once) and order: each phone's messages (`senders[i]` sent `refs[i]`,
    in the order given) processed in that order; a later batch of a shard starts after the
    earlier one committed, so its processed_at (the clock when it was marked) is later."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "intake"})
    try:
        handled_at = dict(
            await conn.fetch(
                "SELECT message_id, processed_at FROM whatsapp_inbox"
                " WHERE message_id = ANY($1::text[])",
                refs,
            )
        )
        last: dict[str, datetime] = {}
        disordered: set[str] = set()
        for ref, sender in zip(refs, senders, strict=True):
            at = handled_at.get(ref)
            if at is None:
                continue  # never processed: counted below
            if sender in last and last[sender] >= at:
                disordered.add(sender)
            last[sender] = at
        report.out_of_order = len(disordered)
        row = await conn.fetchrow(
            "SELECT count(*) AS rows, count(processed_at) AS done,"
            " count(DISTINCT message_id) AS ids FROM whatsapp_inbox"
            " WHERE message_id = ANY($1::text[])",
            refs,
        )
        report.inbox_rows, report.processed, report.distinct_ids = (
            row["rows"],
            row["done"],
            row["ids"],
        )
        outcomes = await conn.fetch(
            "SELECT coalesce(outcome, 'pending') AS outcome, count(*) AS n FROM whatsapp_inbox"
            " WHERE message_id = ANY($1::text[]) GROUP BY 1",
            refs,
        )
        report.outcomes = Counter({r["outcome"]: r["n"] for r in outcomes})
        per_message = await conn.fetch(
            "SELECT idempotency_key, count(*) AS n FROM complaints"
            " WHERE idempotency_key = ANY($1::text[]) GROUP BY 1",
            [f"whatsapp:{ref}" for ref in refs],
        )
        report.complaints = sum(r["n"] for r in per_message)
        report.complaints_per_report_max = max((r["n"] for r in per_message), default=0)
    finally:
        await conn.close()


async def flood_running_intake(
    url: str,
    database_url: str,
    messages: int,
    concurrency: int,
    pid: int | None,
    within: float,
    per_phone: int = 2,
    progress_every: int = 0,
    app_secret: str = APP_SECRET,
) -> FloodReport:
    """Flood an intake that is already running against `database_url`."""
    run = uuid.uuid4().hex[:6]
    batch = list(flood(messages, per_phone, run))
    # Intake keeps a keyed hash of each message id (a real wamid encodes the number); the
    # bench derives the same refs with the same identity key to find its run's rows.
    keys = Keystore.from_env()
    refs = [keys.message_ref(message.message_id) for message in batch]
    report = FloodReport()
    cpu_before = cpu_seconds(pid) if pid else 0.0
    started = time.perf_counter()
    sending = asyncio.create_task(
        send_all(url, batch, concurrency, report, app_secret, progress_every)
    )
    await watch_until_worked_off(
        database_url, messages, started, report, pid, within, refs, sending
    )
    await sending  # surfaces a sender error, if any
    if pid:
        report.cpu_seconds = cpu_seconds(pid) - cpu_before
    await verify(database_url, report, refs, [message.wa_id for message in batch])
    if pid:
        report.peak_rss_mb = peak_rss_mb(pid)[0]
    return report


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--per-phone", type=int, default=2, help="messages per phone")
    parser.add_argument("--within", type=float, default=3600.0, help="give up after (s)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    bootstrap = os.environ.get("LAPOR_KAFKA_BOOTSTRAP")
    admin_url = os.environ.get("LAPOR_DATABASE_URL")
    if not (bootstrap and admin_url):
        from ops import infra

        # infra.up() runs its own event loop for the readiness check: keep it off ours.
        config = await asyncio.to_thread(infra.up)
        bootstrap, admin_url = config.kafka_bootstrap, config.database_url
    run = uuid.uuid4().hex[:8]
    name = f"lapor_flood_{run}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    database_url = f"{admin_url.rpartition('/')[0]}/{name}"

    from tests.support import ServiceProcess

    log_dir = Path(tempfile.mkdtemp(prefix="lapor-flood-"))
    intake = ServiceProcess(
        "intake",
        {
            "LAPOR_KAFKA_BOOTSTRAP": bootstrap,
            "LAPOR_DATABASE_URL": database_url,
            "LAPOR_TOPIC_PREFIX": f"flood{run}.",
            "LAPOR_LOG_LEVEL": "WARNING",
            "LAPOR_INTAKE_WHATSAPP_APP_SECRET": APP_SECRET,
        },
        log_dir,
    )
    intake.start()
    try:
        await intake.wait_ready()
        assert intake.process is not None
        print(
            f"intake pid {intake.process.pid} at {intake.url}; {args.messages} messages,"
            f" {args.concurrency} concurrent, {args.per_phone} per phone; logs in {log_dir}",
            flush=True,
        )
        report = await flood_running_intake(
            intake.url,
            database_url,
            args.messages,
            args.concurrency,
            intake.process.pid,
            args.within,
            args.per_phone,
            progress_every=max(1000, args.messages // 10),
        )
        print("\n".join(report.lines()))
    finally:
        code = intake.terminate()
        print(f"intake stopped (exit {code})")
        if not args.keep:
            admin = await asyncpg.connect(admin_url)
            with contextlib.suppress(Exception):
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
