"""Test infrastructure: a real Kafka broker and a real PostgreSQL server.

Where they come from, in order:
1. `LAPOR_KAFKA_BOOTSTRAP` and `LAPOR_DATABASE_URL` in the environment (an existing stack);
2. testcontainers, when a Docker engine answers (`apache/kafka` and `postgres` images);
3. otherwise the project's own local stack (`ops.infra`: Maven-resolved Kafka in KRaft
   mode and Debian's PostgreSQL), installed and started on first use.

Each test run gets its own topic prefix and its own database, so runs never see each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import asyncpg
import pytest

RUN_ID = uuid.uuid4().hex[:8]
# Set before any topic name is computed: every topic and consumer group of this run is unique.
os.environ["LAPOR_TOPIC_PREFIX"] = f"t{RUN_ID}."


@dataclass(frozen=True)
class Stack:
    kafka_bootstrap: str
    database_url: str
    source: str


def _docker_engine_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _stack() -> Iterator[Stack]:
    bootstrap = os.environ.get("LAPOR_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("LAPOR_DATABASE_URL")
    if bootstrap and database_url:
        yield Stack(bootstrap, database_url, "environment")
        return
    if os.environ.get("LAPOR_TESTCONTAINERS", "auto") != "off" and _docker_engine_available():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        from ops.infra import KAFKA_VERSION

        with (
            KafkaContainer(f"apache/kafka:{KAFKA_VERSION}").with_kraft() as kafka,
            PostgresContainer("postgres:17", driver=None) as postgres,
        ):
            yield Stack(
                kafka.get_bootstrap_server(), postgres.get_connection_url(), "testcontainers"
            )
        return
    from ops import infra

    config = infra.up()
    yield Stack(config.kafka_bootstrap, config.database_url, "local (lapor infra)")


_USED: list[Stack] = []


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with _stack() as found:
        _USED.append(found)
        yield found


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    for found in _USED:
        terminalreporter.write_line(
            f"integration and e2e tests ran against a real Kafka broker at {found.kafka_bootstrap}"
            f" and a real PostgreSQL server ({found.source})"
        )


@pytest.fixture(scope="module", autouse=True)
def module_namespace(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test module gets its own topic prefix, so a module that starts services and reads
    whole topics never meets another module's events (or its poison)."""
    short = re.sub(r"\W", "", request.module.__name__.rsplit(".", 1)[-1])[:30]
    prefix = f"t{RUN_ID}.{short}."
    os.environ["LAPOR_TOPIC_PREFIX"] = prefix
    yield short
    os.environ["LAPOR_TOPIC_PREFIX"] = f"t{RUN_ID}."
    for found in _USED:  # only once a module has used the broker
        _delete_topics(found.kafka_bootstrap, prefix)


def _delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete a finished module's topics: a whole run otherwise leaves thousands of
    partitions on one broker, and the single-node broker's heap is sized for a desk, not
    for every test run's leftovers. A failure here is reported, never fails a test."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            topics = [topic for topic in await admin.list_topics() if topic.startswith(prefix)]
            if topics:
                await admin.delete_topics(topics)
        finally:
            await admin.close()

    # Fixtures finish outside any running loop, but pytest-asyncio may keep one set: a thread
    # of its own runs the deletion with a fresh loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, delete()).result(timeout=60)
        except Exception as error:
            warnings.warn(f"could not delete the topics {prefix}*: {error!r}", stacklevel=1)


@pytest.fixture(scope="module")
async def database_url(stack: Stack, module_namespace: str) -> AsyncIterator[str]:
    """A fresh database for this test module, dropped at the end."""
    name = f"lapor_test_{RUN_ID}_{module_namespace}"[:63]
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base, _, _ = stack.database_url.rpartition("/")
    yield f"{base}/{name}"
    admin = await asyncpg.connect(stack.database_url)
    with contextlib.suppress(Exception):
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="module")
async def topics(stack: Stack, module_namespace: str) -> list[str]:
    from services.messaging.kafka import ensure_topics

    return await ensure_topics(stack.kafka_bootstrap)
