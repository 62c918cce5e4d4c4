"""The notifier's handlers, sender and channel adapters against the real PostgreSQL server, the
real broker (dead letters) and real local servers standing in for the WhatsApp Cloud API, an SMS
gateway and an SMTP server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from ops.standins import SmsGatewayStandIn, SmtpStandIn, WhatsAppCloudStandIn
from schemas.events import (
    Channel,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Event,
    EventEnvelope,
    Language,
    Reporter,
)
from schemas.events.intake import (
    CitizenOptOutRequested,
    CitizenOptOutRequestedPayload,
    CitizenReplyRequested,
    CitizenReplyRequestedPayload,
    WhatsAppStatusReported,
    WhatsAppStatusReportedPayload,
)
from schemas.topics import dead_letter_topic
from services.messaging import outbox
from services.messaging.database import create_pool, migrate
from services.messaging.deadletter import DeadLetterPublisher
from services.messaging.kafka import make_producer
from services.notifier.adapters import repository
from services.notifier.adapters.channels import (
    ChannelAdapter,
    PermanentSendError,
    TransientSendError,
    build_adapters,
    http_session,
)
from services.notifier.domain.rules import (
    AddressDigests,
    OutboundChannel,
    RateLimit,
    RetryPolicy,
    wa_id,
)
from services.notifier.domain.sending import OutboundMessage
from services.notifier.domain.templates import Rendered
from services.notifier.entrypoints.access import ApiAccess
from services.notifier.entrypoints.app import create_app
from services.notifier.entrypoints.consumer import event_batch_handlers, event_handlers
from services.notifier.handlers.sending import Sender, SenderConfig
from services.notifier.observability import UNDELIVERABLE
from services.notifier.settings import ChannelSettings
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import default_keystore
from tests.support import eventually, free_port
from tests.unit.test_notifier_templates import citizen_events

pytestmark = pytest.mark.integration
SCHEMA = "notifier_it"
KEYS = default_keystore()
HANDLERS = event_handlers(KEYS)
BATCH_HANDLERS = event_batch_handlers(KEYS)
DIGESTS = AddressDigests(KEYS.identity_key)
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifier" / "migrations"


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA)
    await migrate(pool, SCHEMA, MIGRATIONS)
    yield pool
    await pool.close()


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
def smtp() -> AsyncIterator[SmtpStandIn]:
    server = SmtpStandIn(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with http_session(ChannelSettings(send_timeout_seconds=5)) as session:
        yield session


def settings(
    whatsapp: WhatsAppCloudStandIn, sms: SmsGatewayStandIn, smtp: SmtpStandIn
) -> ChannelSettings:
    return ChannelSettings(
        whatsapp_api_url=whatsapp.url,
        whatsapp_phone_number_id=whatsapp.phone_number_id,
        whatsapp_token=whatsapp.token,
        sms_gateway_url=f"{sms.url}/sms",
        sms_gateway_token=sms.token,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
    )


@pytest.fixture
def make_sender(pool, whatsapp, sms, smtp, client):  # type: ignore[no-untyped-def]
    def make(**overrides: object) -> Sender:
        config = SenderConfig(
            retry=RetryPolicy(max_attempts=4, base_seconds=0.05, cap_seconds=0.2),
            rate_limit=RateLimit(limit=50),
            lease=timedelta(seconds=2),
            poll_interval=0.05,
        )
        for name, value in overrides.items():
            setattr(config, name, value)
        adapters = build_adapters(settings(whatsapp, sms, smtp), client)
        return Sender(pool, adapters, None, config, KEYS)

    return make


def new_phone() -> str:
    return f"+62812{uuid.uuid4().int % 10**8:08d}"


def received(
    channel: Channel = Channel.WHATSAPP,
    *,
    phone: str | None = None,
    email: str | None = None,
    language: Language = Language.INDONESIAN,
    at: datetime | None = None,
) -> ComplaintReceived:
    complaint_id = uuid.uuid4()
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="test",
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-{uuid.uuid4().hex[:4].upper()}-TEST-AAA",
            channel=channel,
            reporter=Reporter(
                name="Siti Aminah",
                nik="3171015501900001",
                phone=phone,
                email=email,
                language=language,
            ),
            description="Sertifikat tanah tidak terbit sejak 2019",
            received_at=at or datetime.now(UTC),
        ),
    )


def follow_up(template: str, complaint: ComplaintReceived) -> Event:
    """The event for `template`, re-addressed to `complaint`."""
    event = citizen_events()[template]
    payload = event.payload.model_copy(update={"tracking_code": complaint.payload.tracking_code})
    return event.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "complaint_id": complaint.complaint_id,
            "correlation_id": complaint.correlation_id,
            "payload": payload,
        }
    )


def receipt_text(code: str) -> str:
    """The conversation's receipt, as intake's guided WhatsApp conversation words it."""
    return (
        f"Terima kasih, laporan Anda sudah kami terima dengan nomor pelacakan {code}."
        " Simpan nomor ini untuk memantau status laporan Anda."
    )


def conversation_receipt(complaint: ComplaintReceived) -> CitizenReplyRequested:
    """The receipt intake's WhatsApp conversation publishes with the complaint it files (the
    notifier sends no "received" of its own for WhatsApp): a reply to the citizen's message,
    written when the complaint was filed; ids derived, so a replay repeats it."""
    reply_id = uuid.uuid5(complaint.event_id, "receipt")
    return CitizenReplyRequested(
        event_id=reply_id,
        occurred_at=complaint.payload.received_at,
        complaint_id=complaint.complaint_id,
        correlation_id=complaint.correlation_id,
        producer="intake",
        payload=CitizenReplyRequestedPayload(
            reply_id=reply_id,
            channel=Channel.WHATSAPP,
            to=wa_id(complaint.payload.reporter.phone or ""),
            text=receipt_text(complaint.payload.tracking_code),
            language=complaint.payload.reporter.language,
            purpose="receipt",
            in_reply_to=f"wamid.{complaint.complaint_id}",
            tracking_code=complaint.payload.tracking_code,
        ),
    )


async def handle(pool: asyncpg.Pool, event: Event) -> Sequence[EventEnvelope]:
    """The event through its handler, as the consumer would. A WhatsApp complaint comes with
    its conversation's receipt, as intake publishes them (one transaction, one partition)."""
    events: list[Event] = [event]
    if isinstance(event, ComplaintReceived) and event.payload.channel == Channel.WHATSAPP:
        events.append(conversation_receipt(event))
    out: list[EventEnvelope] = []
    for each in events:
        async with pool.acquire() as conn, conn.transaction():
            caused = await HANDLERS[each.event_type](each, conn)
            await outbox.enqueue(conn, caused)
        out += caused
    return out


