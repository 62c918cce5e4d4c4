"""Open311 GeoReport v2 on intake, in process against the real PostgreSQL: filing with a
client key through the one filing path, the public list fed by the events intake reads,
privacy (secret, anonymous, held, rejected never listed; no personal data; the citizen's words
only as a published summary), both formats and the spec's errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import asyncpg
import httpx
import pytest

from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintReceived,
    follow_up_ids,
    parse_event,
)
from schemas.events.routing import CasePublicSummaryPublished, CasePublicSummaryPublishedPayload
from schemas.personal_data import is_sealed
from services.intake.adapters import open311
from services.intake.bootstrap import create_app
from services.intake.handlers import statuses
from services.intake.settings import IntakeSettings
from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import default_keystore
from tests.support import accepted_event, assigned_event

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "intake" / "migrations"

SETTINGS = IntakeSettings(
    rate_limit_per_ip_per_minute=100_000,
    rate_limit_per_ip_burst=10_000,
    complaints_per_reporter_per_hour=1000,
)
V2 = "/open311/v2"


@pytest.fixture(scope="module")
def pool(intake_pool: asyncpg.Pool) -> asyncpg.Pool:
    return intake_pool


@pytest.fixture(scope="module")
async def client(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lambda: pool, SETTINGS, default_keystore())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


@pytest.fixture(scope="module")
async def api_key(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        _, key = await open311.add_client(conn, "Aplikasi Uji")
    return key


_reporter = iter(range(1, 10_000))


def filing(api_key: str, **overrides: str) -> dict[str, str]:
    n = next(_reporter)
    return {
        "api_key": api_key,
        "service_code": "infrastructure",
        "lat": "-6.9147",
        "long": "107.6098",
        "description": f"Jalan berlubang besar di depan rumah nomor {n} membahayakan pengendara.",
        "first_name": "Siti",
        "last_name": "Aminah",
        "phone": f"0812{n:08d}",
        "attribute[nik]": f"317101550190{n:04d}",
        **overrides,
    }


async def file(client: httpx.AsyncClient, form: dict[str, str], **headers: str) -> dict:  # type: ignore[type-arg]
    response = await client.post(f"{V2}/requests.json", data=form, headers=headers)
    assert response.status_code == 200, response.text
    (answer,) = response.json()
    return answer  # type: ignore[no-any-return]


async def accept(
    pool: asyncpg.Pool, code: str, *, secret: bool = False, region: str | None = "32.73"
) -> ComplaintAccepted:
    """What triage, then routing, publish for it, applied by intake's consumer handlers."""
    async with pool.acquire() as conn:
        complaint_id = await conn.fetchval(
            "SELECT complaint_id FROM complaints WHERE tracking_code = $1", code
        )
    now = datetime.now(UTC)
    accepted = accepted_event(
        complaint_id,
        code,
        now,
        channel=Channel.OPEN311,
        category=Category.INFRASTRUCTURE,
        region_code=region,
        region_source="incident" if region else None,
        secret=secret,
        summary="Jalan berlubang",
    )
    assigned = assigned_event(
        accepted,
        now,
        agency_code="PEMKOT-BANDUNG",
        agency_name="Pemerintah Kota Bandung",
        rule_id="infrastructure-local",
        response_due_at=now + timedelta(days=7),
    )
    async with pool.acquire() as conn, conn.transaction():
        await statuses.update_statuses([accepted, assigned], conn)
    return accepted


async def test_a_filing_goes_through_the_one_filing_path_sealed_with_the_client_recorded(
    client: httpx.AsyncClient, pool: asyncpg.Pool, api_key: str
) -> None:
    form = filing(api_key, media_url="https://foto.example/lubang.jpg")
    answer = await file(client, form)
    code = answer["service_request_id"]
    assert code.startswith("LPR-") and answer["token"]
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM complaints WHERE tracking_code = $1", code)
        outbox = await conn.fetch(
            "SELECT payload FROM outbox WHERE key = $1", str(row["complaint_id"]).encode()
        )
    assert row["channel"] == "open311" and row["open311_service"] == "infrastructure"
    assert row["open311_client"].startswith("app-")
    (event,) = [parse_event(r["payload"]) for r in outbox]
    assert isinstance(event, ComplaintReceived)
    assert is_sealed(event.payload.reporter.nik) and is_sealed(event.payload.description)
    assert event.payload.location.region_code == "32.73"  # the pin's regency
    # A retry (no Idempotency-Key: the same parameters) files nothing new.
    again = await file(client, form)
    assert again["service_request_id"] == code
    # With an Idempotency-Key: the same key again with other parameters is refused.
    keyed = await file(client, filing(api_key), **{"Idempotency-Key": "app-retry-1"})
    reused = await client.post(
        f"{V2}/requests.json", data=filing(api_key), headers={"Idempotency-Key": "app-retry-1"}
    )
    assert reused.status_code == 409 and reused.json()[0]["code"] == 409
    assert keyed["service_request_id"] != code
    token = await client.get(f"{V2}/tokens/{answer['token']}.json")
    assert token.json() == [{"service_request_id": code, "token": answer["token"]}]


