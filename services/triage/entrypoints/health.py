"""/healthz (the process answers), /readyz (the consumer holds partitions and no rebalance is
under way) and /metrics (Prometheus), on faust's web server."""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.observability import READY
from services.triage.settings import SERVICE


def add_health_pages(app: faust.App) -> None:
    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "service": SERVICE})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        ready = not app.rebalancing and bool(app.consumer.assignment())
        READY.labels(SERVICE).set(1 if ready else 0)
        return web.json({"ready": ready, "service": SERVICE}, status=200 if ready else 503)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
