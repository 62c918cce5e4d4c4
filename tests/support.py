"""Helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from schemas import regions
from schemas.events import (
    CaseAssigned,
    CaseAssignedPayload,
    Category,
    Channel,
    CitizenNotified,
    CitizenNotifiedPayload,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Eligibility,
    Event,
    Language,
    Location,
    Priority,
    Reporter,
    follow_up_ids,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
SYLLABLES = tuple(consonant + vowel for consonant in "bdgjklmnprstw" for vowel in "aiueo")


def distinct_complaint(n: int, phone_prefix: str = "0812") -> dict[str, object]:
    """The n-th land complaint of a run, from a reporter of its own about a real regency (they
    repeat after 514). Its place is 16 made-up words after a short opening (as in the chaos
    run), so it is no near duplicate of any other complaint, this kind or a test's fixed ones,
    even in the same regency: triage's duplicate detection and per-reporter limits (rightly)
    accept every one."""
    regency = regions.regencies()[n % len(regions.regencies())]
    rng = random.Random(n)
    places = " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()
        for _ in range(16)
    )
    birth = f"{1 + n % 28:02d}{1 + n % 12:02d}80"
    return {
        "name": f"Warga Uji {n}",
        "nik": f"{regency.code.replace('.', '')}01{birth}{n % 10_000:04d}",
        "phone": f"{phone_prefix}{n:08d}",
        "region_code": regency.code,
        "description": f"Sertifikat tanah kami belum terbit di kampung {places}.",
    }


async def eventually(
    check: Callable[[], Awaitable[T]], *, within: float = 60.0, interval: float = 0.2
) -> T:
    """Poll an async check until it returns a truthy value; fail with its last value.

    The limit only bounds a hung test; a slow machine passes, it just polls longer.
    """
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s; last value: {last!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """One service running as its own OS process, as in production."""

    def __init__(
        self, service: str, env: dict[str, str], log_dir: Path, module: str | None = None
    ) -> None:
        self.service = service
        self.module = module or f"services.{service}"  # a test launcher may wrap the service
        self.port = free_port()
        self.env = {**os.environ, **env, "LAPOR_HTTP_PORT": str(self.port)}
        self.log_path = log_dir / f"{service}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return self

    async def wait_ready(self, within: float = 120.0) -> None:
        async def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.service} exited:\n{self.log_tail()}")
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, within=within, interval=0.3)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final commit."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def terminate(self, within: float = 60.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(within)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "<no log>"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def where_unassigned(db: asyncpg.Pool, codes: list[str]) -> str:
    """For a failure: how far each complaint without a case got (intake's status and timeline,
    triage's review queue)."""
    rows = await db.fetch(
        "SELECT c.tracking_code, c.status, c.channel,"
        " (SELECT string_agg(t.event_type, ',' ORDER BY t.occurred_at)"
        "  FROM intake.complaint_timeline t WHERE t.complaint_id = c.complaint_id) AS steps,"
        " (SELECT count(*) FROM intake.outbox) AS outbox"
        " FROM intake.complaints c WHERE c.tracking_code = ANY($1)"
        " AND NOT EXISTS (SELECT 1 FROM routing.cases k WHERE k.tracking_code = c.tracking_code)",
        codes,
    )
    known = await db.fetchval(
        "SELECT count(*) FROM intake.complaints WHERE tracking_code = ANY($1)", codes
    )
    return f"{len(codes)} acknowledged, {known} known to intake, without a case: " + "; ".join(
        f"{r['tracking_code']} {r['status']} [{r['steps']}] outbox={r['outbox']}" for r in rows
    )


def received_event(
    text: str, nik: str, region: str | None = "32.73", *, filed_before: bool = False
) -> ComplaintReceived:
    """A web complaint as intake publishes it (unsealed: what triage reads once opened)."""
    complaint_id = uuid.uuid4()
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:8].upper()}",
            channel=Channel.WEB,
            reporter=Reporter(name="Warga", nik=nik, phone="+6281234567890"),
            description=text,
            location=Location(region_code=region),
            eligibility=Eligibility(filed_before=filed_before),
            received_at=datetime.now(UTC),
        ),
    )


def accepted_event(
    complaint_id: uuid.UUID, code: str, at: datetime, **payload: Any
) -> ComplaintAccepted:
    """Triage's acceptance of a web complaint about social assistance (`payload` overrides)."""
    return ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        occurred_at=at,
        payload=ComplaintAcceptedPayload(
            **{
                "tracking_code": code,
                "channel": Channel.WEB,
                "category": Category.SOCIAL_ASSISTANCE,
                "priority": Priority.NORMAL,
                "summary": "Bantuan sosial dihentikan",
                **payload,
            }
        ),
    )


def assigned_event(accepted: ComplaintAccepted, at: datetime, **payload: Any) -> CaseAssigned:
    """Routing's assignment that follows `accepted`, due 20 days after `at`."""
    assert accepted.complaint_id is not None
    return CaseAssigned(
        **follow_up_ids(accepted, "routing", "CaseAssigned"),
        occurred_at=at,
        payload=CaseAssignedPayload(
            **{
                "case_id": uuid.uuid5(accepted.complaint_id, "case"),
                "tracking_code": accepted.payload.tracking_code,
                "agency_code": "KEMENSOS",
                "agency_name": "Kementerian Sosial",
                "rule_id": "social-assistance-national",
                "due_at": at + timedelta(days=20),
                **payload,
            }
        ),
    )


def notified_event(cause: Event, code: str, at: datetime) -> CitizenNotified:
    """The notifier's WhatsApp message about `cause`."""
    return CitizenNotified(
        **follow_up_ids(cause, "notifier", "CitizenNotified"),
        occurred_at=at,
        payload=CitizenNotifiedPayload(
            notification_id=uuid.uuid5(cause.event_id, "notification"),
            tracking_code=code,
            trigger_event_id=cause.event_id,
            trigger_event_type=cause.event_type,
            channel="whatsapp",
            template="status",
            language=Language.INDONESIAN,
        ),
    )
