"""Wires intake's adapters into a runnable service."""

from __future__ import annotations

from pathlib import Path

from schemas.topics import CASES, COMPLAINTS_TRIAGED, NOTIFICATIONS
from services.intake.api import create_app
from services.intake.group_filing import GroupFiler
from services.intake.handlers import BATCH_HANDLERS, HANDLERS
from services.intake.inbox import InboxWorker
from services.intake.settings import IntakeSettings
from services.runtime.lifecycle import ServiceRuntime, Settings

SERVICE = "intake"
DEFAULT_PORT = 8000


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    runtime = ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        consumes=[COMPLAINTS_TRIAGED.name, CASES.name, NOTIFICATIONS.name],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
    )

    def pool():  # the pool exists once the runtime has started
        assert runtime.pool is not None
        return runtime.pool

    intake_settings = IntakeSettings()
    worker = InboxWorker(pool, intake_settings)
    runtime.background.append(worker.run)
    filer = GroupFiler(pool, intake_settings)
    runtime.background.append(filer.run)
    runtime.app = create_app(pool, intake_settings, worker, filer=filer)
    return runtime
