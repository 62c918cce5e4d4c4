"""Schemathesis fuzzes the running intake's OpenAPI document: no input may cause a 5xx; on
Open311's routes every status is also one the document declares."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from schemas import staff
from schemas.staff import Role, StaffMember
from services.intake.entrypoints.open311_cli import add_client_cli
from tests.e2e.test_intake_whatsapp import Intake

pytestmark = pytest.mark.e2e

STAFF_SECRET = "intake-fuzz-staff-secret"
# A desk officer's assertion that outlives the run (the back office's live a minute), so the
# fuzzing reaches the desk's handlers past authentication.
DESK_OFFICER = staff.sign(
    StaffMember("fuzz-officer", frozenset({Role.DESK_OFFICER}), None),
    STAFF_SECRET,
    lifetime_seconds=3600,
)


@pytest.fixture(scope="module")
async def intake(stack, database_url, topics, tmp_path_factory) -> AsyncIterator[Intake]:  # type: ignore[no-untyped-def]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_STAFF_ASSERTION_SECRET": STAFF_SECRET,
        "LAPOR_INTAKE_WHATSAPP_APP_SECRET": "fuzz-secret",
        "LAPOR_INTAKE_WHATSAPP_VERIFY_TOKEN": "fuzz-verify",
        # Thousands of generated requests from one address: lift the per-IP limit (a 429 is
        # not a server error, but it would stop the fuzzer from reaching the handlers).
        "LAPOR_INTAKE_RATE_LIMIT_PER_IP_PER_MINUTE": "1000000",
        "LAPOR_INTAKE_RATE_LIMIT_PER_IP_BURST": "100000",
    }
    service = Intake(env, tmp_path_factory.mktemp("intake-fuzz-logs"))
    await service.start()
    yield service
    assert service.process.terminate() == 0, service.process.log_tail()


async def test_no_generated_request_gets_a_server_error(intake: Intake, tmp_path: Path) -> None:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    process = await asyncio.create_subprocess_exec(
        cli,
        "run",
        f"{intake.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "25",
        "--seed",
        "20261123",
        "--header",
        f"{staff.HEADER}: {DESK_OFFICER}",
        "--request-timeout",
        "30",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-4000:]
    assert " passed" in report and "Server error" not in report
    assert '"level": "ERROR", "logger": "services' not in intake.process.log_text()


async def test_no_generated_open311_request_gets_a_server_error(
    intake: Intake, database_url: str, tmp_path: Path
) -> None:
    """Open311 alone, with a live client key in the document (as its only allowed value), so
    the fuzzing reaches past the key check to the filing itself."""
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    _, key = await asyncio.to_thread(add_client_cli, "Fuzzer", database_url)
    async with httpx.AsyncClient(base_url=intake.url) as client:
        document = (await client.get("/openapi.json")).json()
    form = document["paths"]["/open311/v2/requests.{format}"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"
    ]
    form["schema"]["properties"]["api_key"] = {"type": "string", "enum": [key]}
    form["example"]["api_key"] = key
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(document))
    process = await asyncio.create_subprocess_exec(
        cli,
        "run",
        str(schema),
        "--url",
        intake.url,
        "--include-path-regex",
        "^/open311/",
        "--checks",
        # Not content types: the HTTP server itself refuses an over-long request line in
        # text/plain before the app sees it.
        "not_a_server_error,status_code_conformance",
        "--max-examples",
        "60",
        "--seed",
        "20261207",
        "--request-timeout",
        "30",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-6000:]
    assert " passed" in report and "Server error" not in report, report[-6000:]
    # The document's example reached past the key check and filed (the fuzz itself mostly
    # gets the 400s of nonsense).
    conn = await asyncpg.connect(database_url)
    try:
        filed = await conn.fetchval(
            "SELECT count(*) FROM intake.complaints WHERE channel = 'open311'"
        )
    finally:
        await conn.close()
    assert filed >= 1
