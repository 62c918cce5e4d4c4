"""Pure parts of the delivery plumbing: decoding verdicts and personal-data scrubbing."""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.events import (
    Channel,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Reporter,
    serialize_event,
)
from services.messaging.consumer import MAX_MESSAGE_BYTES, decode
from services.observability import PersonalDataFilter, scrub


@dataclass
class Record:
    value: bytes | None


def good_event() -> ComplaintReceived:
    complaint_id = uuid.uuid4()
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="test",
        payload=ComplaintReceivedPayload(
            tracking_code="LPR-AAAA-BBBB-CCC",
            channel=Channel.WEB,
            reporter=Reporter(name="Budi", nik="3171011501900001", phone="+6281234567890"),
            description="Jalan rusak di depan rumah",
            received_at=datetime.now(UTC),
        ),
    )


def test_a_good_event_decodes() -> None:
    event = good_event()
    assert decode(Record(serialize_event(event))) == event


def test_poison_messages_get_a_reason_that_names_the_problem() -> None:
    event = json.loads(serialize_event(good_event()))
    cases = {
        b"{not json": "invalid event",
        b"\xff\xfe\x00garbage": "invalid UTF-8",
        json.dumps({**event, "event_type": "Nope"}).encode(): "event_type",
        json.dumps({**event, "schema_version": 9}).encode(): "schema_version",
        json.dumps(
            {k: v for k, v in event.items() if k != "complaint_id"}
        ).encode(): "complaint_id",
        b"x" * (MAX_MESSAGE_BYTES + 1): "exceeds",
    }
    for raw, expected in cases.items():
        reason = decode(Record(raw))
        assert isinstance(reason, str) and expected in reason, (raw[:40], reason)
    assert "tombstone" in decode(Record(None))  # type: ignore[operator]


def test_validation_reasons_never_echo_personal_data() -> None:
    event = json.loads(serialize_event(good_event()))
    event["payload"]["reporter"]["nik"] = 3171011501900001  # wrong type, carries the NIK
    reason = decode(Record(json.dumps(event).encode()))
    assert isinstance(reason, str) and "payload.reporter.nik" in reason
    assert "3171011501900001" not in reason


def test_scrub_removes_nik_phone_and_email() -> None:
    text = "nik 3171011501900001 hp 081234567890 / +6281234567890 mail siti@example.id ok"
    cleaned = scrub(text)
    for secret in ("3171011501900001", "081234567890", "6281234567890", "siti@example.id"):
        assert secret not in cleaned
    assert cleaned.endswith("ok")


def test_the_log_filter_scrubs_messages_args_and_extras() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "got %s", ("3171011501900001",), None
    )
    record.detail = "call 081234567890"
    PersonalDataFilter("test").filter(record)
    assert "3171011501900001" not in record.getMessage()
    assert "081234567890" not in record.detail
    assert record.service == "test"
