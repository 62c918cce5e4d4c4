"""The notifier as a real OS process, fed through the real broker, with its state in the real
PostgreSQL server and real local servers standing in for the WhatsApp Cloud API and the SMS
gateway. It is SIGKILLed mid-stream, its input is replayed, and the WhatsApp stand-in answers
500 twice before 200: every citizen-facing event still yields exactly one message, on the
right channel, in the right language. No phone number, NIK or message body reaches its log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ops.standins import SmsGatewayStandIn, WhatsAppCloudStandIn
from schemas.events import (
    CaseAssigned,
    Channel,
    ComplaintReceived,
    ComplaintReceivedPayload,
    EventEnvelope,
    Language,
    Reporter,
)
from schemas.events.intake import (
    CitizenReplyRequested,
    CitizenReplyRequestedPayload,
    WhatsAppStatusReported,
    WhatsAppStatusReportedPayload,
)
from schemas.topics import (
    CASES,
    COMPLAINTS_INTAKE,
    COMPLAINTS_TRIAGED,
    NOTIFICATIONS,
    WHATSAPP_STATUSES,
    consumer_group,
)
from services.messaging.kafka import make_producer, publish
from tests.support import ServiceProcess, eventually, free_port
from tests.unit.test_notifier_templates import citizen_events

pytestmark = pytest.mark.e2e

PER_CHANNEL = 8
TEMPLATES = ("assigned", "needs_documents", "responded", "escalated", "closed")
NIK = "3171015501900001"
ONE_TIME_CODE_TEXT = "Kode verifikasi Anda: 482913. Jangan berikan kode ini kepada siapa pun."
OPERATOR = {"Authorization": "Bearer e2e-operator-token"}
SMS_GATEWAY = {"Authorization": "Bearer e2e-gateway-token"}


class Harness:
    def __init__(self, env: dict[str, str], log_dir: Any, producer: Any) -> None:
        self.env = env
        self.log_dir = log_dir
        self.producer = producer
        self.process = ServiceProcess("notifier", env, log_dir)
        self.published: list[EventEnvelope] = []

    async def publish(self, events: list[EventEnvelope]) -> None:
        await publish(self.producer, events)
        self.published += events

    async def restart(self) -> None:
        self.process = ServiceProcess("notifier", self.env, self.log_dir)
        self.process.start()
        await self.process.wait_ready()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.log_dir.glob("*.log"))


@pytest.fixture(scope="module")
async def whatsapp() -> AsyncIterator[WhatsAppCloudStandIn]:
    server = WhatsAppCloudStandIn()
    await server.serve(free_port())
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def sms() -> AsyncIterator[SmsGatewayStandIn]:
    server = SmsGatewayStandIn()
    await server.serve(free_port())
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def harness(stack, database_url, topics, tmp_path_factory, whatsapp, sms):  # type: ignore[no-untyped-def]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_NOTIFIER_WHATSAPP_API_URL": whatsapp.url,
        "LAPOR_NOTIFIER_WHATSAPP_PHONE_NUMBER_ID": whatsapp.phone_number_id,
        "LAPOR_NOTIFIER_WHATSAPP_TOKEN": whatsapp.token,
        "LAPOR_NOTIFIER_SMS_GATEWAY_URL": f"{sms.url}/sms",
        "LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN": sms.token,
        "LAPOR_NOTIFIER_BACKOFF_BASE_SECONDS": "0.2",
        "LAPOR_NOTIFIER_BACKOFF_CAP_SECONDS": "2",
        "LAPOR_NOTIFIER_RATE_LIMIT_COUNT": "100",
        "LAPOR_NOTIFIER_LEASE_SECONDS": "30",
        "LAPOR_NOTIFIER_OPERATORS": "e2e-operator:e2e-operator-token",
        "LAPOR_NOTIFIER_INBOUND_TOKENS": "sms-gateway:e2e-gateway-token",
    }
    producer = make_producer(stack.kafka_bootstrap, "notifier-e2e")
    await producer.start()
    harness = Harness(env, tmp_path_factory.mktemp("notifier-logs"), producer)
    # Meta sends a "sent" callback for every accepted message; intake's webhook publishes it.
    callbacks = asyncio.create_task(forward_sent_callbacks(whatsapp, harness))
    try:
        await harness.restart()
        yield harness
    finally:
        callbacks.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await callbacks
        code = harness.process.terminate()
        await producer.stop()
        assert code == 0, f"notifier did not stop cleanly on SIGTERM: {code}"


def status_event(message: dict[str, Any], status: str) -> WhatsAppStatusReported:
    return WhatsAppStatusReported(
        complaint_id=None,
        correlation_id=uuid.uuid5(uuid.NAMESPACE_URL, message["id"]),
        producer="intake",
        payload=WhatsAppStatusReportedPayload(
            provider_message_id=message["id"],
            status=status,  # type: ignore[arg-type]
            status_at=datetime.now(UTC),
            recipient=message["to"],
            callback_data=message["biz_opaque_callback_data"],
        ),
    )


async def forward_sent_callbacks(whatsapp: WhatsAppCloudStandIn, harness: Harness) -> None:
    forwarded = 0
    while True:
        fresh = whatsapp.received[forwarded:]
        if fresh:
            await publish(harness.producer, [status_event(m, "sent") for m in fresh])
            forwarded += len(fresh)
        await asyncio.sleep(0.1)


def complaint(channel: Channel, index: int, language: Language, *, old: bool) -> ComplaintReceived:
    complaint_id = uuid.uuid4()
    phone = f"+62813{index:08d}"
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-E2E{index:01d}-{uuid.uuid4().hex[:4].upper()}-{channel.value[:3].upper()}",
            channel=channel,
            reporter=Reporter(name="Siti Aminah", nik=NIK, phone=phone, language=language),
            description="Sertifikat tanah tidak terbit sejak 2019 padahal sudah lunas.",
            received_at=datetime.now(UTC) - (timedelta(days=2) if old else timedelta(0)),
        ),
    )


RECEIPT_TEXTS = {
    Language.INDONESIAN: "Terima kasih, laporan Anda sudah kami terima dengan nomor pelacakan {}.",
    Language.ENGLISH: "Thank you, we have received your report. Your tracking code is {}.",
}


def conversation_receipt(received: ComplaintReceived) -> CitizenReplyRequested:
    """A WhatsApp complaint's one receipt: the reply of the conversation that filed it,
    published by intake with the complaint and written when it was filed (the notifier sends
    no "received" of its own for WhatsApp)."""
    reply_id = uuid.uuid5(received.event_id, "receipt")
    language = received.payload.reporter.language
    return CitizenReplyRequested(
        event_id=reply_id,
        occurred_at=received.payload.received_at,
        complaint_id=received.complaint_id,
        correlation_id=received.correlation_id,
        producer="intake",
        payload=CitizenReplyRequestedPayload(
            reply_id=reply_id,
            channel=Channel.WHATSAPP,
            to=received.payload.reporter.phone.lstrip("+"),  # type: ignore[union-attr]
            text=RECEIPT_TEXTS[language].format(received.payload.tracking_code),
            language=language,
            purpose="receipt",
            in_reply_to=f"wamid.{received.complaint_id}",
            tracking_code=received.payload.tracking_code,
        ),
    )


def follow_ups(received: ComplaintReceived) -> list[EventEnvelope]:
    """What follows a complaint: on WhatsApp its receipt first, then the status events."""
    events: list[EventEnvelope] = []
    if received.payload.channel == Channel.WHATSAPP:
        events.append(conversation_receipt(received))
    for template in TEMPLATES:
        event = citizen_events()[template]
        payload = event.payload.model_copy(update={"tracking_code": received.payload.tracking_code})
        events.append(
            event.model_copy(
                update={
                    "event_id": uuid.uuid4(),
                    "complaint_id": received.complaint_id,
                    "correlation_id": received.correlation_id,
                    "payload": payload,
                }
            )
        )
    if received.payload.channel == Channel.WHATSAPP:
        events.append(
            CitizenReplyRequested(
                complaint_id=received.complaint_id,
                correlation_id=received.correlation_id,
                producer="intake",
                payload=CitizenReplyRequestedPayload(
                    reply_id=uuid.uuid4(),
                    channel=Channel.WHATSAPP,
                    to=received.payload.reporter.phone.lstrip("+"),  # type: ignore[union-attr]
                    text=ONE_TIME_CODE_TEXT,
                    purpose="one_time_code",
                    in_reply_to="wamid.citizen",
                    tracking_code=received.payload.tracking_code,
                ),
            )
        )
    return events


async def all_consumed(bootstrap: str) -> bool:
    """The notifier's group has committed everything on its input topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(consumer_group("notifier"))
        partitions = [
            TopicPartition(spec.name, p)
            for spec in (COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, CASES, WHATSAPP_STATUSES)
            for p in range(spec.partitions)
        ]
        ends = await consumer.end_offsets(partitions)
        return all(
            end == 0 or (tp in committed and committed[tp].offset >= end)
            for tp, end in ends.items()
        )
    finally:
        await consumer.stop()
        await admin.close()


