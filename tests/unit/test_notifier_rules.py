"""The notifier's pure rules: channel choice and fallback, the WhatsApp 24-hour window, retry
timing, delivery-status order, rate limits, opt-out words, and the providers' request shapes."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import Channel, Language
from schemas.opt_out import opt_out_intent
from services.notifier.adapters.channels import (
    SmsGatewayAdapter,
    WhatsAppCloudAdapter,
    retry_after_seconds,
)
from services.notifier.domain.rules import (
    AddressDigests,
    Contact,
    OutboundChannel,
    RateLimit,
    RetryPolicy,
    fallback_for,
    first_channel,
    inside_whatsapp_window,
    merged_status,
    reply_channel,
)
from services.notifier.domain.sending import OutboundMessage
from services.notifier.domain.templates import Rendered, whatsapp_template
from services.notifier.settings import ChannelSettings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PHONE = "+6281234567890"


def test_the_channel_the_citizen_used_comes_first() -> None:
    assert first_channel(Contact(Channel.WHATSAPP, PHONE, None)) == (
        OutboundChannel.WHATSAPP,
        PHONE,
    )
    assert first_channel(Contact(Channel.WEB, PHONE, "a@b.id")) == (OutboundChannel.SMS, PHONE)
    assert first_channel(Contact(Channel.WEB, None, "a@b.id")) == (OutboundChannel.EMAIL, "a@b.id")
    assert first_channel(Contact(Channel.WALK_IN, None, None)) is None


def test_fallback_skips_channels_the_citizen_cannot_be_reached_on() -> None:
    both = Contact(Channel.WHATSAPP, PHONE, "a@b.id")
    assert fallback_for(OutboundChannel.WHATSAPP, both) == (OutboundChannel.SMS, PHONE)
    assert fallback_for(OutboundChannel.SMS, both) == (OutboundChannel.EMAIL, "a@b.id")
    assert fallback_for(OutboundChannel.EMAIL, both) is None
    assert fallback_for(OutboundChannel.SMS, Contact(Channel.WEB, PHONE, None)) is None


def test_reply_channel_follows_the_conversation() -> None:
    assert reply_channel(Channel.WHATSAPP, "6281234567890") == OutboundChannel.WHATSAPP
    assert reply_channel(Channel.WEB, "a@b.id") == OutboundChannel.EMAIL
    assert reply_channel(Channel.WEB, PHONE) == OutboundChannel.SMS


@pytest.mark.parametrize(
    ("last_inbound", "inside"),
    [
        (None, False),
        (NOW - timedelta(hours=1), True),
        (NOW - timedelta(hours=23, minutes=59), True),
        (NOW - timedelta(hours=24), False),
        (NOW - timedelta(days=3), False),
    ],
)
def test_whatsapp_free_text_only_inside_24_hours(
    last_inbound: datetime | None, inside: bool
) -> None:
    assert inside_whatsapp_window(last_inbound, NOW) is inside


def test_backoff_grows_with_jitter_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_attempts=5, base_seconds=1.0, cap_seconds=30.0)
    rng = random.Random(7)
    delays = [policy.delay(attempt, rng=rng) for attempt in range(1, 8)]
    for attempt, delay in zip(range(1, 8), delays, strict=True):
        ceiling = min(30.0, 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(policy.delay(3), 6) for _ in range(20)}) > 1  # jitter spreads retries
    assert policy.delay(1, retry_after=12.0) == 12.0
    assert not policy.exhausted(4) and policy.exhausted(5)


@pytest.mark.parametrize(
    ("current", "reported", "kept"),
    [
        (None, "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("sent", "read", "read"),  # read may come without delivered
        ("read", "delivered", None),  # late delivered does not lower read
        ("delivered", "sent", None),
        ("read", "read", None),  # a repeated callback changes nothing
        ("sent", "failed", "failed"),
        (None, "failed", "failed"),
        ("failed", "failed", None),  # the fallback starts once
        ("delivered", "failed", None),
        ("failed", "sent", None),
    ],
)
def test_delivery_status_keeps_the_highest(
    current: str | None, reported: str, kept: str | None
) -> None:
    assert merged_status(current, reported) == kept


def test_rate_limit_holds_the_sixth_message_until_the_oldest_leaves_the_window() -> None:
    limit = RateLimit(limit=5, window=timedelta(minutes=10))
    sends = [NOW - timedelta(minutes=m) for m in (9, 7, 5, 3, 1)]
    assert limit.wait(sends[1:], NOW) is None
    assert limit.wait(sends, NOW) == timedelta(minutes=1)
    assert limit.wait([NOW - timedelta(minutes=30)] * 10, NOW) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [("BERHENTI", True), (" berhenti. ", True), ("Stop", True), ("mulai", False), ("halo", None)],
)
def test_opt_out_words(text: str, intent: bool | None) -> None:
    assert opt_out_intent(text) is intent


def test_address_digest_is_keyed_stable_across_spellings_and_hides_the_number() -> None:
    digests = AddressDigests(b"k" * 32)
    assert digests.keyed("+6281234567890") == digests.keyed("6281234567890")
    assert digests.keyed("Siti@Example.id") == digests.keyed("siti@example.id")
    assert "81234567890" not in digests.keyed("+6281234567890")
    # Keyed: without the secret, trying every number finds nothing.
    assert digests.keyed("6281234567890") != AddressDigests(b"x" * 32).keyed("6281234567890")
    unkeyed = hashlib.sha256(b"6281234567890").hexdigest()
    assert digests.legacy("+62 812-3456-7890") == unkeyed  # as stored before migration 0005
    assert unkeyed not in digests.keyed("6281234567890")
    assert digests.pairs(["+6281234567890", "6281234567890"]) == {
        digests.keyed("6281234567890"): unkeyed
    }


def message(template: bool) -> OutboundMessage:
    rendered = Rendered(subject="s", text="Pengaduan LPR-1 diterima")
    return OutboundMessage(
        notification_id=uuid.UUID(int=1),
        to=PHONE,
        rendered=rendered,
        template=whatsapp_template("received", Language.INDONESIAN, {"tracking_code": "LPR-1"})
        if template
        else None,
    )


def test_whatsapp_request_shapes() -> None:
    text = WhatsAppCloudAdapter.request_body(message(template=False))
    assert text == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "6281234567890",
        "biz_opaque_callback_data": str(uuid.UUID(int=1)),
        "type": "text",
        "text": {"preview_url": False, "body": "Pengaduan LPR-1 diterima"},
    }
    templated = WhatsAppCloudAdapter.request_body(message(template=True))
    assert templated["type"] == "template" and "text" not in templated
    assert templated["template"] == {
        "name": "lapor_pengaduan_diterima",
        "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "LPR-1"}]}],
    }


def test_sms_gateway_shape_is_configurable() -> None:
    settings = ChannelSettings(
        sms_gateway_url="http://127.0.0.1:1/send", sms_field_to="msisdn", sms_field_text="content"
    )
    body = SmsGatewayAdapter(None, settings).request_body(message(template=False))  # type: ignore[arg-type]
    assert body == {
        "msisdn": PHONE,
        "content": "Pengaduan LPR-1 diterima",
        "from": "LAPOR",
        "reference": str(uuid.UUID(int=1)),
    }


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Mon, 23 Nov 2026 09:00:30 GMT", NOW) == 30.0
    assert retry_after_seconds("Mon, 23 Nov 2026 08:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
