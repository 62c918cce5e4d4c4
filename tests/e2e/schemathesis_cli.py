"""Run the schemathesis CLI against a running service's OpenAPI document."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

# No 5xx, every response as documented (status, content type, body schema), and an operation
# that declares a security scheme must refuse requests without valid credentials.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "ignored_auth",
)
SEED = "20261123"


async def run_schemathesis(
    url: str, token: str, workdir: Path, *extra: str, max_examples: int = 25
) -> str:
    """Fuzz `url`/openapi.json with `token` as the bearer; fail the test on any finding."""
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    process = await asyncio.create_subprocess_exec(
        cli,
        "run",
        f"{url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(max_examples),
        "--seed",
        SEED,
        "--header",
        f"Authorization: Bearer {token}",
        "--request-timeout",
        "30",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,  # schemathesis keeps a cache in its working directory
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-6000:]
    assert " passed" in report and "Server error" not in report, report[-6000:]
    return report
