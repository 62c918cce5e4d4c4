"""The one place routing is assembled: settings (checked for deployment), the runtime with
its pool and consumer handlers, the HTTP app and the background jobs, and the key store that
opens the citizen's words (sealed) for the agency desk, Open311 and SP4N-LAPOR! (routing
seals nothing itself)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from schemas.topics import COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED
from services.personal_data.keystore import Keystore, default_keystore
from services.routing.adapters.repository import MIGRATIONS
from services.routing.adapters.sp4n import Sp4nForwarder, WireFormat
from services.routing.domain import EscalationContacts
from services.routing.entrypoints.access import PoolGetter
from services.routing.entrypoints.app import create_app
from services.routing.entrypoints.consumer import BATCH_HANDLERS, HANDLERS
from services.routing.entrypoints.workers import deadline_job, sp4n_job
from services.routing.settings import DEFAULT_PORT, SERVICE, RoutingSettings
from services.runtime.lifecycle import ServiceRuntime, Settings
from services.runtime.lifecycle import main as run_service
from services.runtime.settings import check_deployment


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    own = RoutingSettings()
    check_deployment(settings, own)
    runtime = ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=MIGRATIONS,
        consumes=[COMPLAINTS_TRIAGED.name, COMPLAINTS_INTAKE.name],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
    )

    def pool() -> asyncpg.Pool:  # the pool exists once the runtime has started
        assert runtime.pool is not None
        return runtime.pool

    def clock() -> datetime:
        return own.frozen_now or datetime.now(UTC)

    keys = default_keystore()
    runtime.app = create_app(pool, clock, keys=keys)
    contacts = EscalationContacts(own.public_base_url, own.setwapres_escalation_email)
    runtime.background.append(deadline_job(pool, clock, own.scheduler_interval, contacts))
    if own.sp4n_url:
        forwarder = _forwarder(pool, own, keys)
        runtime.background.append(sp4n_job(forwarder, clock, own.sp4n_interval))
    return runtime


def _forwarder(pool: PoolGetter, own: RoutingSettings, keys: Keystore) -> Sp4nForwarder:
    assert own.sp4n_url is not None
    wire = WireFormat(own.sp4n_fields, own.sp4n_encoding, own.sp4n_remote_id_path, own.sp4n_static)
    return Sp4nForwarder(
        pool,
        own.sp4n_url,
        wire,
        token=own.sp4n_token,
        timeout=own.sp4n_timeout,
        backoff_base=own.sp4n_backoff_base,
        backoff_ceiling=own.sp4n_backoff_ceiling,
        keys=keys,
    )


def main() -> None:
    run_service(SERVICE, build)
