"""The notifier, wired: settings (checked for deployment), the key store, the consumer that
records what to send, the sender job that sends it, and the HTTP API behind bearer tokens.
The one place that builds any of them; `__main__` only calls `build` through the runtime."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg

from services.notifier.domain.rules import RateLimit, RetryPolicy
from services.notifier.entrypoints.access import ApiAccess
from services.notifier.entrypoints.app import SERVICE, create_app
from services.notifier.entrypoints.consumer import (
    CONSUMES,
    event_batch_handlers,
    event_handlers,
)
from services.notifier.entrypoints.sender import sender_job
from services.notifier.handlers.sending import SenderConfig
from services.notifier.settings import ApiSettings, NotifierSettings
from services.personal_data.keystore import default_keystore
from services.runtime.lifecycle import ServiceRuntime, Settings
from services.runtime.settings import StaffAssertionSettings, check_deployment

DEFAULT_PORT = 8003
MIGRATIONS = Path(__file__).parent / "migrations"


def sender_config(settings: NotifierSettings) -> SenderConfig:
    return SenderConfig(
        retry=RetryPolicy(
            settings.max_attempts, settings.backoff_base_seconds, settings.backoff_cap_seconds
        ),
        rate_limit=RateLimit(
            settings.rate_limit_count, timedelta(seconds=settings.rate_limit_window_seconds)
        ),
        lease=timedelta(seconds=settings.lease_seconds),
        whatsapp_window=timedelta(hours=settings.whatsapp_window_hours),
        concurrency=settings.sender_concurrency,
        poll_interval=settings.sender_poll_seconds,
        citizen_base_url=settings.citizen_base_url,
    )


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    notifier_settings = NotifierSettings()
    api_settings = ApiSettings()
    check_deployment(settings, notifier_settings, api_settings, StaffAssertionSettings())
    keys = default_keystore()
    runtime = ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=MIGRATIONS,
        consumes=CONSUMES,
        handlers=event_handlers(keys),
        batch_handlers=event_batch_handlers(keys),
        keys=keys,
    )

    def pool() -> asyncpg.Pool:
        assert runtime.pool is not None
        return runtime.pool

    runtime.app = create_app(pool, keys, ApiAccess.from_settings(api_settings))
    runtime.background.append(
        sender_job(runtime, notifier_settings, sender_config(notifier_settings))
    )
    return runtime
