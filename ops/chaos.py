"""Chaos run: drive complaints through the whole system while killing it, then count.

    lapor chaos [--complaints 5000] [--kills 3] [--seed N]

It brings up its own Kafka broker and PostgreSQL server (separate ports and state directory,
so restarting them harms nothing else), runs two instances of triage and of routing so that
rebalances happen, and, while complaints flow in:
- SIGKILLs a random instance of every service `kills` times and starts it again;
- restarts the Kafka broker once and PostgreSQL once;
- puts deliberately bad messages on an input topic.

At the end it checks, and prints as a table:
- every complaint that got a 2xx is exactly one case, or one recorded rejection, review or
  duplicate;
- exactly one receipt was recorded per complaint: the notifier's "received" message, or for
  a WhatsApp complaint the conversation's receipt (the reply with purpose "receipt"), never
  both;
- no consumer group lags and no outbox holds rows;
- the dead-letter topics hold exactly the deliberately bad messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from ops import infra
from ops.standins import SmsGatewayStandIn, SmtpStandIn, WhatsAppCloudStandIn
from services.intake.domain.whatsapp import sign

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCES = {"intake": 1, "triage": 2, "routing": 2, "notifier": 1}
POISON = (b"{not json", b'{"event_type": "ComplaintTeleported"}', b"\xff\xfe")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    service: str
    index: int
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.log_dir / f"{self.service}-{self.index}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.service}"],
            env={**self.env, "LAPOR_HTTP_PORT": str(self.port)},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None  # killed on purpose: the watchdog leaves it to the monkey

    def terminate(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _ready(instance: Instance, within: float) -> bool:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{instance.url}/readyz", timeout=2)).status_code == 200:
                    return True
            await asyncio.sleep(0.5)
    return False


def _log_tail(instance: Instance, lines: int = 40) -> str:
    path = instance.log_dir / f"{instance.service}-{instance.index}.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ChaosReport:
    rows: list[tuple[str, Any, Any, bool]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    def check(self, name: str, expected: Any, actual: Any) -> None:
        self.rows.append((name, expected, actual, expected == actual))

    @property
    def passed(self) -> bool:
        return all(ok for *_, ok in self.rows)

    def table(self) -> str:
        width = max(len(name) for name, *_ in self.rows) if self.rows else 10
        lines = [f"{'check':{width}}  {'expected':>10}  {'actual':>10}  result"]
        for name, expected, actual, ok in self.rows:
            lines.append(
                f"{name:{width}}  {expected!s:>10}  {actual!s:>10}  {'ok' if ok else 'FAIL'}"
            )
        return "\n".join(lines)


REGIONS = ("31.71", "32.73", "33.74", "35.78", "34.71", "51.71", "73.71", "12.71", "16.71")
SYLLABLES = tuple(consonant + vowel for consonant in "bdgjklmnprstw" for vowel in "aiueo")


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()


def _complaint(index: int, rng: random.Random) -> dict[str, Any]:
    """A distinct complaint: the places and people in it are made-up words, so two complaints
    share only the short opening and are not near duplicates of each other."""
    day = rng.randint(1, 28) + (40 if index % 2 else 0)
    birth = f"{day:02d}{rng.randint(1, 12):02d}{rng.randint(60, 99):02d}"
    region = REGIONS[index % len(REGIONS)]
    nik = f"{region.replace('.', '')}{rng.randint(1, 9):02d}{birth}{index % 9999 + 1:04d}"
    subjects = (
        "Sertifikat tanah kami belum terbit di",
        "Ijazah anak saya ditahan sekolah di",
        "Jalan rusak berlubang besar di",
        "Bantuan sosial PKH keluarga kami berhenti di",
        "Puskesmas menolak melayani pasien BPJS di",
    )
    places = " ".join(_name(rng) for _ in range(16))
    month = rng.choice(["Januari", "Maret", "Juni", "Oktober"])
    story = f"kampung {places}, belum ditangani sejak {rng.randint(1, 28)} {month}."
    return {
        "name": f"Warga Uji {index}",
        "nik": nik,
        "phone": f"0813{index:08d}",
        "region_code": region,
        "description": f"{rng.choice(subjects)} {story}",
    }


CHANNELS = ("web", "whatsapp", "walk_in")
WHATSAPP_APP_SECRET = "chaos-app-secret"
DESK_OFFICER = "chaos-officer:chaos-desk-token"


class ChaosRefused(Exception):
    """Intake answered a 4xx other than 429: the driver's request was wrong, not unlucky."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"unexpected {status}: {text[:300]}")
        self.status, self.text = status, text


