"""The WhatsApp channel end to end: real-shaped, signed Cloud API payloads posted to a running
intake process, and the resulting events read back from the real Kafka broker."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ops.standins import WhatsAppCloudStandIn
from schemas.events import EventEnvelope, parse_event
from schemas.personal_data import is_sealed
from schemas.topics import COMPLAINTS_INTAKE, WHATSAPP_STATUSES
from services.intake.domain.whatsapp import sign
from services.personal_data.keystore import Keystore
from tests.support import ServiceProcess, eventually, free_port

pytestmark = pytest.mark.e2e

APP_SECRET = "e2e-app-secret"
VERIFY_TOKEN = "e2e-verify-token"
NIK = "3171015501900001"
_ids = itertools.count(1)


class Intake:
    """One intake process that a test may kill and start again."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.process = ServiceProcess("intake", env, log_dir)

    @property
    def url(self) -> str:
        return self.process.url

    async def start(self) -> None:
        self.process.start()
        await self.process.wait_ready()

    async def restart_after_kill(self) -> None:
        self.process.kill()
        self.process = ServiceProcess("intake", self.env, self.log_dir)
        await self.start()


class EventTap:
    """Every event on intake's output topics since the run began, with its personal fields
    opened through the keystore (on the topic they are sealed: `raw` keeps the bytes)."""

    def __init__(self, bootstrap: str, database_url: str) -> None:
        self.consumer = AIOKafkaConsumer(
            COMPLAINTS_INTAKE.name,
            WHATSAPP_STATUSES.name,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.database_url = database_url
        self.keys = Keystore.from_env()
        self.events: list[EventEnvelope] = []
        self.raw: list[bytes] = []
        self.read_up_to: dict[TopicPartition, int] = {}  # next offset per partition, once read
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            while True:
                for partition, records in (await self.consumer.getmany(timeout_ms=300)).items():
                    for record in records:
                        self.raw.append(record.value)
                        event = await self.keys.open(conn, parse_event(record.value))
                        self.events.append(event)
                        self.read_up_to[partition] = record.offset + 1
        finally:
            await conn.close()

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.consumer.stop()

    async def has_everything_intake_published(self) -> bool:
        """True once intake's outbox is empty (every event it enqueued is on the broker) and
        this tap has read each partition to its end: nothing caused so far is still to come."""
        conn = await asyncpg.connect(self.database_url)
        try:
            if await conn.fetchval("SELECT count(*) FROM intake.outbox"):
                return False
        finally:
            await conn.close()
        partitions = list(self.consumer.assignment())
        ends = await self.consumer.end_offsets(partitions)
        return all(self.read_up_to.get(tp, 0) >= end for tp, end in ends.items())

    def of(self, event_type: str, **where: object) -> list[EventEnvelope]:
        found = []
        for event in self.events:
            if event.event_type != event_type:  # type: ignore[attr-defined]
                continue
            payload = event.payload.model_dump()  # type: ignore[attr-defined]
            if all(_get(payload, key) == value for key, value in where.items()):
                found.append(event)
        return found


def _get(data: dict[str, object], dotted: str) -> object:
    value: object = data
    for part in dotted.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64 + b"\xff\xd9"


@pytest.fixture(scope="module")
async def graph() -> AsyncIterator[WhatsAppCloudStandIn]:
    """Meta's Graph API as intake downloads media from it: the media the tests send."""
    standin = WhatsAppCloudStandIn()
    standin.add_media("MEDIA-IMG-1", JPEG, "image/jpeg")
    standin.add_media("MEDIA-PDF-LATE", PDF, "application/pdf")
    standin.add_media("MEDIA-PDF-9", PDF, "application/pdf")
    # A text file a phone labels as a PDF: its content decides, and it is refused.
    standin.add_media("MEDIA-TXT-AS-PDF", b"just a note, not a PDF", "application/pdf")
    await standin.serve(free_port())
    yield standin
    await standin.stop()


@pytest.fixture(scope="module")
async def intake(stack, database_url, topics, graph, tmp_path_factory) -> AsyncIterator[Intake]:  # type: ignore[no-untyped-def]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_INTAKE_WHATSAPP_APP_SECRET": APP_SECRET,
        "LAPOR_INTAKE_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "LAPOR_INTAKE_WHATSAPP_API_URL": graph.url,
        "LAPOR_INTAKE_WHATSAPP_TOKEN": graph.token,
    }
    service = Intake(env, tmp_path_factory.mktemp("intake-whatsapp-logs"))
    await service.start()
    yield service
    assert service.process.terminate() == 0, service.process.log_tail()


