"""Chaos run: drive complaints through the whole system while killing it, then count.

    lapor chaos [--complaints 5000] [--kills 3] [--seed N]

It brings up its own Kafka broker and PostgreSQL server (separate ports and state directory,
so restarting them harms nothing else), runs two instances of triage and of routing so that
rebalances happen, and, while complaints flow in:
- SIGKILLs a random instance of every service `kills` times and starts it again;
- restarts the Kafka broker once and PostgreSQL once;
- puts deliberately bad messages on an input topic.

The complaints come on three channels (the web, WhatsApp through the local Cloud API
stand-in, the walk-in desk), and a share of them carry documents and additions
(`carries_documents`, `gets_addition`: about 13% and 14%):
- one web complaint in five comes through the form `/lapor` with a small PDF or PNG; one
  WhatsApp complaint in five is a guided conversation that sends a photo and a PDF (the
  media registered with the stand-in first, which intake downloads them from);
- one complaint in seven gets an addition as soon as it is filed: `TAMBAH#<code>` from the
  reporter's WhatsApp number (every other one a PDF captioned `TAMBAH#`), the web page
  `/lapor/tambah` with a PNG, or the owner API (`POST /v1/complaints/{code}/updates`).

A share of the complaints exercises triage's state under the kills (`ops/chaos_complaints.py`,
about half of them): exact repeats from one reporter, paraphrased near duplicates from other
reporters of the same area, pranks, and bursts from one reporter over the daily limit.

At the end it checks, and prints as a table:
- triage decided each complaint once (one decision event id per complaint on the triaged
  topic), and each planned kind got its outcome: a repeat or near group has exactly one case
  and every other member joined to it as a duplicate, pranks are rejected, and a burst has
  the daily limit forwarded and the rest held for review;
- every complaint that got a 2xx is exactly one case, or one recorded rejection, review or
  duplicate, and has exactly one case file (`routing.case_files`);
- exactly one receipt was recorded per complaint: the notifier's "received" message, or for
  a WhatsApp complaint the conversation's receipt (the reply with purpose "receipt"), never
  both;
- every acknowledged addition (a 2xx, or a TAMBAH# intake's inbox records as added; a 409
  because the report was final by then is counted apart) is recorded once by intake and kept
  once by routing (`routing.case_additions`, by event id, and as many per complaint as
  intake made), its documents listed there by id;
- every acknowledged document is stored once in intake on its complaint, sealed: a key id,
  the sha256 of the bytes sent, and content that opens (with the reporter's key) to them;
  no staged WhatsApp media is left over;
- no record on any topic of the run holds a document's bytes (raw, hex or base64): events
  carry references only;
- no consumer group lags, no outbox holds rows and no WhatsApp message waits unhandled;
- the dead-letter topics hold exactly the deliberately bad messages.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import json
import os
import random
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from ops import infra
from ops.chaos_complaints import check_kinds, distinct_complaint, plan_kinds, planned_complaint
from ops.standins import SmsGatewayStandIn, SmtpStandIn, WhatsAppCloudStandIn
from schemas import staff
from schemas.regions import regency
from schemas.staff import Role, StaffMember
from services.intake.domain.whatsapp import WHATSAPP_NAMESPACE, sign
from services.messaging.database import TRANSIENT_ERRORS
from services.personal_data.keystore import Keystore
from services.runtime import csrf

if TYPE_CHECKING:
    from aiokafka import TopicPartition

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


CHANNELS = ("web", "whatsapp", "walk_in")
WHATSAPP_APP_SECRET = "chaos-app-secret"
# The walk-in desk's officer, as the back office vouches for one (schemas.staff).
DESK_OFFICER = StaffMember("chaos-officer", frozenset({Role.DESK_OFFICER}), None)
STAFF_SECRET = "chaos-staff-assertion-secret"


class ChaosRefused(Exception):
    """Intake answered a 4xx other than 429: the driver's request was wrong, not unlucky."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"unexpected {status}: {text[:300]}")
        self.status, self.text = status, text


@functools.cache
def _keys() -> Keystore:
    return Keystore.from_env()  # the services' environment: the same identity key


def message_ref(message_id: str) -> str:
    """What intake keeps of a WhatsApp message id and derives its ids and idempotency keys
    from: a keyed hash under the shared identity key (a real wamid encodes the number)."""
    return _keys().message_ref(message_id)


