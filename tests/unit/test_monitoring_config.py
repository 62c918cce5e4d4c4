"""The docker-compose monitoring (Prometheus and Grafana) stays in step with the code.

No Docker engine runs these files here, so they are parsed and cross-checked instead: the
compose services mount files that exist, Prometheus scrapes every service on the port compose
gives it, Grafana's datasource is the one the dashboard names, and every metric the dashboard
queries is one the services really export, with the labels it groups by. A renamed metric or
label fails here instead of leaving an empty panel.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from schemas.topics import SERVICES

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = ROOT / "packaging" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "packaging" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "lapor.json"
# Every module that defines Prometheus metrics; importing them fills the default registry.
METRIC_MODULES = (
    "services.observability",
    "services.notifier.observability",
    "services.routing.observability",
)
# Series Prometheus makes itself while scraping, not exported by the services.
PROMETHEUS_SERIES = {"up"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created", ""),
    "gauge": ("",),
}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def compose() -> dict[str, Any]:
    return load_yaml(ROOT / "docker-compose.yml")


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def expressions() -> list[str]:
    exprs = [target["expr"] for panel in panels() for target in panel["targets"]]
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else str(query))
    return exprs


def metric_objects() -> list[MetricWrapperBase]:
    found = []
    for name in METRIC_MODULES:
        module = importlib.import_module(name)
        found += [value for value in vars(module).values() if isinstance(value, MetricWrapperBase)]
    return found


def exported_series() -> dict[str, set[str]]:
    """Series name → label names, for everything in the registry (read after the imports)."""
    labels_by_family = {
        metric._name: set(metric._labelnames)  # no public accessor for the label names
        for metric in metric_objects()
    }
    series: dict[str, set[str]] = {}
    for family in REGISTRY.collect():
        labels = labels_by_family.get(family.name, set())
        for suffix in SUFFIXES.get(family.type, ("",)):
            series[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


def test_compose_runs_pinned_prometheus_and_grafana_with_files_that_exist() -> None:
    services = compose()["services"]
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", services["prometheus"]["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", services["grafana"]["image"])
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    assert (
        "./packaging/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in (services["prometheus"]["volumes"])
    )
    assert "prometheus" in services["grafana"]["depends_on"]
    # The consumers still publish no host port, so they can be scaled.
    assert [name for name in SERVICES if "ports" in services[name]] == ["intake"]


def test_prometheus_scrapes_every_service_on_its_compose_port() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    port = int(compose()["x-service"]["environment"]["LAPOR_HTTP_PORT"])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service in SERVICES:
        assert service in compose()["services"]
        discovery = jobs[service]["dns_sd_configs"]
        assert discovery == [
            {"names": [service], "type": "A", "port": port, "refresh_interval": "15s"}
        ], "DNS discovery finds every replica of a scaled service"
        assert jobs[service].get("metrics_path", "/metrics") == "/metrics"


def test_grafana_provisions_the_datasource_and_dashboard_the_json_expects() -> None:
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    [source] = datasources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "lapor.yml")["providers"]
    [provider] = providers
    mounts = compose()["services"]["grafana"]["volumes"]
    assert f"./packaging/grafana/dashboards:{provider['options']['path']}:ro" in mounts

    board = dashboard()
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)) and board["uid"]
    for panel in panels():
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"], panel["title"]


def test_every_metric_and_label_the_dashboard_queries_is_exported() -> None:
    series = exported_series()
    jobs = {job["job_name"] for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]}
    for expr in expressions():
        names = set(re.findall(r"\blapor_[a-z0-9_]+", expr))
        names |= {name for name in PROMETHEUS_SERIES if re.search(rf"\b{name}\{{", expr)}
        assert names, f"no known metric in {expr!r}"
        unknown = {name for name in names - PROMETHEUS_SERIES if name not in series}
        assert not unknown, f"the dashboard queries {unknown}, which no service exports"
        available = {"job", "instance"}.union(*(series.get(name, set()) for name in names))
        for group in re.findall(r"\bby \(([^)]*)\)", expr):
            labels = {label.strip() for label in group.split(",")}
            assert labels <= available, f"{expr!r} groups by {labels - available}"
        for job in re.findall(r'job=~"([^"]+)"', expr):
            assert set(job.split("|")) <= jobs


@pytest.mark.parametrize(
    ("need", "pattern"),
    [
        ("events in", r"rate\(lapor_events_in_total"),
        ("events out", r"rate\(lapor_events_out_total"),
        ("dead letters", r"lapor_events_dead_lettered_total"),
        ("latency p50", r"histogram_quantile\(0\.5, .*lapor_handle_seconds_bucket"),
        ("latency p95", r"histogram_quantile\(0\.95, .*lapor_handle_seconds_bucket"),
        ("latency p99", r"histogram_quantile\(0\.99, .*lapor_handle_seconds_bucket"),
        ("outbox backlog", r"lapor_outbox_backlog"),
        ("lag per partition", r"by \(service, topic, partition\) \(lapor_consumer_lag"),
        ("HTTP request rate", r"rate\(lapor_http_requests_total"),
    ],
)
def test_the_dashboard_has_the_panels_operations_asked_for(need: str, pattern: str) -> None:
    assert any(re.search(pattern, expr) for expr in expressions()), need
