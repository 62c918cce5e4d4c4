"""Routing end to end: the four services as processes on the real broker and database.

Complaints enter at intake's web API; triage classifies them and derives the region; routing
opens the case; an agency officer acts through routing's desk API. Also: replays, and a
crash between routing's database commit and its offset commit.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer

from ops.standins import SmsGatewayStandIn, SmtpStandIn
from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    Priority,
    serialize_event,
)
from schemas.events.base import partition_key
from schemas.topics import CASES, COMPLAINTS_TRIAGED
from services.messaging.kafka import make_producer
from services.routing.adapters.repository import token_digest
from tests.e2e.conftest import Pipeline
from tests.support import ServiceProcess, eventually, free_port, where_unassigned

pytestmark = pytest.mark.e2e

JAKARTA_NIK_PREFIX = "317101550190"  # registered in Jakarta Pusat (31.71); serial follows
_next_reporter = itertools.count(1)


def complaint(description: str, **extra: object) -> dict[str, object]:
    # A reporter of its own per complaint: triage rightly limits and links one reporter's
    # repeated complaints, which is not what these tests are about.
    n = next(_next_reporter)
    return {
        "name": "Rahmat Hidayat",
        "nik": f"{JAKARTA_NIK_PREFIX}{n:04d}",
        "phone": f"0812{98760000 + n}",
        "description": f"{description} (laporan {uuid.uuid4().hex[:6]})",
        **extra,
    }


async def submit(pipeline: Pipeline, body: dict[str, object]) -> str:
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        response = await client.post("/v1/complaints", json=body)
    assert response.status_code == 202, response.text
    return response.json()["tracking_code"]


async def case_of(db: asyncpg.Pool, code: str) -> asyncpg.Record:
    async def found() -> asyncpg.Record | None:
        return await db.fetchrow("SELECT * FROM routing.cases WHERE tracking_code = $1", code)

    try:
        return await eventually(found, within=90)
    except AssertionError as stuck:
        raise AssertionError(await where_unassigned(db, [code])) from stuck


async def case_events(stack, complaint_id: uuid.UUID) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """Every event on lapor.cases.v1 for one complaint, from the beginning."""
    consumer = AIOKafkaConsumer(
        CASES.name, bootstrap_servers=stack.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found = []
    try:
        while batch := await consumer.getmany(timeout_ms=1500):
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    if event["complaint_id"] == str(complaint_id):
                        found.append(event)
    finally:
        await consumer.stop()
    return found


async def officer(db: asyncpg.Pool, agency_code: str) -> dict[str, str]:
    token = f"e2e-{uuid.uuid4()}"
    await db.execute(
        "INSERT INTO routing.officers (officer_id, agency_code, token_sha256) VALUES ($1, $2, $3)",
        f"e2e-{agency_code}-{token[-6:]}",
        agency_code,
        token_digest(token),
    )
    return {"Authorization": f"Bearer {token}"}


async def test_a_land_complaint_from_a_jakarta_nik_reaches_atr_bpn(
    pipeline: Pipeline, db: asyncpg.Pool
) -> None:
    code = await submit(
        pipeline,
        complaint("Sertifikat tanah warisan orang tua saya tidak kunjung terbit di kantor BPN."),
    )
    case = await case_of(db, code)
    assert (case["region_code"], case["agency_code"], case["rule_id"]) == (
        "31.71",  # from the NIK: the complaint named no location
        "ATR-BPN",
        "land-national",
    )


async def test_a_local_road_complaint_reaches_the_right_regency(
    pipeline: Pipeline, db: asyncpg.Pool
) -> None:
    code = await submit(
        pipeline,
        complaint(
            "Jalan rusak berlubang dan drainase tersumbat di depan pasar sejak tiga bulan.",
            region_code="32.73",  # Kota Bandung, though the reporter's NIK is from Jakarta
        ),
    )
    case = await case_of(db, code)
    assert (case["agency_code"], case["rule_id"]) == ("PEMDA-32.73", "infrastructure-regional")


async def test_a_web_form_complaint_about_another_regency_reaches_that_regencys_government(
    pipeline: Pipeline, db: asyncpg.Pool
) -> None:
    # Kota Surabaya: the module's other infrastructure complaints are about Kota Bandung, and
    # two similar ones in one regency would (rightly) be near duplicates.
    body = complaint("Jembatan desa di Rungkut retak parah dan jalan di sekitarnya berlubang.")
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as browser:
        page = await browser.get("/lapor")  # the CSRF cookie and token come with the form
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf and '<option value="35.78">Kota Surabaya</option>' in page.text
        filed = await browser.post(
            "/lapor",
            data={
                **{k: str(v) for k, v in body.items()},
                "form_token": str(uuid.uuid4()),
                "csrf_token": csrf.group(1),
                "region_code": "35.78",  # Kota Surabaya; the reporter's NIK is Jakarta Pusat's
                "address": "Jl. Rungkut Industri",
            },
        )
    assert filed.status_code == 303, filed.text
    code = filed.headers["location"].split("/")[-1].split("?")[0]
    case = await case_of(db, code)
    assert (case["region_code"], case["region_source"], case["agency_code"]) == (
        "35.78",
        "incident",
        "PEMDA-35.78",
    )
    routing = pipeline.services["routing"].url
    async with httpx.AsyncClient(base_url=routing, timeout=30) as client:
        shown = await client.get(
            f"/v1/desk/cases/{case['case_id']}", headers=await officer(db, "PEMDA-35.78")
        )
    assert shown.json()["region_source"] == "incident"


async def test_an_unmatched_complaint_reaches_manual_disposition(
    pipeline: Pipeline, db: asyncpg.Pool
) -> None:
    code = await submit(
        pipeline,
        complaint("Jadwal pelayanan kantor kecamatan sering berubah tanpa pemberitahuan."),
    )
    case = await case_of(db, code)
    assert (case["category"], case["agency_code"]) == ("other", "SETWAPRES")


async def test_not_in_remit_leads_to_rerouting(pipeline: Pipeline, db: asyncpg.Pool, stack) -> None:  # type: ignore[no-untyped-def]
    code = await submit(
        pipeline,
        complaint(
            "Jembatan penghubung dua desa ambruk dan jalan provinsi tidak bisa dilalui.",
            region_code="32.73",
        ),
    )
    case = await case_of(db, code)
    assert case["agency_code"] == "PEMDA-32.73"
    routing = pipeline.services["routing"].url
    async with httpx.AsyncClient(base_url=routing, timeout=30) as client:
        stranger = await client.post(
            f"/v1/desk/cases/{case['case_id']}/not-in-remit",
            json={"reason": "x"},
            headers=await officer(db, "PEMDA-32"),
        )
        assert stranger.status_code == 404  # the province cannot act on the city's case
        response = await client.post(
            f"/v1/desk/cases/{case['case_id']}/not-in-remit",
            json={"reason": "jembatan provinsi, bukan kewenangan kota"},
            headers=await officer(db, "PEMDA-32.73"),
        )
        assert response.status_code == 200, response.text
        province = await officer(db, "PEMDA-32")
        inbox = await client.get("/v1/desk/cases", headers=province)
        assert code in inbox.text

    async def rerouted() -> list[dict]:  # type: ignore[type-arg]
        events = await case_events(stack, case["complaint_id"])
        return events if len([e for e in events if e["event_type"] == "CaseAssigned"]) == 2 else []

    events = await eventually(rerouted, within=90)
    kinds = [
        (e["event_type"], e["payload"].get("status"), e["payload"]["agency_code"]) for e in events
    ]
    assert kinds == [
        ("CaseAssigned", None, "PEMDA-32.73"),
        ("CaseStatusChanged", "not_in_remit", "PEMDA-32.73"),
        ("CaseAssigned", None, "PEMDA-32"),
    ]


async def test_a_documents_request_answered_through_the_owner_api_resumes_the_case(
    pipeline: Pipeline,
    db: asyncpg.Pool,
    stack,  # type: ignore[no-untyped-def]
) -> None:
    # Unlike the module's other land complaint from Jakarta, so never its near duplicate.
    body = complaint(
        "Pengukuran bidang tanah untuk balik nama belum juga dijadwalkan petugas pertanahan"
        " sejak tahun lalu."
    )
    code = await submit(pipeline, body)
    case = await case_of(db, code)
    assert case["agency_code"] == "ATR-BPN"
    desk = f"/v1/desk/cases/{case['case_id']}"
    atr = await officer(db, "ATR-BPN")
    routing = pipeline.services["routing"].url
    async with httpx.AsyncClient(base_url=routing, timeout=30) as client:
        asked = await client.post(
            f"{desk}/request-documents", json={"note": "Mohon kirim fotokopi SHM."}, headers=atr
        )
        assert asked.status_code == 200, asked.text

    async def window_known() -> datetime | None:  # intake has read routing's deadline
        return await db.fetchval(
            "SELECT documents_due_at FROM intake.complaints WHERE tracking_code = $1"
            " AND status = 'awaiting_documents'",
            code,
        )

    due = await eventually(window_known, within=90)
    routing_due = await db.fetchval(
        "SELECT due_at FROM routing.case_deadlines WHERE case_id = $1 AND kind = 'documents'",
        case["case_id"],
    )
    assert due == routing_due  # one window, one end
    text = "Fotokopi SHM nomor 777 saya kirim lewat kantor pos hari ini."
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        added = await client.post(
            f"/v1/complaints/{code}/updates",
            json={"phone": body["phone"], "additional_text": text},
        )
        assert added.status_code == 202, added.text

    async def resumed() -> dict | None:  # type: ignore[type-arg]
        async with httpx.AsyncClient(base_url=routing, timeout=30) as client:
            detail = (await client.get(desk, headers=atr)).json()
        return detail if detail["status"] == "in_progress" else None

    detail = await eventually(resumed, within=90)
    assert [a["additional_text"] for a in detail["additions"]] == [text]
    # The case file: intake's sealed content, opened by routing's own key store.
    assert detail["description"] == body["description"]
    contact = detail["reporters"][0]["contact"]
    assert contact["name"] == body["name"] and contact["phone"].endswith(str(body["phone"])[1:])
    assert detail["chronology"][0]["kind"] == "filed"
    assert [d["met_at"] is not None for d in detail["deadlines"] if d["kind"] == "documents"] == [
        True
    ]
    changes = [
        e["payload"]
        for e in await case_events(stack, case["complaint_id"])
        if e["event_type"] == "CaseStatusChanged"
    ]
    assert [(c["previous_status"], c["status"]) for c in changes] == [
        ("assigned", "awaiting_documents"),
        ("awaiting_documents", "in_progress"),
    ]
    assert changes[0]["documents_due_at"] is not None
    assert (changes[1]["actor"], changes[1]["reason"]) == ("citizen", "documents_received")
    assert text not in pipeline.logs()  # the citizen's words stay out of every log


def accepted_event() -> ComplaintAccepted:
    complaint_id = uuid.uuid4()
    return ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        occurred_at=datetime.now(UTC),
        payload=ComplaintAcceptedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-RPLY-AAA",
            channel=Channel.WHATSAPP,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="31.71",
            summary="Sertifikat tanah tidak terbit",
        ),
    )


async def publish(stack, *events: ComplaintAccepted) -> None:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "e2e-routing-replay")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                COMPLAINTS_TRIAGED.name, serialize_event(event), key=partition_key(event)
            )
    finally:
        await producer.stop()


async def test_replaying_the_same_accepted_complaint_ten_times_yields_one_case(
    pipeline: Pipeline, db: asyncpg.Pool, stack
) -> None:  # type: ignore[no-untyped-def]
    event = accepted_event()
    # five exact replays, and five re-emissions under new event ids (a triage rerun)
    reruns = [event.model_copy(update={"event_id": uuid.uuid4()}) for _ in range(5)]
    await publish(stack, *[event] * 5, *reruns)
    await case_of(db, event.payload.tracking_code)

    async def assigned_events() -> list[dict]:  # type: ignore[type-arg]
        return [
            e
            for e in await case_events(stack, event.complaint_id)
            if e["event_type"] == "CaseAssigned"
        ]

    await eventually(assigned_events, within=60)

    # let routing drain all ten before counting
    async def all_seen() -> bool:
        return (
            await db.fetchval(
                "SELECT count(*) FROM routing.processed_events WHERE event_id = ANY($1::uuid[])",
                [event.event_id, *(rerun.event_id for rerun in reruns)],
            )
            == 6
        )

    await eventually(all_seen)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM routing.cases WHERE complaint_id = $1", event.complaint_id
        )
        == 1
    )
    assert len({e["event_id"] for e in await assigned_events()}) == 1


async def test_a_crash_between_database_and_offset_commit_yields_one_case(
    pipeline: Pipeline, db: asyncpg.Pool, stack
) -> None:  # type: ignore[no-untyped-def]
    assert pipeline.services["routing"].terminate() == 0
    crashing = ServiceProcess(
        "routing", pipeline.env, pipeline.log_dir, module="tests.e2e.routing_crash_launcher"
    ).start()
    try:
        await crashing.wait_ready()
        event = accepted_event()
        await publish(stack, event)

        async def exited() -> bool:
            return crashing.process is not None and crashing.process.poll() is not None

        await eventually(exited, within=90)
        assert crashing.process is not None and crashing.process.returncode == 137
        assert "fault injection" in crashing.log_text()
        # the database commit happened before the crash
        assert (
            await db.fetchval(
                "SELECT count(*) FROM routing.cases WHERE complaint_id = $1", event.complaint_id
            )
            == 1
        )
    finally:
        crashing.kill()
    await pipeline.restart("routing")  # redelivers the uncommitted batch

    async def assigned_events() -> list[dict]:  # type: ignore[type-arg]
        return [
            e
            for e in await case_events(stack, event.complaint_id)
            if e["event_type"] == "CaseAssigned"
        ]

    await eventually(assigned_events, within=90)

    async def offsets_committed() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        from schemas.topics import consumer_group

        admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(consumer_group("routing"))
        finally:
            await admin.close()
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap)
        await consumer.start()
        try:
            ends = await consumer.end_offsets(list(offsets))
        finally:
            await consumer.stop()
        return all(
            offsets[tp].offset == ends[tp] for tp in offsets if tp.topic == COMPLAINTS_TRIAGED.name
        )

    await eventually(offsets_committed, within=90)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM routing.cases WHERE complaint_id = $1", event.complaint_id
        )
        == 1
    )
    assert len({e["event_id"] for e in await assigned_events()}) == 1


async def test_a_restarted_scheduler_escalates_an_overdue_case_exactly_once(
    pipeline: Pipeline, db: asyncpg.Pool, stack
) -> None:  # type: ignore[no-untyped-def]
    """Assigned Thursday 13 Aug 2026; Sat-Sun and Independence Day (Mon 17 Aug) are off, so
    the 5-working-day window ends Friday 21 Aug. The clock is frozen on Saturday 22 Aug."""
    thursday = datetime(2026, 8, 13, 2, 0, tzinfo=UTC)  # 09:00 WIB
    env = {
        **pipeline.env,
        "LAPOR_ROUTING_FROZEN_NOW": "2026-08-22T09:00:00+07:00",
        "LAPOR_ROUTING_SCHEDULER_INTERVAL": "0.5",
    }

    def overdue_case() -> ComplaintAccepted:
        return accepted_event().model_copy(update={"occurred_at": thursday})

    async def alerts_for(event: ComplaintAccepted) -> list[dict]:  # type: ignore[type-arg]
        return [
            e
            for e in await case_events(stack, event.complaint_id)
            if e["event_type"] in ("CaseOverdue", "CaseDeadlineApproaching")
        ]

    async def overdue_seen(event: ComplaintAccepted) -> bool:
        return any(e["event_type"] == "CaseOverdue" for e in await alerts_for(event))

    assert pipeline.services["routing"].terminate() == 0
    first = ServiceProcess("routing", env, pipeline.log_dir).start()
    second = None
    try:
        await first.wait_ready()
        early = overdue_case()
        await publish(stack, early)
        await eventually(lambda: overdue_seen(early), within=90)
        first.kill()  # SIGKILL: the scheduler gets no chance to tidy up

        second = ServiceProcess("routing", env, pipeline.log_dir).start()
        await second.wait_ready()
        late = overdue_case()
        await publish(stack, late)
        # the restarted scheduler has scanned (it escalated the new case) ...
        await eventually(lambda: overdue_seen(late), within=90)
    finally:
        first.kill()
        if second is not None:
            assert second.terminate() == 0
    # ... and repeated nothing for the first one
    alerts = await alerts_for(early)
    summary = sorted(
        (e["event_type"], e["payload"]["deadline_kind"], e["payload"].get("escalation_level"))
        for e in alerts
    )
    assert summary == [
        ("CaseDeadlineApproaching", "agency_response", None),
        ("CaseOverdue", "agency_response", 1),
    ]
    overdue = next(e for e in alerts if e["event_type"] == "CaseOverdue")
    due = datetime.fromisoformat(overdue["payload"]["due_at"])
    assert due == datetime(2026, 8, 21, 16, 59, 59, tzinfo=UTC)  # Friday 23:59:59 WIB
    assert overdue["payload"]["escalated_to"] == "Inspektorat Jenderal Kementerian ATR/BPN"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM routing.deadline_alerts a JOIN routing.cases c USING (case_id)"
            " WHERE c.complaint_id = $1",
            early.complaint_id,
        )
        == 2
    )
    # Tidy up: the real clock of the restored routing would escalate these August cases.
    await db.execute(
        "UPDATE routing.case_deadlines d SET met_at = now() FROM routing.cases c"
        " WHERE c.case_id = d.case_id AND c.complaint_id = ANY($1::uuid[])",
        [early.complaint_id, late.complaint_id],
    )
    await pipeline.restart("routing")


async def test_an_overdue_case_emails_its_supervisor_with_the_case_link(
    pipeline: Pipeline, db: asyncpg.Pool, stack
) -> None:  # type: ignore[no-untyped-def]
    """Routing's scheduler (frozen on Saturday 22 Aug 2026) escalates a case assigned on
    Thursday 13 Aug to ATR/BPN's supervisor; the notifier emails them through an SMTP
    stand-in, once, with the case's link."""
    smtp = SmtpStandIn(free_port())
    smtp.start()
    base_url = "https://lapor.example.go.id/routing"
    routing_env = {
        **pipeline.env,
        "LAPOR_ROUTING_FROZEN_NOW": "2026-08-22T09:00:00+07:00",
        "LAPOR_ROUTING_SCHEDULER_INTERVAL": "0.5",
        "LAPOR_ROUTING_PUBLIC_BASE_URL": base_url,
    }
    notifier_env = {
        **pipeline.env,
        "LAPOR_NOTIFIER_SMTP_HOST": "127.0.0.1",
        "LAPOR_NOTIFIER_SMTP_PORT": str(smtp.port),
    }
    await db.execute(
        "UPDATE routing.agencies SET supervisor_email = 'itjen@atrbpn.go.id'"
        " WHERE agency_code = 'ATR-BPN'"
    )
    event = accepted_event().model_copy(
        update={"occurred_at": datetime(2026, 8, 13, 2, 0, tzinfo=UTC)}  # 09:00 WIB
    )
    code = event.payload.tracking_code

    async def to_supervisor() -> list:  # type: ignore[type-arg]
        return [
            m for m in smtp.messages if m["To"] == "itjen@atrbpn.go.id" and code in m["Subject"]
        ]

    for name in ("routing", "notifier"):
        assert pipeline.services[name].terminate() == 0
    routing = ServiceProcess("routing", routing_env, pipeline.log_dir).start()
    notifier = ServiceProcess("notifier", notifier_env, pipeline.log_dir).start()
    try:
        await routing.wait_ready()
        await notifier.wait_ready()
        await publish(stack, event)
        (mail,) = await eventually(to_supervisor, within=90)
        case = await case_of(db, code)
        body = mail.get_payload(decode=True).decode()
    finally:
        assert routing.terminate() == 0 and notifier.terminate() == 0
        smtp.stop()
        await db.execute(
            "UPDATE routing.agencies SET supervisor_email = NULL WHERE agency_code = 'ATR-BPN'"
        )
        # Tidy up: the real clock of the restored routing would escalate this August case.
        await db.execute(
            "UPDATE routing.case_deadlines d SET met_at = now() FROM routing.cases c"
            " WHERE c.case_id = d.case_id AND c.complaint_id = $1",
            event.complaint_id,
        )
        await pipeline.restart("routing")
        await pipeline.restart("notifier")
    assert mail["Subject"] == f"[Eskalasi 1] Pengaduan {code} melewati batas waktu"
    assert f"{base_url}/v1/desk/cases/{case['case_id']}" in body
    assert "21 Agustus 2026 pukul 23.59 WIB" in body and "Kementerian ATR/BPN" in body
    staff_rows = await db.fetch(
        "SELECT status FROM notifier.notifications WHERE complaint_id = $1"
        " AND template = 'overdue_staff'",
        event.complaint_id,
    )
    assert [row["status"] for row in staff_rows] == ["sent"]
    assert len(await to_supervisor()) == 1


