"""Documents, in process against the real PostgreSQL: web uploads kept sealed with the
reporter's data key (sha256 beside them, a reference in the event), the type decided by the
content, the owner's and staff's (signed link) ways to open a document, and erasure making it
gone (410)."""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from schemas import document_links
from schemas.events import parse_event
from services.intake.bootstrap import create_app
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import Keystore, default_keystore

pytestmark = pytest.mark.integration

SECRET = "test-document-link-secret"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 32 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
SETTINGS = IntakeSettings(
    max_attachment_bytes=4096,
    max_attachments=2,
    one_time_code_key="k",
    rate_limit_per_ip_per_minute=100_000,
    rate_limit_per_ip_burst=10_000,
    complaints_per_reporter_per_hour=1000,
)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def pool(intake_pool: asyncpg.Pool) -> asyncpg.Pool:
    return intake_pool


@pytest.fixture(scope="module")
async def client(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lambda: pool, SETTINGS, default_keystore(), document_link_secret=SECRET)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


def new_nik() -> str:
    """A reporter of their own per test, so erasing one erases no other test's data."""
    return "317101550190" + "".join(random.choices("0123456789", k=4))


async def upload(
    client: httpx.AsyncClient,
    files: list[tuple[str, tuple[str, bytes, str]]],
    nik: str,
    **flags: str,
) -> httpx.Response:
    page = await client.get("/lapor")
    match = CSRF_FIELD.search(page.text)
    assert match
    fields = {
        "form_token": str(uuid.uuid4()),
        "csrf_token": match.group(1),
        "name": "Siti Aminah",
        "nik": nik,
        "phone": "0812-3456-7890",
        "description": "Ijazah anak saya ditahan sekolah karena tunggakan biaya komite.",
        **flags,
    }
    return await client.post("/lapor", data=fields, files=files)


async def filed_with(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    name: str,
    data: bytes,
    mime: str,
    **flags: str,
) -> tuple[asyncpg.Record, object]:
    """File a web complaint with one document (`flags`: the form's checkboxes, e.g.
    anonymous="on"); its stored row and its ComplaintReceived."""
    response = await upload(client, [("attachments", (name, data, mime))], new_nik(), **flags)
    assert response.status_code == 303, response.text
    code = response.headers["location"].split("/")[-1].split("?")[0]
    complaint_id = await pool.fetchval(
        "SELECT complaint_id FROM intake.complaints WHERE tracking_code = $1", code
    )
    row = await pool.fetchrow(
        "SELECT c.tracking_code, a.* FROM intake.complaint_attachments a"
        " JOIN intake.complaints c USING (complaint_id) WHERE complaint_id = $1",
        complaint_id,
    )
    events = [
        parse_event(r["payload"]) for r in await pool.fetch("SELECT payload FROM intake.outbox")
    ]
    (received,) = [e for e in events if e.complaint_id == complaint_id]
    return row, received


@pytest.mark.parametrize(
    ("name", "data", "declared", "kind"),
    [
        ("bukti.pdf", PDF, "application/pdf", "application/pdf"),
        ("foto.jpg", JPEG, "image/jpeg", "image/jpeg"),
        ("foto.pdf", PNG, "application/pdf", "image/png"),  # the content decides
    ],
)
async def test_an_upload_is_stored_sealed_and_the_event_carries_a_reference(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    name: str,
    data: bytes,
    declared: str,
    kind: str,
) -> None:
    row, received = await filed_with(client, pool, name, data, declared)
    digest = hashlib.sha256(data).hexdigest()
    assert (row["media_type"], row["size_bytes"], row["sha256"]) == (kind, len(data), digest)
    assert data not in row["content"] and row["key_id"]
    # Sealed with the reporter's key: the one their personal fields name.
    assert f"pd1:{row['key_id']}:" in received.payload.reporter.name  # type: ignore[attr-defined]
    async with pool.acquire() as conn:
        assert await default_keystore().open_bytes(conn, row["key_id"], row["content"]) == data
    (attachment,) = received.payload.attachments  # type: ignore[attr-defined]
    assert (attachment.attachment_id, attachment.media_type) == (row["attachment_id"], kind)
    assert (attachment.size_bytes, attachment.sha256) == (len(data), digest)
    raws = [bytes(r["payload"]) for r in await pool.fetch("SELECT payload FROM intake.outbox")]
    (raw,) = [r for r in raws if str(received.complaint_id).encode() in r]
    assert digest.encode() in raw and b"JFIF" not in raw and b"%PDF" not in raw  # no bytes


