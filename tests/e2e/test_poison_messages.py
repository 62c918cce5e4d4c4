"""Poison on every input topic: each consuming service dead-letters it with the reason, and
the good complaint sent after the poison still becomes an assigned case."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from schemas.events import Channel, ComplaintReceived, ComplaintReceivedPayload, Reporter
from schemas.topics import CASES, COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, NOTIFICATIONS
from services.messaging.deadletter import read_dead_letters
from services.messaging.kafka import make_producer
from tests.e2e.conftest import Pipeline
from tests.support import eventually

pytestmark = pytest.mark.e2e


# Which services consume each topic (schemas/topics.py and the services' docstrings).
CONSUMERS = {
    COMPLAINTS_INTAKE: ("triage", "routing", "notifier"),
    COMPLAINTS_TRIAGED: ("routing", "intake", "notifier"),
    CASES: ("intake", "notifier"),
    NOTIFICATIONS: ("intake",),
}


def poison_messages() -> dict[str, bytes]:
    complaint_id = uuid.uuid4()
    valid = json.loads(
        ComplaintReceived(
            complaint_id=complaint_id,
            correlation_id=complaint_id,
            producer="test",
            payload=ComplaintReceivedPayload(
                tracking_code="LPR-AAAA-BBBB-CCC",
                channel=Channel.WEB,
                reporter=Reporter(name="Budi", nik="3171011501900001", phone="+6281234567890"),
                description="Jalan rusak di depan sekolah dasar negeri",
                received_at=datetime.now(UTC),
            ),
        ).model_dump_json()
    )
    return {
        "invalid JSON": b'{"event_type": "ComplaintReceived", ',
        "invalid UTF-8": b'{"event_type": "\xff\xfe"}',
        "unknown event type": json.dumps({**valid, "event_type": "ComplaintTeleported"}).encode(),
        "future schema version": json.dumps({**valid, "schema_version": 2}).encode(),
        "missing field": json.dumps({k: v for k, v in valid.items() if k != "producer"}).encode(),
        "5 MB payload": json.dumps({**valid, "padding": "x" * (5 * 1024 * 1024)}).encode(),
    }


EXPECTED_REASON = {
    "invalid JSON": "invalid event",
    "invalid UTF-8": "invalid UTF-8",
    "unknown event type": "event_type",
    "future schema version": "schema_version",
    "missing field": "producer",
    "5 MB payload": "exceeds",
}


async def test_poison_on_every_input_topic_is_dead_lettered_and_flow_continues(
    pipeline: Pipeline, stack
) -> None:  # type: ignore[no-untyped-def]
    before = {
        service: len(await read_dead_letters(stack.kafka_bootstrap, service))
        for service in ("intake", "triage", "routing", "notifier")
    }
    producer = make_producer(stack.kafka_bootstrap, "e2e-poison-all")
    await producer.start()
    try:
        for spec in CONSUMERS:
            for raw in poison_messages().values():
                await producer.send_and_wait(spec.name, raw, key=b"poison")
    finally:
        await producer.stop()

    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        response = await client.post(
            "/v1/complaints",
            json={
                "name": "Budi Santoso",
                "nik": "3171011501900001",
                "phone": "081298765432",
                "description": "Sertifikat tanah kami tertahan di kantor BPN sejak tahun lalu.",
            },
        )
        assert response.status_code == 202
        code = response.json()["tracking_code"]

        async def assigned() -> bool:
            view = (await client.get(f"/v1/complaints/{code}")).json()
            return view["status"] == "forwarded_to_agency"

        await eventually(assigned, within=120)

    expected_per_service = Counter(
        service for consumers in CONSUMERS.values() for service in consumers
    )
    for service, topics_consumed in expected_per_service.items():
        expected = topics_consumed * len(EXPECTED_REASON)

        async def all_letters(service: str = service, expected: int = expected):  # type: ignore[no-untyped-def]
            letters = await read_dead_letters(stack.kafka_bootstrap, service)
            # The notifier also dead-letters messages it had no channel for; keep the poison.
            new = [letter for letter in letters[before[service] :] if letter.key == b"poison"]
            return new if len(new) >= expected else None

        letters = await eventually(all_letters, within=120)
        assert len(letters) == expected, service
        for kind, fragment in EXPECTED_REASON.items():
            matching = [letter for letter in letters if fragment in letter.reason]
            assert len(matching) >= topics_consumed, (service, kind, [x.reason for x in letters])
        for letter in letters:
            assert letter.headers["x-service"] == service
            assert letter.headers["x-source-topic"] in {spec.name for spec in CONSUMERS}
            assert "3171011501900001" not in letter.reason