async def test_two_co_reporters_of_a_collective_complaint_get_the_closing_message(
    pipeline: Pipeline, db: asyncpg.Pool
) -> None:
    """Issue 14: three citizens report the same problem; triage marks the second and third as
    duplicates and routing joins them to the first's case. When the agency closes the case,
    each of the three sees "closed" on their own tracking code and gets exactly one closing
    SMS (through a gateway stand-in), under their own code."""
    sms = SmsGatewayStandIn()
    await sms.serve(free_port())
    notifier_env = {
        **pipeline.env,
        "LAPOR_NOTIFIER_SMS_GATEWAY_URL": f"{sms.url}/sms",
        "LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN": sms.token,
        "LAPOR_NOTIFIER_RATE_LIMIT_COUNT": "100",
    }
    description = (
        "Lampu penerangan jalan umum di sepanjang jalan depan pasar padam total sejak dua"
        f" minggu dan warga takut melintas malam hari (blok {uuid.uuid4().hex[:6]})."
    )
    assert pipeline.services["notifier"].terminate() == 0
    notifier = ServiceProcess("notifier", notifier_env, pipeline.log_dir).start()
    try:
        await notifier.wait_ready()
        bodies = [{**complaint("x"), "description": description} for _ in range(3)]
        original = await submit(pipeline, bodies[0])
        case = await case_of(db, original)
        co_reporters = [await submit(pipeline, body) for body in bodies[1:]]

        async def joined() -> bool:
            count = await db.fetchval(
                "SELECT count(*) FROM routing.case_reporters WHERE case_id = $1", case["case_id"]
            )
            return count == 2

        await eventually(joined, within=120)
        headers = await officer(db, case["agency_code"])
        async with httpx.AsyncClient(
            base_url=pipeline.services["routing"].url, timeout=30
        ) as client:
            for action, body in (
                ("accept", {}),
                ("respond", {"note": "Lampu sudah diganti oleh dinas."}),
                ("close", {}),
            ):
                response = await client.post(
                    f"/v1/desk/cases/{case['case_id']}/{action}", json=body, headers=headers
                )
                assert response.status_code == 200, response.text

        codes = [original, *co_reporters]

        def closings(code: str) -> list[dict]:  # type: ignore[type-arg]
            return [m for m in sms.received if code in m["text"] and "telah selesai" in m["text"]]

        async def all_closed() -> bool:
            return all(closings(code) for code in codes)

        await eventually(all_closed, within=120)
        async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:

            async def statuses() -> list[str] | None:
                views = [(await client.get(f"/v1/complaints/{c}")).json() for c in codes]
                found = [view["status"] for view in views]
                return found if found == ["closed"] * 3 else None

            await eventually(statuses, within=60)

        # One closing per reporter, recorded once each (the sender's rows are the proof that
        # nothing else is on its way).
        async def closing_rows() -> list[tuple[str, str]] | None:
            rows = await db.fetch(
                "SELECT tracking_code, status FROM notifier.notifications"
                " WHERE template = 'closed' AND tracking_code = ANY($1::text[])",
                codes,
            )
            found = sorted((r["tracking_code"], r["status"]) for r in rows)
            return found if all(status == "sent" for _, status in found) else None

        assert await eventually(closing_rows, within=60) == sorted((c, "sent") for c in codes)
        assert [len(closings(code)) for code in codes] == [1, 1, 1]
        joins = await db.fetch(
            "SELECT tracking_code FROM notifier.notifications WHERE template = 'joined'"
            " AND tracking_code = ANY($1::text[])",
            codes,
        )
        assert sorted(r["tracking_code"] for r in joins) == sorted(co_reporters)
    finally:
        assert notifier.terminate() == 0
        await sms.stop()
        await pipeline.restart("notifier")


