"""Schemathesis fuzzes the running notifier's OpenAPI document: no input may cause a 5xx,
every response must match what the document declares, and every operation must refuse
requests without a valid token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.schemathesis_cli import run_schemathesis
from tests.support import ServiceProcess

pytestmark = pytest.mark.e2e

OPERATOR_TOKEN = "fuzz-operator-token"
GATEWAY_TOKEN = "fuzz-sms-gateway-token"


@pytest.fixture(scope="module")
async def notifier(stack, database_url, topics, tmp_path_factory) -> AsyncIterator[ServiceProcess]:  # type: ignore[no-untyped-def]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_NOTIFIER_OPERATORS": f"fuzz-operator:{OPERATOR_TOKEN}",
        "LAPOR_NOTIFIER_INBOUND_TOKENS": f"sms-gateway:{GATEWAY_TOKEN}",
    }
    service = ServiceProcess("notifier", env, tmp_path_factory.mktemp("notifier-fuzz-logs"))
    service.start()
    try:
        await service.wait_ready()
        yield service
    finally:
        assert service.terminate() == 0, service.log_tail()


async def test_no_generated_request_breaks_the_notifier_api(
    notifier: ServiceProcess, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=notifier.url) as client:
        for token in (OPERATOR_TOKEN, GATEWAY_TOKEN):  # the fuzzing gets past authentication
            answer = await client.post(
                "/v1/inbound-texts",
                json={"address": "081234567890", "text": "halo"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text
    await run_schemathesis(notifier.url, OPERATOR_TOKEN, tmp_path, max_examples=50)
    # The SMS gateway's token: inbound texts work, everything else is a documented 403.
    await run_schemathesis(notifier.url, GATEWAY_TOKEN, tmp_path, max_examples=10)
    log = notifier.log_text()
    assert "Exception in ASGI application" not in log, notifier.log_tail()
    assert '"level": "ERROR", "logger": "services' not in log, notifier.log_tail()