def whatsapp_notification(wa_id: str, message_id: str, message: dict[str, Any]) -> bytes:
    """A WhatsApp Cloud API webhook notification carrying one message: `message` holds its
    `type` and that type's object, e.g. `{"type": "text", "text": {"body": "..."}}`."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1234567890"},
        "contacts": [{"profile": {"name": "Warga"}, "wa_id": wa_id}],
        "messages": [
            {"from": wa_id, "id": message_id, "timestamp": str(int(time.time())), **message}
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-ID", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def whatsapp_text_notification(wa_id: str, message_id: str, text: str) -> bytes:
    """A WhatsApp Cloud API webhook notification carrying one text message."""
    return whatsapp_notification(wa_id, message_id, _text(text))


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text}}


DOCUMENT_MARKER = b"chaos-document:"
MEDIA_TYPES = {"pdf": "application/pdf", "png": "image/png"}


def chaos_document(kind: str, label: str) -> bytes:
    """A small real PDF or PNG (`kind`), unique by `label`, which it carries as a marker."""
    marker = DOCUMENT_MARKER + label.encode() + b";"
    if kind == "pdf":
        return (
            b"%PDF-1.4\n%" + marker + b"\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n"
        )

    def chunk(tag: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(tag + payload)
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # one grey pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + marker)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def document_traces(data: bytes) -> tuple[bytes, ...]:
    """What a chaos document's bytes would look like inside an event: its marker as is, or
    the bytes around it in hex or base64 (standard or URL-safe, of the whole file: the window
    starts at a multiple of 3, where a whole-file encoding stays aligned)."""
    at = data.index(DOCUMENT_MARKER)
    end = data.index(b";", at) + 1
    start = at - at % 3
    window = data[start : start + 48]
    return (
        data[at:end],
        window.hex().encode(),
        base64.b64encode(window),
        base64.urlsafe_b64encode(window),
    )


def carries_documents(index: int) -> bool:
    """One web complaint in five uploads a document; one WhatsApp complaint in five is a
    guided conversation with two (walk-in complaints take none: the run files them through
    the desk's JSON API, not its multipart form)."""
    return CHANNELS[index % len(CHANNELS)] != "walk_in" and (index // 3) % 5 == 0


def gets_addition(index: int) -> bool:
    """One complaint in seven, on every channel, gets an addition after filing."""
    return (index // 3) % 7 == 3


def conversation_messages(
    body: dict[str, Any], place: str, image_id: str, pdf_id: str
) -> list[dict[str, Any]]:
    """A guided WhatsApp conversation that files `body` with two documents: a photo that
    starts it and a PDF at the documents step."""
    return [
        {"type": "image", "image": {"id": image_id, "mime_type": "image/png"}},
        _text(body["name"]),
        _text(body["nik"]),
        _text("YA"),  # the contact: this WhatsApp number
        _text(place),
        _text(body["description"]),
        {
            "type": "document",
            "document": {"id": pdf_id, "mime_type": "application/pdf", "filename": "surat.pdf"},
        },
        _text("SELESAI"),
        _text("YA"),
    ]


@dataclass(frozen=True)
class SentDocument:
    """A document intake acknowledged: its complaint by tracking code (web, additions) or,
    for a WhatsApp conversation, by complaint id (the code comes later)."""

    attachment_id: str
    data: bytes
    tracking_code: str | None = None
    complaint_id: uuid.UUID | None = None
    addition_key: str | None = None  # set for an addition's document

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def owner_column(self) -> str:
        return "complaint_id" if self.complaint_id is not None else "tracking_code"

    @property
    def owner(self) -> str | uuid.UUID | None:
        return self.complaint_id if self.complaint_id is not None else self.tracking_code


@dataclass(frozen=True)
class SentAddition:
    """An addition intake acknowledged; `key` is the idempotency key intake records it by
    (the API's header, `form-update:<token>` for the page, `whatsapp:<message id>`)."""

    key: str
    tracking_code: str
    channel: str
    attachment_ids: tuple[str, ...] = ()


class Chaos:
    def __init__(self, complaints: int, kills: int, seed: int, workdir: Path) -> None:
        self.complaints = complaints
        self.kills = kills
        self.seed = seed
        self.rng = random.Random(seed)
        self.kinds = plan_kinds(complaints)  # the share that exercises triage's state
        self.kind_codes: dict[int, str] = {}
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
        self.documents: list[SentDocument] = []  # acknowledged (an addition's: if it was)
        self.additions: list[SentAddition] = []
        self.additions_planned = 0
        self.additions_refused = 0  # 409: the report was final by then (not acknowledged)
        self.added_keys: set[str] = set()  # additions intake took (verify fills it)
        self.side_tasks: list[asyncio.Task[None]] = []  # additions, sent beside the driving
        # The forms' CSRF key, shared by intake's restarts as by several instances of a site.
        self.form_key = secrets.token_urlsafe(32)
        self.form_cookie = {"Cookie": f"{csrf.COOKIE}={csrf.new_nonce()}"}

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
            "LAPOR_STAFF_ASSERTION_SECRET": STAFF_SECRET,
            "LAPOR_INTAKE_DESK_HOURS": ",".join(f"{day}=00:00-23:59" for day in range(7)),
            "LAPOR_INTAKE_DESK_DAILY_QUOTA": str(self.complaints + 10),
            "LAPOR_INTAKE_FORM_KEY": self.form_key,
            # Above the planned bursts, so that triage's daily limit is what they meet.
            "LAPOR_INTAKE_COMPLAINTS_PER_REPORTER_PER_HOUR": "20",
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
        the web API (202 + tracking code) or, with a document, the web form (303 to the
        receipt), the WhatsApp webhook (200 to a signed `LAPOR#` message, or to each message
        of a guided conversation with documents) and the walk-in desk (booking, check-in,
        then the officer's 201 receipt). Some complaints get an addition right after (see
        `add_information`). Every request is retried until acknowledged, as real clients and
        Meta do."""
        intake = self.instances["intake"][0]
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=intake.url, timeout=10, limits=limits) as client:
            queue = list(range(self.complaints))

            async def worker() -> None:
                while queue:
                    await self._drive_one(client, queue.pop())

            await asyncio.gather(*(worker() for _ in range(16)))
            await asyncio.gather(*self.side_tasks)

    async def _drive_one(self, client: httpx.AsyncClient, index: int) -> None:
        planned = self.kinds.get(index)
        if planned is not None:  # exercises triage's state: web API, nothing added
            body = planned_complaint(index, planned, self.seed)
            self.kind_codes[index] = await self._by_api(client, index, body)
            self.accepted.append(self.kind_codes[index])
            return
        body = distinct_complaint(index, self.rng)
        channel = CHANNELS[index % len(CHANNELS)]
        filed: str | uuid.UUID
        if channel == "web":
            filed = await self._by_web(client, index, body)
            self.accepted.append(filed)
        elif channel == "whatsapp":
            filed = await self._by_whatsapp(client, index, body)
            self.whatsapp_acknowledged += 1
        else:
            filed = await self._by_walk_in(client, body)
            self.accepted.append(filed)
        if gets_addition(index):
            self.additions_planned += 1
            task = self.add_information(client, index, channel, body, filed)
            self.side_tasks.append(asyncio.create_task(task))

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
            if response.is_success or response.status_code == 303:  # a form's redirect
                return response
            if response.status_code == 429:  # rate limited: not acknowledged
                await asyncio.sleep(float(response.headers.get("Retry-After", 1)))
                continue
            if response.status_code >= 500:
                await asyncio.sleep(0.5)
                continue
            raise ChaosRefused(response.status_code, response.text)

    async def _by_web(self, client: httpx.AsyncClient, index: int, body: dict[str, Any]) -> str:
        if carries_documents(index):
            return await self._by_web_form(client, index, body)
        return await self._by_api(client, index, body)

    async def _by_api(self, client: httpx.AsyncClient, index: int, body: dict[str, Any]) -> str:
        response = await self._acknowledged(
            client, "POST", "/v1/complaints", json=body, headers={"Idempotency-Key": f"c{index}"}
        )
        return str(response.json()["tracking_code"])

    async def _by_web_form(
        self, client: httpx.AsyncClient, index: int, body: dict[str, Any]
    ) -> str:
        """The citizen's form with one PDF or PNG; its form token makes a resend the same
        complaint, and the 303 names the receipt."""
        kind = ("pdf", "png")[(index // 3) % 2]
        data = chaos_document(kind, f"form-{index}")
        fields = {key: body[key] for key in ("name", "nik", "phone", "region_code", "description")}
        fields |= {"form_token": str(uuid.uuid5(uuid.NAMESPACE_URL, f"chaos-form:{index}"))}
        response = await self._acknowledged(
            client,
            "POST",
            "/lapor",
            data=fields | {csrf.FIELD: self._form_token()},
            files={"attachments": (f"bukti-{index}.{kind}", data, MEDIA_TYPES[kind])},
            headers=self.form_cookie,
        )
        code = response.headers["location"].split("/lapor/terima/")[1].split("?")[0]
        attachment_id = f"upload:{hashlib.sha256(data).hexdigest()[:32]}"
        self.documents.append(SentDocument(attachment_id, data, tracking_code=code))
        return code

    def _form_token(self) -> str:
        nonce = self.form_cookie["Cookie"].split("=", 1)[1]
        return csrf.token_for(self.form_key.encode(), nonce)

    async def _whatsapp_message(
        self, client: httpx.AsyncClient, wa_id: str, message_id: str, message: dict[str, Any]
    ) -> None:
        raw = whatsapp_notification(wa_id, message_id, message)
        headers = {
            "content-type": "application/json",
            "X-Hub-Signature-256": sign(WHATSAPP_APP_SECRET, raw),
        }
        await self._acknowledged(client, "POST", "/webhooks/whatsapp", content=raw, headers=headers)

    def _media(self, media_id: str, kind: str, label: str) -> bytes:
        """A document registered with the WhatsApp stand-in, as Meta keeps what is sent."""
        assert self.whatsapp is not None
        data = chaos_document(kind, label)
        self.whatsapp.add_media(media_id, data, MEDIA_TYPES[kind])
        return data

    async def _by_whatsapp(
        self, client: httpx.AsyncClient, index: int, body: dict[str, Any]
    ) -> uuid.UUID:
        """A `LAPOR#` message, or a guided conversation with two documents; the id of the
        complaint it files (intake derives it from the first message's id)."""
        wa_id = f"62857{index:08d}"
        if not carries_documents(index):
            text = f"LAPOR#{body['name']}#{body['nik']}#Kota Uji#{body['description']}"
            message_id = f"wamid.CHAOS{index:010d}"
            await self._whatsapp_message(client, wa_id, message_id, _text(text))
            return uuid.uuid5(WHATSAPP_NAMESPACE, f"complaint:{message_ref(message_id)}")
        image_id, pdf_id = f"chaos-{index}-photo", f"chaos-{index}-letter"
        photo = self._media(image_id, "png", f"wa-{index}-photo")
        letter = self._media(pdf_id, "pdf", f"wa-{index}-letter")
        place = regency(body["region_code"])
        assert place is not None
        messages = conversation_messages(body, place.name, image_id, pdf_id)
        for number, message in enumerate(messages):
            message_id = f"wamid.CHAOS{index:010d}.{number}"
            await self._whatsapp_message(client, wa_id, message_id, message)
        first = message_ref(f"wamid.CHAOS{index:010d}.0")
        complaint_id = uuid.uuid5(WHATSAPP_NAMESPACE, f"draft:{first}")
        for media_id, data in ((image_id, photo), (pdf_id, letter)):
            document = SentDocument(f"whatsapp:{media_id}", data, complaint_id=complaint_id)
            self.documents.append(document)
        return complaint_id

    async def _by_walk_in(self, client: httpx.AsyncClient, body: dict[str, Any]) -> str:
        def officer() -> dict[str, str]:  # an assertion lives a minute: a fresh one per call
            return {staff.HEADER: staff.sign(DESK_OFFICER, STAFF_SECRET)}

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
                    headers=officer(),
                )
                complaint = {key: body[key] for key in ("nik", "description", "region_code")} | {
                    "booking_code": code
                }
                receipt = await self._acknowledged(
                    client, "POST", "/v1/walk-in/complaints", json=complaint, headers=officer()
                )
                return str(receipt.json()["tracking_code"])
            except ChaosRefused as refused:
                if refused.status == 409 and "not today" in refused.text:
                    continue  # the run crossed midnight in Jakarta: book again for the new day
                raise

    async def add_information(
        self,
        client: httpx.AsyncClient,
        index: int,
        channel: str,
        body: dict[str, Any],
        filed: str | uuid.UUID,
    ) -> None:
        """An addition to a filed complaint, by its owner, as the kills go on: `TAMBAH#` from
        the WhatsApp number (every other one a document captioned `TAMBAH#`), the web page
        `/lapor/tambah` with a PNG, or the owner API with text (walk-in reports too). A 409
        (the report was rejected or a duplicate by then) is counted, not acknowledged."""
        code = filed if isinstance(filed, str) else await self._tracking_code_of(filed)
        if code is None:
            self.log(f"complaint {filed} was not filed within 300 s: no addition sent")
            return
        try:
            if channel == "whatsapp":
                await self._add_by_whatsapp(client, index, code)
            elif channel == "web" and (index // 3) % 2 == 0:
                await self._add_by_page(client, index, body, code)
            else:
                await self._add_by_api(client, index, body, code)
        except ChaosRefused as refused:
            if refused.status != 409:
                raise
            self.additions_refused += 1

    async def _tracking_code_of(self, complaint_id: uuid.UUID, within: float = 300.0) -> str | None:
        """The code intake gave a WhatsApp complaint (the citizen reads it in the receipt)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                conn = await asyncpg.connect(self.config.database_url, timeout=5)
                try:
                    code = await conn.fetchval(
                        "SELECT tracking_code FROM intake.complaints WHERE complaint_id = $1",
                        complaint_id,
                        timeout=10,
                    )
                finally:
                    await conn.close()
                if code:
                    return str(code)
            except TRANSIENT_ERRORS:
                pass  # PostgreSQL is restarting
            await asyncio.sleep(1)
        return None

    async def _add_by_whatsapp(self, client: httpx.AsyncClient, index: int, code: str) -> None:
        message_id = f"wamid.CHAOSADD{index:010d}"
        key, attachments = f"whatsapp:{message_ref(message_id)}", ()
        if (index // 3) % 2:
            media_id = f"chaos-{index}-addition"
            data = self._media(media_id, "pdf", f"wa-{index}-addition")
            caption = f"TAMBAH#{code}#Surat pendukung laporan {index}"
            message = {
                "type": "document",
                "document": {"id": media_id, "mime_type": "application/pdf", "caption": caption},
            }
            attachments = (f"whatsapp:{media_id}",)
            self.documents.append(SentDocument(attachments[0], data, code, addition_key=key))
        else:
            message = _text(f"TAMBAH#{code}#Tambahan keterangan untuk laporan {index}")
        await self._whatsapp_message(client, f"62857{index:08d}", message_id, message)
        self.additions.append(SentAddition(key, code, "whatsapp", attachments))

    async def _add_by_page(
        self, client: httpx.AsyncClient, index: int, body: dict[str, Any], code: str
    ) -> None:
        data = chaos_document("png", f"page-{index}")
        form_token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"chaos-addition:{index}"))
        fields = {
            "kode": code,
            "phone": body["phone"],
            "additional_text": f"Foto tambahan untuk laporan {index}",
            "form_token": form_token,
            csrf.FIELD: self._form_token(),
        }
        await self._acknowledged(
            client,
            "POST",
            "/lapor/tambah",
            data=fields,
            files={"attachments": (f"foto-{index}.png", data, "image/png")},
            headers=self.form_cookie,
        )
        key = f"form-update:{form_token}"
        attachment_id = f"upload:{hashlib.sha256(data).hexdigest()[:32]}"
        self.documents.append(SentDocument(attachment_id, data, code, addition_key=key))
        self.additions.append(SentAddition(key, code, "web page", (attachment_id,)))

    async def _add_by_api(
        self, client: httpx.AsyncClient, index: int, body: dict[str, Any], code: str
    ) -> None:
        key = f"chaos-addition-{index}"
        await self._acknowledged(
            client,
            "POST",
            f"/v1/complaints/{code}/updates",
            json={"phone": body["phone"], "additional_text": f"Keterangan tambahan {index}"},
            headers={"Idempotency-Key": key},
        )
        self.additions.append(SentAddition(key, code, "owner API"))

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
        for service in INSTANCES:  # triage's decisions too go out through its outbox
            outboxes += await conn.fetchval(f"SELECT count(*) FROM {service}.outbox")
        # Sends due or in flight will publish CitizenNotified: not settled yet. Sends held for
        # later (a burst reporter's messages past the per-address rate limit) do not hold the
        # run up: the checks do not count them.
        sending = await conn.fetchval(
            "SELECT count(*) FROM notifier.notifications WHERE status = 'sending'"
            " OR (status = 'pending' AND next_attempt_at <= now())"
        )
        # WhatsApp messages not yet handled (a TAMBAH# after its complaint was filed).
        inbox = await conn.fetchval(
            "SELECT count(*) FROM intake.whatsapp_inbox WHERE processed_at IS NULL"
        )
        return (
            outboxes == 0
            and sending == 0
            and inbox == 0
            and all(p.lag == 0 for p in progress.values())
        )

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
            await self._verify_complaints(conn, codes)
            await self._verify_receipts(conn, codes)
            await self._verify_additions(conn)
            await self._verify_documents(conn)
            await check_kinds(conn, self.kinds, self.kind_codes, self.report.check)
            ids = await conn.fetch(
                "SELECT complaint_id::text FROM intake.complaints WHERE tracking_code = ANY($1)",
                codes,
            )
            outbox = 0
            for service in INSTANCES:
                outbox += await conn.fetchval(f"SELECT count(*) FROM {service}.outbox")
            check("outbox rows left", 0, outbox)
        finally:
            await conn.close()
        progress = await group_progress(self.config.kafka_bootstrap, list(INSTANCES))
        for service, group in progress.items():
            check(f"consumer lag left ({service})", 0, group.lag)
        await self._verify_topics_hold_no_documents()
        await self._verify_one_decision_each({row["complaint_id"] for row in ids})
        # The poison went to the triaged topic, read by routing, intake and the notifier.
        letters = 0
        for service in ("routing", "intake", "notifier", "triage"):
            stored = await read_dead_letters(self.config.kafka_bootstrap, service)
            letters += len(stored)
            reasons = Counter(letter.headers.get("x-error", "?")[:120] for letter in stored)
            for reason, count in reasons.most_common(3):
                self.log(f"dead letters of {service}: {count} x {reason}")
        check("dead letters (= deliberately bad x readers)", self.poison_sent * 3, letters)

    async def _verify_complaints(self, conn: asyncpg.Connection, codes: list[str]) -> None:
        """Exactly one case, or one recorded decision, per acknowledged complaint; and
        exactly one case file (routing's copy of its content) each."""
        check = self.report.check
        acknowledged = len(set(self.accepted)) + self.whatsapp_acknowledged
        check("complaints acknowledged (2xx)", self.complaints, acknowledged)
        check(
            "WhatsApp complaints filed (one per message)",
            self.whatsapp_acknowledged,
            len(self.whatsapp_codes),
        )
        # A duplicate joins its original's case (routing.case_reporters) and follows it.
        rows = await conn.fetch(
            "SELECT c.tracking_code, c.status,"
            " count(k.case_id) + count(r.case_id) AS cases, count(r.case_id) AS joined"
            " FROM intake.complaints c"
            " LEFT JOIN routing.cases k ON k.tracking_code = c.tracking_code"
            " LEFT JOIN routing.case_reporters r ON r.complaint_id = c.complaint_id"
            " WHERE c.tracking_code = ANY($1) GROUP BY 1, 2",
            codes,
        )
        final = {"forwarded_to_agency", "rejected", "under_review", "duplicate"}
        check("complaints known to intake", len(codes), len(rows))
        decided = await conn.fetchval(
            "SELECT count(*) FROM triage.decisions d JOIN intake.complaints c USING (complaint_id)"
            " WHERE c.tracking_code = ANY($1)",
            codes,
        )
        check("triage decisions (one per complaint)", len(codes), decided)
        check("complaints in a final state", len(codes), sum(r["status"] in final for r in rows))
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
            "forwarded with exactly one case (its own, or the one it joined)",
            len(forwarded),
            sum(r["cases"] == 1 for r in forwarded),
        )
        check(
            "not forwarded and without a case",
            len(rows) - len(forwarded),
            sum(r["cases"] == 0 for r in rows if r["status"] != "forwarded_to_agency"),
        )
        count = "SELECT count(*) FROM routing.{} WHERE tracking_code = ANY($1)"
        check(
            "cases in total (no doubles)",
            len(forwarded) - sum(r["joined"] for r in forwarded),
            await conn.fetchval(count.format("cases"), codes),
        )
        check(
            "case files (one per complaint)",
            len(codes),
            await conn.fetchval(count.format("case_files"), codes),
        )

    async def _verify_receipts(self, conn: asyncpg.Connection, codes: list[str]) -> None:
        """One receipt per complaint: "received" (web, walk-in) or, on WhatsApp, the
        conversation's reply that carries the tracking code."""
        received = await conn.fetch(
            "SELECT r.tracking_code, count(*) AS n FROM notifier.notifications n"
            " JOIN notifier.recipients r USING (complaint_id)"
            " WHERE r.tracking_code = ANY($1) AND (n.trigger_type = 'ComplaintReceived'"
            "  OR (n.trigger_type = 'CitizenReplyRequested'"
            "   AND n.context->>'purpose' = 'receipt'))"
            " GROUP BY 1",
            codes,
        )
        self.report.check("complaints with a receipt", len(codes), len(received))
        self.report.check("receipts sent twice", 0, sum(r["n"] > 1 for r in received))

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
            # Intake downloads WhatsApp media from the same stand-in.
            "LAPOR_INTAKE_WHATSAPP_API_URL": self.whatsapp.url,
            "LAPOR_INTAKE_WHATSAPP_TOKEN": self.whatsapp.token,
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
        seen: dict[str, list[str]] = {}

        def visit(topic: str, partition: int, offset: int, raw: bytes, _: bytes) -> None:
            for complaint_id in complaint_ids:
                if complaint_id.encode() in raw:
                    seen.setdefault(topic, []).append(f"{complaint_id[:8]}@{partition}:{offset}")

        try:
            await self._scan_topics(visit)
        except Exception as error:  # a diagnostic: never fail the report over it
            self.log(f"trace failed: {error!r}")
        for topic, where in sorted(seen.items()):
            self.log(f"trace {topic}: {', '.join(where[:10])}")

    async def _scan_topics(
        self,
        visit: Callable[[str, int, int, bytes, bytes], None],
        within: float = 300.0,
        only: str | None = None,
    ) -> int:
        """Every record of every topic of the run (or of the one whose name ends with
        `only`), from the start, as `visit(topic, partition, offset, value + key + header
        values, value)`; returns how many were read."""
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.kafka_bootstrap, enable_auto_commit=False
        )
        await consumer.start()
        read, deadline = 0, time.monotonic() + within
        try:
            for topic, partitions in sorted((await self._run_partitions()).items()):
                if only is not None and not topic.endswith(only):
                    continue
                ends = await consumer.end_offsets(partitions)
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"reading {topic} took over {within:.0f} s")
                    for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                        for record in records:
                            headers = b"".join(value or b"" for _, value in record.headers or ())
                            raw = (record.value or b"") + (record.key or b"") + headers
                            visit(topic, tp.partition, record.offset, raw, record.value or b"")
                            read += 1
        finally:
            await consumer.stop()
        return read

    async def _run_partitions(self) -> dict[str, list[TopicPartition]]:
        """The partitions of every topic of the run (its own prefix), from the broker."""
        from aiokafka import TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.config.kafka_bootstrap)
        await admin.start()
        try:
            prefix = os.environ.get("LAPOR_TOPIC_PREFIX", "")
            topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
            described = await admin.describe_topics(topics) if topics else []
        finally:
            await admin.close()
        return {
            d["topic"]: [TopicPartition(d["topic"], p["partition"]) for p in d["partitions"]]
            for d in described
            if d["partitions"]
        }

    async def _added(self, conn: asyncpg.Connection) -> list[SentAddition]:
        """The acknowledged additions intake took. A TAMBAH# is acknowledged by the webhook's
        200 before it is handled: it counts as added when intake's inbox says so (else the
        report was final by then and the citizen was told)."""
        check = self.report.check
        planned, refused = self.additions_planned, self.additions_refused
        check("additions acknowledged (or refused: 409)", planned, len(self.additions) + refused)
        message_ids = {a.key: a.key.removeprefix("whatsapp:") for a in self.additions}
        whatsapp = [message_ids[a.key] for a in self.additions if a.channel == "whatsapp"]
        outcomes = dict(
            await conn.fetch(
                "SELECT message_id, outcome FROM intake.whatsapp_inbox WHERE message_id = ANY($1)",
                whatsapp,
            )
        )
        handled = ("follow_up_added", "follow_up_refused")
        check(
            "TAMBAH# messages handled",
            len(whatsapp),
            sum(outcomes.get(m) in handled for m in whatsapp),
        )
        added = [
            a
            for a in self.additions
            if a.channel != "whatsapp" or outcomes.get(message_ids[a.key]) == "follow_up_added"
        ]
        self.added_keys = {a.key for a in added}
        channels = ", ".join(f"{n} by {c}" for c, n in Counter(a.channel for a in added).items())
        final = refused + len(self.additions) - len(added)
        self.log(f"additions: {len(added)} added ({channels}), {final} refused (report final)")
        return added

    async def _verify_additions(self, conn: asyncpg.Connection) -> None:
        """Every acknowledged addition recorded once by intake and kept once by routing
        (`routing.case_additions`, by event id and per complaint), its documents' metadata
        with it."""
        check = self.report.check
        added = await self._added(conn)
        rows = await conn.fetch(
            "SELECT u.idempotency_key AS key, u.event_id, c.tracking_code"
            " FROM intake.complaint_updates u JOIN intake.complaints c USING (complaint_id)"
            " WHERE u.idempotency_key = ANY($1)",
            list(self.added_keys),
        )
        by_key = {row["key"]: row for row in rows}
        events = {
            by_key[a.key]["event_id"]: a
            for a in added
            if a.key in by_key and by_key[a.key]["tracking_code"] == a.tracking_code
        }
        check("additions recorded once by intake", len(added), len(events))
        routed = await conn.fetch(
            "SELECT event_id, tracking_code, attachments FROM routing.case_additions"
            " WHERE event_id = ANY($1)",
            list(events),
        )
        kept = {
            r["event_id"]: r
            for r in routed
            if r["tracking_code"] == events[r["event_id"]].tracking_code
        }
        check("additions in routing.case_additions", len(events), len(kept))
        documents = [(e, i) for e, a in events.items() for i in a.attachment_ids]
        listed = {
            (event_id, item["attachment_id"])
            for event_id, row in kept.items()
            for item in json.loads(row["attachments"])
        }
        check("addition documents listed there", len(documents), len(set(documents) & listed))
        await self._verify_additions_per_complaint(conn)

    async def _verify_additions_per_complaint(self, conn: asyncpg.Connection) -> None:
        """Routing holds as many additions for each complaint as intake recorded, no more."""
        per_complaint = "SELECT complaint_id, count(*) AS n FROM {} GROUP BY 1"
        made = dict(await conn.fetch(per_complaint.format("intake.complaint_updates")))
        kept = dict(await conn.fetch(per_complaint.format("routing.case_additions")))
        self.report.check(
            "complaints whose additions routing holds exactly",
            len(made.keys() | kept.keys()),
            sum(made.get(c) == kept.get(c) for c in made.keys() | kept.keys()),
        )

    async def _verify_documents(self, conn: asyncpg.Connection) -> None:
        """Every acknowledged document stored once by intake, on its complaint, sealed: a
        key id, the plain sha256 of the bytes sent, and content that opens to them."""
        keys = _keys()
        documents = [
            d for d in self.documents if d.addition_key is None or d.addition_key in self.added_keys
        ]
        rows = await conn.fetch(
            "SELECT a.attachment_id, a.complaint_id, c.tracking_code, a.sha256, a.key_id,"
            " a.content FROM intake.complaint_attachments a"
            " JOIN intake.complaints c USING (complaint_id) WHERE a.attachment_id = ANY($1)",
            [d.attachment_id for d in documents],
        )
        found: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            found.setdefault(row["attachment_id"], []).append(row)
        stored = sealed = 0
        for document in documents:
            (row, *more) = found.get(document.attachment_id) or [None]
            if row is None or more or row[document.owner_column] != document.owner:
                continue
            stored += 1
            opened = (
                await keys.open_bytes(conn, row["key_id"], row["content"])
                if row["key_id"]
                else None
            )
            sealed += (
                row["sha256"] == document.sha256
                and row["content"] != document.data
                and opened is not None
                and hashlib.sha256(opened).hexdigest() == document.sha256
            )
        self.log(f"documents acknowledged: {len(documents)} ({len(self.documents)} sent)")
        self.report.check("documents stored once by intake", len(documents), stored)
        self.report.check("documents sealed (key, sha256, opens)", len(documents), sealed)
        staged = await conn.fetchval("SELECT count(*) FROM intake.whatsapp_media")
        self.report.check("staged WhatsApp documents left", 0, staged)

    async def _verify_one_decision_each(self, complaint_ids: set[str]) -> None:
        """Triage decided each complaint once: one decision event id per complaint on the
        triaged topic (a replay may publish the same event again, never a second one)."""
        decisions: dict[str, set[str]] = {}

        def visit(topic: str, partition: int, offset: int, raw: bytes, value: bytes) -> None:
            with contextlib.suppress(ValueError, AttributeError):
                event = json.loads(value)
                if event.get("complaint_id") in complaint_ids:
                    decisions.setdefault(event["complaint_id"], set()).add(event["event_id"])

        from schemas.topics import COMPLAINTS_TRIAGED

        await self._scan_topics(visit, only=COMPLAINTS_TRIAGED.base_name)
        doubled = sum(len(ids) > 1 for ids in decisions.values())
        self.report.check("complaints decided by triage", len(complaint_ids), len(decisions))
        self.report.check("complaints decided twice", 0, doubled)

    async def _verify_topics_hold_no_documents(self) -> None:
        """Events carry references to documents, never their bytes (raw, hex or base64)."""
        pattern = re.compile(
            b"|".join(re.escape(trace) for d in self.documents for trace in document_traces(d.data))
        )
        ids = re.compile(b"|".join(re.escape(d.attachment_id.encode()) for d in self.documents))
        leaks: Counter[str] = Counter()
        referencing = 0

        def visit(topic: str, partition: int, offset: int, raw: bytes, _: bytes) -> None:
            nonlocal referencing
            if pattern.search(raw):
                leaks[topic] += 1
            referencing += ids.search(raw) is not None

        if not self.documents:
            return
        try:
            read = await self._scan_topics(visit)
        except Exception as error:
            self.log(f"scanning the topics failed: {error!r}")
            read = -1
        for topic, count in leaks.items():
            self.log(f"document bytes on {topic}: {count} records")
        self.log(f"topics scanned: {read} records, {referencing} refer to a document by id")
        self.report.check("topics scanned for document bytes", True, read > 0 and referencing > 0)
        self.report.check("records with document bytes", 0, sum(leaks.values()))

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
        stop_watchdog = asyncio.Event()
        watchdog = asyncio.create_task(self.watchdog(stop_watchdog))
        try:
            started = time.monotonic()
            expected_duration = max(20.0, self.complaints / 40)
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
            # On a failure too: a live watchdog would restart what teardown stops.
            stop_watchdog.set()
            await watchdog
            for task in self.side_tasks:
                task.cancel()
            await self.teardown()
        return self.report
