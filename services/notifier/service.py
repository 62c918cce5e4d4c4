"""Wires notifier's adapters into a runnable service: the consumer records what to send, the
sender background job sends it, the HTTP API takes opt-outs (behind bearer tokens)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from schemas.topics import CASES, COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, WHATSAPP_STATUSES
from services.messaging.deadletter import DeadLetterPublisher
from services.notifier.api import ApiAccess, ApiSettings, create_app
from services.notifier.channels import ChannelSettings, build_adapters, http_session
from services.notifier.domain import RateLimit, RetryPolicy
from services.notifier.handlers import HANDLERS
from services.notifier.sender import Sender, SenderConfig
from services.runtime.lifecycle import ServiceRuntime, Settings

SERVICE = "notifier"
DEFAULT_PORT = 8003


class NotifierSettings(ChannelSettings):
    """LAPOR_NOTIFIER_* settings of the sender."""

    max_attempts: int = 8
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 300.0
    lease_seconds: float = 30.0
    rate_limit_count: int = 5
    rate_limit_window_seconds: float = 600.0
    whatsapp_window_hours: float = 24.0
    sender_concurrency: int = 16
    sender_poll_seconds: float = 1.0

    def sender_config(self) -> SenderConfig:
        return SenderConfig(
            retry=RetryPolicy(
                self.max_attempts, self.backoff_base_seconds, self.backoff_cap_seconds
            ),
            rate_limit=RateLimit(
                self.rate_limit_count, timedelta(seconds=self.rate_limit_window_seconds)
            ),
            lease=timedelta(seconds=self.lease_seconds),
            whatsapp_window=timedelta(hours=self.whatsapp_window_hours),
            concurrency=self.sender_concurrency,
            poll_interval=self.sender_poll_seconds,
        )


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    notifier_settings = NotifierSettings()
    runtime = ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        consumes=[
            COMPLAINTS_INTAKE.name,
            COMPLAINTS_TRIAGED.name,
            CASES.name,
            WHATSAPP_STATUSES.name,
        ],
        handlers=HANDLERS,
    )

    def pool():  # type: ignore[no-untyped-def]
        assert runtime.pool is not None
        return runtime.pool

    runtime.app = create_app(pool, ApiAccess.from_settings(ApiSettings()))

    async def sender(stop: asyncio.Event) -> None:
        assert runtime.pool is not None and runtime.producer is not None
        async with http_session(notifier_settings) as session:
            job = Sender(
                runtime.pool,
                build_adapters(notifier_settings, session),
                DeadLetterPublisher(runtime.producer, SERVICE),
                notifier_settings.sender_config(),
            )
            await job.run(stop)

    runtime.background.append(sender)
    return runtime
