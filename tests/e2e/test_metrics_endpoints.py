"""Every service's /metrics, scraped from the running processes after a complaint went through:
the event counters, latency histograms, outbox backlog, HTTP counters and the consumer lag of
every partition of the topics the service consumes (the Grafana dashboard queries these)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemas.topics import (
    CASES,
    COMPLAINTS_INTAKE,
    COMPLAINTS_TRIAGED,
    NOTIFICATIONS,
    WHATSAPP_STATUSES,
    TopicSpec,
)
from tests.e2e.conftest import Pipeline
from tests.e2e.test_thin_slice import distinct_complaint, status_of, submit
from tests.support import eventually

pytestmark = pytest.mark.e2e

CONSUMES: dict[str, tuple[TopicSpec, ...]] = {
    "intake": (COMPLAINTS_TRIAGED, CASES, NOTIFICATIONS),
    "triage": (COMPLAINTS_INTAKE,),
    "routing": (COMPLAINTS_TRIAGED, COMPLAINTS_INTAKE),
    "notifier": (COMPLAINTS_INTAKE, COMPLAINTS_TRIAGED, CASES, WHATSAPP_STATUSES),
}
# Family names as the parser reports them (counters without `_total`).
FAMILIES = {
    "lapor_events_in": "counter",
    "lapor_events_out": "counter",
    "lapor_events_dead_lettered": "counter",
    "lapor_handle_seconds": "histogram",
    "lapor_outbox_backlog": "gauge",
    "lapor_consumer_lag": "gauge",
    "lapor_http_requests": "counter",
    "lapor_http_request_seconds": "histogram",
    "lapor_ready": "gauge",
}


async def scrape(url: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Family name → its samples (name, labels, value)."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(response.text)
    }


async def test_every_service_exports_the_pipeline_metrics(pipeline: Pipeline) -> None:
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        code = await submit(client, distinct_complaint())

        async def assigned() -> bool:
            return (await status_of(client, code))["status"] == "forwarded_to_agency"

        await eventually(assigned, within=180)

    for service, topics in CONSUMES.items():
        url = pipeline.services[service].url

        async def lag_of_every_partition(url: str = url, topics: tuple = topics) -> object:
            metrics = await scrape(url)
            lag = {
                (labels["topic"], int(labels["partition"]))
                for _, labels, _ in metrics.get("lapor_consumer_lag", [])
            }
            wanted = {(spec.name, p) for spec in topics for p in range(spec.partitions)}
            return metrics if wanted <= lag else None

        # The sampler runs every few seconds; one instance owns every partition.
        metrics = await eventually(lag_of_every_partition, within=120, interval=1.0)
        families = {name: samples for name, samples in metrics.items() if name in FAMILIES}
        assert set(families) == set(FAMILIES), f"{service} lacks {set(FAMILIES) - set(families)}"
        for name, samples in families.items():
            assert all(labels.get("service") == service for _, labels, _ in samples), name

        events_in = {
            labels["topic"]: value
            for sample, labels, value in metrics["lapor_events_in"]
            if sample.endswith("_total")
        }
        assert {spec.name for spec in topics} <= set(events_in), service
        assert sum(events_in.values()) >= 1, f"{service} counted no event in"
        handled = [v for s, _, v in metrics["lapor_handle_seconds"] if s.endswith("_count")]
        assert sum(handled) >= 1, f"{service} timed no handling"
        assert any(s.endswith("_bucket") for s, _, _ in metrics["lapor_handle_seconds"])
        assert all(value >= 0 for _, _, value in metrics["lapor_consumer_lag"])
        dead = [v for s, _, v in metrics["lapor_events_dead_lettered"] if s.endswith("_total")]
        assert dead, f"{service} has no dead-letter series"
        routes = {labels["route"] for _, labels, _ in metrics["lapor_http_requests"]}
        assert "/readyz" in routes, f"{service} counted no HTTP request: {routes}"
        # The last /readyz answer (the pipeline waited for it): what LaporServiceNotReady reads.
        assert [value for _, _, value in metrics["lapor_ready"]] == [1.0], service

    out = await scrape(pipeline.services["routing"].url)
    published = {labels["topic"] for s, labels, _ in out["lapor_events_out"]}
    assert CASES.name in published  # the relay counted the CaseAssigned it published
    intake = await scrape(pipeline.intake_url)
    posted = [
        value
        for sample, labels, value in intake["lapor_http_requests"]
        if sample.endswith("_total")
        and labels["route"] == "/v1/complaints"
        and labels["method"] == "POST"
        and labels["status"] == "202"
    ]
    assert posted and posted[0] >= 1
    # Route templates, never raw paths: a tracking code must not become a label value.
    assert code not in str(intake)