@pytest.fixture(scope="module")
async def tap(stack, database_url, topics) -> AsyncIterator[EventTap]:  # type: ignore[no-untyped-def]
    tap = EventTap(stack.kafka_bootstrap, database_url)
    await tap.start()
    yield tap
    await tap.stop()


def wa_user() -> str:
    return f"62812{next(_ids):08d}"


def text_message(wa_id: str, body: str) -> dict[str, object]:
    return {
        "from": wa_id,
        "id": f"wamid.HBgN{wa_id}{next(_ids):06d}==",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
    }


def media_message(wa_id: str, kind: str, media_id: str, mime: str) -> dict[str, object]:
    return {
        "from": wa_id,
        "id": f"wamid.HBgN{wa_id}{next(_ids):06d}==",
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: {"id": media_id, "mime_type": mime, "sha256": "abc"},
    }


def notification(
    messages: list[dict[str, object]],
    statuses: list[dict[str, object]] = (),  # type: ignore[assignment]
) -> bytes:
    contacts = [
        {"profile": {"name": "Warga"}, "wa_id": wa_id}
        for wa_id in sorted({str(m["from"]) for m in messages})
    ]
    value: dict[str, object] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1234567890"},
    }
    if messages:
        value |= {"contacts": contacts, "messages": messages}
    if statuses:
        value["statuses"] = statuses
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-ID", "changes": [{"field": "messages", "value": value}]}],
    }
    # Meta sends non-ASCII characters unescaped; the signature covers exactly these bytes.
    return json.dumps(body, ensure_ascii=False).encode()


async def post(
    client: httpx.AsyncClient, raw: bytes, secret: str | None = APP_SECRET
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret, raw)
    return await client.post("/webhooks/whatsapp", content=raw, headers=headers)


async def test_verification_handshake(intake: Intake) -> None:
    async with httpx.AsyncClient(base_url=intake.url) as client:
        params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
        ok = await client.get("/webhooks/whatsapp", params=params)
        assert ok.status_code == 200 and ok.text == "42"
        wrong = await client.get("/webhooks/whatsapp", params={**params, "hub.verify_token": "x"})
        assert wrong.status_code == 403


