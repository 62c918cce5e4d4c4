"""The one place routing is assembled: settings (checked for deployment), the runtime with
its pool and consumer handlers, the key store (routing seals nothing; it opens the case
files' personal fields and the citizen's words for the agency's officers and
SP4N-LAPOR!), the HTTP app and the background jobs."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from schemas.topics import COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED
from services.personal_data.keystore import Keystore
from services.routing.adapters.repository import MIGRATIONS
from services.routing.adapters.sp4n import Sp4nForwarder, WireFormat
from services.routing.domain import DocumentLinks, EscalationContacts
from services.routing.entrypoints.access import PoolGetter
from services.routing.entrypoints.app import create_app
from services.routing.entrypoints.consumer import BATCH_HANDLERS, HANDLERS
from services.routing.entrypoints.workers import deadline_job, sp4n_job
from services.routing.settings import DEFAULT_PORT, SERVICE, RoutingSettings
from services.runtime.lifecycle import ServiceRuntime, Settings
from services.runtime.lifecycle import main as run_service
from services.runtime.settings import DocumentLinkSettings, StaffAssertionSettings, check_deployment


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    own = RoutingSettings()
    shared_links = DocumentLinkSettings()
    check_deployment(settings, own, shared_links, StaffAssertionSettings())
    keys = Keystore.from_env()
    runtime = ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=MIGRATIONS,
        consumes=[COMPLAINTS_TRIAGED.name, COMPLAINTS_INTAKE.name],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        keys=keys,
    )

    def pool() -> asyncpg.Pool:  # the pool exists once the runtime has started
        assert runtime.pool is not None
        return runtime.pool

    def clock() -> datetime:
        return own.frozen_now or datetime.now(UTC)

    links = DocumentLinks(own.intake_public_url, shared_links.document_link_secret)
    runtime.app = create_app(pool, clock, keys=keys, links=links)
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
