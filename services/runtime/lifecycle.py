"""Settings, the health/metrics HTTP server, and a service's lifecycle with graceful shutdown.

`ServiceRuntime` starts, in order: logging, the database pool and migrations, topics, the
idempotent producer, the outbox relay, the consumer loop, the metrics sampler and the HTTP
server (a service without Kafka, `uses_kafka=False`, skips topics, producer and relay).
On SIGTERM or SIGINT the consumer finishes its batch and commits, the relay drains, and the
process exits 0.

Metrics (see `observability`): the consumer loop counts events in and times batches, the relay
counts events out, the dead-letter publisher counts letters; this module adds HTTP request
counts and, every few seconds, the consumer lag of each assigned partition and the outbox
backlog, sampled so they stay true while the loop is stuck (that is when they matter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import uvicorn
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.topics import consumer_group
from services.messaging.consumer import BatchHandler, ConsumerLoop, Handler
from services.messaging.database import create_pool, migrate
from services.messaging.deadletter import DeadLetterPublisher
from services.messaging.kafka import ensure_topics, make_producer
from services.messaging.outbox import OutboxRelay
from services.observability import (
    CONSUMER_LAG,
    HTTP_REQUESTS,
    HTTP_SECONDS,
    OUTBOX_BACKLOG,
    READY,
    configure_logging,
    prime_metrics,
)
from services.personal_data.keystore import Keystore
from services.runtime.dead_letters import connect_dead_letters
from services.runtime.settings import development_secret

log = logging.getLogger(__name__)

METRICS_SAMPLE_SECONDS = 5.0
# A hung broker or database must not hang the sampler (nor delay shutdown) for long.
METRICS_SAMPLE_TIMEOUT = 4.0
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_CACHED_SERIES = 10_000


class Settings(BaseSettings):
    """Common settings, read from LAPOR_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    # The credentials of the database are a secret: production must give its own URL.
    database_url: str = development_secret("postgresql://lapor@127.0.0.1:55432/lapor")
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


