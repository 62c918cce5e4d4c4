"""The four services as real processes against the real broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.support import ServiceProcess

SERVICES = ("intake", "triage", "routing", "notifier")


class Pipeline:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.services = {name: ServiceProcess(name, env, log_dir) for name in SERVICES}

    @property
    def intake_url(self) -> str:
        return self.services["intake"].url

    async def start(self) -> None:
        for service in self.services.values():
            service.start()
        for service in self.services.values():
            await service.wait_ready()

    async def restart(self, name: str) -> None:
        replacement = ServiceProcess(name, self.env, self.log_dir)
        self.services[name] = replacement
        replacement.start()
        await replacement.wait_ready()

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.log_dir.glob("*.log"))


@pytest.fixture(scope="module")
async def pipeline(stack, database_url, topics, tmp_path_factory) -> AsyncIterator[Pipeline]:  # type: ignore[no-untyped-def]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        # The tests drive and poll intake from one address far faster than a citizen would;
        # intake's per-IP limit has its own tests.
        "LAPOR_INTAKE_RATE_LIMIT_PER_IP_PER_MINUTE": "1000000",
        "LAPOR_INTAKE_RATE_LIMIT_PER_IP_BURST": "100000",
    }
    pipeline = Pipeline(env, tmp_path_factory.mktemp("service-logs"))
    try:
        await pipeline.start()
        yield pipeline
    finally:
        codes = {name: service.terminate() for name, service in pipeline.services.items()}
        failed = {name: code for name, code in codes.items() if code not in (0, None)}
        assert not failed, f"services did not stop cleanly on SIGTERM: {failed}"


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()