async def test_routing_forwards_to_a_stand_in_sp4n_lapor_through_its_failures(
    pipeline: Pipeline, db: asyncpg.Pool, stack
) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_routing_sp4n import StandIn

    remote = StandIn(script=["503", "timeout"])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(remote.app(), host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve())
    await db.execute(  # only this test's case is to be sent
        "UPDATE routing.sp4n_forwardings SET next_attempt_at = 'infinity' WHERE remote_id IS NULL"
    )
    env = {
        **pipeline.env,
        "LAPOR_ROUTING_SP4N_URL": f"http://127.0.0.1:{port}/api/v1/laporan",
        "LAPOR_ROUTING_SP4N_TOKEN": "sp4n-secret",
        "LAPOR_ROUTING_SP4N_TIMEOUT": "0.5",
        "LAPOR_ROUTING_SP4N_INTERVAL": "0.2",
        "LAPOR_ROUTING_SP4N_BACKOFF_BASE": "0.5",
        "LAPOR_ROUTING_SP4N_STATIC": '{"jenis_laporan": "pengaduan"}',
    }
    assert pipeline.services["routing"].terminate() == 0
    forwarding = ServiceProcess("routing", env, pipeline.log_dir).start()
    try:
        await forwarding.wait_ready()
        event = accepted_event()
        await publish(stack, event)

        async def remote_id() -> str | None:
            return await db.fetchval(
                "SELECT f.remote_id FROM routing.sp4n_forwardings f JOIN routing.cases c"
                " USING (case_id) WHERE c.complaint_id = $1",
                event.complaint_id,
            )

        recorded = await eventually(remote_id, within=90)
    finally:
        assert forwarding.terminate() == 0
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
    await pipeline.restart("routing")
    row = await db.fetchrow(
        "SELECT attempts, last_error FROM routing.sp4n_forwardings f JOIN routing.cases c"
        " USING (case_id) WHERE c.complaint_id = $1",
        event.complaint_id,
    )
    assert (row["attempts"], row["last_error"]) == (3, None)
    (report,) = remote.reports.values()  # the retry after the timeout did not file twice
    assert recorded == report["id"]
    assert report["body"]["external_id"] == event.payload.tracking_code
    assert report["body"]["jenis_laporan"] == "pengaduan"
    assert [r["body"]["external_id"] for r in remote.requests] == [event.payload.tracking_code] * 3


async def test_routing_logs_carry_no_personal_data(pipeline: Pipeline) -> None:
    logs = pipeline.logs()
    assert "service started" in logs
    assert "fault injection" in logs  # the crash test's process logged here too
    issued = next(_next_reporter)
    for n in range(1, issued):
        for secret in (
            f"{JAKARTA_NIK_PREFIX}{n:04d}",
            f"0812{98760000 + n}",
            f"+62812{98760000 + n}",
        ):
            assert secret not in logs
    assert "Rahmat Hidayat" not in logs