@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "application/octet-stream"),
        ("bukti.pdf", b"This is a text file renamed to .pdf\n", "application/pdf"),
        ("foto.png", b"GIF89a\x01\x00\x01\x00", "image/png"),
    ],
)
async def test_anything_but_pdf_jpeg_png_is_refused_with_a_field_error(
    client: httpx.AsyncClient, pool: asyncpg.Pool, name: str, data: bytes, declared: str
) -> None:
    before = await pool.fetchval("SELECT count(*) FROM intake.complaint_attachments")
    response = await upload(client, [("attachments", (name, data, declared))], new_nik())
    assert response.status_code == 422
    assert re.search(r'id="attachments-error">[^<]*hanya PDF, JPG atau PNG', response.text)
    assert await pool.fetchval("SELECT count(*) FROM intake.complaint_attachments") == before


def signed(row: asyncpg.Record, **changes: object) -> str:
    link = {
        "complaint_id": row["complaint_id"],
        "attachment_id": row["attachment_id"],
        "expires_at": datetime.now(UTC) + timedelta(minutes=10),
        "audience": "routing:atr-bpn:officer-7",
        "secret": SECRET,
        **changes,
    }
    return document_links.link(**link)  # type: ignore[arg-type]


async def test_staff_open_a_document_through_a_signed_link_only(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    row, _ = await filed_with(client, pool, "kk.png", PNG, "image/png")
    ok = await client.get(signed(row))
    assert ok.status_code == 200 and ok.content == PNG
    assert ok.headers["content-type"] == "image/png"
    assert ok.headers["content-disposition"].startswith("attachment;")
    assert ok.headers["x-content-type-options"] == "nosniff"
    assert ok.headers["cache-control"] == "no-store"

    expired = signed(row, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await client.get(expired)).status_code == 403
    assert (await client.get(signed(row, secret="guessed"))).status_code == 403
    # A valid link for one audience, replayed with another: the signature no longer fits.
    parts = urlsplit(signed(row))
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    tampered = await client.get(parts.path, params={**query, "audience": "routing:other:o1"})
    assert tampered.status_code == 403
    unsigned = await client.get(parts.path, params={"expires": query["expires"]})
    assert unsigned.status_code == 422
    unknown = signed(row, attachment_id="upload:" + "0" * 32)
    assert (await client.get(unknown)).status_code == 404
    other = signed(row, complaint_id=uuid.uuid4())
    assert (await client.get(other)).status_code == 404


async def test_the_owner_opens_their_document_after_proof_and_erasure_makes_it_gone(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    row, _ = await filed_with(client, pool, "bukti.pdf", PDF, "application/pdf")
    path = f"/v1/complaints/{row['tracking_code']}/documents/{row['attachment_id']}"
    assert (await client.post(path, json={"phone": "081111111111"})).status_code == 403
    mine = await client.post(path, json={"phone": "+62 812-3456-7890"})
    assert mine.status_code == 200 and mine.content == PDF
    assert mine.headers["content-type"] == "application/pdf"
    details = await client.post(
        f"/v1/complaints/{row['tracking_code']}/details", json={"phone": "081234567890"}
    )
    assert details.json()["attachments"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()

    async with pool.acquire() as conn:  # `lapor reporter erase`: the key is destroyed
        assert await default_keystore().erase(conn, key_ids=[row["key_id"]]) == [row["key_id"]]
        stored = await conn.fetchval(
            "SELECT content FROM intake.complaint_attachments WHERE complaint_id = $1",
            row["complaint_id"],
        )
        assert await Keystore.from_env().open_bytes(conn, row["key_id"], stored) is None
    gone = await client.get(signed(row))
    assert gone.status_code == 410
