"""Issue 14's whole journey, on the four services as processes with every provider stood in.

One citizen from Jakarta Pusat (by NIK) reports a problem somewhere else on each channel, each
with a document: the web form, WhatsApp (a guided conversation) and the walk-in desk. Each
reaches the government of the place of the problem, and its officer's case file shows the full
text, the document (the signed link opens the exact bytes at intake) and the reporter's
contact. Then: a documents request answered with a document on the web resumes a case; a
second citizen reports the WhatsApp problem too, both get the closing message (WhatsApp and
SMS), the WhatsApp citizen answers TIDAK PUAS and the case re-opens; an overdue case emails
its agency's supervisor.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from ops.standins import SmsGatewayStandIn, SmtpStandIn, WhatsAppCloudStandIn, realistic_wamid
from schemas import staff
from schemas.staff import Role, StaffMember
from services.intake.domain.whatsapp import sign
from services.routing.adapters.repository import token_digest
from tests.e2e.conftest import Pipeline
from tests.support import ServiceProcess, eventually, free_port, where_unassigned

pytestmark = pytest.mark.e2e

APP_SECRET = "journey-app-secret"
DESK_OFFICER = StaffMember("petugas-1", frozenset({Role.DESK_OFFICER}), None)
STAFF_SECRET = "case-file-journey-staff-secret"
DESK_DAY = "2026-11-30"  # a Monday: the desk's clock is fixed at 10:00 WIB on it
HOME_NIK = "317101550190"  # Jakarta Pusat (31.71); a serial follows
SUPERVISOR = "inspektorat@jogjakota.go.id"
_serial = itertools.count(1)


def pdf(label: str) -> bytes:
    return f"%PDF-1.4\n% {label}\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".encode()


WHATSAPP_PDF = pdf("foto jalan semarang")


@pytest.fixture(scope="module")
async def providers() -> AsyncIterator[dict[str, Any]]:
    graph = WhatsAppCloudStandIn()
    graph.add_media("MEDIA-JOURNEY-1", WHATSAPP_PDF, "application/pdf")
    await graph.serve(free_port())
    sms = SmsGatewayStandIn()
    await sms.serve(free_port())
    smtp = SmtpStandIn(free_port())
    smtp.start()
    yield {"graph": graph, "sms": sms, "smtp": smtp}
    smtp.stop()
    await sms.stop()
    await graph.stop()


@pytest.fixture(scope="module")
async def journey(  # type: ignore[no-untyped-def]
    stack, database_url, topics, providers, tmp_path_factory
) -> AsyncIterator[Pipeline]:
    graph, sms, smtp = providers["graph"], providers["sms"], providers["smtp"]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_INTAKE_RATE_LIMIT_PER_IP_PER_MINUTE": "1000000",
        "LAPOR_INTAKE_RATE_LIMIT_PER_IP_BURST": "100000",
        "LAPOR_INTAKE_WHATSAPP_APP_SECRET": APP_SECRET,
        "LAPOR_INTAKE_WHATSAPP_VERIFY_TOKEN": "journey-verify",
        "LAPOR_INTAKE_WHATSAPP_API_URL": graph.url,
        "LAPOR_INTAKE_WHATSAPP_TOKEN": graph.token,
        "LAPOR_STAFF_ASSERTION_SECRET": STAFF_SECRET,  # desk officers come as the back office
        "LAPOR_INTAKE_DESK_CLOCK": f"{DESK_DAY}T10:00:00+07:00",
        "LAPOR_NOTIFIER_WHATSAPP_API_URL": graph.url,
        "LAPOR_NOTIFIER_WHATSAPP_TOKEN": graph.token,
        "LAPOR_NOTIFIER_WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
        "LAPOR_NOTIFIER_SMS_GATEWAY_URL": f"{sms.url}/sms",
        "LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN": sms.token,
        "LAPOR_NOTIFIER_SMTP_HOST": "127.0.0.1",
        "LAPOR_NOTIFIER_SMTP_PORT": str(smtp.port),
        "LAPOR_NOTIFIER_RATE_LIMIT_COUNT": "100",
        "LAPOR_ROUTING_PUBLIC_BASE_URL": "https://lapor.example.go.id/routing",
    }
    pipeline = Pipeline(env, tmp_path_factory.mktemp("journey-logs"))
    # Where the case file's document links point: this run's intake (for restarts too).
    env["LAPOR_ROUTING_INTAKE_PUBLIC_URL"] = pipeline.intake_url
    pipeline.services["routing"].env["LAPOR_ROUTING_INTAKE_PUBLIC_URL"] = pipeline.intake_url
    try:
        await pipeline.start()
        yield pipeline
    finally:
        codes = {name: service.terminate() for name, service in pipeline.services.items()}
        assert all(code in (0, None) for code in codes.values()), codes


def reporter(name: str = "Rahmat Hidayat") -> dict[str, str]:
    n = next(_serial)
    return {"name": name, "nik": f"{HOME_NIK}{n:04d}", "phone": f"0813{77000000 + n}"}


async def officer(db: asyncpg.Pool, agency_code: str) -> dict[str, str]:
    token = f"journey-{uuid.uuid4()}"
    await db.execute(
        "INSERT INTO routing.officers (officer_id, agency_code, token_sha256) VALUES ($1, $2, $3)",
        f"journey-{agency_code}-{token[-6:]}",
        agency_code,
        token_digest(token),
    )
    return {"Authorization": f"Bearer {token}"}


async def case_of(db: asyncpg.Pool, code: str) -> asyncpg.Record:
    async def found() -> asyncpg.Record | None:
        return await db.fetchrow("SELECT * FROM routing.cases WHERE tracking_code = $1", code)

    try:
        return await eventually(found, within=120)
    except AssertionError as stuck:
        raise AssertionError(await where_unassigned(db, [code])) from stuck


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


# ------------------------------------------------------------------------- the three channels


BANDUNG_ROAD = (
    "Jalan Soekarno-Hatta di Kota Bandung berlubang dalam sepanjang dua kilometer dan sudah"
    " tiga pengendara motor jatuh minggu ini."
)


async def file_on_the_web(
    pipeline: Pipeline,
    who: dict[str, str],
    document: bytes,
    *,
    description: str = BANDUNG_ROAD,
    address: str = "Jl. Soekarno-Hatta km 3",
    filename: str = "foto-jalan.pdf",
) -> str:
    """Kota Bandung's road (by default), from the web form with a scanned PDF."""
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as browser:
        csrf = csrf_of(await browser.get("/lapor"))
        filed = await browser.post(
            "/lapor",
            data={
                **who,
                "description": description,
                "region_code": "32.73",
                "address": address,
                "form_token": str(uuid.uuid4()),
                "csrf_token": csrf,
            },
            files={"attachments": (filename, document, "application/pdf")},
        )
    assert filed.status_code == 303, filed.text
    return filed.headers["location"].split("/")[-1].split("?")[0]


