"""Triage as real OS processes on the real broker: duplicates survive a restart, two instances
share the partitions, a rebalance loses and doubles nothing.

The module runs triage alone under its own topic prefix, feeding ComplaintReceived events
straight onto the intake topic and reading every decision back from the triaged topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.events import (
    ComplaintReceived,
    ComplaintUpdated,
    ComplaintUpdatedPayload,
    EventEnvelope,
    parse_event,
)
from schemas.topics import COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, dead_letter_topic
from services.messaging.kafka import ensure_topics, make_producer, publish
from tests.support import ServiceProcess, eventually, received_event

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    """A prefix of this module's own, so no other triage group or table sees these topics."""
    previous = os.environ["LAPOR_TOPIC_PREFIX"]
    mine = f"{previous}tri{uuid.uuid4().hex[:6]}."
    os.environ["LAPOR_TOPIC_PREFIX"] = mine
    yield mine
    os.environ["LAPOR_TOPIC_PREFIX"] = previous


class Decisions:
    """Every record on the triaged topic, read from the start of all partitions."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.by_complaint: dict[str, list[EventEnvelope]] = defaultdict(list)
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            name = COMPLAINTS_TRIAGED.name
            consumer.assign([TopicPartition(name, p) for p in range(COMPLAINTS_TRIAGED.partitions)])
            await consumer.seek_to_beginning()
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        event = parse_event(record.value)
                        self.by_complaint[str(event.complaint_id)].append(event)
        finally:
            await consumer.stop()

    async def of(self, complaint: ComplaintReceived) -> EventEnvelope:
        async def seen() -> EventEnvelope | None:
            found = self.by_complaint.get(str(complaint.complaint_id))
            return found[0] if found else None

        return await eventually(seen, within=120)


@pytest.fixture(scope="module")
async def decisions(stack, prefix: str) -> AsyncIterator[Decisions]:  # type: ignore[no-untyped-def]
    await ensure_topics(stack.kafka_bootstrap)
    reader = Decisions(stack.kafka_bootstrap)
    reader.task = asyncio.create_task(reader.run())
    yield reader
    reader.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader.task


@pytest.fixture(scope="module")
async def producer(stack, prefix: str) -> AsyncIterator[AIOKafkaProducer]:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "triage-e2e")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture(scope="module")
def env(stack, database_url: str, prefix: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_TOPIC_PREFIX": prefix,
        "LAPOR_TRIAGE_REVIEWERS": "alice:alice-token,bob:bob-token",
    }


def complaint(
    text: str, nik: str, region: str | None = "32.73", filed_before: bool = False
) -> ComplaintReceived:
    return received_event(text, nik, region, filed_before=filed_before)


def nik(serial: int) -> str:
    return f"32730115019{serial % 10}{serial:04d}"


BRIDGE = (
    "Jembatan penghubung dua desa di Kecamatan Cibiru retak parah dan bergoyang setiap kali"
    " dilewati mobil, warga takut melintas."
)
BRIDGE_AGAIN = (
    "Jembatan antar desa di Cibiru sudah retak parah, bergoyang kalau dilewati mobil dan warga"
    " jadi takut lewat."
)


async def test_duplicates_of_complaints_seen_before_a_restart_are_still_detected(
    env: dict[str, str],
    decisions: Decisions,
    producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    first = ServiceProcess("triage", env, tmp_path).start()
    await first.wait_ready()
    original = complaint(BRIDGE, nik(1))
    update = ComplaintUpdated(
        complaint_id=original.complaint_id,
        correlation_id=original.correlation_id,
        producer="intake",
        payload=ComplaintUpdatedPayload(tracking_code=original.payload.tracking_code),
    )
    await publish(producer, [original, update])
    await producer.send_and_wait(COMPLAINTS_INTAKE.name, b"{not json", key=b"broken")
    accepted = await decisions.of(original)
    assert accepted.event_type == "ComplaintAccepted"
    assert accepted.payload.category == "infrastructure"  # type: ignore[attr-defined]

    assert first.terminate() == 0  # a restart in the middle of the stream
    second = ServiceProcess("triage", env, tmp_path).start()
    try:
        await second.wait_ready()
        paraphrase = complaint(BRIDGE_AGAIN, nik(2))
        repeat = complaint(BRIDGE, nik(1))
        await publish(producer, [paraphrase, repeat, original])  # the original redelivered
        near = await decisions.of(paraphrase)
        exact = await decisions.of(repeat)
        for duplicate, match in ((near, "near"), (exact, "exact")):
            assert duplicate.event_type == "ComplaintDuplicateDetected"
            assert duplicate.payload.original_complaint_id == original.complaint_id  # type: ignore[attr-defined]
            assert duplicate.payload.match == match  # type: ignore[attr-defined]

        async def re_emitted() -> bool:
            return len(decisions.by_complaint[str(original.complaint_id)]) >= 2

        await eventually(re_emitted, within=120)
        # The redelivered original gets the decision it had before the restart: same event id.
        ids = {event.event_id for event in decisions.by_complaint[str(original.complaint_id)]}
        assert ids == {accepted.event_id}
    finally:
        assert second.terminate() == 0

    dead = AIOKafkaConsumer(
        bootstrap_servers=env["LAPOR_KAFKA_BOOTSTRAP"], auto_offset_reset="earliest"
    )
    await dead.start()
    try:
        dead.assign([TopicPartition(dead_letter_topic("triage").name, 0)])
        await dead.seek_to_beginning()
        batches = await dead.getmany(timeout_ms=10_000)
        records = [record for batch in batches.values() for record in batch]
        assert [record.key for record in records] == [b"broken"]
        assert dict(records[0].headers)["x-error"].startswith(b"invalid")
    finally:
        await dead.stop()


async def test_two_instances_share_the_partitions_and_a_rebalance_loses_and_doubles_nothing(
    env: dict[str, str],
    decisions: Decisions,
    producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    one = ServiceProcess("triage", env, tmp_path).start()
    two: ServiceProcess | None = None
    try:
        await one.wait_ready()
        places = ["31.71", "35.78", "33.74", "73.71", "51.71", "34.71"]
        batch = [
            complaint(
                f"Lampu jalan di gang {index} kelurahan kami mati total sejak {index + 2} minggu"
                f" lalu dan belum diperbaiki dinas, nomor tiang {index * 37}.",
                nik(100 + index),
                region=places[index % len(places)] if index % 7 else None,
            )
            for index in range(40)
        ]
        await publish(producer, batch[:20])
        two = ServiceProcess("triage", env, tmp_path).start()  # joins mid-stream: a rebalance
        await publish(producer, batch[20:30])
        await two.wait_ready()
        await publish(producer, batch[30:])

        async def all_decided() -> bool:
            return all(str(c.complaint_id) in decisions.by_complaint for c in batch)

        await eventually(all_decided, within=180)
        for item in batch:
            emitted = decisions.by_complaint[str(item.complaint_id)]
            # At-least-once: a redelivery may re-emit, but only ever the same decision.
            assert len({event.event_id for event in emitted}) == 1, emitted
        await one.wait_ready()  # after the rebalance both instances still own partitions
        assert nik(100) not in one.log_text() + two.log_text()  # no NIK in the logs
    finally:
        codes = [one.terminate(), two.terminate() if two else 0]
        assert codes == [0, 0]


async def test_reviewers_work_the_queue_and_every_decision_is_recorded(
    env: dict[str, str],
    decisions: Decisions,
    producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    service = ServiceProcess("triage", env, tmp_path).start()
    try:
        await service.wait_ready()
        grey = complaint(
            "Pungutan liar oleh oknum petugas parkir di pasar induk setiap pagi tanpa karcis"
            " resmi, sudah pernah saya laporkan ke kelurahan.",
            nik(300),
            region="31.71",
            filed_before=True,
        )
        grey_again = complaint(
            "Oknum juru parkir di pasar induk memungut uang tanpa karcis setiap pagi, laporan"
            " saya ke kelurahan tidak ditanggapi.",
            nik(301),
            region="31.71",
            filed_before=True,
        )
        original = complaint(
            "Juru parkir liar di pasar induk memungut uang tanpa karcis resmi setiap pagi.",
            nik(302),
            region="31.72",
        )
        await publish(producer, [grey, grey_again, original])
        needs_review = await decisions.of(grey)
        assert needs_review.event_type == "ComplaintNeedsReview"
        assert (await decisions.of(grey_again)).event_type == "ComplaintNeedsReview"
        assert (await decisions.of(original)).event_type == "ComplaintAccepted"

        alice = {"Authorization": "Bearer alice-token"}
        bob = {"Authorization": "Bearer bob-token"}
        gid, gid2 = grey.complaint_id, grey_again.complaint_id
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            assert (await client.get("/v1/review")).status_code == 401
            wrong = {"Authorization": "Bearer guess"}
            assert (await client.get("/v1/review", headers=wrong)).status_code == 401

            async def listed() -> set[str]:
                response = await client.get("/v1/review", headers=alice)
                if response.status_code != 200:
                    return set()
                return {item["complaint_id"] for item in response.json()["items"]}

            assert {str(gid), str(gid2)} <= await eventually(listed)
            item = next(
                i
                for i in (await client.get("/v1/review", headers=bob)).json()["items"]
                if i["complaint_id"] == str(gid)
            )
            assert item["reasons"][0]["code"] == "filed_before"
            assert nik(300) not in json.dumps(item)

            accept = f"/v1/review/{gid}/accept"
            assert (await client.post(accept, headers=alice, json={})).status_code == 409
            assert (await client.post(f"/v1/review/{gid}/claim", headers=alice)).status_code == 200
            assert (await client.post(f"/v1/review/{gid}/claim", headers=bob)).status_code == 409
            assert (await client.post(accept, headers=bob, json={})).status_code == 409
            reject = await client.post(f"/v1/review/{gid}/reject", headers=alice, json={})
            assert reject.status_code == 422
            note = {"note": "laporan sebelumnya belum ditindaklanjuti"}
            done = await client.post(accept, headers=alice, json=note)
            assert done.status_code == 200 and done.json()["decision"] == "accepted"
            assert (await client.post(accept, headers=alice, json=note)).status_code == 200

            assert (await client.post(f"/v1/review/{gid2}/claim", headers=bob)).status_code == 200
            marked = await client.post(
                f"/v1/review/{gid2}/duplicate",
                headers=bob,
                json={
                    "original_complaint_id": str(original.complaint_id),
                    "original_tracking_code": original.payload.tracking_code,
                    "note": "masalah parkir pasar induk yang sama",
                },
            )
            assert marked.status_code == 200, marked.text

        async def decided(item: ComplaintReceived) -> EventEnvelope | None:
            later = [e for e in decisions.by_complaint[str(item.complaint_id)][1:]]
            return later[0] if later else None

        accepted = await eventually(lambda: decided(grey), within=120)
        assert accepted.event_type == "ComplaintAccepted"
        assert accepted.payload.reviewed_by == "alice"  # type: ignore[attr-defined]
        assert accepted.causation_id == needs_review.event_id
        duplicate = await eventually(lambda: decided(grey_again), within=120)
        assert duplicate.event_type == "ComplaintDuplicateDetected"
        assert duplicate.payload.match == "manual"  # type: ignore[attr-defined]
        assert duplicate.payload.original_complaint_id == original.complaint_id  # type: ignore[attr-defined]
        assert len(decisions.by_complaint[str(gid)]) == 2  # the retried accept published nothing

        conn = await asyncpg.connect(env["LAPOR_DATABASE_URL"])
        try:
            log = await conn.fetch(
                "SELECT complaint_id, reviewer, action, note FROM triage.review_log ORDER BY id"
            )
        finally:
            await conn.close()
        trail = [(r["complaint_id"], r["reviewer"], r["action"]) for r in log]
        assert trail == [
            (gid, "alice", "claim"),
            (gid, "alice", "accept"),
            (gid2, "bob", "claim"),
            (gid2, "bob", "duplicate"),
        ]
        assert log[1]["note"] == note["note"]
    finally:
        assert service.terminate() == 0


async def test_a_reviewer_bans_a_reporter_whose_later_reports_are_kept_but_never_forwarded(
    env: dict[str, str],
    decisions: Decisions,
    producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    service = ServiceProcess("triage", env, tmp_path).start()
    try:
        await service.wait_ready()
        prankster = nik(400)
        grey = complaint(
            "Pungutan liar oleh petugas loket terminal bus setiap pagi tanpa tanda terima,"
            " sudah pernah saya laporkan ke dinas.",
            prankster,
            region="33.74",
            filed_before=True,
        )
        await publish(producer, [grey])
        assert (await decisions.of(grey)).event_type == "ComplaintNeedsReview"
        alice = {"Authorization": "Bearer alice-token"}
        ban_url = f"/v1/review/{grey.complaint_id}/ban"
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            assert (await client.post(ban_url, json={"note": "x"})).status_code == 401
            assert (await client.post(ban_url, headers=alice, json={})).status_code == 422
            unknown = f"/v1/review/{uuid.uuid4()}/ban"
            assert (
                await client.post(unknown, headers=alice, json={"note": "x"})
            ).status_code == 404
            banned = await client.post(ban_url, headers=alice, json={"note": "laporan palsu"})
            assert banned.status_code == 200 and banned.json()["reporter_banned"] is True

            later = complaint(
                "Lampu penerangan jalan di depan sekolah dasar negeri mati sejak tiga minggu dan"
                " anak-anak pulang dalam gelap setiap sore.",
                prankster,
                region="33.74",
            )
            other = complaint(
                "Lampu penerangan jalan di gang masjid raya mati sejak dua minggu, warga takut"
                " keluar malam.",
                nik(401),
                region="33.75",
            )
            await publish(producer, [later, other])
            kept = await decisions.of(later)
            assert kept.event_type == "ComplaintRejected"
            assert "reporter_banned" in {r.code for r in kept.payload.reasons}  # type: ignore[union-attr]
            assert (await decisions.of(other)).event_type == "ComplaintAccepted"

            lifted = await client.post(
                f"/v1/review/{grey.complaint_id}/unban", headers=alice, json={}
            )
            assert lifted.status_code == 200 and lifted.json()["reporter_banned"] is False
            after = complaint(
                "Saluran air di depan pasar kecamatan tersumbat sampah dan meluap ke jalan setiap"
                " kali hujan deras turun sore hari.",
                prankster,
                region="33.74",
            )
            await publish(producer, [after])
            assert (await decisions.of(after)).event_type == "ComplaintAccepted"
    finally:
        assert service.terminate() == 0