async def test_an_address_string_is_matched_to_its_regency(
    client: httpx.AsyncClient, pool: asyncpg.Pool, api_key: str
) -> None:
    form = filing(api_key, lat="", long="", address_string="Kota Surabaya")
    code = (await file(client, form))["service_request_id"]
    async with pool.acquire() as conn:
        details = await conn.fetchval(
            "SELECT details FROM complaints WHERE tracking_code = $1", code
        )
    assert json.loads(details)["location"]["region_code"] == "35.78"


async def test_bad_filings_get_one_message_per_parameter_in_the_spec_format(
    client: httpx.AsyncClient, api_key: str
) -> None:
    bad = filing(
        api_key,
        service_code="jalan",
        **{"attribute[nik]": "123", "attribute[secret]": "mungkin"},
        lat="",
        long="",
        description="pendek",
    )
    response = await client.post(f"{V2}/requests.json", data=bad)
    assert response.status_code == 400
    described = [e["description"] for e in response.json()]
    assert all(e["code"] == 400 for e in response.json())
    for parameter in ("service_code:", "lat/long:", "attribute[secret]:", "attribute[nik]:"):
        assert any(d.startswith(parameter) for d in described), described
    assert any(d.startswith("description:") for d in described), described
    xml = await client.post(f"{V2}/requests.xml", data=bad)
    assert xml.status_code == 400
    root = ElementTree.fromstring(xml.content)
    assert root.tag == "errors"
    assert [e.findtext("description") for e in root.iter("error")] == described


