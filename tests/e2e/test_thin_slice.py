"""The first slice end to end: web intake → triage → routing → notifier → status lookup."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from schemas.topics import CASES, COMPLAINTS_TRIAGED, dead_letter_topic
from services.messaging.kafka import make_producer
from tests.e2e.conftest import Pipeline
from tests.support import distinct_complaint as support_distinct_complaint
from tests.support import eventually, where_unassigned

pytestmark = pytest.mark.e2e

NIK = "3171015501900001"
PHONE = "081234567890"


def land_complaint() -> dict[str, object]:
    return {
        "name": "Siti Aminah",
        "nik": NIK,
        "phone": PHONE,
        "description": (
            "Sertifikat tanah kami di Jakarta Pusat tidak terbit sejak 2019 "
            "padahal semua biaya di kantor BPN sudah dibayar lunas."
        ),
    }


_next_reporter = itertools.count(1)


def distinct_complaint() -> dict[str, object]:
    return support_distinct_complaint(next(_next_reporter), "0812")


async def submit(client: httpx.AsyncClient, body: dict[str, object], **headers: str) -> str:
    response = await client.post("/v1/complaints", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["tracking_code"]


async def status_of(client: httpx.AsyncClient, code: str) -> dict[str, object]:
    response = await client.get(f"/v1/complaints/{code}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_web_complaint_becomes_an_assigned_case(
    pipeline: Pipeline, db: asyncpg.Pool
) -> None:
    async with httpx.AsyncClient(base_url=pipeline.intake_url) as client:
        code = await submit(client, land_complaint())

        async def assigned() -> dict[str, object] | None:
            view = await status_of(client, code)
            return view if view["status"] == "forwarded_to_agency" else None

        view = await eventually(assigned)
    assert view["agency_name"] == "Kementerian ATR/BPN"
    steps = [entry["event_type"] for entry in view["timeline"]]
    assert steps[0] == "ComplaintReceived" and "CaseAssigned" in steps
    assert NIK not in json.dumps(view) and "Siti" not in json.dumps(view)

    case = await db.fetchrow("SELECT * FROM routing.cases WHERE tracking_code = $1", code)
    assert case["agency_code"] == "ATR-BPN" and case["rule_id"] == "land-national"

    async def notified() -> list[str]:
        rows = await db.fetch(
            "SELECT template FROM notifier.notifications n JOIN notifier.recipients r"
            " USING (complaint_id) WHERE r.tracking_code = $1 ORDER BY template",
            code,
        )
        templates = [row["template"] for row in rows]
        return templates if templates == ["assigned", "received"] else []

    await eventually(notified)


async def test_validation_errors_are_precise_4xx(pipeline: Pipeline) -> None:
    async with httpx.AsyncClient(base_url=pipeline.intake_url) as client:
        bad = {**land_complaint(), "nik": "3171013201900001", "phone": "12"}
        response = await client.post("/v1/complaints", json=bad)
        assert response.status_code == 422
        fields = {tuple(error["loc"]) for error in response.json()["detail"]}
        assert ("body", "nik") in fields and ("body", "phone") in fields
        assert NIK not in response.text

        assert (await client.get("/v1/complaints/LPR-0000-0000-001")).status_code == 400
        unknown = "LPR-0000-0000-000"  # valid check symbol, never issued
        assert (await client.get(f"/v1/complaints/{unknown}")).status_code == 404


async def test_idempotency_key_makes_a_double_submit_one_complaint(
    pipeline: Pipeline, db: asyncpg.Pool
) -> None:
    key = f"double-{uuid.uuid4()}"
    body = distinct_complaint()
    async with httpx.AsyncClient(base_url=pipeline.intake_url) as client:
        codes = await asyncio.gather(
            *(submit(client, body, **{"Idempotency-Key": key}) for _ in range(5))
        )
        assert len(set(codes)) == 1
        other = distinct_complaint()
        conflict = await client.post("/v1/complaints", json=other, headers={"Idempotency-Key": key})
        assert conflict.status_code == 409
    assert (
        await db.fetchval("SELECT count(*) FROM intake.complaints WHERE idempotency_key = $1", key)
        == 1
    )


async def test_a_malformed_message_is_dead_lettered_and_the_next_one_flows(
    pipeline: Pipeline, stack
) -> None:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "e2e-poison")
    await producer.start()
    try:
        await producer.send_and_wait(COMPLAINTS_TRIAGED.name, b'{"event_type": "ComplaintAccepted"')
    finally:
        await producer.stop()

    async with httpx.AsyncClient(base_url=pipeline.intake_url) as client:
        code = await submit(client, distinct_complaint())

        async def assigned() -> bool:
            return (await status_of(client, code))["status"] == "forwarded_to_agency"

        await eventually(assigned)

    consumer = AIOKafkaConsumer(
        dead_letter_topic("routing").name,
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:

        async def letters() -> list:  # type: ignore[type-arg]
            batch = await consumer.getmany(timeout_ms=500)
            return [record for records in batch.values() for record in records]

        found = await eventually(letters)
    finally:
        await consumer.stop()
    headers = dict(found[0].headers)
    assert headers["x-error"].startswith(b"invalid event")
    assert headers["x-source-topic"] == COMPLAINTS_TRIAGED.name.encode()


@pytest.mark.parametrize(
    "victim",
    [
        "routing",
        "triage",
        "notifier",
        "intake",
    ],
)
async def test_sigkill_while_complaints_flow_loses_and_doubles_nothing(
    pipeline: Pipeline, db: asyncpg.Pool, stack, victim: str
) -> None:  # type: ignore[no-untyped-def]
    total = 40
    codes: list[str] = []
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        codes += await asyncio.gather(
            *(submit(client, distinct_complaint()) for i in range(total // 2))
        )
        pipeline.services[victim].process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        pipeline.services[victim].process.wait()  # type: ignore[union-attr]
        if victim != "intake":  # intake is the one being killed: it cannot take more until back
            codes += await asyncio.gather(
                *(submit(client, distinct_complaint()) for i in range(total // 2, total))
            )
        await pipeline.restart(victim)
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        if victim == "intake":
            codes += await asyncio.gather(
                *(submit(client, distinct_complaint()) for i in range(total // 2, total))
            )

        async def all_assigned() -> bool:
            count = await db.fetchval(
                "SELECT count(*) FROM routing.cases WHERE tracking_code = ANY($1)", codes
            )
            return count == len(codes)

        try:
            await eventually(all_assigned, within=300)
        except AssertionError as stuck:
            raise AssertionError(await where_unassigned(db, codes)) from stuck

    assert len(set(codes)) == total
    per_complaint = await db.fetch(
        "SELECT tracking_code, count(*) AS n FROM routing.cases WHERE tracking_code = ANY($1)"
        " GROUP BY tracking_code",
        codes,
    )
    assert all(row["n"] == 1 for row in per_complaint) and len(per_complaint) == total

    async def notifications_complete() -> bool:
        rows = await db.fetch(
            "SELECT r.tracking_code, n.template, count(*) AS n FROM notifier.notifications n"
            " JOIN notifier.recipients r USING (complaint_id) WHERE r.tracking_code = ANY($1)"
            " GROUP BY 1, 2",
            codes,
        )
        return len(rows) == 2 * total and all(row["n"] == 1 for row in rows)

    await eventually(notifications_complete, within=300)

    # The read model saw each case assignment exactly once (it may trail the notifier).
    async def timeline_complete() -> bool:
        rows = await db.fetch(
            "SELECT c.tracking_code, count(*) AS n FROM intake.complaint_timeline t"
            " JOIN intake.complaints c USING (complaint_id)"
            " WHERE c.tracking_code = ANY($1) AND t.event_type = 'CaseAssigned' GROUP BY 1",
            codes,
        )
        assert all(row["n"] == 1 for row in rows), "a CaseAssigned applied twice"
        return len(rows) == total

    await eventually(timeline_complete, within=300)
    # One CaseAssigned event id per complaint on the topic (copies from a relay retry share it).
    consumer = AIOKafkaConsumer(
        CASES.name, bootstrap_servers=stack.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        ids_by_code: dict[str, set[str]] = {}
        while True:
            batch = await consumer.getmany(timeout_ms=1500)
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    code = event["payload"]["tracking_code"]
                    if code in codes:
                        ids_by_code.setdefault(code, set()).add(event["event_id"])
    finally:
        await consumer.stop()
    assert len(ids_by_code) == total and all(len(ids) == 1 for ids in ids_by_code.values())


# Shapes, not known values: whatever any service logged during this run, nothing may look
# like a NIK (16 digits) or an Indonesian mobile number (08..., 628..., +628...).
NIK_SHAPE = re.compile(r"(?<![\w.])\d{16}(?![\w.])")
PHONE_SHAPE = re.compile(r"(?<![\w.+])(?:\+?62|0)8\d{7,12}(?![\w.])")


async def test_logs_carry_no_personal_data(pipeline: Pipeline) -> None:
    logs = pipeline.logs()
    assert "service started" in logs or "Worker ready" in logs  # the logs are really there
    assert "complaints triaged" in logs  # ... of a run that carried complaints end to end
    for secret in (NIK, PHONE, PHONE.replace("0", "+62", 1), "Siti Aminah"):
        assert secret not in logs
    for shape in (NIK_SHAPE, PHONE_SHAPE):
        found = sorted({match.group(0)[:4] + "..." for match in shape.finditer(logs)})
        assert not found, f"{shape.pattern} matched in the logs: {found}"
