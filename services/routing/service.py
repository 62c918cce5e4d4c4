"""Wires routing's adapters into a runnable service."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import COMPLAINTS_TRIAGED
from services.routing.api import create_app
from services.routing.handlers import BATCH_HANDLERS, HANDLERS
from services.routing.scheduler import deadline_job
from services.routing.sp4n import DEFAULT_FIELDS, Sp4nForwarder, WireFormat
from services.runtime.lifecycle import ServiceRuntime, Settings

SERVICE = "routing"
DEFAULT_PORT = 8002
log = logging.getLogger(__name__)


class RoutingSettings(BaseSettings):
    """Routing's own settings, from LAPOR_ROUTING_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_ROUTING_", extra="ignore")

    scheduler_interval: float = 30.0
    # A fixed clock for demonstrations and tests of deadlines; never set in production.
    frozen_now: AwareDatetime | None = None
    # Fault injection for the e2e test: exit after the database commit of the first batch,
    # before its offsets are committed.
    crash_before_offset_commit: bool = False

    # SP4N-LAPOR! forwarding; off without a URL. The wire format is configuration.
    sp4n_url: str | None = None
    sp4n_token: str | None = None
    sp4n_timeout: float = 10.0
    sp4n_interval: float = 2.0
    sp4n_backoff_base: float = 5.0
    sp4n_backoff_ceiling: float = 900.0
    sp4n_encoding: Literal["json", "form"] = "json"
    sp4n_fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELDS))
    sp4n_static: dict[str, str] = Field(default_factory=dict)
    sp4n_remote_id_path: str = "data.tracking_id"


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    own = RoutingSettings()
    runtime = ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        consumes=[COMPLAINTS_TRIAGED.name],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
    )

    def pool():  # the pool exists once the runtime has started
        assert runtime.pool is not None
        return runtime.pool

    def clock() -> datetime:
        return own.frozen_now or datetime.now(UTC)

    runtime.app = create_app(pool, clock)
    runtime.background.append(deadline_job(pool, clock, own.scheduler_interval))
    if own.sp4n_url:
        forwarder = Sp4nForwarder(
            pool,
            own.sp4n_url,
            WireFormat(
                own.sp4n_fields, own.sp4n_encoding, own.sp4n_remote_id_path, own.sp4n_static
            ),
            token=own.sp4n_token,
            timeout=own.sp4n_timeout,
            backoff_base=own.sp4n_backoff_base,
            backoff_ceiling=own.sp4n_backoff_ceiling,
        )
        runtime.background.append(forwarder.job(clock, own.sp4n_interval))
    if own.crash_before_offset_commit:
        _crash_before_offset_commit()
    return runtime


def _crash_before_offset_commit() -> None:
    from services.messaging.consumer import ConsumerLoop

    async def crash(*_: object) -> None:
        log.warning("fault injection: exiting between the database and the offset commit")
        os._exit(137)

    ConsumerLoop._commit = crash  # type: ignore[method-assign]