async def test_filing_needs_a_live_key(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        client_id, key = await open311.add_client(conn, "Aplikasi Dicabut")
    assert (await client.post(f"{V2}/requests.json", data=filing(key))).status_code == 200
    async with pool.acquire() as conn:
        assert await open311.revoke_client(conn, client_id)
    for form in (filing(key), filing("salah"), {**filing(key), "api_key": ""}):
        response = await client.post(f"{V2}/requests.json", data=form)
        assert response.status_code == 403
        assert response.json()[0]["code"] == 403
    assert "revoked" in (await client.post(f"{V2}/requests.json", data=filing(key))).text


async def test_only_accepted_public_reports_are_listed_without_personal_data(
    client: httpx.AsyncClient, pool: asyncpg.Pool, api_key: str
) -> None:
    public = await file(client, filing(api_key))
    secret = await file(client, filing(api_key, **{"attribute[secret]": "true"}))
    anonymous = await file(client, filing(api_key, **{"attribute[anonymous]": "true"}))
    held = await file(client, filing(api_key))
    accepted = await accept(pool, public["service_request_id"])
    await accept(pool, secret["service_request_id"], secret=True)
    await accept(pool, anonymous["service_request_id"])
    listed = (await client.get(f"{V2}/requests.json")).json()
    codes = [item["service_request_id"] for item in listed]
    assert public["service_request_id"] in codes
    for hidden in (secret, anonymous, held):
        assert hidden["service_request_id"] not in codes
        lookup = await client.get(f"{V2}/requests/{hidden['service_request_id']}.json")
        assert lookup.status_code == 404 and lookup.json()[0]["code"] == 404
    (item,) = (await client.get(f"{V2}/requests/{public['service_request_id']}.json")).json()
    assert item["description"] == "Infrastruktur"  # no summary published: the category's name
    assert item["agency_responsible"] == "Pemerintah Kota Bandung"
    assert item["address"] == "Kota Bandung, Jawa Barat"
    assert (item["lat"], item["long"]) == (-6.9, 107.62)  # the regency's point, not the pin
    assert item["status"] == "open" and item["expected_datetime"].endswith("+07:00")
    text = json.dumps(listed)
    assert "Siti" not in text and "berlubang besar" not in text and "0812" not in text
    summary = CasePublicSummaryPublished(
        **follow_up_ids(accepted, "routing", "summary"),
        payload=CasePublicSummaryPublishedPayload(
            case_id=uuid.uuid4(),
            tracking_code=public["service_request_id"],
            agency_code="PEMKOT-BANDUNG",
            summary="Jalan berlubang di Jl. Merdeka; perbaikan dijadwalkan.",
            published_by="officer-1",
        ),
    )
    async with pool.acquire() as conn, conn.transaction():
        await statuses.update_statuses([summary], conn)
    (item,) = (await client.get(f"{V2}/requests/{public['service_request_id']}.json")).json()
    assert item["description"] == "Jalan berlubang di Jl. Merdeka; perbaikan dijadwalkan."


async def test_the_filters_and_both_formats(
    client: httpx.AsyncClient, pool: asyncpg.Pool, api_key: str
) -> None:
    first = (await file(client, filing(api_key)))["service_request_id"]
    second = (await file(client, filing(api_key)))["service_request_id"]
    for code in (first, second):
        await accept(pool, code)
    both = f"{first},{second}"
    listed = (await client.get(f"{V2}/requests.json?service_request_id={both}")).json()
    assert {item["service_request_id"] for item in listed} == {first, second}
    xml = await client.get(f"{V2}/requests.xml?service_request_id={both}")
    assert xml.headers["content-type"].startswith("application/xml")
    requests = ElementTree.fromstring(xml.content).findall("request")
    assert [r.findtext("service_request_id") for r in requests] == [
        item["service_request_id"] for item in listed
    ]
    assert requests[0].findtext("lat") == str(listed[0]["lat"])
    empty = await client.get(f"{V2}/requests.json?service_code=land&status=closed")
    assert first not in empty.text
    past = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    assert first not in (await client.get(f"{V2}/requests.json", params={"end_date": past})).text
    bad = await client.get(f"{V2}/requests.json?status=lost&start_date=kemarin&service_code=x")
    assert bad.status_code == 400
    assert [e["description"].split(":")[0] for e in bad.json()] == [
        "service_code",
        "status",
        "start_date",
    ]


async def test_services_and_definitions_in_indonesian_or_english(
    client: httpx.AsyncClient,
) -> None:
    services = (await client.get(f"{V2}/services.json")).json()
    assert len(services) == len(Category)
    land = next(s for s in services if s["service_code"] == "land")
    assert land["service_name"] == "Pertanahan" and land["metadata"] is True
    english = await client.get(f"{V2}/services.json", headers={"Accept-Language": "en-GB,en"})
    assert next(s for s in english.json() if s["service_code"] == "land")["service_name"] == "Land"
    definition = (await client.get(f"{V2}/services/land.json")).json()
    nik = next(a for a in definition["attributes"] if a["code"] == "nik")
    assert nik["required"] is True and "16 angka" in nik["datatype_description"]
    xml = ElementTree.fromstring((await client.get(f"{V2}/services/land.xml")).content)
    assert [a.findtext("code") for a in xml.iter("attribute")] == [
        a["code"] for a in definition["attributes"]
    ]
    missing = await client.get(f"{V2}/services/jalan.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    found = (await client.get(f"{V2}/discovery.json")).json()
    assert found["endpoints"][0]["url"] == "http://intake/open311/v2"
    xml_found = ElementTree.fromstring((await client.get(f"{V2}/discovery.xml")).content)
    assert xml_found.findtext("endpoints/endpoint/url") == "http://intake/open311/v2"
    wrong_format = await client.get(f"{V2}/services.yaml")
    assert wrong_format.status_code == 400 and wrong_format.json()[0]["code"] == 400


async def test_complaints_accepted_before_open311_are_listed_by_the_same_rule(
    database_url: str, tmp_path: Path
) -> None:
    """Migration 0013 takes the category of complaints accepted before it from their
    timeline; the secret one stays unlisted."""
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "0013":
            (before / path.name).write_text(path.read_text())
    pool = await create_pool(database_url, "intake_before_open311", max_size=1)
    try:
        await migrate(pool, "intake_before_open311", before)
        now = datetime.now(UTC)
        for code, secret in (("LPR-04PA-FCFY-EST", False), ("LPR-EGEG-5R88-DQR", True)):
            complaint_id = uuid.uuid4()
            await pool.execute(
                "INSERT INTO complaints (complaint_id, tracking_code, channel, status,"
                " status_rank, received_at, updated_at, details)"
                " VALUES ($1, $2, 'web', 'forwarded_to_agency', 20, $3, $3, $4::jsonb)",
                complaint_id,
                code,
                now,
                json.dumps({"secret": secret, "anonymous": False}),
            )
            await pool.execute(
                "INSERT INTO complaint_timeline (event_id, complaint_id, event_type, status,"
                " detail, occurred_at) VALUES ($1, $2, 'ComplaintAccepted', 'verified',"
                " 'category: health', $3)",
                uuid.uuid4(),
                complaint_id,
                now,
            )
        await migrate(pool, "intake_before_open311", MIGRATIONS)
        async with pool.acquire() as conn:
            rows = await open311.public_requests(
                conn,
                open311.RequestFilter(start=now - timedelta(days=1), end=now + timedelta(days=1)),
            )
        assert [(r["tracking_code"], r["category"]) for r in rows] == [
            ("LPR-04PA-FCFY-EST", "health")
        ]
    finally:
        await pool.close()