async def nothing_left_to_send(database_url: str) -> bool:
    """No notification is due or in flight: every row queued so far was sent (or given up)."""
    conn = await asyncpg.connect(database_url)
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM notifier.notifications WHERE status IN ('pending', 'sending')"
        )
    finally:
        await conn.close()
    return left == 0


async def settled(bootstrap: str, database_url: str) -> bool:
    """Every input event was processed (the group's committed offsets are past it) and the
    sender worked off whatever the processing queued."""
    return await all_consumed(bootstrap) and await nothing_left_to_send(database_url)


async def rewind_offsets(bootstrap: str) -> None:
    """Commit offset 0 on every input partition for the (stopped) notifier's group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=consumer_group("notifier"), enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(spec.name, p)
            for spec in (COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, CASES, WHATSAPP_STATUSES)
            for p in range(spec.partitions)
        ]
        consumer.assign(partitions)
        await consumer.commit(dict.fromkeys(partitions, 0))
    finally:
        await consumer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(consumer_group("notifier"))
        assert all(offset.offset == 0 for offset in committed.values())
    finally:
        await admin.close()


def by_notification(messages: list[dict[str, Any]], key: str) -> Counter[str]:
    return Counter(m[key] for m in messages)


async def test_every_event_one_message_through_kill_replay_and_500s(
    harness: Harness, whatsapp: WhatsAppCloudStandIn, sms: SmsGatewayStandIn, stack, database_url
) -> None:  # type: ignore[no-untyped-def]
    whatsapp.fail_next(500, times=2)  # the first message meets 500, 500, then 200
    wa_complaints = [
        complaint(Channel.WHATSAPP, i, Language.INDONESIAN, old=i % 2 == 0)
        for i in range(PER_CHANNEL)
    ]
    web_complaints = [
        complaint(Channel.WEB, 100 + i, Language.ENGLISH, old=False) for i in range(PER_CHANNEL)
    ]
    streams = [[c, *follow_ups(c)] for c in wa_complaints + web_complaints]
    first_half = [event for stream in streams for event in stream[:3]]
    second_half = [event for stream in streams for event in stream[3:]]
    # One receipt each (WhatsApp: the conversation's; web: "received"), the status messages,
    # and on WhatsApp the one-time code.
    expected_whatsapp = PER_CHANNEL * (1 + len(TEMPLATES) + 1)
    expected_sms = PER_CHANNEL * (1 + len(TEMPLATES))

    await harness.publish(first_half)
    await eventually(lambda: _at_least(whatsapp, 5), within=60)
    harness.process.kill()  # mid-stream: sends in flight, offsets uncommitted
    await harness.publish(second_half)
    await harness.restart()

    async def all_sent() -> bool:
        return (
            len(by_notification(whatsapp.received, "biz_opaque_callback_data")) >= expected_whatsapp
            and len(by_notification(sms.received, "reference")) >= expected_sms
        )

    await eventually(all_sent, within=120)

    # Replay the input twice over: upstream publishes every event again, and the notifier's
    # own offsets are reset to the start of its input topics.
    await harness.publish(list(harness.published))
    await eventually(lambda: all_consumed(stack.kafka_bootstrap), within=90)
    assert harness.process.terminate() == 0
    await rewind_offsets(stack.kafka_bootstrap)
    await harness.restart()
    # The replay was processed, and anything it wrongly queued would have been sent.
    await eventually(lambda: settled(stack.kafka_bootstrap, database_url), within=120, interval=0.5)

    wa_counts = by_notification(whatsapp.received, "biz_opaque_callback_data")
    sms_counts = by_notification(sms.received, "reference")
    assert len(wa_counts) == expected_whatsapp and set(wa_counts.values()) == {1}
    assert len(sms_counts) == expected_sms and set(sms_counts.values()) == {1}
    assert whatsapp.requests >= len(whatsapp.received) + 2  # the two 500s were retried

    wa_numbers = {c.payload.reporter.phone.lstrip("+") for c in wa_complaints}  # type: ignore[union-attr]
    web_numbers = {c.payload.reporter.phone for c in web_complaints}
    assert {m["to"] for m in whatsapp.received} == wa_numbers  # right channel
    assert {m["to"] for m in sms.received} == web_numbers
    for message in whatsapp.received:  # Indonesian, free text only inside the window
        if message["type"] == "template":
            assert message["template"]["language"] == {"code": "id"}
        else:
            body = message["text"]["body"]
            assert (
                "Pengaduan" in body
                or "pengaduan" in body
                or body == ONE_TIME_CODE_TEXT
                or body.startswith("Terima kasih, laporan Anda sudah kami terima")
            )
    templates = [m for m in whatsapp.received if m["type"] == "template"]
    texts = [m for m in whatsapp.received if m["type"] == "text"]
    assert templates and texts
    assert all("complaint" in m["text"].lower() or "Complaint" in m["text"] for m in sms.received)

    timeline = await read_notified(stack.kafka_bootstrap, expected_whatsapp + expected_sms)
    assert len(timeline) == expected_whatsapp + expected_sms


async def test_failed_status_falls_back_to_sms_and_late_delivered_keeps_read(
    harness: Harness, whatsapp: WhatsAppCloudStandIn, sms: SmsGatewayStandIn, stack, database_url
) -> None:  # type: ignore[no-untyped-def]
    received = complaint(Channel.WHATSAPP, 900, Language.ENGLISH, old=False)
    receipt, assigned = follow_ups(received)[:2]
    assert isinstance(receipt, CitizenReplyRequested) and isinstance(assigned, CaseAssigned)
    await harness.publish([received, receipt, assigned])
    mine = await eventually(lambda: _messages_for(whatsapp, received, 2), within=60)

    # The two sends race each other; tell them apart by content, not by arrival order.
    second = next(m for m in mine if "has been forwarded to" in json.dumps(m))
    first = next(m for m in mine if m is not second)
    await harness.publish([status_event(first, s) for s in ("read", "delivered")])
    await harness.publish([status_event(second, "failed")])

    async def fallback() -> list[dict[str, Any]]:
        return [m for m in sms.received if received.payload.tracking_code in m["text"]]

    (text,) = await eventually(fallback, within=60)
    assert text["to"] == received.payload.reporter.phone
    assert "has been forwarded to" in text["text"]  # English, the citizen's language
    await harness.publish([status_event(second, "failed")])  # Meta repeats the callback
    # The repeat was processed, and a second fallback it wrongly queued would have been sent.
    await eventually(lambda: settled(stack.kafka_bootstrap, database_url), within=90, interval=0.5)
    assert len(await fallback()) == 1


async def test_berhenti_opts_the_citizen_out_of_status_messages(
    harness: Harness, whatsapp: WhatsAppCloudStandIn
) -> None:
    received = complaint(Channel.WHATSAPP, 901, Language.INDONESIAN, old=False)
    await harness.publish([received, conversation_receipt(received)])
    await eventually(lambda: _messages_for(whatsapp, received, 1), within=60)
    phone = received.payload.reporter.phone
    assert phone is not None
    async with httpx.AsyncClient(base_url=harness.process.url) as api:
        text = {"address": "0" + phone[3:], "text": "Berhenti"}
        assert (await api.post("/v1/inbound-texts", json=text)).status_code == 401
        answer = await api.post("/v1/inbound-texts", json=text, headers=SMS_GATEWAY)
        assert answer.status_code == 200 and answer.json() == {"action": "opted_out"}
        await harness.publish(follow_ups(received)[1:2])  # the case is assigned afterwards

        async def suppressed() -> list[dict[str, Any]] | None:
            response = await api.get(
                f"/v1/complaints/{received.complaint_id}/notifications", headers=OPERATOR
            )
            views = response.json()
            return views if any(v["status"] == "suppressed" for v in views) else None

        views = await eventually(suppressed, within=60)
    assert [(v["template"], v["status"]) for v in views] == [
        ("reply", "sent"),  # the conversation's receipt, the one before the opt-out
        ("assigned", "suppressed"),
    ]
    assert len(await _messages_for(whatsapp, received, 1) or []) == 1


async def test_no_personal_data_or_message_body_in_the_logs(harness: Harness) -> None:
    logs = harness.logs()
    assert "service started" in logs  # the log was captured at all
    assert NIK not in logs and "Siti" not in logs
    assert not re.search(r"(?<!\d)(?:\+?62|0)8\d{7,12}(?!\d)", logs), "a phone number was logged"
    assert ONE_TIME_CODE_TEXT[:20] not in logs
    for phrase in (
        "telah kami terima",
        "sudah kami terima",
        "has been forwarded to",
        "diteruskan ke",
        "Kementerian",
    ):
        assert phrase not in logs, f"a message body was logged: {phrase}"


async def _at_least(server: WhatsAppCloudStandIn, count: int) -> bool:
    return len(server.received) >= count


async def _messages_for(
    server: WhatsAppCloudStandIn, received: ComplaintReceived, count: int
) -> list[dict[str, Any]] | None:
    code = received.payload.tracking_code
    found = [m for m in server.received if code in json.dumps(m)]
    return found if len(found) >= count else None


async def read_notified(bootstrap: str, expected: int) -> set[str]:
    consumer = AIOKafkaConsumer(
        NOTIFICATIONS.name, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    ids: set[str] = set()
    try:

        async def enough() -> bool:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = json.loads(record.value)
                    if event["event_type"] == "CitizenNotified":
                        ids.add(event["event_id"])
            return len(ids) >= expected

        await eventually(enough, within=60)
    finally:
        await consumer.stop()
    return ids