async def test_several_messages_a_retry_a_status_an_image_and_an_unsupported_type(
    intake: Intake, tap: EventTap
) -> None:
    reporter, chatter, singer = wa_user(), wa_user(), wa_user()
    report = (
        f"LAPOR#Siti Aminah#{NIK}#Jakarta Pusat#Ijazah anak saya ditahan sekolah karena"
        " tunggakan biaya 😞, padahal sudah dicicil."
    )
    raw = notification(
        [
            text_message(reporter, report),
            text_message(chatter, "halo"),
            media_message(chatter, "image", "MEDIA-IMG-1", "image/jpeg"),
            media_message(singer, "audio", "MEDIA-AUD-1", "audio/ogg"),
        ],
        [
            {
                "id": "wamid.SENT-BY-US-1",
                "status": "read",
                "timestamp": "1795000100",
                "recipient_id": reporter,
                "conversation": {"id": "c1", "origin": {"type": "service"}},
                "pricing": {"billable": False, "category": "service"},
            }
        ],
    )
    async with httpx.AsyncClient(base_url=intake.url) as client:
        first = await post(client, raw)
        assert first.status_code == 200, first.text
        assert first.json() == {"messages": 4, "new_messages": 4, "statuses": 1}
        retry = await post(client, raw)  # Meta retries when it did not see our 200 in time
        assert retry.status_code == 200 and retry.json()["new_messages"] == 0

        async def filed() -> list[EventEnvelope]:
            return tap.of("ComplaintReceived", reporter__phone=f"+{reporter}")

        (received,) = await eventually(filed)
        payload = received.payload  # type: ignore[attr-defined]
        assert payload.channel == "whatsapp" and payload.reporter.nik == NIK
        assert all(NIK.encode() not in raw for raw in tap.raw)  # on the topic it is sealed
        assert payload.location.city == "Kota Jakarta Pusat" and "😞" in payload.description
        assert payload.location.region_code == "31.71"  # LAPOR#'s Kota field, matched

        receipt = await eventually(lambda: _async(tap.of("CitizenReplyRequested", to=reporter)))
        assert payload.tracking_code in receipt[0].payload.text  # type: ignore[attr-defined]
        assert receipt[0].payload.purpose == "receipt"  # type: ignore[attr-defined]
        status = await client.get(f"/v1/complaints/{payload.tracking_code}")
        assert status.status_code == 200 and status.json()["channel"] == "whatsapp"

        chat = await eventually(
            lambda: _async(len(tap.of("CitizenReplyRequested", to=chatter)) >= 4)
        )
        assert chat
        texts = [e.payload.text for e in tap.of("CitizenReplyRequested", to=chatter)]  # type: ignore[attr-defined]
        assert texts[0].startswith("Selamat datang") and "nama lengkap" in texts[-1]
        assert any("Dokumen kami simpan" in text for text in texts)

        polite = await eventually(lambda: _async(tap.of("CitizenReplyRequested", to=singer)))
        assert "audio" in polite[0].payload.text  # type: ignore[attr-defined]

        # Named by the keyed hash of its wamid, as the notifier keeps what it sent; the
        # wamid itself (it encodes the number) is not published.
        sent_by_us = tap.keys.message_ref("wamid.SENT-BY-US-1")
        statuses = await eventually(
            lambda: _async(tap.of("WhatsAppStatusReported", provider_message_id=sent_by_us))
        )
        assert statuses[0].payload.status == "read" and statuses[0].complaint_id is None  # type: ignore[attr-defined]
        assert all(b"SENT-BY-US-1" not in raw for raw in tap.raw)

        # Documents follow later: a PDF captioned TAMBAH#<code> from the reporter's number.
        follow_up = media_message(reporter, "document", "MEDIA-PDF-LATE", "application/pdf")
        follow_up["document"]["caption"] = f"TAMBAH#{payload.tracking_code}"  # type: ignore[index]
        stranger = text_message(singer, f"TAMBAH#{payload.tracking_code}#bukan laporan saya")
        asks = text_message(reporter, f"status#{payload.tracking_code.lower()}")
        batch = notification([follow_up, stranger, asks])
        assert (await post(client, batch)).status_code == 200
        (updated,) = await eventually(
            lambda: _async(tap.of("ComplaintUpdated", tracking_code=payload.tracking_code))
        )
        assert updated.complaint_id == received.complaint_id
        assert [a.attachment_id for a in updated.payload.attachments] == [  # type: ignore[attr-defined]
            "whatsapp:MEDIA-PDF-LATE"
        ]
        # The event carries the reference; the bytes were fetched from the Graph API and
        # are kept sealed with the reporter's key.
        (late,) = updated.payload.attachments  # type: ignore[attr-defined]
        assert (late.media_type, late.size_bytes) == ("application/pdf", len(PDF))
        assert late.sha256 == hashlib.sha256(PDF).hexdigest()
        await _assert_sealed(tap.database_url, received.complaint_id, late.attachment_id, PDF)
        assert await eventually(
            lambda: _async(len(tap.of("CitizenReplyRequested", to=singer)) >= 2)
        )
        assert await eventually(
            lambda: _async(len(tap.of("CitizenReplyRequested", to=reporter)) >= 3)
        )
        # Anything a duplicate would have caused must have shown before the counts below: a
        # marker from a new sender is stored after every message above, and the inbox worker
        # (one leader, arrival order) answers it only after handling them all ...
        marker = wa_user()
        assert (await post(client, notification([text_message(marker, "halo")]))).status_code == 200
        await eventually(lambda: _async(tap.of("CitizenReplyRequested", to=marker)))
    # ... and once intake's outbox is empty and the tap has read to the end of its topics,
    # every event those messages caused is in the tap.
    assert await eventually(tap.has_everything_intake_published)
    assert len(tap.of("ComplaintReceived", reporter__phone=f"+{reporter}")) == 1
    assert len(tap.of("CitizenReplyRequested", to=singer)) == 2
    assert "tidak menemukan" in tap.of("CitizenReplyRequested", to=singer)[1].payload.text  # type: ignore[attr-defined]
    replies = [e.payload.text for e in tap.of("CitizenReplyRequested", to=reporter)]  # type: ignore[attr-defined]
    assert len(replies) == 3
    # Exactly one receipt: the conversation's, with the tracking code (the notifier sends no
    # "received" of its own for a WhatsApp complaint).
    receipts = tap.of("CitizenReplyRequested", to=reporter, purpose="receipt")
    assert len(receipts) == 1 and payload.tracking_code in receipts[0].payload.text  # type: ignore[attr-defined]
    # The status in words, in the reporter's language, with the time in WIB.
    assert f"Status laporan {payload.tracking_code}: Diterima." in replies[2]
    assert " WIB" in replies[2] and "Langkah berikutnya: " in replies[2]
    assert len(tap.of("ComplaintUpdated", tracking_code=payload.tracking_code)) == 1