async def notifications(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM notifications WHERE complaint_id = $1 ORDER BY created_at, channel",
        complaint_id,
    )


async def work_until(sender: Sender, check, within: float = 30.0):  # type: ignore[no-untyped-def]
    async def step():  # type: ignore[no-untyped-def]
        await sender.run_once()
        return await check()

    return await eventually(step, within=within, interval=0.05)


def sent_to(server: WhatsAppCloudStandIn | SmsGatewayStandIn, complaint: ComplaintReceived) -> list:  # type: ignore[type-arg]
    code = complaint.payload.tracking_code
    return [m for m in server.received if code in json.dumps(m)]


async def outbox_types(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list[str]:
    rows = await pool.fetch("SELECT payload FROM outbox WHERE key = $1", str(complaint_id).encode())
    return sorted(json.loads(row["payload"])["event_type"] for row in rows)


async def test_whatsapp_500_twice_then_200_sends_exactly_once(pool, whatsapp, make_sender) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    whatsapp.fail_next(500, times=2)
    sender = make_sender()

    async def sent():  # type: ignore[no-untyped-def]
        rows = await notifications(pool, complaint.complaint_id)
        return rows if rows and rows[0]["status"] == "sent" else None

    (row,) = await work_until(sender, sent)
    assert row["attempts"] == 3 and row["channel"] == "whatsapp" and row["wa_mode"] == "text"
    (message,) = sent_to(whatsapp, complaint)
    # The wamid (it encodes the number) is kept as intake names it in status events.
    assert message["type"] == "text" and row["provider_message_id"] == KEYS.message_ref(
        message["id"]
    )
    assert message["id"] not in row["provider_message_id"]
    assert message["biz_opaque_callback_data"] == str(row["notification_id"])
    # The one receipt: the conversation's, with the tracking code, in the citizen's language.
    assert message["text"]["body"] == receipt_text(complaint.payload.tracking_code)
    assert row["reply_text"] is None
    assert await outbox_types(pool, complaint.complaint_id) == ["CitizenNotified"]

    # A replay of the same event changes nothing.
    await handle(pool, complaint)
    for _ in range(5):
        await sender.run_once()
    assert len(sent_to(whatsapp, complaint)) == 1
    assert len(await notifications(pool, complaint.complaint_id)) == 1


async def test_outside_the_24_hour_window_a_named_template_goes_in_english(
    pool, whatsapp, make_sender
) -> None:  # type: ignore[no-untyped-def]
    complaint = received(
        phone=new_phone(), language=Language.ENGLISH, at=datetime.now(UTC) - timedelta(days=2)
    )
    await handle(pool, complaint)
    await handle(pool, follow_up("assigned", complaint))
    sender = make_sender()

    async def both_sent():  # type: ignore[no-untyped-def]
        rows = await notifications(pool, complaint.complaint_id)
        return len(rows) == 2 and all(r["status"] == "sent" for r in rows)

    await work_until(sender, both_sent)
    messages = sent_to(whatsapp, complaint)
    # The conversation's receipt, written two days ago, goes as the reply template.
    assert {m["template"]["name"] for m in messages} == {
        "lapor_balasan",
        "lapor_diteruskan_ke_instansi",
    }
    assigned = next(m for m in messages if m["template"]["name"] == "lapor_diteruskan_ke_instansi")
    assert assigned["template"]["language"] == {"code": "en"}
    parameters = assigned["template"]["components"][0]["parameters"]
    assert [p["text"] for p in parameters] == [
        complaint.payload.tracking_code,
        "Kementerian ATR/BPN",
    ]

    # The citizen writes again: the window opens and free text is allowed.
    reply = CitizenReplyRequested(
        complaint_id=complaint.complaint_id,
        correlation_id=complaint.correlation_id,
        producer="test",
        payload=CitizenReplyRequestedPayload(
            reply_id=uuid.uuid4(),
            channel=Channel.WHATSAPP,
            to=complaint.payload.reporter.phone.lstrip("+"),  # type: ignore[union-attr]
            text=f"Status {complaint.payload.tracking_code}: diteruskan.",
            language=Language.ENGLISH,
            in_reply_to="wamid.citizen-1",
            tracking_code=complaint.payload.tracking_code,
        ),
    )
    await handle(pool, reply)
    await handle(pool, follow_up("responded", complaint))

    async def four_sent():  # type: ignore[no-untyped-def]
        rows = await notifications(pool, complaint.complaint_id)
        return len(rows) == 4 and all(r["status"] == "sent" for r in rows)

    await work_until(sender, four_sent)
    latest = [m for m in sent_to(whatsapp, complaint) if m["type"] == "text"]
    assert len(latest) == 2
    assert any("has responded to complaint" in m["text"]["body"] for m in latest)
    assert any(m["text"]["body"].startswith("Status ") for m in latest)


async def test_429_retry_after_is_honoured(pool, whatsapp, make_sender) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    whatsapp.fail_next(429, retry_after=3)
    sender = make_sender()
    await sender.run_once()
    (row,) = await notifications(pool, complaint.complaint_id)
    assert row["status"] == "pending" and "429" in row["last_error"]
    waits = await pool.fetchval(
        "SELECT extract(epoch FROM next_attempt_at - now()) FROM notifications"
        " WHERE notification_id = $1",
        row["notification_id"],
    )
    assert 2.0 < float(waits) <= 3.1
    await sender.run_once()
    assert not sent_to(whatsapp, complaint)  # not before Retry-After


async def test_permanent_whatsapp_error_falls_back_to_sms_once(
    pool, whatsapp, sms, make_sender
) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    whatsapp.fail_next(400)
    sender = make_sender()
    fell_back = UNDELIVERABLE.labels("whatsapp", "sms")
    before = fell_back._value.get()  # no public reader of a child's value

    async def sms_sent():  # type: ignore[no-untyped-def]
        rows = {r["channel"]: r for r in await notifications(pool, complaint.complaint_id)}
        return rows if rows.get("sms") and rows["sms"]["status"] == "sent" else None

    rows = await work_until(sender, sms_sent)
    assert rows["whatsapp"]["status"] == "undeliverable"
    # What LaporNotificationFallbacksHigh reads (other tests may fall back concurrently).
    assert fell_back._value.get() >= before + 1
    assert rows["sms"]["fallback_of"] == rows["whatsapp"]["notification_id"]
    (text,) = sent_to(sms, complaint)
    assert text["to"] == complaint.payload.reporter.phone
    assert receipt_text(complaint.payload.tracking_code) in text["text"]
    assert await outbox_types(pool, complaint.complaint_id) == [
        "CitizenNotificationStatusChanged",
        "CitizenNotified",
    ]


async def test_status_callbacks_keep_the_highest_and_failed_falls_back_to_sms(
    pool, whatsapp, sms, make_sender
) -> None:  # type: ignore[no-untyped-def]
    first, second = received(phone=new_phone()), received(phone=new_phone())
    for complaint in (first, second):
        await handle(pool, complaint)
    sender = make_sender()

    async def both_sent():  # type: ignore[no-untyped-def]
        rows = [
            *await notifications(pool, first.complaint_id),
            *await notifications(pool, second.complaint_id),
        ]
        return rows if len(rows) == 2 and all(r["status"] == "sent" for r in rows) else None

    row_one, row_two = await work_until(sender, both_sent)

    def callback(row: asyncpg.Record, status: str) -> WhatsAppStatusReported:
        return WhatsAppStatusReported(
            complaint_id=None,
            correlation_id=uuid.uuid5(uuid.NAMESPACE_URL, row["provider_message_id"]),
            producer="test",
            payload=WhatsAppStatusReportedPayload(
                provider_message_id=row["provider_message_id"],
                status=status,  # type: ignore[arg-type]
                status_at=datetime.now(UTC),
                recipient=row["destination"].lstrip("+"),
                callback_data=str(row["notification_id"]),
            ),
        )

    for status in ("read", "delivered", "sent"):  # out of order: read first
        await handle(pool, callback(row_one, status))
    (kept,) = await notifications(pool, first.complaint_id)
    assert kept["delivery_status"] == "read"

    await handle(pool, callback(row_two, "failed"))
    await handle(pool, callback(row_two, "failed"))  # Meta repeats callbacks

    async def sms_sent():  # type: ignore[no-untyped-def]
        rows = {r["channel"]: r for r in await notifications(pool, second.complaint_id)}
        return rows if rows.get("sms") and rows["sms"]["status"] == "sent" else None

    rows = await work_until(sender, sms_sent)
    assert rows["whatsapp"]["delivery_status"] == "failed"
    (text,) = sent_to(sms, second)
    # The receipt's text was cleared once sent: the fallback repeats it as "received".
    assert rows["sms"]["template"] == "received" and "telah kami terima" in text["text"]


async def test_a_callback_after_a_crash_mid_send_prevents_a_second_send(
    pool, whatsapp, make_sender
) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    (row,) = await notifications(pool, complaint.complaint_id)
    # The sender claimed the row and the provider accepted it, then the process died.
    await pool.execute(
        "UPDATE notifications SET status = 'sending', attempts = 1,"
        " claimed_until = now() + interval '1 second' WHERE notification_id = $1",
        row["notification_id"],
    )
    await handle(
        pool,
        WhatsAppStatusReported(
            complaint_id=None,
            correlation_id=uuid.uuid4(),
            producer="test",
            payload=WhatsAppStatusReportedPayload(
                provider_message_id="wamid.sent-before-the-crash",
                status="sent",
                status_at=datetime.now(UTC),
                recipient=row["destination"].lstrip("+"),
                callback_data=str(row["notification_id"]),
            ),
        ),
    )
    (after,) = await notifications(pool, complaint.complaint_id)
    assert after["status"] == "sent" and after["provider_message_id"] == KEYS.message_ref(
        "wamid.sent-before-the-crash"
    )
    sender = make_sender()
    await pool.execute(
        "UPDATE notifications SET claimed_until = now() - interval '1 second'"
        " WHERE notification_id = $1",
        row["notification_id"],
    )
    await sender.run_once()
    assert not sent_to(whatsapp, complaint)
    assert await outbox_types(pool, complaint.complaint_id) == ["CitizenNotified"]


async def test_an_expired_lease_is_sent_again(pool, whatsapp, make_sender) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    (row,) = await notifications(pool, complaint.complaint_id)
    await pool.execute(
        "UPDATE notifications SET status = 'sending', attempts = 1,"
        " claimed_until = now() - interval '1 second' WHERE notification_id = $1",
        row["notification_id"],
    )
    await make_sender().run_once()
    assert len(sent_to(whatsapp, complaint)) == 1


async def test_email_over_smtp(pool, smtp, make_sender) -> None:  # type: ignore[no-untyped-def]
    complaint = received(Channel.WEB, email="siti.aminah@example.id", language=Language.ENGLISH)
    await handle(pool, complaint)
    sender = make_sender()

    async def arrived():  # type: ignore[no-untyped-def]
        code = complaint.payload.tracking_code
        return [m for m in smtp.messages if code in str(m["Subject"])]

    (mail,) = await work_until(sender, arrived)
    (row,) = await notifications(pool, complaint.complaint_id)
    assert mail["To"] == "siti.aminah@example.id"
    assert mail["Subject"] == f"Complaint {complaint.payload.tracking_code} received"
    assert mail["Message-ID"] == f"<{row['notification_id']}@notifier.lapor>"
    assert "We have received your complaint" in mail.get_payload(decode=True).decode()


async def test_opt_out_suppresses_status_messages(pool, whatsapp, make_sender) -> None:  # type: ignore[no-untyped-def]
    phone = new_phone()
    app = create_app(lambda: pool, KEYS, ApiAccess.from_config("ops:op-token", "sms:gw-token"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://n"
    ) as api:
        response = await api.post(
            "/v1/inbound-texts",
            json={"address": "0" + phone[3:], "text": "BERHENTI"},
            headers={"Authorization": "Bearer gw-token"},
        )
        assert response.json() == {"action": "opted_out"}
        bad = await api.post(
            "/v1/opt-outs", json={"address": "12"}, headers={"Authorization": "Bearer op-token"}
        )
        assert bad.status_code == 422 and "12" not in json.dumps(bad.json()["detail"][0]["msg"])
    complaint = received(phone=phone)
    await handle(pool, complaint)
    await handle(pool, follow_up("assigned", complaint))
    await make_sender().run_once()
    rows = {r["template"]: r for r in await notifications(pool, complaint.complaint_id)}
    assert rows["assigned"]["status"] == "suppressed"
    # The conversation's own receipt answers the citizen, as every reply they ask for does.
    assert rows["reply"]["status"] == "sent"
    (only,) = sent_to(whatsapp, complaint)
    assert only["text"]["body"] == receipt_text(complaint.payload.tracking_code)


def opt_out_request(phone: str, opted_out: bool, at: datetime) -> CitizenOptOutRequested:
    """A WhatsApp citizen's BERHENTI (or MULAI) as intake publishes it."""
    correlation_id = uuid.uuid4()
    return CitizenOptOutRequested(
        complaint_id=None,
        correlation_id=correlation_id,
        producer="intake",
        payload=CitizenOptOutRequestedPayload(
            channel=Channel.WHATSAPP,
            address=wa_id(phone),
            opted_out=opted_out,
            requested_at=at,
        ),
    )


async def test_a_whatsapp_berhenti_from_intake_suppresses_later_messages_until_mulai(
    pool, whatsapp, sms, make_sender
) -> None:  # type: ignore[no-untyped-def]
    phone = new_phone()
    complaint = received(phone=phone)
    await handle(pool, complaint)
    written = datetime.now(UTC)
    stop = opt_out_request(phone, True, written)
    async with pool.acquire() as conn:
        # Sealed under the WhatsApp number's key, as intake seals it.
        stop = await KEYS.seal(conn, stop, identity=identity_of(None, wa_id(phone), None))
    assert wa_id(phone) not in stop.model_dump_json()
    await handle(pool, stop)
    await handle(pool, follow_up("assigned", complaint))
    sender = make_sender()

    async def settled(count: int):  # type: ignore[no-untyped-def]
        rows = await notifications(pool, complaint.complaint_id)
        done = len(rows) == count and all(r["status"] not in ("pending", "sending") for r in rows)
        return {r["template"]: r["status"] for r in rows} if done else None

    assert await work_until(sender, lambda: settled(2)) == {
        "reply": "sent",  # the receipt went before; the citizen's own replies always go
        "assigned": "suppressed",
    }
    # A MULAI written before the BERHENTI but read after it changes nothing.
    await handle(pool, opt_out_request(phone, False, written - timedelta(minutes=1)))
    await handle(pool, follow_up("in_progress", complaint))
    assert (await work_until(sender, lambda: settled(3)))["in_progress"] == "suppressed"
    # The same store as SMS opt-outs: the number is out on every channel.
    async with pool.acquire() as conn:
        assert await repository.opted_out_among(conn, DIGESTS.pairs([phone]))
    # MULAI, written later: messages flow again.
    await handle(pool, opt_out_request(phone, False, written + timedelta(minutes=1)))
    await handle(pool, follow_up("responded", complaint))
    assert (await work_until(sender, lambda: settled(4)))["responded"] == "sent"
    assert len(sent_to(whatsapp, complaint)) == 2  # the receipt and "responded", nothing else
    assert not sent_to(sms, complaint)


async def test_an_opt_out_stored_under_the_old_unkeyed_digest_still_suppresses(
    pool, whatsapp, sms, make_sender
) -> None:  # type: ignore[no-untyped-def]
    """Opt-outs recorded before notifier migration 0005 (unkeyed SHA-256) are not lost: the
    number's messages stay suppressed, and the row moves to the keyed digest."""
    phone = new_phone()
    legacy = hashlib.sha256(wa_id(phone).encode()).hexdigest()  # as 0002 stored it
    await pool.execute(
        "INSERT INTO opt_outs (address_digest, opted_out_at)"
        " VALUES ($1, now() - interval '9 days')",
        legacy,
    )
    complaint = received(Channel.WEB, phone=phone)
    await handle(pool, complaint)
    sender = make_sender()

    async def settled():  # type: ignore[no-untyped-def]
        rows = await notifications(pool, complaint.complaint_id)
        done = rows and all(r["status"] not in ("pending", "sending") for r in rows)
        return rows if done else None

    rows = await work_until(sender, settled)
    assert [r["status"] for r in rows] == ["suppressed"] * len(rows)
    assert not sent_to(whatsapp, complaint) and not sent_to(sms, complaint)
    kept = await pool.fetch(
        "SELECT address_digest FROM opt_outs WHERE address_digest = ANY($1::text[])",
        [legacy, DIGESTS.keyed(phone)],
    )
    assert [r["address_digest"] for r in kept] == [DIGESTS.keyed(phone)]  # re-keyed
    # MULAI now finds it under the keyed digest.
    async with pool.acquire() as conn:
        await repository.set_opt_out(conn, DIGESTS, phone, False)
        assert not await repository.opted_out_among(conn, DIGESTS.pairs([phone]))


async def test_rate_limit_holds_messages_beyond_the_limit(pool, whatsapp, make_sender) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    for template in ("assigned", "in_progress", "needs_documents", "responded", "closed"):
        await handle(pool, follow_up(template, complaint))
    sender = make_sender(rate_limit=RateLimit(limit=3, window=timedelta(minutes=10)))
    for _ in range(4):
        await sender.run_once()
    everything = await notifications(pool, complaint.complaint_id)
    # The conversation's receipt is a reply the citizen asked for: outside the limit.
    (receipt,) = [r for r in everything if r["template"] == "reply"]
    assert receipt["status"] == "sent"
    rows = [r for r in everything if r["template"] != "reply"]
    assert sorted(r["status"] for r in rows) == ["pending", "pending", "sent", "sent", "sent"]
    held = [r for r in rows if r["status"] == "pending"]
    assert all(r["next_attempt_at"] > datetime.now(UTC) + timedelta(minutes=5) for r in held)
    assert len(sent_to(whatsapp, complaint)) == 3 + 1


async def test_exhausted_retries_end_on_the_dead_letter_topic(pool, stack, topics, client) -> None:  # type: ignore[no-untyped-def]
    # Email is the citizen's only channel and the SMTP server is down: nothing to fall back to.
    complaint = received(Channel.WEB, email="budi@example.id")
    await handle(pool, complaint)
    producer = make_producer(stack.kafka_bootstrap, "notifier-it")
    await producer.start()
    try:
        adapters = build_adapters(
            ChannelSettings(smtp_host="127.0.0.1", smtp_port=free_port(), send_timeout_seconds=2),
            client,
        )
        sender = Sender(
            pool,
            adapters,
            DeadLetterPublisher(producer, "notifier"),
            SenderConfig(retry=RetryPolicy(max_attempts=3, base_seconds=0.05, cap_seconds=0.1)),
            KEYS,
        )

        async def given_up():  # type: ignore[no-untyped-def]
            (row,) = await notifications(pool, complaint.complaint_id)
            return row if row["status"] == "undeliverable" else None

        row = await work_until(sender, given_up)
    finally:
        await producer.stop()
    assert row["attempts"] == 3 and "retries exhausted: smtp unreachable" in row["last_error"]

    consumer = AIOKafkaConsumer(
        dead_letter_topic("notifier").name,
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        wanted = str(row["notification_id"]).encode()

        async def letter():  # type: ignore[no-untyped-def]
            # The topic also holds whatever other tests' input the notifier could not parse.
            batch = await consumer.getmany(timeout_ms=500)
            return [r for records in batch.values() for r in records if wanted in r.value]

        (record,) = await eventually(letter)
    finally:
        await consumer.stop()
    assert dict(record.headers)["x-error"].startswith(
        b"notification undeliverable: retries exhausted"
    )
    assert b"budi@example.id" not in record.value
    assert await outbox_types(pool, complaint.complaint_id) == ["CitizenNotificationStatusChanged"]


async def test_an_event_that_overtakes_its_complaint_is_held_not_lost(pool) -> None:  # type: ignore[no-untyped-def]
    complaint = received(Channel.WEB, phone=new_phone())
    assigned = follow_up("assigned", complaint)
    await handle(pool, assigned)  # the cases topic ran ahead of the intake topic
    assert await notifications(pool, complaint.complaint_id) == []
    await handle(pool, complaint)
    rows = await notifications(pool, complaint.complaint_id)
    assert sorted(r["template"] for r in rows) == ["assigned", "received"]
    assert all(r["channel"] == "sms" for r in rows)
    assert not await pool.fetchval(
        "SELECT count(*) FROM held_events WHERE complaint_id = $1", complaint.complaint_id
    )


async def test_a_batch_records_every_message_its_events_call_for_and_a_replay_none(pool) -> None:  # type: ignore[no-untyped-def]
    """The consumer hands the notifying events of a batch to one handler, as the topics
    interleave them: an event ahead of its complaint in the same batch, a complaint whose
    event was held by an earlier batch, a WhatsApp complaint (window opened, no receipt of
    its own), an event whose complaint is still unknown (held)."""
    web, earlier, chat, unknown = (
        received(Channel.WEB, phone=new_phone()),
        received(Channel.WEB, email=f"{uuid.uuid4().hex[:8]}@example.id"),
        received(Channel.WHATSAPP, phone=new_phone()),
        received(Channel.WEB, phone=new_phone()),
    )
    await handle(pool, follow_up("rejected", earlier))  # held by an earlier batch
    batch = [
        follow_up("assigned", web),
        web,
        earlier,
        chat,
        follow_up("assigned", chat),
        follow_up("under_review", unknown),
    ]
    notify = BATCH_HANDLERS["ComplaintReceived"]
    assert all(BATCH_HANDLERS[event.event_type] is notify for event in batch)
    for attempt in ("first", "replay"):
        async with pool.acquire() as conn, conn.transaction():
            assert await notify(batch, conn) == ()
        templates = {
            complaint.complaint_id: sorted(
                (r["template"], r["channel"])
                for r in await notifications(pool, complaint.complaint_id)
            )
            for complaint in (web, earlier, chat, unknown)
        }
        assert templates == {
            web.complaint_id: [("assigned", "sms"), ("received", "sms")],
            earlier.complaint_id: [("received", "email"), ("rejected", "email")],
            chat.complaint_id: [("assigned", "whatsapp")],
            unknown.complaint_id: [],
        }, attempt
        held = await pool.fetch(
            "SELECT complaint_id FROM held_events WHERE complaint_id = ANY($1::uuid[])",
            [c.complaint_id for c in (web, earlier, chat, unknown)],
        )
        assert [r["complaint_id"] for r in held] == [unknown.complaint_id], attempt
    window = await pool.fetchval(
        "SELECT last_inbound_at FROM whatsapp_windows WHERE address_digest = $1",
        DIGESTS.keyed(wa_id(chat.payload.reporter.phone or "")),
    )
    assert window == chat.payload.received_at
    await handle(pool, unknown)  # its complaint at last: the held event goes too
    assert sorted(r["template"] for r in await notifications(pool, unknown.complaint_id)) == [
        "received",
        "under_review",
    ]


async def test_a_callback_for_a_timed_out_send_cancels_its_retry(
    pool, whatsapp, make_sender
) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    (row,) = await notifications(pool, complaint.complaint_id)
    # The answer timed out, so a retry is scheduled, yet the provider had accepted the message.
    await pool.execute(
        "UPDATE notifications SET status = 'pending', attempts = 1, last_error = 'timeout',"
        " next_attempt_at = now() + interval '1 second' WHERE notification_id = $1",
        row["notification_id"],
    )
    await handle(
        pool,
        WhatsAppStatusReported(
            complaint_id=None,
            correlation_id=uuid.uuid4(),
            producer="test",
            payload=WhatsAppStatusReportedPayload(
                provider_message_id="wamid.accepted-despite-timeout",
                status="delivered",
                status_at=datetime.now(UTC),
                recipient=row["destination"].lstrip("+"),
                callback_data=str(row["notification_id"]),
            ),
        ),
    )
    await pool.execute(
        "UPDATE notifications SET next_attempt_at = now() WHERE notification_id = $1",
        row["notification_id"],
    )
    await make_sender().run_once()
    (after,) = await notifications(pool, complaint.complaint_id)
    assert after["status"] == "sent" and after["delivery_status"] == "delivered"
    assert not sent_to(whatsapp, complaint)


async def test_a_failed_callback_for_a_timed_out_send_cancels_its_retry(
    pool, whatsapp, sms, make_sender
) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    (row,) = await notifications(pool, complaint.complaint_id)
    await pool.execute(
        "UPDATE notifications SET status = 'pending', attempts = 1, next_attempt_at = now()"
        " WHERE notification_id = $1",
        row["notification_id"],
    )
    await handle(
        pool,
        WhatsAppStatusReported(
            complaint_id=None,
            correlation_id=uuid.uuid4(),
            producer="test",
            payload=WhatsAppStatusReportedPayload(
                provider_message_id="wamid.failed-after-timeout",
                status="failed",
                status_at=datetime.now(UTC),
                recipient=row["destination"].lstrip("+"),
                error_codes=("131026",),
                callback_data=str(row["notification_id"]),
            ),
        ),
    )
    sender = make_sender()

    async def sms_sent():  # type: ignore[no-untyped-def]
        rows = {r["channel"]: r for r in await notifications(pool, complaint.complaint_id)}
        return rows if rows.get("sms") and rows["sms"]["status"] == "sent" else None

    rows = await work_until(sender, sms_sent)
    assert rows["whatsapp"]["status"] == "undeliverable"
    assert rows["whatsapp"]["last_error"] == "whatsapp status failed: 131026"
    assert not sent_to(whatsapp, complaint) and len(sent_to(sms, complaint)) == 1


class CallbackFirst:
    """The WhatsApp adapter, except that for one message Meta's "sent" status callback is
    handled after the provider accepted it and before the sender records the send."""

    channel = OutboundChannel.WHATSAPP

    def __init__(
        self, inner: ChannelAdapter, pool: asyncpg.Pool, target: uuid.UUID, at: datetime
    ) -> None:
        self.inner, self.pool, self.target, self.at = inner, pool, target, at

    async def send(self, message: OutboundMessage) -> str:
        wamid = await self.inner.send(message)
        if message.notification_id == self.target:
            await handle(
                self.pool,
                WhatsAppStatusReported(
                    complaint_id=None,
                    correlation_id=uuid.uuid4(),
                    producer="test",
                    payload=WhatsAppStatusReportedPayload(
                        provider_message_id=wamid,
                        status="sent",
                        status_at=self.at,
                        recipient=wa_id(message.to),
                        callback_data=str(message.notification_id),
                    ),
                ),
            )
        return wamid


async def test_a_claimed_batch_is_recorded_together_and_each_send_once(
    pool, whatsapp, sms, smtp, client
) -> None:  # type: ignore[no-untyped-def]
    by_whatsapp = [received(phone=new_phone()) for _ in range(12)]
    by_sms = [received(Channel.WEB, phone=new_phone()) for _ in range(12)]
    for complaint in by_whatsapp + by_sms:
        await handle(pool, complaint)
        await handle(pool, follow_up("assigned", complaint))
    busy = received(Channel.WEB, phone=new_phone())  # five messages, three allowed
    await handle(pool, busy)
    for template in ("assigned", "in_progress", "needs_documents", "responded"):
        await handle(pool, follow_up(template, busy))
    opted = received(Channel.WEB, phone=new_phone())
    async with pool.acquire() as conn:
        await repository.set_opt_out(conn, DIGESTS, opted.payload.reporter.phone or "", True)
    await handle(pool, opted)

    raced = (await notifications(pool, by_whatsapp[0].complaint_id))[0]
    callback_at = datetime.now(UTC) - timedelta(hours=1)
    adapters = build_adapters(settings(whatsapp, sms, smtp), client)
    adapters[OutboundChannel.WHATSAPP] = CallbackFirst(
        adapters[OutboundChannel.WHATSAPP], pool, raced["notification_id"], callback_at
    )
    config = SenderConfig(
        rate_limit=RateLimit(limit=3, window=timedelta(minutes=10)),
        batch_size=500,
        lease=timedelta(minutes=2),
        record_every=timedelta(minutes=1),  # nothing recorded before the batch is done
    )
    assert await Sender(pool, adapters, None, config, KEYS).run_once() >= 48 + 5 + 1

    recorded_at = set()
    for complaint in by_whatsapp + by_sms:
        rows = await notifications(pool, complaint.complaint_id)
        assert [r["status"] for r in rows] == ["sent", "sent"]
        server = whatsapp if complaint in by_whatsapp else sms
        assert len(sent_to(server, complaint)) == 2  # each message once
        assert await outbox_types(pool, complaint.complaint_id) == ["CitizenNotified"] * 2
        recorded_at |= {
            r["sent_at"] for r in rows if r["notification_id"] != raced["notification_id"]
        }
    assert len(recorded_at) == 1  # one transaction recorded every send of the batch

    # The callback recorded that send first; the sender's update left it alone.
    after = next(
        r
        for r in await notifications(pool, raced["complaint_id"])
        if r["notification_id"] == raced["notification_id"]
    )
    assert after["sent_at"] == callback_at and after["wa_mode"] is None
    sent_ids = {KEYS.message_ref(m["id"]) for m in sent_to(whatsapp, by_whatsapp[0])}
    assert after["provider_message_id"] in sent_ids

    rows = await notifications(pool, busy.complaint_id)
    assert sorted(r["status"] for r in rows) == ["pending", "pending", "sent", "sent", "sent"]
    assert [r["template"] for r in rows if r["status"] == "sent"] == [
        "received",
        "assigned",
        "in_progress",
    ]  # in order
    held = [r for r in rows if r["status"] == "pending"]
    assert all(r["attempts"] == 0 for r in held)  # held back, not a failed attempt
    assert all(r["next_attempt_at"] > datetime.now(UTC) + timedelta(minutes=5) for r in held)
    assert len(sent_to(sms, busy)) == 3
    assert await outbox_types(pool, busy.complaint_id) == ["CitizenNotified"] * 3

    (suppressed,) = await notifications(pool, opted.complaint_id)
    assert suppressed["status"] == "suppressed" and suppressed["last_error"] == "opted out"
    assert not sent_to(sms, opted)


class ClashingIds:
    """An SMS gateway that answers two sends with the same message id (once), which the
    database refuses to record twice."""

    channel = OutboundChannel.SMS

    def __init__(self, clash: set[uuid.UUID]) -> None:
        self.clash = clash
        self.same = f"sms-{uuid.uuid4()}"
        self.sent: list[uuid.UUID] = []

    async def send(self, message: OutboundMessage) -> str:
        self.sent.append(message.notification_id)
        if message.notification_id in self.clash:
            self.clash.discard(message.notification_id)
            return self.same
        return f"sms-{uuid.uuid4()}"


async def test_a_send_whose_outcome_is_refused_is_retried_and_the_rest_are_recorded(
    pool,
) -> None:  # type: ignore[no-untyped-def]
    complaints = [received(Channel.WEB, phone=new_phone()) for _ in range(4)]
    for complaint in complaints:
        await handle(pool, complaint)
    ids = [(await notifications(pool, c.complaint_id))[0]["notification_id"] for c in complaints]
    gateway = ClashingIds({ids[0], ids[1]})
    sender = Sender(
        pool,
        {OutboundChannel.SMS: gateway},
        None,
        SenderConfig(batch_size=500, lease=timedelta(seconds=1), retry=RetryPolicy(4, 0.05, 0.1)),
        KEYS,
    )
    await sender.run_once()
    statuses = {
        row["notification_id"]: row["status"]
        for c in complaints
        for row in await notifications(pool, c.complaint_id)
    }
    # The batch could not be recorded together; one by one, all but the refused one were.
    assert sorted(statuses.values()) == ["sending", "sent", "sent", "sent"]
    (refused,) = [i for i, status in statuses.items() if status == "sending"]
    assert refused in (ids[0], ids[1])

    async def all_sent():  # type: ignore[no-untyped-def]
        await sender.run_once()  # claims it again once its lease has expired
        rows = [row for c in complaints for row in await notifications(pool, c.complaint_id)]
        return all(row["status"] == "sent" for row in rows)

    await eventually(all_sent, within=30, interval=0.2)
    assert sorted(gateway.sent.count(i) for i in ids) == [1, 1, 1, 2]
    assert gateway.sent.count(refused) == 2
    for complaint in complaints:
        assert await outbox_types(pool, complaint.complaint_id) == ["CitizenNotified"]


async def test_a_recorded_send_wakes_the_sender_and_a_replay_does_not(pool) -> None:  # type: ignore[no-untyped-def]
    woken: asyncio.Queue[str] = asyncio.Queue()

    def wake(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        woken.put_nowait(payload)

    async with pool.acquire() as listener:
        await listener.add_listener(repository.WAKE_CHANNEL, wake)
        try:
            complaint = received(Channel.WEB, phone=new_phone())
            await handle(pool, complaint)
            await asyncio.wait_for(woken.get(), 10)
            await handle(pool, complaint)  # a replay records nothing
            # A marker sent after the replay committed: notifications arrive in commit order,
            # so one the replay had sent would be received before it.
            await pool.execute("SELECT pg_notify($1, 'marker')", repository.WAKE_CHANNEL)
            assert await asyncio.wait_for(woken.get(), 10) == "marker"
            assert woken.empty()
        finally:
            await listener.remove_listener(repository.WAKE_CHANNEL, wake)


async def test_the_http_transport_sends_compact_json_and_classifies_failures() -> None:
    """Against a raw socket server: the request as providers see it, a redirect answered (not
    followed), a silent server timing out and a refused connection worth retrying."""
    requests: list[bytes] = []
    answers: list[bytes | None] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:  # keep-alive: one request after another on the connection
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                requests.append(head + await reader.readexactly(length))
                answer = answers.pop(0)
                if answer is None:
                    await asyncio.sleep(2)  # says nothing
                    break
                writer.write(answer)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = ChannelSettings(
        sms_gateway_url=f"http://127.0.0.1:{port}/sms",
        sms_gateway_token="gw",
        send_timeout_seconds=0.5,
    )
    message = OutboundMessage(
        notification_id=uuid.UUID(int=7),
        to="+6281234567890",
        rendered=Rendered(subject="s", text='Pengaduan "LPR-1" — diterima'),
    )
    try:
        async with http_session(config) as session:
            (gateway,) = build_adapters(config, session).values()
            answers.append(
                b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + b'{"message_id":"m-1"}'
            )
            assert await gateway.send(message) == "m-1"
            head, body = requests[-1].split(b"\r\n\r\n")
            assert (
                body
                == (
                    '{"to":"+6281234567890","text":"Pengaduan \\"LPR-1\\" — diterima",'
                    '"from":"LAPOR","reference":"00000000-0000-0000-0000-000000000007"}'
                ).encode()
            )
            lines = head.decode().lower().split("\r\n")
            assert lines[0] == "post /sms http/1.1"
            assert {"authorization: bearer gw", "content-type: application/json"} <= set(lines)
            assert f"idempotency-key: {uuid.UUID(int=7)}" in lines

            answers.append(
                b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
            )
            with pytest.raises(PermanentSendError, match="answered 302"):
                await gateway.send(message)
            assert len(requests) == 2  # the redirect was not followed

            answers.append(None)
            with pytest.raises(TransientSendError, match="unreachable") as timed_out:
                await gateway.send(message)
            assert timed_out.value.retry_after is None
    finally:
        server.close()
    refused = ChannelSettings(sms_gateway_url=f"http://127.0.0.1:{free_port()}/sms")
    async with http_session(refused) as session:
        (gateway,) = build_adapters(refused, session).values()
        with pytest.raises(TransientSendError, match="sms gateway unreachable"):
            await gateway.send(message)


def escalation(complaint: ComplaintReceived, level: int, email: str | None) -> Event:
    """Routing's CaseOverdue for `complaint`, as its deadline scan builds it: the event id is
    derived from the case, deadline and level, so a replay carries the same id."""
    event = follow_up("escalated", complaint)
    case_id = uuid.uuid4()
    payload = event.payload.model_copy(
        update={
            "case_id": case_id,
            "escalation_level": level,
            "escalated_to": "Inspektorat Jenderal Kementerian ATR/BPN",
            "escalation_email": email,
            "case_url": f"https://lapor.example.go.id/routing/v1/desk/cases/{case_id}",
        }
    )
    event_id = uuid.uuid5(case_id, f"agency_response:1:overdue-{level}")
    return event.model_copy(update={"event_id": event_id, "payload": payload})


async def test_an_overdue_case_emails_its_supervisor_once_even_when_replayed(  # type: ignore[no-untyped-def]
    pool, smtp, make_sender
) -> None:
    # The citizen reads email too: their message and the supervisor's go on the same channel
    # for the same event, and neither takes the other's place.
    complaint = received(Channel.WEB, email="siti.aminah@example.id")
    code = complaint.payload.tracking_code
    await handle(pool, complaint)
    overdue = escalation(complaint, 1, "itjen@atrbpn.go.id")
    for _ in range(3):  # delivered, then replayed twice (a rebalance, a restart)
        await handle(pool, overdue)
    sender = make_sender()

    async def all_sent():  # type: ignore[no-untyped-def]
        rows = await notifications(pool, complaint.complaint_id)
        return rows if len(rows) == 3 and {r["status"] for r in rows} == {"sent"} else None

    rows = await work_until(sender, all_sent)
    assert sorted(r["template"] for r in rows) == ["escalated", "overdue_staff", "received"]
    mails = [m for m in smtp.messages if code in str(m["Subject"])]
    to_supervisor = [m for m in mails if m["To"] == "itjen@atrbpn.go.id"]
    (mail,) = to_supervisor
    assert mail["Subject"] == f"[Eskalasi 1] Pengaduan {code} melewati batas waktu"
    body = mail.get_payload(decode=True).decode()
    assert overdue.payload.case_url in body and "Kementerian ATR/BPN" in body
    assert "WIB" in body and "Tingkat eskalasi: 1" in body
    for secret in ("Siti", "3171015501900001", "siti.aminah@example.id", "Sertifikat"):
        assert secret not in body  # nothing of the reporter's
    assert [m["To"] for m in mails].count("siti.aminah@example.id") == 2  # received, escalated
    # The staff email is no step of the citizen's timeline: one CitizenNotified per citizen
    # message, none for the supervisor's.
    assert await outbox_types(pool, complaint.complaint_id) == ["CitizenNotified"] * 2
    # Replayed once more after sending: still one row per message, nothing pending.
    await handle(pool, overdue)
    rows = await notifications(pool, complaint.complaint_id)
    # This complaint's rows only: the module's other tests share the queue, and a send of
    # theirs may come due (a retry) at any moment.
    assert len(rows) == 3 and {r["status"] for r in rows} == {"sent"}
    assert (
        len(
            [
                m
                for m in smtp.messages
                if m["To"] == "itjen@atrbpn.go.id" and code in str(m["Subject"])
            ]
        )
        == 1
    )


async def test_setwapres_is_emailed_at_level_two_even_before_the_citizen_is_known(  # type: ignore[no-untyped-def]
    pool, smtp, make_sender
) -> None:
    complaint = received(phone=new_phone())
    code = complaint.payload.tracking_code
    level_two = escalation(complaint, 2, "eskalasi@set.wapresri.go.id")
    await handle(pool, level_two)  # overtook ComplaintReceived: the citizen's message waits
    (row,) = await notifications(pool, complaint.complaint_id)
    assert (row["template"], row["destination"]) == ("overdue_staff", "eskalasi@set.wapresri.go.id")

    async def arrived():  # type: ignore[no-untyped-def]
        return [m for m in smtp.messages if code in str(m["Subject"])]

    (mail,) = await work_until(make_sender(), arrived)
    assert mail["To"] == "eskalasi@set.wapresri.go.id"
    assert mail["Subject"].startswith("[Eskalasi 2]")


async def test_an_escalation_without_an_address_only_tells_the_citizen(pool) -> None:  # type: ignore[no-untyped-def]
    complaint = received(phone=new_phone())
    await handle(pool, complaint)
    await handle(pool, escalation(complaint, 1, None))
    rows = await notifications(pool, complaint.complaint_id)
    assert sorted(r["template"] for r in rows) == ["escalated", "reply"]  # reply: the receipt