def whatsapp_text_notification(wa_id: str, message_id: str, text: str) -> bytes:
    """A WhatsApp Cloud API webhook notification carrying one text message."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1234567890"},
        "contacts": [{"profile": {"name": "Warga"}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": message_id,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-ID", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body, ensure_ascii=False).encode()


class Chaos:
    def __init__(self, complaints: int, kills: int, seed: int, workdir: Path) -> None:
        self.complaints = complaints
        self.kills = kills
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.config = infra.InfraConfig(
            state_dir=workdir / "infra",
            kafka_port=_free_port(),
            kafka_controller_port=_free_port(),
            pg_port=_free_port(),
            pg_database="lapor",
            pg_user="lapor",
        )
        self.instances: dict[str, list[Instance]] = {}
        self.accepted: list[str] = []  # tracking codes from web and walk-in receipts
        self.whatsapp_acknowledged = 0  # webhook POSTs answered 200 (one LAPOR# message each)
        self.whatsapp_codes: list[str] = []
        self.report = ChaosReport()
        self.poison_sent = 0
        self.kills_done = dict.fromkeys(INSTANCES, 0)
        self.stall_restarts = 0  # instances restarted for staying unready (see settle)
        self.whatsapp: WhatsAppCloudStandIn | None = None
        self.sms: SmsGatewayStandIn | None = None
        self.smtp: SmtpStandIn | None = None

    def log(self, action: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.report.actions.append(f"{stamp} {action}")
        print(f"[chaos {stamp}] {action}", flush=True)

    async def setup(self) -> None:
        await asyncio.to_thread(infra.up, self.config)
        from services.messaging.kafka import ensure_topics

        await ensure_topics(self.config.kafka_bootstrap)
        env = {
            **os.environ,
            "LAPOR_KAFKA_BOOTSTRAP": self.config.kafka_bootstrap,
            "LAPOR_DATABASE_URL": self.config.database_url,
            "LAPOR_LOG_LEVEL": os.environ.get("LAPOR_CHAOS_LOG_LEVEL", "WARNING"),
            **await self._start_providers(),
            # One load generator, one IP: the per-IP limit is for the public, not for this.
            "LAPOR_INTAKE_RATE_LIMIT_PER_IP_PER_MINUTE": "1000000",
            "LAPOR_INTAKE_RATE_LIMIT_PER_IP_BURST": "100000",
            "LAPOR_INTAKE_WHATSAPP_APP_SECRET": WHATSAPP_APP_SECRET,
            "LAPOR_INTAKE_WHATSAPP_VERIFY_TOKEN": "chaos-verify",
            "LAPOR_INTAKE_DESK_OFFICERS": DESK_OFFICER,
            "LAPOR_INTAKE_DESK_HOURS": ",".join(f"{day}=00:00-23:59" for day in range(7)),
            "LAPOR_INTAKE_DESK_DAILY_QUOTA": str(self.complaints + 10),
        }
        log_dir = self.workdir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        for service, count in INSTANCES.items():
            self.instances[service] = [Instance(service, i, env, log_dir) for i in range(count)]
        for instances in self.instances.values():
            for instance in instances:
                instance.start()
        await self._all_ready()
        self.log("all instances ready: " + ", ".join(f"{s} x{n}" for s, n in INSTANCES.items()))

    async def drive(self) -> None:
        """Submit complaints on all three channels until `complaints` have been acknowledged:
        the web API (202 + tracking code), the WhatsApp webhook (200 to a signed `LAPOR#`
        message) and the walk-in desk (booking, check-in, then the officer's 201 receipt).
        Every request is retried until acknowledged, as real clients and Meta do."""
        intake = self.instances["intake"][0]
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=intake.url, timeout=10, limits=limits) as client:
            queue = list(range(self.complaints))

            async def worker() -> None:
                while queue:
                    index = queue.pop()
                    body = _complaint(index, self.rng)
                    channel = CHANNELS[index % len(CHANNELS)]
                    if channel == "web":
                        self.accepted.append(await self._by_web(client, index, body))
                    elif channel == "whatsapp":
                        await self._by_whatsapp(client, index, body)
                        self.whatsapp_acknowledged += 1
                    else:
                        self.accepted.append(await self._by_walk_in(client, body))

            await asyncio.gather(*(worker() for _ in range(16)))

    async def _acknowledged(
        self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """The first 2xx for this request; connection errors, 5xx and 429 are retried."""
        while True:
            try:
                response = await client.request(method, url, **kwargs)
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
                continue
            if response.is_success:
                return response
            if response.status_code == 429:  # rate limited: not acknowledged
                await asyncio.sleep(float(response.headers.get("Retry-After", 1)))
                continue
            if response.status_code >= 500:
                await asyncio.sleep(0.5)
                continue
            raise ChaosRefused(response.status_code, response.text)

    async def _by_web(self, client: httpx.AsyncClient, index: int, body: dict[str, Any]) -> str:
        response = await self._acknowledged(
            client, "POST", "/v1/complaints", json=body, headers={"Idempotency-Key": f"c{index}"}
        )
        return str(response.json()["tracking_code"])

    async def _by_whatsapp(
        self, client: httpx.AsyncClient, index: int, body: dict[str, Any]
    ) -> None:
        wa_id = f"62857{index:08d}"
        text = f"LAPOR#{body['name']}#{body['nik']}#Kota Uji#{body['description']}"
        raw = whatsapp_text_notification(wa_id, f"wamid.CHAOS{index:010d}", text)
        headers = {
            "content-type": "application/json",
            "X-Hub-Signature-256": sign(WHATSAPP_APP_SECRET, raw),
        }
        await self._acknowledged(client, "POST", "/webhooks/whatsapp", content=raw, headers=headers)

    async def _by_walk_in(self, client: httpx.AsyncClient, body: dict[str, Any]) -> str:
        officer = httpx.BasicAuth(*DESK_OFFICER.split(":"))
        while True:
            try:
                today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
                booking = await self._acknowledged(
                    client,
                    "POST",
                    "/v1/walk-in/bookings",
                    json={"name": body["name"], "phone": body["phone"], "visit_date": today},
                )
                code = booking.json()["booking_code"]
                await self._acknowledged(
                    client,
                    "POST",
                    "/v1/walk-in/check-ins",
                    json={"booking_code": code},
                    auth=officer,
                )
                complaint = {key: body[key] for key in ("nik", "description", "region_code")} | {
                    "booking_code": code
                }
                receipt = await self._acknowledged(
                    client, "POST", "/v1/walk-in/complaints", json=complaint, auth=officer
                )
                return str(receipt.json()["tracking_code"])
            except ChaosRefused as refused:
                if refused.status == 409 and "not today" in refused.text:
                    continue  # the run crossed midnight in Jakarta: book again for the new day
                raise

    async def monkey(self, duration: float) -> None:
        """Spread the kills and the infrastructure restarts over the driving time."""
        plan: list[tuple[float, str]] = []
        for service in INSTANCES:
            plan += [(self.rng.uniform(0.05, 0.9) * duration, service) for _ in range(self.kills)]
        plan += [(self.rng.uniform(0.2, 0.5) * duration, "kafka")]
        plan += [(self.rng.uniform(0.5, 0.8) * duration, "postgres")]
        plan += [(self.rng.uniform(0.1, 0.9) * duration, "poison")]
        started = time.monotonic()
        for at, target in sorted(plan):
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            if target == "kafka":
                self.log("restarting the Kafka broker")
                await asyncio.to_thread(infra.kafka_down, self.config)
                await asyncio.to_thread(infra.kafka_up, self.config)
            elif target == "postgres":
                self.log("restarting PostgreSQL")
                await asyncio.to_thread(infra.postgres_down, self.config)
                await asyncio.to_thread(infra.postgres_up, self.config)
            elif target == "poison":
                await self.send_poison()
            else:
                instance = self.rng.choice(self.instances[target])
                self.log(f"SIGKILL {target}-{instance.index}")
                instance.kill()
                await asyncio.sleep(self.rng.uniform(0.2, 2.0))
                instance.start()
                self.kills_done[target] += 1

    async def watchdog(self, stop: asyncio.Event) -> None:
        """Restart an instance that died on its own (as an orchestrator's restart policy would)."""
        while not stop.is_set():
            for group in self.instances.values():
                for instance in group:
                    if instance.process is not None and instance.process.poll() is not None:
                        code = instance.process.returncode
                        self.log(f"{instance.service}-{instance.index} exited ({code}); restarting")
                        instance.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def send_poison(self) -> None:
        from schemas.topics import COMPLAINTS_TRIAGED
        from services.messaging.kafka import make_producer

        producer = make_producer(self.config.kafka_bootstrap, "chaos-poison")
        await producer.start()
        try:
            for raw in POISON:
                await producer.send_and_wait(COMPLAINTS_TRIAGED.name, raw, key=b"poison")
                self.poison_sent += 1
        finally:
            await producer.stop()
        self.log(f"sent {len(POISON)} deliberately bad messages to {COMPLAINTS_TRIAGED.name}")

    async def _all_ready(self) -> None:
        instances = [i for group in self.instances.values() for i in group]
        await asyncio.gather(*(self._ready_or_restart(i) for i in instances))

    async def _ready_or_restart(self, instance: Instance, stalled_after: float = 90.0) -> None:
        """Ready, or restarted once after `stalled_after` seconds unready, as an orchestrator's
        liveness probe on /readyz would (a faust worker can stall in a rebalance after the
        broker restarts; issue 16 removes the state that makes it slow to recover)."""
        if await _ready(instance, stalled_after):
            return
        name = f"{instance.service}-{instance.index}"
        self.log(f"{name} unready for {stalled_after:.0f}s; restarting")
        self.stall_restarts += 1
        instance.terminate()
        instance.start()
        if not await _ready(instance, 180.0):
            raise RuntimeError(
                f"{instance.service}-{instance.index} not ready after a restart;"
                f" the end of its log ({instance.log_dir}):\n{_log_tail(instance)}"
            )

    async def settle(self, within: float = 240.0) -> None:
        """Wait until every acknowledged complaint has reached a final state."""
        await self._all_ready()
        conn = await asyncpg.connect(self.config.database_url)
        try:
            deadline = time.monotonic() + within
            was_quiet = False
            while time.monotonic() < deadline:
                self.whatsapp_codes = await self._whatsapp_codes(conn)
                codes = self.accepted + self.whatsapp_codes
                settled = await conn.fetchval(
                    "SELECT count(*) FROM intake.complaints WHERE tracking_code = ANY($1)"
                    " AND status NOT IN ('received', 'verified')",
                    codes,
                )
                # Quiet twice in a row: one quiet moment can fall between a send and the
                # CitizenNotified it publishes (seen in CI: lag appeared after settling).
                quiet = await self._quiet(conn)
                if (
                    len(self.whatsapp_codes) >= self.whatsapp_acknowledged
                    and settled == len(codes)
                    and quiet
                    and was_quiet
                ):
                    return
                was_quiet = quiet
                await asyncio.sleep(2)
        finally:
            await conn.close()
        self.log("did not settle in time; checking what is there")

    async def _whatsapp_codes(self, conn: asyncpg.Connection) -> list[str]:
        """WhatsApp complaints are filed by intake's inbox worker after the 200; the run's
        database holds no others."""
        rows = await conn.fetch(
            "SELECT tracking_code FROM intake.complaints WHERE channel = $1", "whatsapp"
        )
        return [row["tracking_code"] for row in rows]

    async def _quiet(self, conn: asyncpg.Connection) -> bool:
        from services.messaging.lag import group_progress

        progress = await group_progress(self.config.kafka_bootstrap, list(INSTANCES))
        outboxes = 0
        for service in INSTANCES:
            if service != "triage":
                outboxes += await conn.fetchval(f"SELECT count(*) FROM {service}.outbox")
        # Sends still due or in flight will publish CitizenNotified: not settled yet.
        sending = await conn.fetchval(
            "SELECT count(*) FROM notifier.notifications WHERE status IN ('pending', 'sending')"
        )
        return outboxes == 0 and sending == 0 and all(p.lag == 0 for p in progress.values())

    async def verify(self) -> None:
        from services.messaging.deadletter import read_dead_letters
        from services.messaging.lag import group_progress

        check = self.report.check
        for service, done in self.kills_done.items():
            check(f"SIGKILLs of {service}", self.kills, done)
        conn = await asyncpg.connect(self.config.database_url)
        try:
            self.whatsapp_codes = await self._whatsapp_codes(conn)
            codes = self.accepted + self.whatsapp_codes
            acknowledged = len(set(self.accepted)) + self.whatsapp_acknowledged
            check("complaints acknowledged (2xx)", self.complaints, acknowledged)
            check(
                "WhatsApp complaints filed (one per message)",
                self.whatsapp_acknowledged,
                len(self.whatsapp_codes),
            )
            rows = await conn.fetch(
                "SELECT c.tracking_code, c.status, count(k.case_id) AS cases"
                " FROM intake.complaints c"
                " LEFT JOIN routing.cases k ON k.tracking_code = c.tracking_code"
                " WHERE c.tracking_code = ANY($1) GROUP BY 1, 2",
                codes,
            )
            final = {"forwarded_to_agency", "rejected", "under_review", "duplicate"}
            check("complaints known to intake", len(codes), len(rows))
            check(
                "complaints in a final state", len(codes), sum(r["status"] in final for r in rows)
            )
            unsettled = [r["tracking_code"] for r in rows if r["status"] not in final]
            if unsettled:
                await self._describe_unsettled(conn, unsettled)
                ids = await conn.fetch(
                    "SELECT complaint_id FROM intake.complaints WHERE tracking_code = ANY($1)",
                    unsettled[:20],
                )
                await self._trace([str(row["complaint_id"]) for row in ids])
            forwarded = [r for r in rows if r["status"] == "forwarded_to_agency"]
            check(
                "forwarded with exactly one case",
                len(forwarded),
                sum(r["cases"] == 1 for r in forwarded),
            )
            check(
                "not forwarded and without a case",
                len(rows) - len(forwarded),
                sum(r["cases"] == 0 for r in rows if r["status"] != "forwarded_to_agency"),
            )
            check(
                "cases in total (no doubles)",
                len(forwarded),
                await conn.fetchval(
                    "SELECT count(*) FROM routing.cases WHERE tracking_code = ANY($1)", codes
                ),
            )
            # One receipt per complaint: "received" (web, walk-in) or, on WhatsApp, the
            # conversation's reply that carries the tracking code.
            received = await conn.fetch(
                "SELECT r.tracking_code, count(*) AS n FROM notifier.notifications n"
                " JOIN notifier.recipients r USING (complaint_id)"
                " WHERE r.tracking_code = ANY($1) AND (n.trigger_type = 'ComplaintReceived'"
                "  OR (n.trigger_type = 'CitizenReplyRequested'"
                "   AND n.context->>'purpose' = 'receipt'))"
                " GROUP BY 1",
                codes,
            )
            check("complaints with a receipt", len(codes), len(received))
            check("receipts sent twice", 0, sum(r["n"] > 1 for r in received))
            outbox = 0
            for service in INSTANCES:
                if service != "triage":
                    outbox += await conn.fetchval(f"SELECT count(*) FROM {service}.outbox")
            check("outbox rows left", 0, outbox)
        finally:
            await conn.close()
        progress = await group_progress(self.config.kafka_bootstrap, list(INSTANCES))
        for service, group in progress.items():
            check(f"consumer lag left ({service})", 0, group.lag)
        # The poison went to the triaged topic, read by routing, intake and the notifier.
        letters = 0
        for service in ("routing", "intake", "notifier", "triage"):
            stored = await read_dead_letters(self.config.kafka_bootstrap, service)
            letters += len(stored)
            reasons = Counter(letter.headers.get("x-error", "?")[:120] for letter in stored)
            for reason, count in reasons.most_common(3):
                self.log(f"dead letters of {service}: {count} x {reason}")
        check("dead letters (= deliberately bad x readers)", self.poison_sent * 3, letters)

    async def _start_providers(self) -> dict[str, str]:
        """Local stand-ins for WhatsApp, the SMS gateway and SMTP, so the notifier delivers
        for real instead of dead-lettering every notification as undeliverable."""
        self.whatsapp, self.sms = WhatsAppCloudStandIn(), SmsGatewayStandIn()
        await self.whatsapp.serve(_free_port())
        await self.sms.serve(_free_port())
        smtp_port = _free_port()
        self.smtp = SmtpStandIn(smtp_port)
        self.smtp.start()
        return {
            "LAPOR_NOTIFIER_WHATSAPP_API_URL": self.whatsapp.url,
            "LAPOR_NOTIFIER_WHATSAPP_PHONE_NUMBER_ID": self.whatsapp.phone_number_id,
            "LAPOR_NOTIFIER_WHATSAPP_TOKEN": self.whatsapp.token,
            "LAPOR_NOTIFIER_SMS_GATEWAY_URL": f"{self.sms.url}/sms",
            "LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN": self.sms.token,
            "LAPOR_NOTIFIER_SMTP_HOST": "127.0.0.1",
            "LAPOR_NOTIFIER_SMTP_PORT": str(smtp_port),
        }

    async def _describe_unsettled(self, conn: asyncpg.Connection, codes: list[str]) -> None:
        """Unsettled complaints by channel and status, and how far each got downstream."""
        rows = await conn.fetch(
            "SELECT c.channel, c.status, count(*) AS n,"
            " count(t.complaint_id) AS decided, count(r.complaint_id) AS in_review"
            " FROM intake.complaints c"
            " LEFT JOIN (SELECT DISTINCT complaint_id FROM intake.complaint_timeline"
            "  WHERE status <> 'received') t ON t.complaint_id = c.complaint_id"
            " LEFT JOIN triage.review_items r ON r.complaint_id = c.complaint_id"
            " WHERE c.tracking_code = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2",
            codes,
        )
        for row in rows:
            self.log(
                f"unsettled: {row['n']} x {row['channel']} at {row['status']}"
                f" ({row['decided']} with a later timeline entry, {row['in_review']} in review)"
            )

    async def _trace(self, complaint_ids: list[str]) -> None:
        """Where each unsettled complaint was last seen: every topic of the run, scanned."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.kafka_bootstrap, enable_auto_commit=False
        )
        await consumer.start()
        try:
            prefix = os.environ.get("LAPOR_TOPIC_PREFIX", "")
            for topic in sorted(t for t in await consumer.topics() if t.startswith(prefix)):
                count = consumer.partitions_for_topic(topic) or set()
                partitions = [TopicPartition(topic, p) for p in sorted(count)]
                if not partitions:
                    continue
                ends = await consumer.end_offsets(partitions)
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                seen: list[str] = []
                while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                    for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                        for record in records:
                            raw = (record.value or b"") + (record.key or b"")
                            for complaint_id in complaint_ids:
                                if complaint_id.encode() in raw:
                                    seen.append(
                                        f"{complaint_id[:8]}@{tp.partition}:{record.offset}"
                                    )
                if seen:
                    self.log(f"trace {topic}: {', '.join(seen[:10])}")
        except Exception as error:  # a diagnostic: never fail the report over it
            self.log(f"trace failed: {error!r}")
        finally:
            await consumer.stop()

    async def teardown(self) -> None:
        for group in self.instances.values():
            for instance in group:
                instance.terminate()
        if self.smtp is not None:
            self.smtp.stop()
        for provider in (self.sms, self.whatsapp):
            if provider is not None:
                await provider.stop()
        await asyncio.to_thread(infra.down, self.config)

    async def run(self) -> ChaosReport:
        # Its own topic namespace for the length of the run; restored after, so an embedding
        # process (the test suite) keeps its own.
        previous_prefix = os.environ.get("LAPOR_TOPIC_PREFIX")
        os.environ["LAPOR_TOPIC_PREFIX"] = f"chaos{uuid.uuid4().hex[:6]}."
        try:
            return await self._run()
        finally:
            if previous_prefix is None:
                os.environ.pop("LAPOR_TOPIC_PREFIX", None)
            else:
                os.environ["LAPOR_TOPIC_PREFIX"] = previous_prefix

    async def _run(self) -> ChaosReport:
        await self.setup()
        try:
            started = time.monotonic()
            expected_duration = max(20.0, self.complaints / 40)
            stop_watchdog = asyncio.Event()
            watchdog = asyncio.create_task(self.watchdog(stop_watchdog))
            driver = asyncio.create_task(self.drive())
            await self.monkey(expected_duration)
            await driver
            elapsed = time.monotonic() - started
            total = len(self.accepted) + self.whatsapp_acknowledged
            self.log(f"{total} complaints acknowledged on three channels in {elapsed:.0f}s")
            await self.settle()
            stop_watchdog.set()
            await watchdog
            await self.verify()
        finally:
            await self.teardown()
        return self.report
