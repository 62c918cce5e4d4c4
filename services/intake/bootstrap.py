"""Intake's bootstrap: the one place that reads the settings (and refuses development
secrets in production), builds the key store, the desk's clock, the workers and the HTTP app,
and wires them into a runnable `ServiceRuntime`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from schemas.topics import CASES, COMPLAINTS_TRIAGED, NOTIFICATIONS
from services.intake.domain.desk import Clock, fixed_clock
from services.intake.entrypoints.api_models import Problem
from services.intake.entrypoints.complaints_api import complaints_router
from services.intake.entrypoints.desk_api import desk_api_router
from services.intake.entrypoints.documents_api import documents_router
from services.intake.entrypoints.group_filing import GroupFiler
from services.intake.entrypoints.guards import install_guards
from services.intake.entrypoints.inbox_worker import InboxWorker
from services.intake.entrypoints.open311_api import install_error_format, open311_router
from services.intake.entrypoints.open311_clients_api import open311_clients_router
from services.intake.entrypoints.owner_api import owner_api_router
from services.intake.entrypoints.rating import rating_router
from services.intake.entrypoints.status_api import status_api_router
from services.intake.entrypoints.web_form import web_form_router
from services.intake.entrypoints.web_status import web_status_router
from services.intake.entrypoints.web_updates import web_updates_router
from services.intake.entrypoints.whatsapp_webhook import NotificationStore, whatsapp_router
from services.intake.handlers.statuses import BATCH_HANDLERS, HANDLERS
from services.intake.handlers.walk_in import WalkInDesk
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import Keystore
from services.runtime.dead_letters import mount_dead_letters
from services.runtime.http_problems import install_validation_handler
from services.runtime.lifecycle import ServiceRuntime, Settings
from services.runtime.settings import DocumentLinkSettings, StaffAssertionSettings, check_deployment

SERVICE = "intake"
DEFAULT_PORT = 8000
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    intake_settings = IntakeSettings()
    links = DocumentLinkSettings()
    check_deployment(settings, intake_settings, links, StaffAssertionSettings())
    keys = Keystore.from_env()
    runtime = ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=MIGRATIONS,
        consumes=[COMPLAINTS_TRIAGED.name, CASES.name, NOTIFICATIONS.name],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        keys=keys,
    )

    def pool() -> asyncpg.Pool:  # the pool exists once the runtime has started
        assert runtime.pool is not None
        return runtime.pool

    worker = InboxWorker(pool, intake_settings, keys)
    filer = GroupFiler(pool, intake_settings, keys)
    notifications = NotificationStore(pool, keys)
    runtime.background += [worker.run, filer.run, notifications.run]
    runtime.app = create_app(
        pool,
        intake_settings,
        keys,
        worker=worker,
        clock=desk_clock(intake_settings),
        filer=filer,
        notifications=notifications,
        document_link_secret=links.document_link_secret,
    )
    return runtime


def desk_clock(settings: IntakeSettings) -> Clock:
    """The real clock, unless LAPOR_INTAKE_DESK_CLOCK fixes the desk's "now" (tests, demos)."""
    if settings.desk_clock:
        return fixed_clock(settings.desk_clock)
    return lambda: datetime.now(UTC)


def create_app(
    pool: Callable[[], asyncpg.Pool],
    settings: IntakeSettings,
    keys: Keystore,
    *,
    worker: InboxWorker | None = None,
    clock: Clock | None = None,
    filer: GroupFiler | None = None,
    notifications: NotificationStore | None = None,
    document_link_secret: str | None = None,
) -> FastAPI:
    """Intake's HTTP app: the JSON API (the desk's too), the webhook, the citizen's pages."""
    if document_link_secret is None:  # in-process tests: the environment's (or the default)
        document_link_secret = DocumentLinkSettings().document_link_secret
    # Without its loop running (in-process tests) the filer files each request on its own.
    filer = filer or GroupFiler(pool, settings, keys)
    desk = WalkInDesk(pool, settings, keys, clock or desk_clock(settings))
    app = FastAPI(
        title="Lapor intake",
        version="1.0.0",
        description="Takes in citizen complaints and reports their status.",
        responses={
            413: {"model": Problem, "description": "Body too large"},
            429: {"model": Problem, "description": "Rate limited; see Retry-After"},
        },
    )
    install_validation_handler(app)  # a 422 that echoes a lone surrogate must not 500
    install_guards(app, settings)
    # Routes are matched in this order: the busiest (a flood's) first. No two routers serve
    # one method and path, so the order changes nothing else.
    for router in (
        whatsapp_router(pool, settings, keys, worker.wake if worker else None, notifications),
        complaints_router(filer),
        status_api_router(pool),
        web_form_router(pool, settings, keys),
        web_updates_router(pool, settings, keys),
        web_status_router(pool),
        desk_api_router(desk, settings),
        owner_api_router(pool, settings, keys),
        rating_router(pool, settings, keys),
        documents_router(pool, keys, document_link_secret),
        open311_router(pool, filer),
        open311_clients_router(pool),
    ):
        app.include_router(router)
    install_error_format(app)
    mount_dead_letters(app, SERVICE)
    return app
