"""Settings, the health/metrics HTTP server, and a service's lifecycle with graceful shutdown.

`ServiceRuntime` starts, in order: logging, the database pool and migrations, topics, the
idempotent producer, the outbox relay, the consumer loop and the HTTP server. On SIGTERM or
SIGINT the consumer finishes its batch and commits, the relay drains, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import consumer_group
from services.messaging.consumer import ConsumerLoop, Handler
from services.messaging.database import create_pool, migrate
from services.messaging.deadletter import DeadLetterPublisher
from services.messaging.kafka import ensure_topics, make_producer
from services.messaging.observability import configure_logging
from services.messaging.outbox import OutboxRelay

log = logging.getLogger(__name__)


class Settings(BaseSettings):
    """Common settings, read from LAPOR_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    database_url: str = "postgresql://lapor@127.0.0.1:55432/lapor"
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    instance_id: str = f"{socket.gethostname()}-{os.getpid()}"
    db_pool_size: int = 10


def health_app(service: str, ready: Callable[[], Awaitable[bool]]) -> FastAPI:
    """/healthz (the process answers), /readyz (dependencies work), /metrics (Prometheus)."""
    app = FastAPI(title=f"lapor-{service}", docs_url=None, redoc_url=None)
    add_health_routes(app, service, ready)
    return app


def add_health_routes(app: FastAPI, service: str, ready: Callable[[], Awaitable[bool]]) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        ok = await ready()
        return JSONResponse({"ready": ok, "service": service}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


@dataclass
class ServiceRuntime:
    """Everything a database-backed, Kafka-consuming service needs, wired once."""

    service: str
    settings: Settings
    migrations: Path | None
    consumes: Sequence[str] = ()
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    app: FastAPI | None = None
    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None
    consumer_loop: ConsumerLoop | None = None
    background: list[Callable[[asyncio.Event], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        self.pool = await create_pool(
            self.settings.database_url, self.service, max_size=self.settings.db_pool_size
        )
        await migrate(self.pool, self.service, self.migrations)
        await ensure_topics(self.settings.kafka_bootstrap)
        self.producer = make_producer(
            self.settings.kafka_bootstrap, f"{self.service}-{self.settings.instance_id}"
        )
        await self.producer.start()

    async def ready(self) -> bool:
        if self.pool is None:
            return False
        try:
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
        except Exception:
            return False
        return self.consumer_loop is None or self.consumer_loop.assigned.is_set()

    async def run(self) -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await self.start()
        assert self.pool is not None and self.producer is not None
        tasks: list[asyncio.Task[None]] = []
        relay = OutboxRelay(self.pool, self.producer, self.service, self.service)
        tasks.append(asyncio.create_task(relay.run(stop), name="outbox-relay"))
        if self.consumes:
            self.consumer_loop = ConsumerLoop(
                service=self.service,
                bootstrap=self.settings.kafka_bootstrap,
                topics=self.consumes,
                group_id=consumer_group(self.service),
                pool=self.pool,
                dead_letters=DeadLetterPublisher(self.producer, self.service),
                handlers=self.handlers,
            )
            tasks.append(asyncio.create_task(self.consumer_loop.run(stop), name="consumer"))
        for job in self.background:
            tasks.append(asyncio.create_task(job(stop), name=getattr(job, "__name__", "job")))

        app = self.app or health_app(self.service, self.ready)
        if self.app is not None:
            add_health_routes(app, self.service, self.ready)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=self.settings.http_host,
                port=self.settings.http_port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        tasks.append(asyncio.create_task(server.serve(), name="http"))
        log.info("service started", extra={"port": self.settings.http_port})

        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        crashed = [task for task in done if task is not stopper and task.exception()]
        stop.set()
        server.should_exit = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await self.producer.stop()
        await self.pool.close()
        for task in crashed:
            raise task.exception()  # type: ignore[misc]
        for outcome in results:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                log.error("task ended with an error", extra={"error": repr(outcome)})
        log.info("service stopped")


def main(service: str, build: Callable[[Settings], ServiceRuntime]) -> None:
    settings = Settings()
    configure_logging(service, settings.log_level)
    runtime = build(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runtime.run())