def webhook(wa_id: str, message: dict[str, Any]) -> bytes:
    message = {
        "from": wa_id,
        "id": realistic_wamid(wa_id),  # as Meta's: base64 that holds the number
        "timestamp": str(int(time.time())),
        **message,
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1234567890"},
        "contacts": [{"profile": {"name": "Warga"}, "wa_id": wa_id}],
        "messages": [message],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-ID", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body, ensure_ascii=False).encode()


class WhatsAppCitizen:
    """A citizen writing to the desk's number; the desk's answers arrive at Meta's stand-in."""

    def __init__(self, pipeline: Pipeline, graph: WhatsAppCloudStandIn, wa_id: str) -> None:
        self.pipeline, self.graph, self.wa_id = pipeline, graph, wa_id

    def replies(self) -> list[str]:
        return [
            str(m.get("text", {}).get("body", ""))
            for m in self.graph.received
            if m.get("to") == self.wa_id
        ]

    async def send(self, message: dict[str, Any], wait: bool = True) -> str:
        before = len(self.replies())
        raw = webhook(self.wa_id, message)
        headers = {"content-type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, raw)}
        async with httpx.AsyncClient(base_url=self.pipeline.intake_url, timeout=30) as client:
            posted = await client.post("/webhooks/whatsapp", content=raw, headers=headers)
        assert posted.status_code == 200, posted.text
        if not wait:
            return ""

        async def answered() -> bool:
            return len(self.replies()) > before

        await eventually(answered, within=90)
        return self.replies()[-1]

    async def say(self, text: str) -> str:
        return await self.send({"type": "text", "text": {"body": text}})


SEMARANG_ROAD = (
    "Jalan Pemuda di depan Lawang Sewu Kota Semarang amblas sedalam setengah meter sejak"
    " hujan deras Jumat lalu dan belum diberi rambu."
)


async def file_on_whatsapp(
    citizen: WhatsAppCitizen,
    nik: str,
    *,
    name: str = "Siti Aminah",
    place: str = "Kota Semarang, Jl. Pemuda depan Lawang Sewu",
    description: str = SEMARANG_ROAD,
    media_id: str = "MEDIA-JOURNEY-1",
) -> str:
    """Kota Semarang's road (by default), in the guided conversation, with a PDF sent as a
    document."""
    for text in ("halo", name, nik, "ya"):
        await citizen.say(text)
    await citizen.say(place)
    await citizen.say(description)
    document = {"id": media_id, "mime_type": "application/pdf", "sha256": "x"}
    await citizen.send({"type": "document", "document": document})
    await citizen.say("selesai")
    receipt = await citizen.say("ya")
    found = re.search(r"LPR-[A-Z0-9-]+", receipt)
    assert found, receipt
    return found.group(0)


YOGYAKARTA_DRAIN = (
    "Selokan di sepanjang Jalan Malioboro Kota Yogyakarta tersumbat sampah dan meluap ke"
    " toko-toko setiap kali hujan sejak bulan lalu."
)


async def file_at_the_desk(
    pipeline: Pipeline,
    who: dict[str, str],
    document: bytes,
    *,
    description: str = YOGYAKARTA_DRAIN,
    address: str = "Jl. Malioboro, selokan depan pasar",
    filename: str = "surat-rt.pdf",
) -> str:
    """Kota Yogyakarta's drain (by default), taken by the desk officer with the citizen's
    paper scanned."""
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        booked = await client.post(
            "/v1/walk-in/bookings",
            json={"name": who["name"], "phone": who["phone"], "visit_date": DESK_DAY},
        )
        assert booked.status_code == 201, booked.text
        booking = booked.json()["booking_code"]
        checked_in = await client.post(
            "/v1/walk-in/check-ins",
            json={"booking_code": booking},
            headers={staff.HEADER: staff.sign(DESK_OFFICER, STAFF_SECRET)},
        )
        assert checked_in.status_code == 200, checked_in.text
        # the multipart form the back office's desk page forwards
        taken = await client.post(
            "/v1/walk-in/complaints/form",
            data={
                "booking_code": booking,
                "nik": who["nik"],
                "region_code": "34.71",
                "address": address,
                "description": description,
            },
            files={"attachments": (filename, document, "application/pdf")},
            headers={staff.HEADER: staff.sign(DESK_OFFICER, STAFF_SECRET)},
        )
    assert taken.status_code == 201, taken.text
    return str(taken.json()["tracking_code"])


# ---------------------------------------------------------------------- what the officer sees


async def case_file(pipeline: Pipeline, case_id: object, headers: dict[str, str]) -> Any:
    async with httpx.AsyncClient(base_url=pipeline.services["routing"].url, timeout=30) as c:
        shown = await c.get(f"/v1/desk/cases/{case_id}", headers=headers)
    assert shown.status_code == 200, shown.text
    return shown.json()


async def assert_the_officer_sees_everything(
    pipeline: Pipeline,
    db: asyncpg.Pool,
    code: str,
    agency: str,
    region: str,
    who: dict[str, str],
    document: bytes,
) -> asyncpg.Record:
    case = await case_of(db, code)
    assert (case["agency_code"], case["region_code"], case["region_source"]) == (
        agency,
        region,
        "incident",
    )
    headers = await officer(db, agency)

    async def with_document() -> Any:  # the content can trail the case by a moment
        shown = await case_file(pipeline, case["case_id"], headers)
        return shown if shown["documents"] and shown["description"] else None

    shown = await eventually(with_document, within=90)
    stored = await db.fetchval(
        "SELECT payload->>'description' FROM routing.case_files WHERE complaint_id = $1",
        case["complaint_id"],
    )
    assert stored and shown["description"] not in stored  # kept sealed, shown opened
    assert len(shown["description"]) > 100  # the full text, not a summary
    contact = shown["reporters"][0]["contact"]
    assert contact["name"] == who["name"] and contact["phone"].endswith(who["phone"][1:])
    (doc,) = shown["documents"]
    assert doc["media_type"] == "application/pdf" and doc["size_bytes"] == len(document)
    async with httpx.AsyncClient(timeout=30) as client:
        opened = await client.get(doc["url"])
    assert opened.status_code == 200 and opened.content == document
    openings = await db.fetchval(
        "SELECT count(*) FROM routing.case_file_openings WHERE case_id = $1", case["case_id"]
    )
    assert openings >= 1
    elsewhere = await officer(db, "ATR-BPN")
    async with httpx.AsyncClient(base_url=pipeline.services["routing"].url, timeout=30) as c:
        assert (
            await c.get(f"/v1/desk/cases/{case['case_id']}", headers=elsewhere)
        ).status_code == 404
    return case


# ------------------------------------------------------------------------------ the journey


async def test_every_channel_reaches_the_incident_regions_agency_and_every_reporter_hears_back(
    journey: Pipeline, db: asyncpg.Pool, providers: dict[str, Any]
) -> None:
    graph, sms, smtp = providers["graph"], providers["sms"], providers["smtp"]
    web_reporter, desk_reporter = reporter("Rahmat Hidayat"), reporter("Dewi Lestari")
    web_pdf, desk_pdf = pdf("foto jalan bandung"), pdf("surat pengantar rt")
    whatsapp = WhatsAppCitizen(journey, graph, f"62813{next(_serial) + 88000000}")
    wa_nik = f"{HOME_NIK}{next(_serial):04d}"

    web_code = await file_on_the_web(journey, web_reporter, web_pdf)
    wa_code = await file_on_whatsapp(whatsapp, wa_nik)
    desk_code = await file_at_the_desk(journey, desk_reporter, desk_pdf)

    web_case = await assert_the_officer_sees_everything(
        journey, db, web_code, "PEMDA-32.73", "32.73", web_reporter, web_pdf
    )
    wa_who = {"name": "Siti Aminah", "phone": "0" + whatsapp.wa_id[2:]}
    wa_case = await assert_the_officer_sees_everything(
        journey, db, wa_code, "PEMDA-33.74", "33.74", wa_who, WHATSAPP_PDF
    )
    desk_case = await assert_the_officer_sees_everything(
        journey, db, desk_code, "PEMDA-34.71", "34.71", desk_reporter, desk_pdf
    )

    await documents_request_answered_on_the_web(journey, db, web_case, web_reporter)
    await co_reporters_hear_the_closing_and_one_refuses_it(journey, db, wa_case, whatsapp, sms)
    await an_overdue_case_emails_its_supervisor(journey, db, desk_case, smtp)


async def documents_request_answered_on_the_web(
    pipeline: Pipeline, db: asyncpg.Pool, case: asyncpg.Record, who: dict[str, str]
) -> None:
    headers = await officer(db, case["agency_code"])
    routing = pipeline.services["routing"].url
    async with httpx.AsyncClient(base_url=routing, timeout=30) as client:
        asked = await client.post(
            f"/v1/desk/cases/{case['case_id']}/request-documents",
            json={"note": "Mohon kirim foto lubang dengan penanda lokasi."},
            headers=headers,
        )
        assert asked.status_code == 200, asked.text

    async def awaiting() -> bool:
        status = await db.fetchval(
            "SELECT status FROM intake.complaints WHERE tracking_code = $1", case["tracking_code"]
        )
        return status == "awaiting_documents"

    await eventually(awaiting, within=90)
    photo = pdf("foto lubang dengan penanda")
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as browser:
        csrf = csrf_of(await browser.get("/lapor/tambah"))
        added = await browser.post(
            "/lapor/tambah",
            data={
                "kode": case["tracking_code"],
                "phone": who["phone"],
                "additional_text": "Foto lubang dengan penanda lokasi saya lampirkan.",
                "form_token": str(uuid.uuid4()),
                "csrf_token": csrf,
            },
            files={"attachments": ("lubang.pdf", photo, "application/pdf")},
        )
    assert added.status_code in (200, 303), added.text

    async def resumed() -> Any:
        shown = await case_file(pipeline, case["case_id"], headers)
        return shown if shown["status"] == "in_progress" else None

    shown = await eventually(resumed, within=90)
    assert [len(a["attachments"]) for a in shown["additions"]] == [1]
    assert len(shown["documents"]) == 2  # the filing's and the addition's


async def co_reporters_hear_the_closing_and_one_refuses_it(
    pipeline: Pipeline,
    db: asyncpg.Pool,
    case: asyncpg.Record,
    whatsapp: WhatsAppCitizen,
    sms: SmsGatewayStandIn,
) -> None:
    neighbour = reporter("Budi Santoso")
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        filed = await client.post(
            "/v1/complaints",
            json={**neighbour, "description": SEMARANG_ROAD, "location": {"region_code": "33.74"}},
        )
    assert filed.status_code == 202, filed.text
    neighbour_code = filed.json()["tracking_code"]

    async def joined() -> bool:
        return bool(
            await db.fetchval(
                "SELECT count(*) FROM routing.case_reporters WHERE case_id = $1", case["case_id"]
            )
        )

    await eventually(joined, within=120)
    headers = await officer(db, case["agency_code"])
    async with httpx.AsyncClient(base_url=pipeline.services["routing"].url, timeout=30) as c:
        for action, body in (
            ("accept", {}),
            ("respond", {"note": "Dinas PU sudah menimbun dan mengaspal ulang."}),
            ("close", {}),
        ):
            done = await c.post(
                f"/v1/desk/cases/{case['case_id']}/{action}", json=body, headers=headers
            )
            assert done.status_code == 200, done.text

    def sms_closing() -> list[dict[str, Any]]:
        return [m for m in sms.received if neighbour_code in m["text"] and "selesai" in m["text"]]

    async def both_told() -> bool:
        on_whatsapp = [t for t in whatsapp.replies() if case["tracking_code"] in t and "PUAS" in t]
        return bool(on_whatsapp) and bool(sms_closing())

    await eventually(both_told, within=120)
    assert len(sms_closing()) == 1

    thanks = await whatsapp.say("TIDAK PUAS")
    assert case["tracking_code"] in thanks

    async def reopened() -> bool:
        status = await db.fetchval(
            "SELECT status FROM routing.cases WHERE case_id = $1", case["case_id"]
        )
        return status == "reopened"

    await eventually(reopened, within=90)
    answers = await db.fetch(
        "SELECT satisfied FROM routing.case_satisfaction WHERE case_id = $1", case["case_id"]
    )
    assert [a["satisfied"] for a in answers] == [False]


async def an_overdue_case_emails_its_supervisor(
    pipeline: Pipeline, db: asyncpg.Pool, case: asyncpg.Record, smtp: SmtpStandIn
) -> None:
    """Routing's clock moved 60 days on: the walk-in case (never acted on) is overdue."""
    await db.execute(
        "UPDATE routing.agencies SET supervisor_email = $1 WHERE agency_code = $2",
        SUPERVISOR,
        case["agency_code"],
    )
    later = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    routing_env = {
        **pipeline.env,
        "LAPOR_ROUTING_FROZEN_NOW": later,
        "LAPOR_ROUTING_SCHEDULER_INTERVAL": "0.5",
    }
    assert pipeline.services["routing"].terminate() == 0
    routing = ServiceProcess("routing", routing_env, pipeline.log_dir).start()
    try:
        await routing.wait_ready()

        async def to_supervisor() -> list[Any]:
            return [
                m
                for m in smtp.messages
                if m["To"] == SUPERVISOR and case["tracking_code"] in m["Subject"]
            ]

        def deadlines(mails: list[Any]) -> list[str]:
            bodies = [m.get_payload(decode=True).decode() for m in mails]
            return sorted(re.search(r"batas waktu (.+?), yaitu", b).group(1) for b in bodies)  # type: ignore[union-attr]

        async def both_deadlines() -> list[Any] | None:
            mails = await to_supervisor()
            return mails if len(deadlines(mails)) >= 2 else None

        # Never acted on: the agency's follow-up and Setwapres' 14-day analysis are both past.
        mails = await eventually(both_deadlines, within=120)
    finally:
        assert routing.terminate() == 0
        await db.execute(
            "UPDATE routing.agencies SET supervisor_email = NULL WHERE agency_code = $1",
            case["agency_code"],
        )
        await pipeline.restart("routing")
    assert deadlines(mails) == ["analisis dan penerusan oleh Setwapres", "tindak lanjut instansi"]
    for mail in mails:  # once per deadline, each with the case's link
        assert mail["Subject"].startswith("[Eskalasi 1]")
        assert f"/v1/desk/cases/{case['case_id']}" in mail.get_payload(decode=True).decode()
