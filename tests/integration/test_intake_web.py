"""The web channel and the citizen's follow-up, in process against the real PostgreSQL:
the HTML form, ownership proof, one-time codes, additions within the 10-day window, the
status read model fed by routing's case events, and the status in the citizen's words (page,
JSON API and WhatsApp's STATUS#), with secret reports kept to their status and steps."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from schemas.events import (
    CaseAssigned,
    CaseAssignedPayload,
    Channel,
    Event,
    Language,
    parse_event,
)
from schemas.events.routing import CaseStatus, CaseStatusChanged, CaseStatusChangedPayload
from schemas.personal_data import is_sealed
from services.intake.bootstrap import create_app
from services.intake.domain.citizen_status import format_wib
from services.intake.domain.whatsapp import InboundMessage
from services.intake.handlers import statuses as handlers
from services.intake.handlers import whatsapp
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import default_keystore
from services.routing.domain import documents_due
from tests.support import accepted_event, assigned_event, notified_event

pytestmark = pytest.mark.integration

NIK = "3171015501900001"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SETTINGS = IntakeSettings(
    max_attachment_bytes=1024,
    max_attachments=2,
    one_time_code_key="k",
    # These tests file many complaints for one reporter from one address; the limits have
    # their own tests (test_intake_limits.py).
    rate_limit_per_ip_per_minute=100_000,
    rate_limit_per_ip_burst=10_000,
    complaints_per_reporter_per_hour=1000,
    one_time_codes_per_contact_per_hour=1000,
)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def pool(intake_pool: asyncpg.Pool) -> asyncpg.Pool:
    return intake_pool


@pytest.fixture(scope="module")
async def client(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lambda: pool, SETTINGS, default_keystore())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


async def csrf_token(client: httpx.AsyncClient, page: str = "/lapor") -> str:
    """What a browser does: open the form (the cookie comes along) and keep its token."""
    match = CSRF_FIELD.search((await client.get(page)).text)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def form(csrf: str, **overrides: str) -> dict[str, str]:
    return {
        "form_token": str(uuid.uuid4()),
        "csrf_token": csrf,
        "name": "Siti Aminah",
        "nik": NIK,
        "phone": "0812-3456-7890",
        "city": "Jakarta Pusat",
        "description": "Ijazah anak saya ditahan sekolah karena tunggakan biaya komite.",
        **overrides,
    }


async def outbox_events(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list:  # type: ignore[type-arg]
    rows = await pool.fetch("SELECT payload FROM intake.outbox ORDER BY id")
    events = [parse_event(row["payload"]) for row in rows]
    return [event for event in events if event.complaint_id == complaint_id]


async def opened_events(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list:  # type: ignore[type-arg]
    """`outbox_events` opened as a consumer with the key store reads them: the citizen's
    words are sealed there too."""
    async with pool.acquire() as conn:
        return [
            await default_keystore().open(conn, event)
            for event in await outbox_events(pool, complaint_id)
        ]


async def complaint(pool: asyncpg.Pool, code: str) -> asyncpg.Record:
    return await pool.fetchrow("SELECT * FROM intake.complaints WHERE tracking_code = $1", code)


async def test_the_form_is_indonesian_first_accessible_and_explains_each_error(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/lapor")
    assert page.status_code == 200 and '<html lang="id">' in page.text
    assert '<label for="nik">NIK</label>' in page.text and "<script" not in page.text
    english = await client.get("/lapor?lang=en")
    assert '<html lang="en">' in english.text and "Send report" in english.text

    bad = await client.post(
        "/lapor",
        data=form(
            await csrf_token(client), nik="1234", phone="", description="pendek", name="Siti Aminah"
        ),
    )
    assert bad.status_code == 422
    assert 'id="nik-error">NIK harus tepat 16 angka.' in bad.text
    assert 'id="description-error">Terlalu pendek (minimal 20 huruf).' in bad.text
    assert 'id="phone-error">Isi nomor HP atau email' in bad.text
    assert 'id="nik" name="nik" inputmode="numeric" required value="1234"' in bad.text
    assert 'aria-invalid="true"' in bad.text and 'role="alert"' in bad.text
    assert 'value="Siti Aminah"' in bad.text  # what was typed is kept


async def test_a_form_with_a_document_files_once_even_when_sent_twice(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    fields = form(await csrf_token(client), anonymous="1")
    files = {"attachments": ("bukti.pdf", PDF, "application/pdf")}
    first = await client.post("/lapor", data=fields, files=files)
    assert first.status_code == 303, first.text
    again = await client.post("/lapor", data=fields, files=files)  # a double click
    assert again.headers["location"] == first.headers["location"]
    code = first.headers["location"].split("/")[-1].split("?")[0]
    receipt = await client.get(first.headers["location"])
    assert code in receipt.text

    row = await complaint(pool, code)
    (sealed,) = await outbox_events(pool, row["complaint_id"])
    assert is_sealed(sealed.payload.attachments[0].filename)  # the citizen named it
    (received,) = await opened_events(pool, row["complaint_id"])
    assert received.payload.anonymous is True and received.payload.secret is False
    (attachment,) = received.payload.attachments
    assert (attachment.media_type, attachment.filename, attachment.size_bytes) == (
        "application/pdf",
        "bukti.pdf",
        len(PDF),
    )
    stored = await pool.fetchrow(
        "SELECT content, key_id FROM intake.complaint_attachments WHERE complaint_id = $1",
        row["complaint_id"],
    )
    assert PDF not in stored["content"]  # sealed (tests/integration/test_intake_documents.py)
    async with pool.acquire() as conn:
        assert await default_keystore().open_bytes(conn, stored["key_id"], stored["content"]) == PDF


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("attachments", ("virus.pdf", b"MZ\x90\x00", "application/pdf"))], "hanya PDF, JPG"),
        ([("attachments", ("big.pdf", b"%PDF-" + b"0" * 2000, "application/pdf"))], "lebih dari"),
        ([("attachments", (f"{n}.pdf", PDF, "application/pdf")) for n in range(3)], "Paling"),
    ],
)
async def test_attachments_outside_the_limits_are_refused(
    client: httpx.AsyncClient,
    files: list,
    message: str,  # type: ignore[type-arg]
) -> None:
    response = await client.post("/lapor", data=form(await csrf_token(client)), files=files)
    assert response.status_code == 422
    assert re.search(r'id="attachments-error">[^<]*' + message, response.text)


async def file_json(client: httpx.AsyncClient, **extra: object) -> str:
    body = {
        "name": "Budi Santoso",
        "nik": NIK,
        "phone": "081234567890",
        "description": "Bantuan sosial keluarga kami dihentikan sejak Maret tanpa alasan jelas.",
        **extra,
    }
    response = await client.post("/v1/complaints", json=body)
    assert response.status_code == 202, response.text
    return response.json()["tracking_code"]


async def test_the_acknowledgement_links_the_public_status(client: httpx.AsyncClient) -> None:
    body = {"name": "Budi Santoso", "nik": NIK, "phone": "081234567890"}
    description = "Jalan di depan sekolah rusak parah dan belum diperbaiki sejak Mei."
    response = await client.post("/v1/complaints", json={**body, "description": description})
    accepted = response.json()
    # What Starlette's url_for answers, which the route no longer calls (it walks every route).
    route = client._transport.app.url_path_for(  # type: ignore[attr-defined]
        "complaint_status", tracking_code=accepted["tracking_code"]
    )
    assert accepted["status_url"] == str(route.make_absolute_url("http://intake"))
    status = await client.get(accepted["status_url"])
    assert status.status_code == 200
    assert status.json()["tracking_code"] == accepted["tracking_code"]


async def test_personal_details_only_after_ownership_proof(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    code = await file_json(client, secret=True)
    public = await client.get(f"/v1/complaints/{code}")
    assert public.status_code == 200 and "Budi" not in public.text and NIK not in public.text

    wrong = await client.post(f"/v1/complaints/{code}/details", json={"phone": "081111111111"})
    assert wrong.status_code == 403
    nothing = await client.post(f"/v1/complaints/{code}/details", json={})
    assert nothing.status_code == 422
    right = await client.post(f"/v1/complaints/{code}/details", json={"phone": "+62 812-3456-7890"})
    assert right.status_code == 200, right.text
    details = right.json()
    assert details["name"] == "Budi Santoso" and details["secret"] is True
    assert details["nik"] == "************0001"  # never the whole NIK, even to its owner


async def test_a_one_time_code_goes_out_through_the_notifier_and_proves_ownership(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    code = await file_json(client)
    sent = await client.post(f"/v1/complaints/{code}/one-time-code")
    assert sent.status_code == 202 and sent.json()["sent_via"] == "whatsapp"
    row = await complaint(pool, code)
    (request,) = [
        e
        for e in await outbox_events(pool, row["complaint_id"])
        if e.event_type != "ComplaintReceived"
    ]
    assert request.payload.purpose == "one_time_code" and is_sealed(request.payload.to)
    async with pool.acquire() as conn:  # the address travels sealed; the notifier opens it
        assert await default_keystore().reveal(conn, request.payload.to) == "6281234567890"
        text = await default_keystore().reveal(conn, request.payload.text)  # sealed as well
    otp = re.search(r"\b(\d{6})\b", text or "").group(1)  # type: ignore[union-attr]
    stored = await pool.fetchval("SELECT digest FROM intake.ownership_codes")
    assert otp not in json.dumps(stored)  # only a keyed digest is kept

    wrong = "000000" if otp != "000000" else "111111"
    assert (
        await client.post(f"/v1/complaints/{code}/details", json={"one_time_code": wrong})
    ).status_code == 403
    ok = await client.post(f"/v1/complaints/{code}/details", json={"one_time_code": otp})
    assert ok.status_code == 200 and ok.json()["name"] == "Budi Santoso"
    for _ in range(5):  # guessing burns the code
        await client.post(f"/v1/complaints/{code}/details", json={"one_time_code": wrong})
    burned = await client.post(f"/v1/complaints/{code}/details", json={"one_time_code": otp})
    assert burned.status_code == 403


async def test_additions_within_ten_days_become_complaint_updated(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    code = await file_json(client)
    body = {"phone": "081234567890", "additional_text": "Surat keterangan dari desa menyusul."}
    headers = {"Idempotency-Key": f"upd-{uuid.uuid4()}"}
    first = await client.post(f"/v1/complaints/{code}/updates", json=body, headers=headers)
    assert first.status_code == 202, first.text
    again = await client.post(f"/v1/complaints/{code}/updates", json=body, headers=headers)
    assert again.json()["update_id"] == first.json()["update_id"]
    other = await client.post(
        f"/v1/complaints/{code}/updates", json={**body, "additional_text": "lain"}, headers=headers
    )
    assert other.status_code == 409
    stranger = await client.post(
        f"/v1/complaints/{code}/updates", json={**body, "phone": "081111111111"}
    )
    assert stranger.status_code == 403

    row = await complaint(pool, code)
    updates = [
        e
        for e in await opened_events(pool, row["complaint_id"])
        if e.event_type == "ComplaintUpdated"
    ]
    assert len(updates) == 1 and updates[0].payload.tracking_code == code
    assert updates[0].payload.additional_text == body["additional_text"]

    await pool.execute(
        "UPDATE intake.complaints SET received_at = now() - interval '10 days 1 minute'"
        " WHERE tracking_code = $1",
        code,
    )
    late = await client.post(f"/v1/complaints/{code}/updates", json=body)
    # The refusal names the window's end (10 days after filing) in WIB.
    closed = (await complaint(pool, code))["received_at"] + timedelta(days=10)
    assert late.status_code == 409
    assert late.json()["detail"].endswith(f"{format_wib(closed, Language.INDONESIAN)}"), late.text


async def test_the_documents_window_counts_from_the_agencys_request(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """Filed 12 days ago, the agency asked for documents on day 5: the addition is taken
    until the end of the 10th day after the request (routing's deadline), refused after."""
    code = await file_json(client)
    filed = datetime.now(UTC) - timedelta(days=12)
    await pool.execute(
        "UPDATE intake.complaints SET received_at = $2 WHERE tracking_code = $1", code, filed
    )
    complaint_id = (await complaint(pool, code))["complaint_id"]
    body = {"phone": "081234567890", "additional_text": "Fotokopi SHM terlampir."}
    url = f"/v1/complaints/{code}/updates"
    refused = await client.post(url, json=body)  # no request yet: day 12 is too late
    assert refused.status_code == 409, refused.text

    asked = documents_due(filed + timedelta(days=5))
    await record_documents_request(pool, complaint_id, code, asked)
    assert (await complaint(pool, code))["documents_due_at"] == asked
    taken = await client.post(url, json=body)
    assert taken.status_code == 202, taken.text
    updates = [
        e for e in await opened_events(pool, complaint_id) if e.event_type == "ComplaintUpdated"
    ]
    assert [e.payload.additional_text for e in updates] == [body["additional_text"]]

    # A second request, whose window has ended by now: the addition is refused, with its date.
    ended = documents_due(filed - timedelta(days=1))
    await record_documents_request(pool, complaint_id, code, ended)
    late = await client.post(url, json={**body, "additional_text": "Terlambat."})
    assert late.status_code == 409
    assert late.json()["detail"].endswith(
        format_wib(filed + timedelta(days=10), Language.INDONESIAN)
    )


async def record_documents_request(
    pool: asyncpg.Pool, complaint_id: uuid.UUID, code: str, due: datetime
) -> None:
    """Routing's CaseStatusChanged to awaiting_documents, as intake's consumer applies it."""
    event = case_event(complaint_id, code, CaseStatus.AWAITING_DOCUMENTS, "kirim SHM")
    event = event.model_copy(
        update={"payload": event.payload.model_copy(update={"documents_due_at": due})}
    )
    async with pool.acquire() as conn, conn.transaction():
        await handlers.update_status(event, conn)


def case_event(
    complaint_id: uuid.UUID, code: str, status: CaseStatus, note: str | None = None
) -> CaseStatusChanged:
    return CaseStatusChanged(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="routing",
        payload=CaseStatusChangedPayload(
            case_id=uuid.uuid5(complaint_id, "case"),
            tracking_code=code,
            previous_status=None,
            status=status,
            actor="officer-7",
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
            note=note,
        ),
        occurred_at=datetime.now(UTC),
    )


async def test_the_read_model_follows_case_status_changes_and_closing_is_final(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    code = await file_json(client)
    row = await complaint(pool, code)
    steps = [
        (CaseStatus.IN_PROGRESS, None, "in_progress"),
        (CaseStatus.RESPONDED, "Tim BPN akan mengukur ulang.", "first_response_received"),
        (CaseStatus.CLOSED, None, "closed"),
        (CaseStatus.IN_PROGRESS, None, "closed"),  # a late event does not reopen it
    ]
    for status, note, expected in steps:
        event = case_event(row["complaint_id"], code, status, note)
        async with pool.acquire() as conn, conn.transaction():
            await handlers.HANDLERS[event.event_type](event, conn)
        view = (await client.get(f"/v1/complaints/{code}")).json()
        assert view["status"] == expected
    assert view["agency_name"] == "Kementerian ATR/BPN"
    assert "Tim BPN akan mengukur ulang." in [entry["detail"] for entry in view["timeline"]]
    late = await client.post(
        f"/v1/complaints/{code}/updates", json={"phone": "081234567890", "additional_text": "x"}
    )
    assert late.status_code == 409


def status_events(complaint_id: uuid.UUID, code: str) -> list[Event]:
    """A complaint's downstream events, with late ones of lower rank among them."""
    at = datetime(2026, 8, 13, 2, 0, tzinfo=UTC)
    accepted = accepted_event(complaint_id, code, at)
    assigned = assigned_event(accepted, at + timedelta(minutes=1), due_at=at + timedelta(days=20))

    def changed(status: CaseStatus, minutes: int, note: str | None = None) -> Event:
        event = case_event(complaint_id, code, status, note)
        return event.model_copy(update={"occurred_at": at + timedelta(minutes=minutes)})

    def notified(cause: Event, minutes: int) -> Event:
        return notified_event(cause, code, at + timedelta(minutes=minutes))

    late_acceptance = accepted.model_copy(
        update={"event_id": uuid.uuid5(complaint_id, "again"), "occurred_at": at}
    )
    return [
        accepted,
        assigned,
        notified(assigned, 2),
        changed(CaseStatus.IN_PROGRESS, 3),
        late_acceptance,  # rank 10 after rank 20: the timeline only
        changed(CaseStatus.RESPONDED, 4, "Bantuan akan dicairkan bulan depan."),
        changed(CaseStatus.CLOSED, 5),
        changed(CaseStatus.IN_PROGRESS, 6),  # after closing: the timeline only
        notified(accepted, 7),
    ]


async def read_model(pool: asyncpg.Pool, code: str) -> tuple[object, ...]:
    row = await complaint(pool, code)
    timeline = await pool.fetch(
        "SELECT event_type, status, detail, occurred_at FROM intake.complaint_timeline"
        # the filing's own entry carries the moment it was filed
        " WHERE complaint_id = $1 AND event_type <> 'ComplaintReceived'"
        " ORDER BY occurred_at, event_type, status",
        row["complaint_id"],
    )
    return (
        row["status"],
        row["status_rank"],
        row["status_detail"],
        row["agency_name"],
        [tuple(entry) for entry in timeline],
    )


async def test_a_batch_of_status_events_ends_where_one_by_one_does(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    one_by_one, batched = await file_json(client), await file_json(client)
    for event in status_events((await complaint(pool, one_by_one))["complaint_id"], one_by_one):
        async with pool.acquire() as conn, conn.transaction():
            await handlers.update_status(event, conn)
    events = status_events((await complaint(pool, batched))["complaint_id"], batched)
    async with pool.acquire() as conn, conn.transaction():
        assert await handlers.BATCH_HANDLERS["CaseStatusChanged"](events, conn) == ()

    expected = await read_model(pool, one_by_one)
    assert await read_model(pool, batched) == expected
    status, rank, detail, agency, timeline = expected
    # Closing is final: the late acceptance and in_progress reach the timeline only.
    assert (status, rank, detail, agency) == (
        "closed",
        50,
        "Kementerian ATR/BPN",
        "Kementerian ATR/BPN",
    )
    assert len(timeline) == len(events)


async def test_the_owner_adds_a_document_through_the_form(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    code = await file_json(client)
    page = await client.get(f"/lapor/tambah?kode={code}")
    assert page.status_code == 200 and f'value="{code}"' in page.text
    fields = {
        "kode": code.lower(),
        "phone": "0812 3456 7890",
        "form_token": str(uuid.uuid4()),
        "csrf_token": CSRF_FIELD.search(page.text).group(1),  # type: ignore[union-attr]
    }
    files = {"attachments": ("kk.pdf", PDF, "application/pdf")}
    stranger = await client.post(
        "/lapor/tambah", data={**fields, "phone": "081111111111"}, files=files
    )
    assert stranger.status_code == 403 and 'id="phone-error"' in stranger.text
    empty = await client.post("/lapor/tambah", data={**fields, "phone": ""})
    assert empty.status_code == 422
    assert 'id="additional_text-error"' in empty.text and 'id="phone-error"' in empty.text
    done = await client.post("/lapor/tambah", data=fields, files=files)
    assert done.status_code == 200 and 'id="update-done"' in done.text
    again = await client.post("/lapor/tambah", data=fields, files=files)  # a double click
    assert again.status_code == 200

    row = await complaint(pool, code)
    updates = [
        e
        for e in await opened_events(pool, row["complaint_id"])
        if e.event_type == "ComplaintUpdated"
    ]
    assert len(updates) == 1
    assert [a.filename for a in updates[0].payload.attachments] == ["kk.pdf"]
    details = await client.post(f"/v1/complaints/{code}/details", json={"phone": "081234567890"})
    assert [a["filename"] for a in details.json()["attachments"]] == ["kk.pdf"]


# ----------------------------------------------------------------- where is the problem


async def test_the_form_asks_where_the_problem_is_among_every_regency_without_javascript(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/lapor")).text
    assert "<script" not in page and "Lokasi masalah" in page
    assert page.count("<optgroup ") == 38 and page.count('<option value="') == 514 + 1
    assert '<optgroup label="Jawa Barat">' in page
    assert '<option value="32.73">Kota Bandung</option>' in page
    english = (await client.get("/lapor?lang=en")).text
    assert "Where is the problem" in english and "Choose a regency or city" in english


async def test_a_form_names_the_incident_region_apart_from_the_reporters_home(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    fields = form(  # a Jakarta Pusat NIK, a problem in Kota Bandung
        await csrf_token(client),
        region_code="32.73",
        address="Jl. Cibiru Hilir No. 5",
        latitude="-6.9147",
        longitude="107.6098",
    )
    filed = await client.post("/lapor", data=fields)
    assert filed.status_code == 303, filed.text
    code = filed.headers["location"].split("/")[-1].split("?")[0]
    (received,) = await outbox_events(pool, (await complaint(pool, code))["complaint_id"])
    location = received.payload.location
    assert (location.region_code, location.city) == ("32.73", "Kota Bandung")
    assert (location.latitude, location.longitude) == (-6.9147, 107.6098)
    assert is_sealed(location.address)  # a street address is personal data

    bad = await client.post(
        "/lapor", data=form(await csrf_token(client), region_code="32.99", nik="1234")
    )
    assert bad.status_code == 422
    assert 'id="region_code-error">Pilih kabupaten/kota dari daftar.' in bad.text
    kept = await client.post(
        "/lapor",
        data=form(await csrf_token(client), region_code="32.73", latitude="utara", nik="1234"),
    )
    assert '<option value="32.73" selected>Kota Bandung</option>' in kept.text
    assert 'id="latitude-error">Harus berupa angka' in kept.text
    lonely = await client.post(
        "/lapor?lang=en",
        data=form(await csrf_token(client), region_code="32.73", latitude="-6.9", language="en"),
    )
    assert lonely.status_code == 422
    assert 'id="latitude-error">give both latitude and longitude, or neither' in lonely.text


async def test_the_json_api_takes_a_location_and_refuses_an_unknown_region(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    code = await file_json(client, location={"region_code": "35.78.01", "address": "Pasar Genteng"})
    (received,) = await outbox_events(pool, (await complaint(pool, code))["complaint_id"])
    assert (received.payload.location.region_code, received.payload.location.city) == (
        "35.78.01",
        "Kota Surabaya",
    )
    flat = await file_json(client, region_code="32.73", city="Bandung")  # older clients
    (flat_event,) = await outbox_events(pool, (await complaint(pool, flat))["complaint_id"])
    assert (flat_event.payload.location.region_code, flat_event.payload.location.city) == (
        "32.73",
        "Bandung",
    )
    base = {
        "name": "Budi Santoso",
        "nik": NIK,
        "phone": "081234567890",
        "description": "Bantuan sosial keluarga kami dihentikan sejak Maret tanpa alasan jelas.",
    }
    for place in (
        {"location": {"region_code": "32.99"}},  # no such regency
        {"location": {"region_code": "32"}},  # a province is not precise enough
        {"location": {"region_code": "32.73.99"}},  # no such district
        {"location": {"region_code": "32.73", "latitude": -6.9}},  # half a coordinate
        {"location": {"region_code": "32.73", "latitude": -91, "longitude": 0}},
        {"location": {"region_code": "32.73"}, "region_code": "32.73"},  # both forms
        {"region_code": "99.01"},
    ):
        refused = await client.post("/v1/complaints", json={**base, **place})
        assert refused.status_code == 422, place
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert set(schema["IncidentLocation"]["properties"]) == {
        "region_code",
        "address",
        "latitude",
        "longitude",
    }
    assert "location" in schema["ComplaintRequest"]["properties"]


# --------------------------------------------------------------------- the citizen's words

# After any real filing time: the timeline sorts by time, and the complaint is received now.
ASSIGNED_AT = datetime(2030, 12, 9, 2, 30, tzinfo=UTC)  # 09.30 WIB
RESPONSE_DUE = datetime(2030, 12, 16, 2, 30, tzinfo=UTC)


def land_case_assigned(complaint_id: uuid.UUID, code: str) -> CaseAssigned:
    return CaseAssigned(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="routing",
        occurred_at=ASSIGNED_AT,
        payload=CaseAssignedPayload(
            case_id=uuid.uuid5(complaint_id, "case"),
            tracking_code=code,
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
            rule_id="land-national",
            due_at=ASSIGNED_AT + timedelta(days=20),
            response_due_at=RESPONSE_DUE,
        ),
    )


async def apply_events(
    pool: asyncpg.Pool, code: str, *steps: tuple[CaseStatus, str | None]
) -> None:
    """Routing assigns the case (with the agency's deadline), then changes its status."""
    complaint_id = (await complaint(pool, code))["complaint_id"]
    events: list[Event] = [land_case_assigned(complaint_id, code)]
    for minutes, (status, note) in enumerate(steps, start=1):
        event = case_event(complaint_id, code, status, note)
        events.append(
            event.model_copy(update={"occurred_at": ASSIGNED_AT + timedelta(minutes=minutes)})
        )
    for event in events:
        async with pool.acquire() as conn, conn.transaction():
            await handlers.HANDLERS[event.event_type](event, conn)


async def test_the_status_page_and_api_speak_to_the_citizen_in_words_and_wib(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    code = await file_json(client)
    note = "Petugas kami akan mengukur ulang tanah Anda."
    await apply_events(pool, code, (CaseStatus.IN_PROGRESS, note))

    page = await client.get(f"/lapor/status?kode={code}")
    assert page.status_code == 200
    assert 'data-status="in_progress">Sedang ditindaklanjuti instansi</dd>' in page.text
    assert 'id="agency">Kementerian ATR/BPN</dd>' in page.text
    assert 'id="due-by">paling lambat 16 Des 2030 09.30 WIB</dd>' in page.text
    assert 'id="next-step">Instansi sedang menindaklanjuti' in page.text
    assert "9 Des 2030 09.30 WIB</time>: Diteruskan ke instansi (Kementerian ATR/BPN)" in page.text
    assert f"9 Des 2030 09.31 WIB</time>: Sedang ditindaklanjuti instansi ({note})" in page.text
    assert "UTC" not in page.text and "forwarded_to_agency<" not in page.text
    english = await client.get(f"/lapor/status?kode={code}&lang=en")
    assert 'data-status="in_progress">Being handled by the agency</dd>' in english.text
    assert 'id="due-by">by 16 Dec 2030 09:30 WIB</dd>' in english.text
    assert "9 Dec 2030 09:30 WIB</time>: Forwarded to the agency" in english.text

    view = (await client.get(f"/v1/complaints/{code}")).json()
    # Every field that was there stays, with the same values; the display fields come along.
    assert (view["status"], view["agency_name"], view["status_detail"]) == (
        "in_progress",
        "Kementerian ATR/BPN",
        note,
    )
    assert view["language"] == "id" and view["secret"] is False
    assert view["status_label"] == "Sedang ditindaklanjuti instansi"
    assert view["due_by"] == "paling lambat 16 Des 2030 09.30 WIB"
    assert datetime.fromisoformat(view["due_at"]) == RESPONSE_DUE
    assert view["next_step"] and view["received_at_wib"].endswith(" WIB")
    assigned, started = view["timeline"][-2:]
    assert (assigned["status"], assigned["status_label"], assigned["occurred_at_wib"]) == (
        "forwarded_to_agency",
        "Diteruskan ke instansi",
        "9 Des 2030 09.30 WIB",
    )
    assert (started["detail"], started["note"]) == (note, note)
    in_english = (await client.get(f"/v1/complaints/{code}?lang=en")).json()
    assert in_english["language"] == "en"
    assert in_english["status_label"] == "Being handled by the agency"
    assert in_english["due_by"] == "by 16 Dec 2030 09:30 WIB"
    assert (await client.get(f"/v1/complaints/{code}?lang=fr")).status_code == 422


async def test_the_api_speaks_the_reporter_s_language_unless_asked_otherwise(
    client: httpx.AsyncClient,
) -> None:
    code = await file_json(client, language="en")
    view = (await client.get(f"/v1/complaints/{code}")).json()
    assert (view["language"], view["status_label"]) == ("en", "Received")
    assert view["due_by"].startswith("within 14 working days of receipt")
    assert view["due_at"] is None  # the service standard, not an invented date
    asked = (await client.get(f"/v1/complaints/{code}?lang=id")).json()
    assert (asked["language"], asked["status_label"]) == ("id", "Diterima")


async def test_a_secret_report_shows_only_its_status_and_steps_in_public(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    note = "Tim BPN akan mengukur ulang pada 12 Desember."
    secret, open_ = await file_json(client, secret=True), await file_json(client)
    for code in (secret, open_):
        await apply_events(pool, code, (CaseStatus.IN_PROGRESS, None), (CaseStatus.RESPONDED, note))
    # The same events on a report that is not secret show the agency's note and name.
    shown = await client.get(f"/v1/complaints/{open_}")
    assert note in shown.text and "Kementerian ATR/BPN" in shown.text

    public = await client.get(f"/v1/complaints/{secret}")
    assert public.status_code == 200
    assert note not in public.text and "ATR" not in public.text
    view = public.json()
    assert view["secret"] is True and view["status"] == "first_response_received"
    assert view["status_label"] == "Tanggapan pertama diterima"
    assert (view["status_detail"], view["agency_name"]) == (None, None)
    assert [entry["status"] for entry in view["timeline"]] == [
        "received",
        "forwarded_to_agency",
        "in_progress",
        "first_response_received",
    ]
    assert all(entry["detail"] is None and entry["note"] is None for entry in view["timeline"])
    page = await client.get(f"/lapor/status?kode={secret}")
    assert page.status_code == 200 and 'id="secret-note"' in page.text
    assert "Tanggapan pertama diterima" in page.text
    assert note not in page.text and "ATR" not in page.text

    # Its owner, after proving it is theirs, still sees what the agency wrote.
    owner = await client.post(f"/v1/complaints/{secret}/details", json={"phone": "081234567890"})
    assert owner.status_code == 200, owner.text
    details = owner.json()
    assert details["status_detail"] == note and details["agency_name"] == "Kementerian ATR/BPN"
    assert details["status_label"] == "Tanggapan pertama diterima"
    assert note in [entry["note"] for entry in details["timeline"]]


# --------------------------------------------------- the same words on WhatsApp (STATUS#)

OWNER_WA_ID = "6281234567890"  # the phone file_json gives, as WhatsApp writes it


async def whatsapp_reply(pool: asyncpg.Pool, wa_id: str, text: str) -> str:
    """What intake answers a WhatsApp message: the text of its replies in the outbox."""
    message = InboundMessage(
        message_id=f"wamid.{uuid.uuid4().hex}",
        wa_id=wa_id,
        sent_at=datetime.now(UTC),
        kind="text",
        text=text,
    )
    async with pool.acquire() as conn, conn.transaction():
        await whatsapp.process_message(conn, message, SETTINGS, default_keystore())
    rows = await pool.fetch("SELECT payload FROM intake.outbox ORDER BY id")
    sealed = [
        event.payload.text
        for event in map(parse_event, (row["payload"] for row in rows))
        if event.event_type == "CitizenReplyRequested"
        and event.payload.in_reply_to == message.message_id
    ]
    assert sealed and all(map(is_sealed, sealed)), "no reply, or one in the clear"
    async with pool.acquire() as conn:  # as the notifier opens it to send
        replies = [await default_keystore().reveal(conn, text) or "" for text in sealed]
    return "\n\n".join(replies)


async def test_status_and_additions_on_whatsapp_answer_in_the_citizen_s_language(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    code = await file_json(client, language="en")
    await apply_events(pool, code, (CaseStatus.IN_PROGRESS, "We measure the land again."))

    # The owner's number: their report's language, with words, agency, next step, deadline.
    reply = await whatsapp_reply(pool, OWNER_WA_ID, f"STATUS#{code}")
    assert reply.startswith(
        f"Status of report {code}: Being handled by the agency (Kementerian ATR/BPN)."
    )
    assert "Updated " in reply and " WIB" in reply and "UTC" not in reply
    assert "Next: The agency is acting on your report" in reply
    assert "Due: by 16 Dec 2030 09:30 WIB." in reply
    added = await whatsapp_reply(pool, OWNER_WA_ID, f"TAMBAH#{code}")  # no text, no document
    assert added.startswith("To add information or documents")

    # Someone else's number, no conversation open: Bahasa Indonesia.
    stranger = "6281111111111"
    reply = await whatsapp_reply(pool, stranger, f"STATUS#{code}")
    assert reply.startswith(f"Status laporan {code}: Sedang ditindaklanjuti instansi")
    assert "Batas waktu: paling lambat 16 Des 2030 09.30 WIB." in reply
    unknown = await whatsapp_reply(pool, stranger, f"TAMBAH#{code}#bukan laporan saya")
    assert unknown.startswith("Kami tidak menemukan laporan")

    # A citizen in an English conversation is answered in English, whatever they ask.
    greeter = "6282222222222"
    assert (await whatsapp_reply(pool, greeter, "hello")).startswith("Welcome")
    assert (await whatsapp_reply(pool, greeter, "STATUS#LPR-0000")).startswith("We found no report")
    assert (await whatsapp_reply(pool, greeter, f"TAMBAH#{code}#mine")).startswith(
        "We found no report with that code from this WhatsApp number"
    )
    assert (await whatsapp_reply(pool, greeter, "TAMBAH#")).startswith(
        "To add information or documents"
    )


async def test_berhenti_on_whatsapp_reaches_the_notifier_sealed_and_mulai_reverses_it(
    pool: asyncpg.Pool,
) -> None:
    """BERHENTI: the draft is dropped, the citizen is answered in the conversation's language,
    and a CitizenOptOutRequested for the notifier goes through the outbox with the WhatsApp
    number sealed under its key; MULAI the same way back."""
    wa_id = f"62813{uuid.uuid4().int % 10**8:08d}"

    async def requests() -> list[tuple[bytes, Any]]:
        rows = await pool.fetch("SELECT key, payload FROM intake.outbox ORDER BY id")
        return [
            (row["key"], event)
            for row in rows
            for event in [parse_event(row["payload"])]
            if event.event_type == "CitizenOptOutRequested"
        ]

    before = len(await requests())
    assert (await whatsapp_reply(pool, wa_id, "hello")).startswith("Welcome")
    stop = await whatsapp_reply(pool, wa_id, "Stop")
    assert stop.startswith("The report you were writing was discarded.") and "START" in stop
    start = await whatsapp_reply(pool, wa_id, "MULAI")
    assert start.startswith("Baik, nomor ini akan menerima pemberitahuan") and "HALO" in start
    assert (await whatsapp_reply(pool, wa_id, "Siti Aminah")).startswith("Selamat datang")

    made = (await requests())[before:]
    assert [event.payload.opted_out for _, event in made] == [True, False]
    keys = default_keystore()
    async with pool.acquire() as conn:
        for key, event in made:
            assert event.complaint_id is None and key == str(event.correlation_id).encode()
            assert is_sealed(event.payload.address) and wa_id not in event.model_dump_json()
            assert await keys.reveal(conn, event.payload.address) == wa_id
            assert event.payload.channel == Channel.WHATSAPP
