"""Schemathesis fuzzes triage's JSON routes on faust's web server against the hand-written
OpenAPI document it serves (`GET /openapi.json`, entrypoints/review_openapi.py): no input may
cause a 5xx, every answer must match the document (status, content type, body), and every
operation refuses requests without credentials. Complaints triage is unsure of are in the
review queue first, so the items listed are real ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas import staff
from schemas.staff import Role, StaffMember
from services.messaging.kafka import make_producer, publish
from tests.e2e.schemathesis_cli import run_schemathesis
from tests.e2e.test_triage_stream import complaint, nik
from tests.support import ServiceProcess, eventually

pytestmark = pytest.mark.e2e

REVIEWER_TOKEN = "fuzz-reviewer-token"
STAFF_SECRET = "triage-fuzz-staff-secret"


@pytest.fixture(scope="module")
async def triage(stack, database_url, topics, tmp_path_factory) -> AsyncIterator[ServiceProcess]:  # type: ignore[no-untyped-def]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_TRIAGE_REVIEWERS": f"fuzz:{REVIEWER_TOKEN}",
        "LAPOR_STAFF_ASSERTION_SECRET": STAFF_SECRET,
    }
    service = ServiceProcess("triage", env, tmp_path_factory.mktemp("triage-fuzz-logs"))
    service.start()
    try:
        await service.wait_ready()
        yield service
    finally:
        assert service.terminate() == 0, service.log_tail()


async def queued_for_review(stack: Any, triage: ServiceProcess) -> set[str]:
    """Two complaints marked "filed before": triage sends them to review."""
    unsure = [
        complaint(
            f"Pungutan liar oleh petugas parkir di pasar induk nomor {n} setiap pagi tanpa"
            " karcis resmi, sudah pernah saya laporkan ke kelurahan.",
            nik(500 + n),
            region="31.71",
            filed_before=True,
        )
        for n in range(2)
    ]
    producer = make_producer(stack.kafka_bootstrap, "triage-fuzz")
    await producer.start()
    try:
        await publish(producer, unsure)
    finally:
        await producer.stop()
    wanted = {str(item.complaint_id) for item in unsure}
    headers = {"Authorization": f"Bearer {REVIEWER_TOKEN}"}
    async with httpx.AsyncClient(base_url=triage.url, timeout=30) as client:

        async def listed() -> set[str]:
            answer = await client.get("/v1/review", headers=headers)
            found = {i["complaint_id"] for i in answer.json().get("items", [])}
            return found if wanted <= found else set()

        return await eventually(listed, within=120)


async def test_no_generated_request_breaks_triages_review_api(
    stack,  # type: ignore[no-untyped-def]
    triage: ServiceProcess,
    tmp_path: Path,
) -> None:
    assert await queued_for_review(stack, triage)
    async with httpx.AsyncClient(base_url=triage.url, timeout=30) as client:
        document = (await client.get("/openapi.json")).json()
    assert (
        document["openapi"].startswith("3.1")
        and "/v1/review/{complaint_id}/claim" in (document["paths"])
    )
    # A reviewer's token reaches every review operation.
    await run_schemathesis(
        triage.url, REVIEWER_TOKEN, tmp_path, "--include-path-regex", "^/v1/review"
    )
    # An admin's staff assertion (which wins over the token) reaches the dead letters too;
    # it outlives the run (the back office's live a minute).
    admin = staff.sign(
        StaffMember("fuzz-admin", frozenset({Role.ADMIN}), None),
        STAFF_SECRET,
        lifetime_seconds=3600,
    )
    await run_schemathesis(
        triage.url, "none", tmp_path, "--header", f"{staff.HEADER}: {admin}", max_examples=10
    )
    log = triage.log_text()
    # a handler that raised (aiohttp's own 400s for malformed HTTP are not handlers')
    assert "in _handle_request" not in log, triage.log_tail()
    assert '"level": "ERROR", "logger": "services' not in log, triage.log_tail()
