"""Wires routing's adapters into a runnable service."""

from __future__ import annotations

from pathlib import Path

from schemas.topics import COMPLAINTS_TRIAGED
from services.messaging.runtime import ServiceRuntime, Settings
from services.routing.handlers import HANDLERS

SERVICE = "routing"
DEFAULT_PORT = 8002


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    return ServiceRuntime(
        service=SERVICE,
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        consumes=[COMPLAINTS_TRIAGED.name],
        handlers=HANDLERS,
    )