async def test_a_bad_or_missing_signature_is_refused_and_publishes_nothing(
    intake: Intake, tap: EventTap
) -> None:
    forger, honest = wa_user(), wa_user()
    report = f"LAPOR#Budi#{NIK}#Bandung#Jalan rusak parah di depan sekolah dasar sejak lama."
    forged = notification([text_message(forger, report)])
    async with httpx.AsyncClient(base_url=intake.url) as client:
        assert (await post(client, forged, secret="not-the-app-secret")).status_code == 401
        assert (await post(client, forged, secret=None)).status_code == 401
        tampered = forged.replace(b"Bandung", b"Bogor!!")
        response = await client.post(
            "/webhooks/whatsapp",
            content=tampered,
            headers={"X-Hub-Signature-256": sign(APP_SECRET, forged)},
        )
        assert response.status_code == 401
        assert (await post(client, b"not json")).status_code == 400
        # A later honest message is processed: by then the forged one would have been too.
        assert (await post(client, notification([text_message(honest, "halo")]))).status_code == 200
        await eventually(lambda: _async(tap.of("CitizenReplyRequested", to=honest)))
    assert tap.of("CitizenReplyRequested", to=forger) == []
    assert tap.of("ComplaintReceived", reporter__phone=f"+{forger}") == []


