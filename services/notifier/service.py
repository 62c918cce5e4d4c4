"""Wires notifier's adapters into a runnable service."""

from __future__ import annotations

from pathlib import Path

from schemas.topics import CASES, COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED
from services.messaging.runtime import ServiceRuntime, Settings
from services.notifier.handlers import HANDLERS

SERVICE = "notifier"
DEFAULT_PORT = 8003


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    return ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        consumes=[COMPLAINTS_INTAKE.name, COMPLAINTS_TRIAGED.name, CASES.name],
        handlers=HANDLERS,
    )
