"""Builds triage: settings (checked once for production), the key store, the faust app with
its topics, its one agent and its pages, and the back office (the database pool and the outbox
relay). `python -m services.triage`
runs `main`."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import faust
from faust.types import TransportT
from faust.worker import Worker

from schemas.topics import DEFAULT_PARTITIONS, consumer_group
from services.messaging.database import create_pool, migrate
from services.messaging.faust_transport import IdempotentTransport, PromptTableManager
from services.messaging.kafka import ensure_topics
from services.messaging.worker import Worker as MessagingWorker
from services.observability import configure_logging
from services.personal_data.keystore import Keystore
from services.runtime.lifecycle import Settings
from services.runtime.settings import StaffAssertionSettings, check_deployment
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.domain.review import parse_reviewers
from services.triage.entrypoints.backoffice import Backoffice
from services.triage.entrypoints.dead_letters import add_dead_letter_pages
from services.triage.entrypoints.health import add_health_pages
from services.triage.entrypoints.metrics import install_metrics
from services.triage.entrypoints.pruning import pruning_worker
from services.triage.entrypoints.review_routes import ReviewDependencies, add_review_routes
from services.triage.entrypoints.stream import TriageStream
from services.triage.settings import DB_SCHEMA, DEFAULT_PORT, SERVICE, TriageSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class TriageApp(faust.App):
    def _new_transport(self) -> TransportT:
        return IdempotentTransport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> TransportT:
        return IdempotentTransport(self.conf.broker_producer, self)


def faust_app(settings: Settings) -> TriageApp:
    return TriageApp(
        consumer_group(SERVICE),
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        topic_partitions=DEFAULT_PARTITIONS,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_request_size=8 * 1024 * 1024,
        web_host=settings.http_host,
        web_port=settings.http_port or DEFAULT_PORT,
        web_in_thread=False,
        table_standby_replicas=0,
        TableManager=PromptTableManager,  # no tables: no one-second pause before subscribing
        # No tables (triage's state is in PostgreSQL); faust still wants a directory.
        datadir=tempfile.mkdtemp(prefix="lapor-triage-"),
        broker_commit_every=500,
        broker_commit_interval=1.0,
        # A SIGKILLed instance holds its partitions until its session expires; faust's 60 s
        # default left the group idle that long after every crash.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        broker_rebalance_timeout=30.0,
    )


@dataclass(frozen=True)
class Triage:
    """The built service: what `main` runs and what tests inspect."""

    settings: Settings
    triage_settings: TriageSettings
    app: TriageApp
    stream: TriageStream
    backoffice: Backoffice


def build_app(
    settings: Settings | None = None,
    triage_settings: TriageSettings | None = None,
    keys: Keystore | None = None,
) -> Triage:
    """Triage wired from the environment, or from the settings and key store given."""
    settings = settings or Settings()
    triage_settings = triage_settings or TriageSettings()
    staff = StaffAssertionSettings()
    check_deployment(settings, triage_settings, staff)
    keys = keys or Keystore.from_env()

    async def open_pool() -> asyncpg.Pool:
        # The batch, the key store reads, the relay (two) and the review API.
        pool = await create_pool(settings.database_url, DB_SCHEMA, max_size=8)
        try:
            await migrate(pool, DB_SCHEMA, MIGRATIONS)
        except BaseException:
            await pool.close()
            raise
        return pool

    app = faust_app(settings)

    def pruning(pool: asyncpg.Pool) -> MessagingWorker:
        return pruning_worker(
            pool,
            timedelta(days=triage_settings.decision_retention_days),
            triage_settings.prune_interval_seconds,
        )

    backoffice = Backoffice(open_pool, settings.kafka_bootstrap, [pruning])

    # Started with the app's first services (its start only begins opening the pool, so the
    # pool and migrations are ready while faust joins the group, not after), stopped last.
    app.add_dependency(backoffice)

    stream = TriageStream(
        app,
        triage_settings.reporter_key.encode(),
        backoffice,
        PersonalDataReader(keys, backoffice.wait_pool),
    )
    stream.add_agents()
    reviewers = parse_reviewers(triage_settings.reviewers)
    dependencies = ReviewDependencies(
        backoffice,
        reviewers,
        stream.personal_data,
        staff_secret=staff.staff_assertion_secret,
    )
    add_review_routes(app, dependencies)
    add_dead_letter_pages(app, settings.kafka_bootstrap, staff.staff_assertion_secret)
    add_health_pages(app)
    install_metrics(app, stream.topics.intake.get_topic_name())
    return Triage(settings, triage_settings, app, stream, backoffice)


async def create_topics(triage: Triage) -> None:
    await ensure_topics(triage.settings.kafka_bootstrap)


def main() -> None:
    triage = build_app()
    configure_logging(SERVICE, triage.settings.log_level)
    asyncio.run(create_topics(triage))
    # Keep Lapor's JSON logging with personal-data scrubbing instead of mode's plain handler.
    Worker(
        triage.app,
        loglevel=triage.settings.log_level.lower(),
        quiet=True,
        override_logging=False,
    ).execute_from_commandline()