class HttpMetrics:
    """ASGI middleware counting requests and timing them by route template, so a path with a
    tracking code in it neither leaks into the metrics nor makes a series per complaint. The
    labelled series are looked up once per (method, route, status), not on every request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_capturing_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_capturing_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "<unmatched>"
            requests, seconds = self.series(scope["method"], route, status)
            requests.inc()
            seconds.observe(time.perf_counter() - started)

    def series(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        """The request counter and the latency histogram of one kind of request."""
        key = (method, route, status)
        found = self._series.get(key)
        if found is None:
            label = method if method in HTTP_METHODS else "OTHER"
            found = (
                HTTP_REQUESTS.labels(self.service, label, route, str(status)),
                HTTP_SECONDS.labels(self.service, route),
            )
            if len(self._series) < MAX_CACHED_SERIES:  # odd methods must not grow it forever
                self._series[key] = found
        return found


def add_health_routes(app: FastAPI, service: str, ready: Callable[[], Awaitable[bool]]) -> None:
    app.add_middleware(HttpMetrics, service=service)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        ok = await ready()
        READY.labels(service).set(1 if ok else 0)  # the orchestrator probes it every 10 s
        return JSONResponse({"ready": ok, "service": service}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def sample_consumer_lag(service: str, consumer: AIOKafkaConsumer) -> None:
    """Lag (end offset minus the group's committed offset) of every partition this instance
    is assigned; partitions it no longer owns after a rebalance are dropped from the gauge, so
    a scaled-out group reports each partition once."""
    assigned = set(consumer.assignment())
    end = await consumer.end_offsets(list(assigned)) if assigned else {}
    committed = {tp: await consumer.committed(tp) for tp in assigned}
    never = [tp for tp, offset in committed.items() if offset is None]
    start = await consumer.beginning_offsets(never) if never else {}
    for tp in assigned:
        base = committed[tp]
        base = start[tp] if base is None else base
        CONSUMER_LAG.labels(service, tp.topic, str(tp.partition)).set(max(0, end[tp] - base))
    drop_lag_of_others(service, assigned)


def drop_lag_of_others(service: str, owned: Iterable[tuple[str, int]]) -> None:
    """Remove this service's lag series for partitions outside `owned` ((topic, partition)
    pairs: aiokafka's and faust's TopicPartition tuples both fit)."""
    mine = {(topic, str(partition)) for topic, partition in owned}
    for family in CONSUMER_LAG.collect():
        for sample in family.samples:
            labels = sample.labels
            if labels["service"] != service:
                continue
            if (labels["topic"], labels["partition"]) not in mine:
                with contextlib.suppress(KeyError):
                    CONSUMER_LAG.remove(service, labels["topic"], labels["partition"])


async def sample_outbox_backlog(service: str, pool: asyncpg.Pool) -> None:
    """Rows waiting in the service's outbox (every instance reports the shared table)."""
    async with pool.acquire(timeout=METRICS_SAMPLE_TIMEOUT) as conn:
        OUTBOX_BACKLOG.labels(service).set(await conn.fetchval("SELECT count(*) FROM outbox"))


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
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)
    app: FastAPI | None = None
    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None
    consumer_loop: ConsumerLoop | None = None
    background: list[Callable[[asyncio.Event], Awaitable[None]]] = field(default_factory=list)
    # Built by the service's bootstrap (the only place that reads the master keys).
    keys: Keystore | None = None
    # False for a service that neither consumes nor publishes (the back office): no topics,
    # no producer, no outbox relay; only the pool, the migrations and the HTTP server.
    uses_kafka: bool = True
    _served: FastAPI | None = field(default=None, init=False, repr=False)

    async def start(self) -> None:
        self.pool = await create_pool(
            self.settings.database_url, self.service, max_size=self.settings.db_pool_size
        )
        await migrate(self.pool, self.service, self.migrations)
        if self.keys is not None:
            async with self.pool.acquire() as conn:
                await Keystore.ensure(conn)
        if not self.uses_kafka:
            return
        await ensure_topics(self.settings.kafka_bootstrap)
        self.producer = make_producer(
            self.settings.kafka_bootstrap, f"{self.service}-{self.settings.instance_id}"
        )
        await self.producer.start()

    def served_app(self) -> FastAPI:
        """What the HTTP server runs: the service's app with /healthz, /readyz and /metrics
        added, or those alone for a service without an app. Built once; the deployment
        tests read its routes to check the Kubernetes probes."""
        if self._served is None:
            if self.app is None:
                self._served = health_app(self.service, self.ready)
            else:
                add_health_routes(self.app, self.service, self.ready)
                self._served = self.app
        return self._served

    async def ready(self) -> bool:
        if self.pool is None:
            return False
        try:
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
        except Exception:
            return False
        return self.consumer_loop is None or self.consumer_loop.assigned.is_set()

    async def sample_metrics(self, stop: asyncio.Event) -> None:
        """Every few seconds: consumer lag per partition and the outbox backlog. Best effort:
        a failed sample is skipped, never a reason to stop the service."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), METRICS_SAMPLE_SECONDS)
            if stop.is_set():
                return
            consumer = self.consumer_loop.consumer if self.consumer_loop else None
            samples = [sample_consumer_lag(self.service, consumer)] if consumer else []
            if self.pool is not None:
                samples.append(sample_outbox_backlog(self.service, self.pool))
            for sample in samples:
                try:
                    await asyncio.wait_for(sample, METRICS_SAMPLE_TIMEOUT)
                except Exception as error:  # a rebalance, a restart of the broker, shutdown
                    log.debug("metrics sample skipped", extra={"error": repr(error)})

    async def run(self) -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await self.start()
        assert self.pool is not None
        prime_metrics(self.service, self.consumes)
        tasks: list[asyncio.Task[None]] = []
        if self.producer is not None:
            relay = OutboxRelay(self.pool, self.producer, self.service, self.service)
            tasks.append(asyncio.create_task(relay.run(stop), name="outbox-relay"))
        if self.consumes:
            assert self.producer is not None, "a consumer needs the producer for dead letters"
            self.consumer_loop = ConsumerLoop(
                service=self.service,
                bootstrap=self.settings.kafka_bootstrap,
                topics=self.consumes,
                group_id=consumer_group(self.service),
                pool=self.pool,
                dead_letters=DeadLetterPublisher(self.producer, self.service),
                handlers=self.handlers,
                batch_handlers=self.batch_handlers,
            )
            tasks.append(asyncio.create_task(self.consumer_loop.run(stop), name="consumer"))
        for job in self.background:
            tasks.append(asyncio.create_task(job(stop), name=getattr(job, "__name__", "job")))
        tasks.append(asyncio.create_task(self.sample_metrics(stop), name="metrics-sampler"))

        app = self.served_app()
        connect_dead_letters(app, self.settings.kafka_bootstrap, self.producer)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=self.settings.http_host,
                port=self.settings.http_port,
                log_config=None,
                access_log=False,
                lifespan="off",
                http="httptools",  # C parser: a fraction of h11's cost per request
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
        if self.producer is not None:
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
    with (
        contextlib.suppress(KeyboardInterrupt),
        # uvloop: the event loop in C; every service is network-bound (Kafka, PostgreSQL, HTTP).
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        runner.run(runtime.run())
