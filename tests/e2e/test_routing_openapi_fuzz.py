"""Schemathesis fuzzes the running routing service's OpenAPI document: no input may cause a 5xx,
every response must match what the document declares, and secured operations must refuse
requests without a valid officer token."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from schemas.events import Category, Channel, ComplaintAccepted, ComplaintAcceptedPayload, Priority
from services.messaging import outbox
from services.messaging.database import create_pool
from services.routing.adapters import repository
from services.routing.handlers.opening import open_case
from tests.e2e.schemathesis_cli import run_schemathesis
from tests.support import ServiceProcess

pytestmark = pytest.mark.e2e

ADMIN_TOKEN = "fuzz-setwapres-admin-token"
OFFICER_TOKEN = "fuzz-atr-officer-token"


async def _seed(database_url: str) -> None:
    """Officers, and cases in both queues, so the stateful phase follows real case ids."""
    pool = await create_pool(database_url, "routing")
    try:
        async with pool.acquire() as conn:
            await repository.create_officer(
                conn, "fuzz-admin", "SETWAPRES", ADMIN_TOKEN, role="admin"
            )
            await repository.create_officer(conn, "fuzz-officer", "ATR-BPN", OFFICER_TOKEN)
            for category, region in (
                (Category.OTHER, None),  # no rule: Setwapres' manual queue
                (Category.OTHER, "32.73"),
                (Category.LAND, "31.71"),  # ATR/BPN
                (Category.LAND, "32.73.01"),
            ):
                complaint_id = uuid.uuid4()
                event = ComplaintAccepted(
                    complaint_id=complaint_id,
                    correlation_id=complaint_id,
                    producer="triage",
                    payload=ComplaintAcceptedPayload(
                        tracking_code=f"LPR-FUZZ-{complaint_id.hex[:4].upper()}-AAA",
                        channel=Channel.WEB,
                        category=category,
                        priority=Priority.NORMAL,
                        region_code=region,
                        summary="Jalan rusak di depan sekolah",
                    ),
                )
                async with conn.transaction():
                    await outbox.enqueue(conn, await open_case(event, conn))
    finally:
        await pool.close()


@pytest.fixture(scope="module")
async def routing(stack, database_url, topics, tmp_path_factory) -> AsyncIterator[ServiceProcess]:  # type: ignore[no-untyped-def]
    env = {"LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap, "LAPOR_DATABASE_URL": database_url}
    service = ServiceProcess("routing", env, tmp_path_factory.mktemp("routing-fuzz-logs"))
    service.start()
    try:
        await service.wait_ready()  # migrations have run
        await _seed(database_url)
        yield service
    finally:
        assert service.terminate() == 0, service.log_tail()


async def test_no_generated_request_breaks_the_routing_api(
    routing: ServiceProcess, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=routing.url) as client:
        # the tokens work, so the fuzzing reaches past authentication
        for token in (ADMIN_TOKEN, OFFICER_TOKEN):
            inbox = await client.get("/v1/desk/cases", headers={"Authorization": f"Bearer {token}"})
            assert inbox.status_code == 200 and inbox.json()["cases"], inbox.text
    # Setwapres' admin reaches every operation: rules, calendar, manual disposition, its desk.
    await run_schemathesis(routing.url, ADMIN_TOKEN, tmp_path)
    # An agency officer: its own desk (the public summary too), and 403s on the admin ones.
    await run_schemathesis(
        routing.url,
        OFFICER_TOKEN,
        tmp_path,
        "--include-path-regex",
        "^/(v1/desk|v1/rules$)",
        max_examples=10,
    )
    log = routing.log_text()
    assert "Exception in ASGI application" not in log, routing.log_tail()
    assert '"level": "ERROR", "logger": "services' not in log, routing.log_tail()
