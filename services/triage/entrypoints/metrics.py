"""Triage's Prometheus metrics beyond the event counters the stream keeps.

The faust app has no `ServiceRuntime`, so this module gives it what the runtime gives the other
services, with the same metric names and labels (one dashboard serves all four):

- `lapor_handle_seconds{service="triage"}`: one event, timed by a faust sensor from the moment
  the stream takes it into a batch until the batch is done;
- `lapor_consumer_lag{service="triage", topic, partition}`: end offset minus committed offset
  of each assigned partition of the intake topic, sampled by a timer on every instance;
- `lapor_http_requests_total` and `lapor_http_request_seconds` for faust's web views.

The bootstrap calls `install_metrics` once the agents and pages are on the app.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

import faust
from faust.types import AppT

from services.observability import (
    CONSUMER_LAG,
    HTTP_REQUESTS,
    HTTP_SECONDS,
    prime_metrics,
)
from services.runtime.lifecycle import METRICS_SAMPLE_SECONDS, drop_lag_of_others
from services.triage.settings import SERVICE

log = logging.getLogger(__name__)


class TriageMetrics(faust.Sensor):
    """Times each web request. (The stream's batches are timed where they are handled: with
    `take_events` faust's per-event sensor hooks never see an event go out.)"""

    def on_web_request_start(
        self, app: AppT, request: Any, *, view: Any = None
    ) -> dict[str, float]:
        return {"started": perf_counter()}

    def on_web_request_end(
        self,
        app: AppT,
        request: Any,
        response: Any,
        state: dict[str, float],
        *,
        view: Any = None,
    ) -> None:
        # The route template, never the path: review paths carry complaint ids.
        resource = getattr(getattr(request.match_info, "route", None), "resource", None)
        route = getattr(resource, "canonical", None) or "<unmatched>"
        status = str(response.status) if response is not None else "500"
        HTTP_REQUESTS.labels(SERVICE, request.method, route, status).inc()
        HTTP_SECONDS.labels(SERVICE, route).observe(perf_counter() - state["started"])


def install_metrics(app: faust.App, intake_topic: str) -> None:
    """The sensor, the primed series and the lag sampler, on `app`."""
    app.sensors.add(TriageMetrics())
    prime_metrics(SERVICE, [intake_topic])

    @app.timer(interval=METRICS_SAMPLE_SECONDS)
    async def sample_consumer_lag() -> None:
        await _sample_consumer_lag(app)


async def _sample_consumer_lag(app: faust.App) -> None:
    """Lag per assigned stage partition; skipped while a rebalance moves partitions around."""
    if app.rebalancing:
        return
    consumer = app.consumer
    assigned = {tp for tp in consumer.assignment() if app.topics.acks_enabled_for(tp.topic)}
    try:
        ends = await consumer.highwaters(*assigned) if assigned else {}
        # faust keeps the committed offsets (next offset to read) itself; no public accessor.
        committed = {tp: consumer._committed_offset.get(tp) for tp in assigned}  # type: ignore[attr-defined]
        never = [tp for tp, offset in committed.items() if offset is None]
        starts = await consumer.earliest_offsets(*never) if never else {}
    except Exception as error:  # metrics are best effort; a rebalance or a broker restart
        log.debug("lag sample skipped", extra={"error": repr(error)})
        return
    for tp in assigned:
        base = committed[tp]
        base = starts.get(tp, 0) if base is None else base
        end = ends.get(tp)
        if end is not None:
            CONSUMER_LAG.labels(SERVICE, tp.topic, str(tp.partition)).set(max(0, end - base))
    drop_lag_of_others(SERVICE, assigned)
