"""SP4N-LAPOR! forwarding against a real local HTTP server standing in for the national
system, including its failures: 5xx answers, timeouts and refusals."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY

from schemas.events import Category, Channel, ComplaintAccepted, ComplaintAcceptedPayload, Priority
from services.messaging import outbox
from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import default_keystore
from services.routing.adapters.sp4n import Sp4nForwarder, WireFormat
from services.routing.domain import JAKARTA
from services.routing.handlers.opening import open_case
from tests.support import eventually, free_port

pytestmark = pytest.mark.integration
SCHEMA = "routing_sp4n_it"
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "routing" / "migrations"
T0 = datetime(2026, 8, 13, 9, 0, tzinfo=JAKARTA)


@dataclass
class StandIn:
    """The remote side: files a report once per Idempotency-Key and answers a numeric id;
    scripted failures come first. A timed-out request is still filed, late, as a real
    server would after the client gave up."""

    script: list[str] = field(default_factory=list)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    ids: itertools.count = field(default_factory=lambda: itertools.count(4_100_000))

    def app(self) -> FastAPI:
        app = FastAPI()

        async def file_report(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != "Bearer sp4n-secret":
                return JSONResponse({"error": "unauthorised"}, status_code=401)
            form = request.headers["content-type"].startswith("application/x-www-form")
            body = dict(await request.form()) if form else await request.json()
            self.requests.append({"body": body, "form": form, **dict(request.headers)})
            step = self.script.pop(0) if self.script else "ok"
            if step == "503":
                return JSONResponse({"error": "maintenance"}, status_code=503)
            if step == "422":
                return JSONResponse({"error": "kategori tidak dikenal"}, status_code=422)
            if step == "timeout":
                await asyncio.sleep(1.5)
            key = request.headers["idempotency-key"]
            report = self.reports.setdefault(key, {"id": str(next(self.ids)), "body": body})
            if form:
                return JSONResponse({"id": int(report["id"])}, status_code=201)
            return JSONResponse({"status": "ok", "data": {"tracking_id": report["id"]}}, 201)

        app.post("/api/v1/laporan")(file_report)
        app.post("/api/v2/form")(file_report)
        return app


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[StandIn, str]]:
    remote = StandIn()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(remote.app(), host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0.05, server.started), within=10)
    yield remote, f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, SCHEMA)
    await migrate(pool, SCHEMA, MIGRATIONS)
    yield pool
    await pool.close()


async def new_case(pool: asyncpg.Pool, *, secret: bool = False) -> uuid.UUID:
    complaint_id = uuid.uuid4()
    event = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        occurred_at=T0,
        payload=ComplaintAcceptedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-SPAN-AAA",
            channel=Channel.WHATSAPP,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="31.71",
            secret=secret,
            summary="Sertifikat tanah tidak terbit sejak 2019",
        ),
    )
    async with pool.acquire() as conn, conn.transaction():
        (assigned,) = await open_case(event, conn)
        await outbox.enqueue(conn, [assigned])
    await pool.execute(  # leave only this case pending
        "UPDATE sp4n_forwardings SET next_attempt_at = 'infinity'"
        " WHERE remote_id IS NULL AND case_id <> $1",
        assigned.payload.case_id,
    )
    return assigned.payload.case_id


def _attempts(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("lapor_routing_sp4n_attempts_total", {"outcome": outcome}) or 0.0
    )


async def forwarding(pool: asyncpg.Pool, case_id: uuid.UUID) -> asyncpg.Record:
    return await pool.fetchrow("SELECT * FROM sp4n_forwardings WHERE case_id = $1", case_id)


async def test_retries_through_5xx_and_a_timeout_then_records_the_remote_id(
    pool: asyncpg.Pool, stand_in: tuple[StandIn, str]
) -> None:
    remote, base = stand_in
    remote.script = ["503", "timeout"]
    case_id = await new_case(pool)
    retries_before = _attempts("retry")
    forwarder = Sp4nForwarder(
        lambda: pool,
        f"{base}/api/v1/laporan",
        keys=default_keystore(),
        token="sp4n-secret",
        timeout=0.3,
        backoff_base=10,
        backoff_ceiling=600,
    )
    async with httpx.AsyncClient() as client:
        assert await forwarder.forward_due(T0, client) == 0
        first = await forwarding(pool, case_id)
        assert first["attempts"] == 1 and "503" in first["last_error"]
        assert first["next_attempt_at"] == T0 + timedelta(seconds=10)

        assert await forwarder.forward_due(T0 + timedelta(seconds=9), client) == 0
        assert len(remote.requests) == 1  # backing off: nothing sent early

        assert await forwarder.forward_due(T0 + timedelta(seconds=10), client) == 0
        second = await forwarding(pool, case_id)
        assert second["attempts"] == 2 and "Timeout" in second["last_error"]
        assert second["next_attempt_at"] == T0 + timedelta(seconds=30)  # doubled

        await asyncio.sleep(1.5)  # the remote files the timed-out request late
        assert await forwarder.forward_due(T0 + timedelta(seconds=30), client) == 1
    done = await forwarding(pool, case_id)
    assert done["attempts"] == 3 and done["last_error"] is None
    assert _attempts("retry") - retries_before == 2  # exported on /metrics
    assert len(remote.reports) == 1  # the retry after the timeout did not file twice
    (report,) = remote.reports.values()
    assert done["remote_id"] == report["id"] and done["remote_id"].isdigit()
    body = report["body"]
    assert body["instansi_tujuan"] == "ATR-BPN" and body["kategori"] == "land"
    assert body["external_id"].startswith("LPR-") and body["kode_wilayah"] == "31.71"
    assert {r["idempotency-key"] for r in remote.requests} == {f"{case_id}:1"}
    # nothing more to send
    async with httpx.AsyncClient() as client:
        assert await forwarder.forward_due(T0 + timedelta(days=1), client) == 0
    assert len(remote.requests) == 3


async def test_the_wire_format_is_configuration(
    pool: asyncpg.Pool, stand_in: tuple[StandIn, str]
) -> None:
    remote, base = stand_in
    case_id = await new_case(pool, secret=True)
    wire = WireFormat(
        fields={"tracking_code": "no_tiket", "agency_code": "kode_instansi", "summary": "isi"},
        encoding="form",
        remote_id_path="id",
        static={"jenis": "pengaduan"},
    )
    forwarder = Sp4nForwarder(
        lambda: pool, f"{base}/api/v2/form", wire, token="sp4n-secret", keys=default_keystore()
    )
    async with httpx.AsyncClient() as client:
        assert await forwarder.forward_due(T0, client) == 1
    (request,) = remote.requests
    assert request["form"]
    assert set(request["body"]) == {"no_tiket", "kode_instansi", "jenis"}  # secret: no content
    assert (await forwarding(pool, case_id))["remote_id"] == next(iter(remote.reports.values()))[
        "id"
    ]


async def test_a_refusal_stops_retrying_and_a_rerouted_case_is_not_sent(
    pool: asyncpg.Pool, stand_in: tuple[StandIn, str]
) -> None:
    remote, base = stand_in
    remote.script = ["422"]
    refused = await new_case(pool)
    forwarder = Sp4nForwarder(
        lambda: pool, f"{base}/api/v1/laporan", token="sp4n-secret", keys=default_keystore()
    )
    async with httpx.AsyncClient() as client:
        await forwarder.forward_due(T0, client)
        row = await forwarding(pool, refused)
        assert row["remote_id"] is None and "422" in row["last_error"]
        await forwarder.forward_due(T0 + timedelta(days=30), client)
        assert len(remote.requests) == 1

        moved = await new_case(pool)
        await pool.execute(
            "UPDATE cases SET agency_code = 'PEMDA-31', assignment_round = 2 WHERE case_id = $1",
            moved,
        )
        await forwarder.forward_due(T0, client)
    assert len(remote.requests) == 1
    assert (await forwarding(pool, moved))["last_error"].startswith("superseded")


async def test_a_wrong_token_is_a_permanent_refusal(
    pool: asyncpg.Pool, stand_in: tuple[StandIn, str]
) -> None:
    remote, base = stand_in
    case_id = await new_case(pool)
    forwarder = Sp4nForwarder(
        lambda: pool, f"{base}/api/v1/laporan", token="wrong", keys=default_keystore()
    )
    async with httpx.AsyncClient() as client:
        await forwarder.forward_due(T0, client)
    assert "401" in (await forwarding(pool, case_id))["last_error"]
    assert remote.reports == {}