async def test_a_guided_conversation_survives_a_restart_and_files_a_complaint(
    intake: Intake, tap: EventTap
) -> None:
    citizen = wa_user()

    async def say(client: httpx.AsyncClient, message: dict[str, object]) -> None:
        before = len(tap.of("CitizenReplyRequested", to=citizen))
        assert (await post(client, notification([message]))).status_code == 200
        await eventually(lambda: _async(len(tap.of("CitizenReplyRequested", to=citizen)) > before))

    async with httpx.AsyncClient(base_url=intake.url) as client:
        for text in ("halo", "Siti Aminah", NIK):
            await say(client, text_message(citizen, text))
    await intake.restart_after_kill()  # the draft is in PostgreSQL, not in the process
    async with httpx.AsyncClient(base_url=intake.url) as client:
        await say(client, text_message(citizen, "ya"))
        await say(client, text_message(citizen, "Kabupaten Bogor, Desa Sukamaju RT 03"))
        await say(
            client,
            text_message(
                citizen, "Bantuan sosial PKH keluarga kami dihentikan sejak Maret tanpa alasan."
            ),
        )
        await say(client, media_message(citizen, "document", "MEDIA-PDF-9", "application/pdf"))
        await say(client, media_message(citizen, "document", "MEDIA-TXT-AS-PDF", "application/pdf"))
        refused = tap.of("CitizenReplyRequested", to=citizen)[-1].payload.text  # type: ignore[attr-defined]
        assert "Hanya PDF, JPG atau PNG" in refused
        await say(client, media_message(citizen, "image", "MEDIA-EXPIRED", "image/jpeg"))
        gone = tap.of("CitizenReplyRequested", to=citizen)[-1].payload.text  # type: ignore[attr-defined]
        assert "tidak dapat kami ambil" in gone
        await say(client, text_message(citizen, "selesai"))
        await say(client, text_message(citizen, "ya"))

        (received,) = await eventually(
            lambda: _async(tap.of("ComplaintReceived", reporter__phone=f"+{citizen}"))
        )
        payload = received.payload  # type: ignore[attr-defined]
        assert payload.reporter.name == "Siti Aminah"
        assert (payload.location.region_code, payload.location.city) == ("32.01", "Kab. Bogor")
        assert payload.location.address == "Desa Sukamaju RT 03"
        assert [a.attachment_id for a in payload.attachments] == ["whatsapp:MEDIA-PDF-9"]
        assert payload.attachments[0].sha256 == hashlib.sha256(PDF).hexdigest()
        await _assert_sealed(tap.database_url, received.complaint_id, "whatsapp:MEDIA-PDF-9", PDF)
        replies = tap.of("CitizenReplyRequested", to=citizen)
        assert {reply.complaint_id for reply in replies} == {received.complaint_id}
        assert payload.tracking_code in replies[-1].payload.text  # type: ignore[attr-defined]
        view = await client.get(f"/v1/complaints/{payload.tracking_code}")
        assert view.status_code == 200


