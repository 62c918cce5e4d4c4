"""`/v1/dead-letters` (services.runtime.dead_letters), the admin pages' view of a service's
dead letters, against the real Kafka broker: admin staff only, personal data masked or
scrubbed, replay to the source topic."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from schemas import staff
from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    Priority,
    serialize_event,
)
from schemas.staff import Role, StaffMember
from schemas.topics import dead_letter_topic
from services.messaging.deadletter import DeadLetter, DeadLetterPublisher
from services.messaging.kafka import ensure_topics, make_producer
from services.runtime.dead_letters import connect_dead_letters, mount_dead_letters
from tests.support import eventually

pytestmark = pytest.mark.integration
SECRET = "dead-letters-staff-secret"


def as_staff(*roles: Role) -> dict[str, str]:
    return {staff.HEADER: staff.sign(StaffMember("adi", frozenset(roles)), SECRET)}


@pytest.fixture
async def producer(stack) -> AsyncIterator[AIOKafkaProducer]:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "dead-letters-api-test")
    await producer.start()
    yield producer
    await producer.stop()


def accepted_event() -> ComplaintAccepted:
    complaint_id = uuid.uuid4()
    return ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintAcceptedPayload(
            tracking_code="LPR-DEAD-LETT-ERS",
            channel=Channel.WEB,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="32.73",
            summary="Rumah Ibu Siti di Jl. Melati digusur",
        ),
    )


async def test_admins_list_show_masked_and_replay_a_services_dead_letters(
    stack,  # type: ignore[no-untyped-def]
    producer: AIOKafkaProducer,
) -> None:
    service, source = f"dlapi{uuid.uuid4().hex[:6]}", f"dlsrc{uuid.uuid4().hex[:6]}"
    source_topic = dead_letter_topic(source)  # any one-partition topic serves as the source
    await ensure_topics(stack.kafka_bootstrap, [dead_letter_topic(service), source_topic])
    event = accepted_event()
    letters = [
        DeadLetter(source_topic.name, 0, 41, b"k", serialize_event(event), "handler error: X"),
        DeadLetter(
            source_topic.name, 0, 42, None, b"{not json 081234567890", "bad input 081234567890"
        ),
    ]
    await DeadLetterPublisher(producer, service).publish(letters)
    app = FastAPI()
    mount_dead_letters(app, service, staff_secret=SECRET)  # as each service's create_app does
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as api:
        unconnected = await api.get("/v1/dead-letters", headers=as_staff(Role.ADMIN))
        assert unconnected.status_code == 503  # until the runtime connects it at start
        connect_dead_letters(app, stack.kafka_bootstrap, producer)
        assert (await api.get("/v1/dead-letters")).status_code == 401
        forged = {staff.HEADER: staff.sign(StaffMember("x", frozenset(Role)), "forged")}
        assert (await api.get("/v1/dead-letters", headers=forged)).status_code == 401
        for role in (Role.REVIEWER, Role.DISPOSITION, Role.DESK_OFFICER):
            listed = await api.get("/v1/dead-letters", headers=as_staff(role))
            assert listed.status_code == 403
            replay = await api.post(
                "/v1/dead-letters/replay", json={"offsets": [0]}, headers=as_staff(role)
            )
            assert replay.status_code == 403

        admin = as_staff(Role.ADMIN)

        async def both() -> list[dict]:  # type: ignore[type-arg]
            found = (await api.get("/v1/dead-letters", headers=admin)).json()["letters"]
            return found if len(found) == 2 else []

        listed = await eventually(both)
        assert [letter["source"] for letter in listed] == [
            f"{source_topic.name}[0]@41",
            f"{source_topic.name}[0]@42",
        ]
        assert "081234567890" not in str(listed)  # scrubbed from the reason too
        first, second = (letter["offset"] for letter in listed)
        shown = (await api.get(f"/v1/dead-letters/{first}", headers=admin)).json()
        assert shown["payload"]["payload"]["tracking_code"] == "LPR-DEAD-LETT-ERS"
        assert "Siti" not in str(shown) and "Melati" not in str(shown)
        raw = (await api.get(f"/v1/dead-letters/{second}", headers=admin)).json()
        assert isinstance(raw["payload"], str) and "081234567890" not in raw["payload"]
        assert (await api.get("/v1/dead-letters/999999", headers=admin)).status_code == 404

        replayed = await api.post(
            "/v1/dead-letters/replay", json={"offsets": [first, 999999]}, headers=admin
        )
        assert replayed.json() == {"replayed": [first], "missing": [999999]}

    consumer = AIOKafkaConsumer(
        source_topic.name,
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert record.value == serialize_event(event)  # unchanged, with its event id