async def _assert_sealed(
    database_url: str, complaint_id: object, attachment_id: str, plain: bytes
) -> None:
    """The document is stored sealed under the reporter's key and opens to `plain`."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT key_id, content, sha256 FROM intake.complaint_attachments"
            " WHERE complaint_id = $1 AND attachment_id = $2",
            complaint_id,
            attachment_id,
        )
        assert row is not None and row["key_id"] and plain not in row["content"]
        assert row["sha256"] == hashlib.sha256(plain).hexdigest()
        assert await Keystore.from_env().open_bytes(conn, row["key_id"], row["content"]) == plain
        staged = await conn.fetchval(
            "SELECT count(*) FROM intake.whatsapp_media WHERE attachment_id = $1", attachment_id
        )
        assert staged == 0  # moved to the complaint, not left behind
    finally:
        await conn.close()


def location_message(
    wa_id: str, latitude: float, longitude: float, **names: str
) -> dict[str, object]:
    return {
        "from": wa_id,
        "id": f"wamid.HBgN{wa_id}{next(_ids):06d}==",
        "timestamp": str(int(time.time())),
        "type": "location",
        "location": {"latitude": latitude, "longitude": longitude, **names},
    }


async def test_a_location_pin_sets_the_incident_region(intake: Intake, tap: EventTap) -> None:
    """A reporter from Jakarta (by NIK) pins a place in Surabaya: the complaint's location is
    the pin's regency and coordinates, confirmed by the citizen, not the NIK's region."""
    citizen = wa_user()

    async def say(client: httpx.AsyncClient, message: dict[str, object]) -> str:
        before = len(tap.of("CitizenReplyRequested", to=citizen))
        assert (await post(client, notification([message]))).status_code == 200
        await eventually(lambda: _async(len(tap.of("CitizenReplyRequested", to=citizen)) > before))
        return tap.of("CitizenReplyRequested", to=citizen)[-1].payload.text  # type: ignore[attr-defined,no-any-return]

    async with httpx.AsyncClient(base_url=intake.url) as client:
        for text in ("halo", "Siti Aminah", NIK):
            await say(client, text_message(citizen, text))
        assert "Di mana masalahnya terjadi?" in await say(client, text_message(citizen, "ya"))
        pin = location_message(citizen, -7.2458, 112.7378, name="Tugu Pahlawan")
        confirm = await say(client, pin)
        assert confirm == "Lokasi: Kota Surabaya, Jawa Timur — benar? Balas YA atau TIDAK."
        await say(client, text_message(citizen, "ya"))
        await say(
            client,
            text_message(citizen, "Lampu jalan di sekitar monumen mati sejak dua bulan lalu."),
        )
        await say(client, text_message(citizen, "lewati"))
        summary = tap.of("CitizenReplyRequested", to=citizen)[-1].payload.text  # type: ignore[attr-defined]
        assert "Lokasi: Kota Surabaya, Jawa Timur — Tugu Pahlawan" in summary
        await say(client, text_message(citizen, "ya"))

        (received,) = await eventually(
            lambda: _async(tap.of("ComplaintReceived", reporter__phone=f"+{citizen}"))
        )
        location = received.payload.location  # type: ignore[attr-defined]
        assert (location.region_code, location.city) == ("35.78", "Kota Surabaya")
        assert (location.latitude, location.longitude) == (-7.2458, 112.7378)
        assert location.address == "Tugu Pahlawan"
        # The address is sealed on the topic like the rest of the reporter's personal data.
        on_topic = [
            raw
            for raw in tap.raw
            if b'"ComplaintReceived"' in raw and str(received.complaint_id).encode() in raw
        ]
        assert on_topic and all(b"Tugu Pahlawan" not in raw for raw in on_topic)


async def _async(value: object) -> object:
    return value


async def test_berhenti_and_mulai_reach_the_notifier_as_sealed_events(
    intake: Intake, tap: EventTap
) -> None:
    """A WhatsApp citizen's BERHENTI: the confirmation in their language, and a
    CitizenOptOutRequested on the topic for the notifier, their number sealed; MULAI reverses
    it. Any other text is the conversation, as before."""
    citizen = wa_user()
    async with httpx.AsyncClient(base_url=intake.url) as client:
        for text in ("BERHENTI", "halo", "mulai"):  # the inbox answers in arrival order
            batch = notification([text_message(citizen, text)])
            assert (await post(client, batch)).status_code == 200
        await eventually(
            lambda: _async(len(tap.of("CitizenOptOutRequested", address=citizen)) >= 2)
        )
        await eventually(lambda: _async(len(tap.of("CitizenReplyRequested", to=citizen)) >= 5))
    assert await eventually(tap.has_everything_intake_published)
    asked = sorted(
        tap.of("CitizenOptOutRequested", address=citizen),
        key=lambda e: e.payload.requested_at,  # type: ignore[attr-defined]
    )
    assert [e.payload.opted_out for e in asked] == [True, False]  # type: ignore[attr-defined]
    assert all(e.complaint_id is None for e in asked)
    on_topic = [json.loads(r) for r in tap.raw if b'"CitizenOptOutRequested"' in r]
    mine = [e for e in on_topic if e["event_id"] in {str(a.event_id) for a in asked}]
    assert len(mine) == 2  # sealed on the topic: no number anywhere in the event
    assert all(citizen not in json.dumps(e) and is_sealed(e["payload"]["address"]) for e in mine)
    texts = [e.payload.text for e in tap.of("CitizenReplyRequested", to=citizen)]  # type: ignore[attr-defined]
    # The opt-out; the welcome and the name question; the opt-in and the question again.
    assert len(texts) == 5
    stopped = "Baik, nomor ini tidak akan menerima pemberitahuan"
    assert sum(t.startswith(stopped) for t in texts) == 1
    assert sum(t.startswith("Selamat datang") for t in texts) == 1  # "halo" still starts one
    assert sum(t.startswith("Baik, nomor ini akan menerima pemberitahuan") for t in texts) == 1
    assert sum("nama lengkap" in t for t in texts) == 2  # the draft kept its place
